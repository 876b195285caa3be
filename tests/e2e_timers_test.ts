/**
 * End to end, timers against `race`: one deadline shared by a loop of races, a
 * sub-orchestration that loses to a timer (and is cancelled), and timers that outlive the
 * runtime that created them.
 */

import assert from "node:assert/strict";
import type { OrchestrationContext, RaceResult } from "../mod.ts";
import { e2eTest, eventsOf, historyWith } from "./_support/e2e.ts";

e2eTest("one deadline timer bounds a loop of races (collect votes until it fires)", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Poll", function* (ctx: OrchestrationContext, ms: unknown) {
    const deadline = ctx.scheduleTimer(ms as number);
    const votes: unknown[] = [];
    for (;;) {
      const r = (yield ctx.race(ctx.dequeueEvent("votes"), deadline)) as RaceResult;
      if (r.index === 1) return { votes, closedBy: "deadline" };
      votes.push(r.value);
    }
  });
  // The votes wait in the queue with the start, so the first turn sees them all.
  await f.client.startOrchestration("poll-1", "Poll", 800);
  for (const vote of ["yes", "no", "yes"]) await f.client.enqueueEvent("poll-1", "votes", vote);
  await rt.start();
  const status = await f.client.waitForOrchestration("poll-1", 20_000);
  assert.deepEqual(status.output, { votes: ["yes", "no", "yes"], closedBy: "deadline" });
  const history = await f.provider.read("poll-1");
  // One timer for the whole loop, raced four times; the last dequeue was cancelled.
  assert.equal(eventsOf(history, "TimerCreated").length, 1);
  assert.equal(eventsOf(history, "TimerFired").length, 1);
  assert.equal(eventsOf(history, "QueueSubscribed").length, 4);
  assert.deepEqual(
    eventsOf(history, "QueueSubscriptionCancelled").map((e) => e.reason),
    ["dropped_future"],
  );
});

e2eTest("a sub-orchestration that loses a race to a timer is cancelled", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("SlowChild", function* (ctx: OrchestrationContext) {
    return yield ctx.waitForEvent("never");
  });
  rt.registerOrchestration("Impatient", function* (ctx: OrchestrationContext) {
    const r = (yield ctx.race(
      ctx.scheduleSubOrchestrationWithId("SlowChild", "slow-child"),
      ctx.scheduleTimer(200),
    )) as RaceResult;
    return r.index === 1 ? "gave up" : "child answered";
  });
  await rt.start();
  await f.client.startOrchestration("impatient-1", "Impatient");
  assert.equal((await f.client.waitForOrchestration("impatient-1", 20_000)).output, "gave up");
  const child = await f.client.waitForOrchestration("slow-child", 20_000);
  assert.equal(child.status, "Failed");
  assert.equal(child.error, "canceled: parent dropped sub-orchestration future");
  const history = await f.provider.read("impatient-1");
  const cancelled = eventsOf(history, "SubOrchestrationCancelRequested");
  assert.equal(cancelled.length, 1);
  assert.equal(cancelled[0].reason, "dropped_future");
  assert.equal(
    cancelled[0].sourceEventId,
    eventsOf(history, "SubOrchestrationScheduled")[0].eventId,
  );
  // The child's failure reached a parent that had already finished: nothing changed.
  assert.equal(history.at(-1)!.type, "OrchestrationCompleted");
});

e2eTest("durable timers fire on the runtime that is up when they are due", async (f) => {
  const register = (rt: ReturnType<typeof f.runtime>) => {
    rt.registerOrchestration("Reminder", function* (ctx: OrchestrationContext, ms: unknown) {
      yield ctx.scheduleTimer(ms as number);
      return `reminded after ${ms} ms`;
    });
  };
  const first = f.runtime();
  register(first);
  await first.start();
  for (const [id, ms] of [["r-1", 1_000], ["r-2", 1_100], ["r-3", 1_200]] as const) {
    await f.client.startOrchestration(id, "Reminder", ms);
  }
  for (const id of ["r-1", "r-2", "r-3"]) await historyWith(f.provider, id, "TimerCreated");
  await first.shutdown();
  assert.deepEqual(await f.client.listInstancesByStatus("Running").then((ids) => ids.sort()), [
    "r-1",
    "r-2",
    "r-3",
  ]);

  const second = f.runtime({}, await f.newProvider());
  register(second);
  await second.start();
  for (const [id, ms] of [["r-1", 1_000], ["r-2", 1_100], ["r-3", 1_200]] as const) {
    const status = await f.client.waitForOrchestration(id, 20_000);
    assert.equal(status.output, `reminded after ${ms} ms`);
    const history = await f.provider.read(id);
    const created = eventsOf(history, "TimerCreated")[0];
    const fired = eventsOf(history, "TimerFired")[0];
    assert.equal(fired.fireAtMs, created.fireAtMs);
    assert.equal(created.fireAtMs - history[0].timestampMs, ms);
  }
  await second.shutdown(5_000); // its last turn is counted once its ack returned
  assert.equal(second.metricsSnapshot().orchestrationsCompleted, 3);
});
