/**
 * Routing and versions: orchestration versions (latest for new instances, pinned for running
 * ones), session affinity, worker tags, and the runtime's size limits.
 */

import assert from "node:assert/strict";
import type { OrchestrationContext } from "../src/runtime/mod.ts";
import { MAX_KV_VALUE_BYTES } from "../src/runtime/mod.ts";
import type { Event } from "../src/types.ts";
import { runtimeTest } from "./runtime_harness_test.ts";

async function until<T>(probe: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("condition not met within 10 s");
}

runtimeTest(
  "runtime: new instances get the latest version, running ones keep theirs",
  async (f) => {
    const rt1 = f.runtime();
    rt1.registerOrchestrationVersioned("Flow", "1.0.0", function* (ctx: OrchestrationContext) {
      yield ctx.waitForEvent("go");
      return `v1 ${ctx.orchestrationVersion}`;
    });
    await rt1.start();
    await f.client.startOrchestration("ver-1", "Flow");
    await until(async () =>
      (await f.provider.read("ver-1")).some((e) => e.type === "ExternalSubscribed")
    );
    await rt1.shutdown();

    const rt2 = f.runtime({}, await f.newProvider());
    rt2.registerOrchestrationVersioned("Flow", "1.0.0", function* (ctx: OrchestrationContext) {
      yield ctx.waitForEvent("go");
      return `v1 ${ctx.orchestrationVersion}`;
    });
    rt2.registerOrchestrationVersioned("Flow", "2.0.0", function* (ctx: OrchestrationContext) {
      yield ctx.waitForEvent("go");
      return `v2 ${ctx.orchestrationVersion}`;
    });
    await rt2.start();
    await f.client.startOrchestration("ver-2", "Flow");
    await f.client.startOrchestrationVersioned("ver-3", "Flow", null, "1.0.0");
    for (const id of ["ver-2", "ver-3"]) {
      await until(async () =>
        (await f.provider.read(id)).some((e) => e.type === "ExternalSubscribed")
      );
    }
    for (const id of ["ver-1", "ver-2", "ver-3"]) await f.client.raiseEvent(id, "go");
    assert.equal((await f.client.waitForOrchestration("ver-1", 20_000)).output, "v1 1.0.0");
    assert.equal((await f.client.waitForOrchestration("ver-2", 20_000)).output, "v2 2.0.0");
    assert.equal((await f.client.waitForOrchestration("ver-3", 20_000)).output, "v1 1.0.0");
    const admin = f.provider.asManagementCapability();
    assert.equal((await admin.getInstanceInfo("ver-2")).orchestrationVersion, "2.0.0");
  },
);

runtimeTest("runtime: activities on one session run on one worker", async (f) => {
  const rt = f.runtime({ workerConcurrency: 3 });
  rt.registerActivity("Where", async (ctx) => {
    await new Promise((r) => setTimeout(r, 20));
    return { worker: ctx.workerId, session: ctx.sessionId };
  });
  rt.registerOrchestration("Pinned", function* (ctx: OrchestrationContext) {
    const tasks = [1, 2, 3, 4].map((n) => ctx.scheduleActivityOnSession("Where", n, "s-1"));
    return yield ctx.all(tasks);
  });
  await rt.start();
  await f.client.startOrchestration("sess-1", "Pinned");
  const out = (await f.client.waitForOrchestration("sess-1", 20_000)).output as {
    ok: { worker: string; session: string };
  }[];
  assert.equal(out.length, 4);
  assert.equal(new Set(out.map((r) => r.ok.worker)).size, 1);
  assert.deepEqual(out.map((r) => r.ok.session), ["s-1", "s-1", "s-1", "s-1"]);
});

runtimeTest("runtime: tagged activities go only to workers that accept the tag", async (f) => {
  const plain = f.runtime();
  plain.registerOrchestration("Gpu", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleActivity("Render", "scene").withTag("gpu");
  });
  plain.registerActivity("Render", () => "rendered by a default worker");
  await plain.start();
  await f.client.startOrchestration("tag-1", "Gpu");
  await until(async () =>
    (await f.provider.read("tag-1")).some((e) => e.type === "ActivityScheduled")
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await f.client.getStatus("tag-1")).status, "Running");
  const gpu = f.runtime({ workerTagFilter: { tags: ["gpu"] } }, await f.newProvider());
  gpu.registerActivity("Render", (ctx) => `rendered with tag ${ctx.tag()}`);
  await gpu.start();
  const status = await f.client.waitForOrchestration("tag-1", 20_000);
  assert.equal(status.output, "rendered with tag gpu");
  const scheduled = (await f.provider.read("tag-1")).find((e) => e.type === "ActivityScheduled") as
    & Event
    & { tag?: string };
  assert.equal(scheduled.tag, "gpu");
});

runtimeTest("runtime: breaking a size limit fails the orchestration", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Big", function* (ctx: OrchestrationContext) {
    ctx.setValue("big", "x".repeat(MAX_KV_VALUE_BYTES + 1));
    yield ctx.scheduleTimer(0);
    return "unreachable";
  });
  await rt.start();
  await f.client.startOrchestration("big-1", "Big");
  const status = await f.client.waitForOrchestration("big-1", 20_000);
  assert.equal(status.status, "Failed");
  assert.match(status.error!, /^limit exceeded: KV value of key big exceeds 16384 bytes/);
});
