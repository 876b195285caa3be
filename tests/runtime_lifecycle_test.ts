/**
 * Runtime lifecycle: graceful shutdown, crash/restart recovery, cancellation, and work for
 * handlers that are not registered (yet).
 */

import assert from "node:assert/strict";
import type { OrchestrationContext } from "../src/runtime/mod.ts";
import { runtimeTest } from "./runtime_harness_test.ts";

async function until<T>(probe: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("condition not met within 10 s");
}

runtimeTest("runtime: shutdown of an idle runtime returns promptly", async (f) => {
  const rt = f.runtime({ orchestrationConcurrency: 4, workerConcurrency: 8 });
  // deno-lint-ignore require-yield
  rt.registerOrchestration("Idle", function* () {
    return null;
  });
  await rt.start();
  await new Promise((r) => setTimeout(r, 300)); // let every loop reach its 30 s long poll
  const t0 = performance.now();
  await rt.shutdown(10_000);
  const took = performance.now() - t0;
  assert.ok(took < 500, `shutdown took ${took.toFixed(0)} ms`);
}, { server: true });

runtimeTest("runtime: shutdown waits for in-flight activities, no longer", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Work", () => new Promise((r) => setTimeout(() => r("done"), 300)));
  rt.registerOrchestration("Flow", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleActivity("Work");
  });
  await rt.start();
  await f.client.startOrchestration("inflight-1", "Flow");
  await until(async () =>
    (await f.provider.read("inflight-1")).some((e) => e.type === "ActivityScheduled")
  );
  await new Promise((r) => setTimeout(r, 50)); // the activity is now running
  const t0 = performance.now();
  await rt.shutdown(5_000);
  const took = performance.now() - t0;
  assert.ok(took < 1_000, `shutdown took ${took.toFixed(0)} ms`);
  // the activity's result was acked before shutdown returned
  const rows = await f.sql<{ work_item: string }>(
    `select work_item::text from "${f.schema}".orchestrator_queue where instance_id = $1`,
    ["inflight-1"],
  );
  assert.equal(rows.length, 1);
  assert.match(rows[0].work_item, /ActivityCompleted/);
});

runtimeTest("runtime: a restarted runtime finishes the work exactly once", async (f) => {
  const runs = new Map<string, number>();
  const register = (rt: ReturnType<typeof f.runtime>) => {
    rt.registerActivity("Step", async (_ctx, input) => {
      const key = String(input);
      runs.set(key, (runs.get(key) ?? 0) + 1);
      if (key === "slow") await new Promise((r) => setTimeout(r, 600));
      return `${key}!`;
    });
    rt.registerOrchestration("Job", function* (ctx: OrchestrationContext) {
      const a = yield ctx.scheduleActivity("Step", "first");
      yield ctx.scheduleTimer(200);
      const b = yield ctx.scheduleActivity("Step", "slow");
      const c = yield ctx.scheduleActivity("Step", "last");
      return [a, b, c];
    });
  };
  const options = { workerLockTimeoutMs: 1_000, orchestratorLockTimeoutMs: 1_000 };
  const rt1 = f.runtime(options);
  register(rt1);
  await rt1.start();
  await f.client.startOrchestration("job-1", "Job");
  await until(() => Promise.resolve(runs.get("slow") === 1));
  await rt1.shutdown(50); // "crash" while "slow" runs: its result is dropped

  const rt2 = f.runtime(options, await f.newProvider());
  register(rt2);
  await rt2.start();
  const status = await f.client.waitForOrchestration("job-1", 20_000);
  assert.deepEqual(status.output, ["first!", "slow!", "last!"]);
  assert.equal(runs.get("first"), 1);
  assert.equal(runs.get("slow"), 2, "the interrupted activity runs again (at least once)");
  assert.equal(runs.get("last"), 1);
  const history = await f.provider.read("job-1");
  assert.equal(history.filter((e) => e.type === "OrchestrationCompleted").length, 1);
  assert.equal(history.filter((e) => e.type === "ActivityCompleted").length, 3);
}, { server: true });

runtimeTest("runtime: cancelling an instance fails it and cancels its children", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Child", function* (ctx: OrchestrationContext) {
    return yield ctx.waitForEvent("never");
  });
  rt.registerOrchestration("Parent", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleSubOrchestration("Child");
  });
  await rt.start();
  await f.client.startOrchestration("cancel-1", "Parent");
  await until(async () =>
    (await f.provider.read("cancel-1::sub::2")).some((e) => e.type === "ExternalSubscribed")
  );
  await f.client.cancelInstance("cancel-1", "user requested");
  const parent = await f.client.waitForOrchestration("cancel-1", 20_000);
  assert.equal(parent.status, "Failed");
  assert.equal(parent.error, "canceled: user requested");
  const child = await f.client.waitForOrchestration("cancel-1::sub::2", 20_000);
  assert.equal(child.error, "canceled: parent canceled");
});

runtimeTest(
  "runtime: work for an unregistered orchestration waits for a runtime that has it",
  async (f) => {
    const rt1 = f.runtime({ unregisteredBackoffBaseMs: 200 });
    // deno-lint-ignore require-yield
    rt1.registerOrchestration("Other", function* () {
      return null;
    });
    await rt1.start();
    await f.client.startOrchestration("later-1", "Later");
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await f.client.getStatus("later-1")).status, "NotFound");
    await rt1.shutdown();
    const rt2 = f.runtime({}, await f.newProvider());
    // deno-lint-ignore require-yield
    rt2.registerOrchestration("Later", function* () {
      return "finally";
    });
    await rt2.start();
    assert.equal((await f.client.waitForOrchestration("later-1", 20_000)).output, "finally");
  },
);
