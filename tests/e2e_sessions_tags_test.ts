/**
 * End to end, routing: worker tags that send activities to the runtimes able to run them, and
 * sessions that keep a conversation's activities (and their retries) on one worker, so a
 * worker-local cache stays warm.
 */

import assert from "node:assert/strict";
import type {
  ActivityContext,
  JoinResult,
  OrchestrationContext,
  OrchestrationFunction,
  Runtime,
} from "../mod.ts";
import { e2eTest, eventsOf } from "./_support/e2e.ts";

e2eTest("tags route activities to the runtimes that accept them", async (f) => {
  const flow: OrchestrationFunction = function* (ctx) {
    return yield ctx.all([
      ctx.scheduleActivity("Where", "plain"),
      ctx.scheduleActivity("Where", "gpu").withTag("gpu"),
      ctx.scheduleActivity("Where", "fpga").withTag("fpga"),
    ]);
  };
  const where = (ctx: ActivityContext, input: unknown) =>
    `${input} ran on ${ctx.workerId.split("-").at(-1)} with tag ${ctx.tag()}`;
  const nodes: [string, Parameters<typeof f.runtime>[0]][] = [
    ["cpu", { workerTagFilter: "defaultOnly" }],
    ["gpu", { workerTagFilter: { tags: ["gpu"] } }],
    ["mixed", { workerTagFilter: { defaultAnd: ["fpga"] } }],
  ];
  for (const [node, options] of nodes) {
    const rt = f.runtime({ ...options, workerNodeId: node }, await f.newProvider());
    rt.registerOrchestration("Render", flow);
    rt.registerActivity("Where", where);
    await rt.start();
  }
  await f.client.startOrchestration("render-1", "Render");
  const out = (await f.client.waitForOrchestration("render-1", 20_000)).output as JoinResult[];
  const [plain, gpu, fpga] = out.map((r) => (r as { ok: string }).ok);
  assert.match(plain, /^plain ran on (cpu|mixed) with tag null$/);
  assert.equal(gpu, "gpu ran on gpu with tag gpu");
  assert.equal(fpga, "fpga ran on mixed with tag fpga");
  const tags = eventsOf(await f.provider.read("render-1"), "ActivityScheduled").map((e) => e.tag);
  assert.deepEqual(tags, [undefined, "gpu", "fpga"]);
});

e2eTest("a session keeps its activities on one worker, whose cache stays warm", async (f) => {
  const runtimes: Runtime[] = [];
  for (const node of ["node-a", "node-b"]) {
    // Each "process" keeps its own in-memory cache of running totals per session.
    const cache = new Map<string, number>();
    const rt = f.runtime({ workerNodeId: node }, await f.newProvider());
    rt.registerActivity("Accumulate", (ctx, n) => {
      const total = (cache.get(ctx.sessionId!) ?? 0) + (n as number);
      cache.set(ctx.sessionId!, total);
      return { node: ctx.workerId.split("-").slice(-2).join("-"), total };
    });
    rt.registerActivity("Flaky", (ctx) => {
      const seen = (cache.get(`flaky:${ctx.sessionId}`) ?? 0) + 1;
      cache.set(`flaky:${ctx.sessionId}`, seen);
      if (seen < 3) throw new Error(`cold start ${seen}`);
      return ctx.workerId.split("-").slice(-2).join("-");
    });
    rt.registerOrchestration("Conversation", function* (ctx: OrchestrationContext, id: unknown) {
      const session = `chat-${id}`;
      const steps: { node: string; total: number }[] = [];
      for (const n of [1, 2, 3, 4]) {
        steps.push(
          (yield ctx.scheduleActivityOnSession("Accumulate", n, session)) as {
            node: string;
            total: number;
          },
        );
      }
      const retriedOn = yield ctx.scheduleActivityWithRetryOnSession(
        "Flaky",
        null,
        { maxAttempts: 3, backoff: { type: "none" } },
        session,
      );
      return { steps, retriedOn };
    });
    runtimes.push(rt);
  }
  for (const rt of runtimes) await rt.start();
  for (const id of [1, 2, 3]) await f.client.startOrchestration(`chat-${id}`, "Conversation", id);
  for (const id of [1, 2, 3]) {
    const out = (await f.client.waitForOrchestration(`chat-${id}`, 20_000)).output as {
      steps: { node: string; total: number }[];
      retriedOn: string;
    };
    // One node served the whole conversation, so its running total never reset.
    assert.deepEqual(out.steps.map((s) => s.total), [1, 3, 6, 10]);
    assert.equal(new Set([...out.steps.map((s) => s.node), out.retriedOn]).size, 1);
    const history = await f.provider.read(`chat-${id}`);
    const sessions = eventsOf(history, "ActivityScheduled").map((e) => e.sessionId);
    assert.deepEqual(sessions, Array(7).fill(`chat-${id}`));
  }
});
