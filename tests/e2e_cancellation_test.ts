/**
 * End to end, cancellation: a cancel that cascades from a root to its grandchildren and stops
 * their running activities, a parent that survives the cancellation of one child, and cancels
 * that arrive before the first turn or after the end.
 */

import assert from "node:assert/strict";
import { type OrchestrationContext, TaskFailedError } from "../mod.ts";
import { e2eTest, eventsOf, historyWith, until } from "./_support/e2e.ts";

e2eTest("cancelling a root cascades to grandchildren and stops their activities", async (f) => {
  const rt = f.runtime({ workerLockTimeoutMs: 1_000, workerConcurrency: 3 });
  const running = new Set<string>();
  const stopped: string[] = [];
  rt.registerActivity("Crunch", async (ctx) => {
    running.add(ctx.instanceId);
    while (!ctx.isCancelled()) await new Promise((r) => setTimeout(r, 25));
    stopped.push(ctx.instanceId);
    return "never used";
  });
  rt.registerOrchestration("Shard", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleActivity("Crunch");
  });
  rt.registerOrchestration("Region", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleSubOrchestration("Shard");
  });
  rt.registerOrchestration("Job", function* (ctx: OrchestrationContext) {
    return yield ctx.all([
      ctx.scheduleSubOrchestration("Region"),
      ctx.scheduleSubOrchestration("Region"),
    ]);
  });
  await rt.start();
  await f.client.startOrchestration("job-1", "Job");
  const regions = ["job-1::sub::2", "job-1::sub::3"];
  const shards = regions.map((r) => `${r}::sub::2`);
  await until(() => Promise.resolve(running.size === 2), "both shards running");
  await f.client.cancelInstance("job-1", "budget exhausted");

  assert.equal(
    (await f.client.waitForOrchestration("job-1", 20_000)).error,
    "canceled: budget exhausted",
  );
  for (const id of [...regions, ...shards]) {
    const status = await f.client.waitForOrchestration(id, 20_000);
    assert.equal(status.error, "canceled: parent canceled", id);
  }
  // Each shard's activity was asked to stop (its queue row was taken away).
  await until(() => Promise.resolve(stopped.length === 2), "both activities stopped");
  assert.deepEqual(stopped.sort(), shards.sort());
  for (const shard of shards) {
    const history = await f.provider.read(shard);
    assert.deepEqual(
      eventsOf(history, "ActivityCancelRequested").map((e) => e.reason),
      ["orchestration_terminal_failed"],
    );
  }
  assert.deepEqual(
    (await f.client.listInstancesByStatus("Failed")).sort(),
    ["job-1", ...regions, ...shards].sort(),
  );
});

e2eTest("a parent catches the cancellation of one child and carries on", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Approval", function* (ctx: OrchestrationContext) {
    return yield ctx.waitForEvent("Decision");
  });
  rt.registerOrchestration("Publish", function* (ctx: OrchestrationContext) {
    try {
      return yield ctx.scheduleSubOrchestrationWithId("Approval", "approval-1");
    } catch (err) {
      const details = (err as TaskFailedError).details;
      return {
        caught: err instanceof TaskFailedError,
        message: (err as Error).message,
        kind: details.type === "Application" ? details.kind : null,
      };
    }
  });
  await rt.start();
  await f.client.startOrchestration("publish-1", "Publish");
  await historyWith(f.provider, "approval-1", "ExternalSubscribed");
  await f.client.cancelInstance("approval-1", "reviewer left");
  const status = await f.client.waitForOrchestration("publish-1", 20_000);
  assert.equal(status.status, "Completed");
  assert.deepEqual(status.output, {
    caught: true,
    message: "canceled: reviewer left",
    kind: { type: "Cancelled", reason: "reviewer left" },
  });
});

e2eTest("a cancel before the first turn wins; a cancel after the end is ignored", async (f) => {
  const rt = f.runtime();
  let ran = 0;
  rt.registerActivity("Work", () => ++ran);
  rt.registerOrchestration("Task", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleActivity("Work");
  });
  // Both messages wait in the queue until the runtime starts: one turn sees them together.
  await f.client.startOrchestration("early-1", "Task");
  await f.client.cancelInstance("early-1", "changed my mind");
  await rt.start();
  const early = await f.client.waitForOrchestration("early-1", 20_000);
  assert.equal(early.error, "canceled: changed my mind");
  // The code ran to its first yield, but the activity it scheduled was never dispatched.
  assert.deepEqual((await f.provider.read("early-1")).map((e) => e.type), [
    "OrchestrationStarted",
    "OrchestrationCancelRequested",
    "ActivityScheduled",
    "OrchestrationFailed",
    "ActivityCancelRequested",
  ]);
  assert.equal((await f.client.getQueueDepths()).workerQueue, 0);

  await f.client.startOrchestration("late-1", "Task");
  assert.equal((await f.client.waitForOrchestration("late-1", 20_000)).output, 1);
  await until(() => Promise.resolve(rt.metricsSnapshot().orchestrationsCompleted === 1));
  const turns = rt.metricsSnapshot().orchestrationTurns;
  await f.client.cancelInstance("late-1", "too late");
  await until(() => Promise.resolve(rt.metricsSnapshot().orchestrationTurns > turns));
  assert.equal((await f.client.getStatus("late-1")).status, "Completed");
  assert.equal((await f.provider.read("late-1")).at(-1)!.type, "OrchestrationCompleted");
  assert.equal(ran, 1, "the cancelled instance never ran its activity");
});
