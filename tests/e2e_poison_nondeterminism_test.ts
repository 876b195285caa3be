/**
 * End to end, poison messages and nondeterminism: work no runtime can run is poisoned after
 * `maxAttempts` and fails whoever waits for it (poison cannot be caught), code that is not
 * replay-safe fails on its next turn, and replay-safe code logs each step once.
 */

import assert from "node:assert/strict";
import type { LogRecord, OrchestrationContext } from "../mod.ts";
import { e2eTest, eventsOf, until } from "./_support/e2e.ts";

e2eTest("a child no runtime can run is poisoned, and its parent fails with it", async (f) => {
  const rt = f.runtime({ maxAttempts: 3, unregisteredBackoffBaseMs: 10 });
  rt.registerOrchestration("Parent", function* (ctx: OrchestrationContext) {
    try {
      return yield ctx.scheduleSubOrchestrationWithId("NotDeployed", "ghost-child");
    } catch (err) {
      return `caught ${(err as Error).message}`; // never reached: poison aborts the parent
    }
  });
  await rt.start();
  await f.client.startOrchestration("parent-1", "Parent");
  const child = await f.client.waitForOrchestration("ghost-child", 20_000);
  assert.equal(child.status, "Failed");
  assert.equal(child.error, "poison: orchestration ghost-child exceeded 4 attempts (max 3)");
  const parent = await f.client.waitForOrchestration("parent-1", 20_000);
  assert.equal(parent.status, "Failed");
  assert.equal(parent.error, child.error);
  const failed = eventsOf(await f.provider.read("parent-1"), "OrchestrationFailed")[0];
  assert.equal(failed.details.type, "Poison");
  assert.equal(rt.metricsSnapshot().poisonMessages, 1);
});

e2eTest("an activity no worker can run is poisoned and fails its orchestration", async (f) => {
  const rt = f.runtime({ maxAttempts: 2, unregisteredBackoffBaseMs: 10 });
  rt.registerActivity("Known", () => "fine");
  rt.registerOrchestration("Pipeline", function* (ctx: OrchestrationContext) {
    const first = yield ctx.scheduleActivity("Known");
    try {
      yield ctx.scheduleActivity("Missing", { step: 2 });
    } catch {
      return "recovered"; // never reached
    }
    return first;
  });
  await rt.start();
  await f.client.startOrchestration("pipe-1", "Pipeline");
  const status = await f.client.waitForOrchestration("pipe-1", 20_000);
  assert.equal(status.status, "Failed");
  assert.equal(status.error, "poison: activity Missing#4 exceeded 3 attempts (max 2)");
  const history = await f.provider.read("pipe-1");
  const activityFailed = eventsOf(history, "ActivityFailed")[0];
  assert.equal(activityFailed.details.type, "Poison");
  assert.equal(activityFailed.sourceEventId, 4);
  assert.equal(history.at(-1)!.type, "OrchestrationFailed");
  assert.equal((await f.client.getQueueDepths()).workerQueue, 0);
});

e2eTest("randomness in scheduling decisions is caught on the next turn", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Charge", (_ctx, input) => input);
  rt.registerOrchestration("Unsafe", function* (ctx: OrchestrationContext) {
    // Wrong: a new random id on every replay. (Use `yield ctx.newGuid()` instead.)
    const paymentId = Math.random().toString(36).slice(2);
    yield ctx.scheduleActivity("Charge", { paymentId, amount: 10 });
    return yield ctx.scheduleActivity("Charge", { paymentId, amount: 20 });
  });
  rt.registerOrchestration("Safe", function* (ctx: OrchestrationContext) {
    const paymentId = yield ctx.newGuid();
    yield ctx.scheduleActivity("Charge", { paymentId, amount: 10 });
    return yield ctx.scheduleActivity("Charge", { paymentId, amount: 20 });
  });
  await rt.start();
  await f.client.startOrchestration("unsafe-1", "Unsafe");
  await f.client.startOrchestration("safe-1", "Safe");
  const unsafe = await f.client.waitForOrchestration("unsafe-1", 20_000);
  assert.equal(unsafe.status, "Failed");
  assert.match(
    unsafe.error!,
    /^nondeterministic: history has ActivityScheduled\(name="Charge", input=\{"paymentId":"\w+","amount":10\}\) at event 2, but the orchestration now ActivityScheduled/,
  );
  const last = (await f.provider.read("unsafe-1")).at(-1)!;
  assert.ok(last.type === "OrchestrationFailed" && last.details.type === "Configuration");
  const safe = await f.client.waitForOrchestration("safe-1", 20_000);
  assert.equal(safe.status, "Completed");
  assert.equal((safe.output as { amount: number }).amount, 20);
});

e2eTest("replay-safe code logs each step once, however many turns replay it", async (f) => {
  const records: LogRecord[] = [];
  const rt = f.runtime({ logLevel: "info", logger: (r) => records.push(r) });
  const sideEffects: string[] = [];
  rt.registerActivity("Step", (_ctx, n) => n);
  rt.registerOrchestration("Steps", function* (ctx: OrchestrationContext) {
    for (let i = 1; i <= 4; i++) {
      ctx.traceInfo(`step ${i}`);
      if (!ctx.isReplaying()) sideEffects.push(`step ${i}`);
      yield ctx.scheduleActivity("Step", i);
    }
    ctx.traceInfo("done");
    return "ok";
  });
  await rt.start();
  await f.client.startOrchestration("steps-1", "Steps");
  assert.equal((await f.client.waitForOrchestration("steps-1", 20_000)).output, "ok");
  const traces = records.filter((r) => r.source === "orchestration" && r.instanceId === "steps-1");
  assert.deepEqual(traces.map((r) => r.message), ["step 1", "step 2", "step 3", "step 4", "done"]);
  assert.deepEqual(sideEffects, ["step 1", "step 2", "step 3", "step 4"]);
  // Five turns ran the code from the start each time.
  await until(() => Promise.resolve(rt.metricsSnapshot().orchestrationTurns === 5));
});
