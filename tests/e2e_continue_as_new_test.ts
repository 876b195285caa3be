/**
 * End to end, continue-as-new: an eternal orchestration that prunes its own old executions
 * through the management API (from an activity, as a user would), and a timer of a finished
 * execution that must not wake the next one.
 */

import assert from "node:assert/strict";
import type { OrchestrationContext, RaceResult } from "../mod.ts";
import { e2eTest, eventsOf } from "./_support/e2e.ts";

e2eTest("an eternal orchestration prunes its own old executions", async (f) => {
  const rt = f.runtime();
  const ticks: number[] = [];
  rt.registerActivity("Tick", (_ctx, round) => {
    ticks.push(round as number);
    return `tick ${round}`;
  });
  rt.registerActivity("PruneOwnHistory", async (ctx) => {
    const result = await ctx.getClient().pruneExecutions(ctx.instanceId, { keepLast: 2 });
    return result.executionsDeleted;
  });
  rt.registerOrchestration("Heartbeat", function* (ctx: OrchestrationContext, input: unknown) {
    const { round, last, pruned } = input as { round: number; last: number; pruned: number };
    const tick = yield ctx.scheduleActivity("Tick", round);
    ctx.setValue("lastTick", tick as string);
    ctx.setCustomStatus(`round ${round}`);
    const deleted = (yield ctx.scheduleActivity("PruneOwnHistory")) as number;
    if (round === last) return { rounds: round, pruned: pruned + deleted };
    return yield ctx.continueAsNew({ round: round + 1, last, pruned: pruned + deleted });
  });
  await rt.start();
  await f.client.startOrchestration("heartbeat-1", "Heartbeat", { round: 1, last: 6, pruned: 0 });
  const status = await f.client.waitForOrchestration("heartbeat-1", 20_000);
  // Execution n pruned everything before n - 1: 0 + 0 + 1 + 1 + 1 + 1.
  assert.deepEqual(status.output, { rounds: 6, pruned: 4 });
  assert.equal(status.customStatus, "round 6");
  assert.deepEqual(ticks, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(await f.client.listExecutions("heartbeat-1"), [5, 6]);
  assert.equal((await f.client.getExecutionInfo("heartbeat-1", 5)).status, "ContinuedAsNew");
  const info = await f.client.getInstanceInfo("heartbeat-1");
  assert.equal(info.currentExecutionId, 6);
  assert.equal(info.status, "Completed");
  // KV belongs to the instance: pruning kept it, and every execution saw the previous value.
  assert.equal(await f.client.getValue("heartbeat-1", "lastTick"), "tick 6");
  const metrics = await f.client.getSystemMetrics();
  assert.equal(metrics.totalExecutions, 2);
  const kept = await f.client.readExecutionHistory("heartbeat-1", 5);
  assert.equal(kept.at(-1)!.kind, "OrchestrationContinuedAsNew");
  assert.deepEqual(JSON.parse(JSON.parse(kept[0].data).input), { round: 5, last: 6, pruned: 2 });
});

e2eTest("a timer of a finished execution does not wake the next one", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Cycle", function* (ctx: OrchestrationContext, phase: unknown) {
    if (phase === "first") {
      // The queued message wins at once; the 300 ms timer (event 4) is still scheduled when
      // this execution ends.
      const r = (yield ctx.race(ctx.dequeueEvent("go"), ctx.scheduleTimer(300))) as RaceResult;
      return yield ctx.continueAsNew(r.index === 0 ? "second" : "timed out");
    }
    ctx.setCustomStatus("waiting"); // events 2 and 3, so this execution's timer is event 4 too
    ctx.setValue("phase", String(phase));
    yield ctx.scheduleTimer(900);
    return `${phase} done in execution ${ctx.executionId}`;
  });
  await f.client.startOrchestration("cycle-1", "Cycle", "first");
  await f.client.enqueueEvent("cycle-1", "go", true); // delivered with the start
  await rt.start();
  const status = await f.client.waitForOrchestration("cycle-1", 20_000);
  assert.equal(status.output, "second done in execution 2");
  const first = await f.provider.readWithExecution("cycle-1", 1);
  assert.deepEqual(eventsOf(first, "TimerCreated").map((e) => e.eventId), [4]);
  assert.equal(eventsOf(first, "TimerFired").length, 0);
  const second = await f.provider.readWithExecution("cycle-1", 2);
  const created = eventsOf(second, "TimerCreated");
  const fired = eventsOf(second, "TimerFired");
  assert.deepEqual(created.map((e) => e.eventId), [4]);
  assert.equal(fired.length, 1);
  assert.equal(fired[0].fireAtMs, created[0].fireAtMs, "woken by the first execution's timer");
});
