/**
 * Durable timers, external events, races and persistent event queues, end to end.
 */

import assert from "node:assert/strict";
import type { OrchestrationContext, RaceResult } from "../src/runtime/mod.ts";
import type { Event } from "../src/types.ts";
import { eventTypes, runtimeTest } from "./runtime_harness_test.ts";

async function waitForSubscription(
  read: () => Promise<Event[]>,
  type: string,
  count = 1,
): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await read()).filter((e) => e.type === type).length >= count) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ${type} after 10 s`);
}

runtimeTest("runtime: a durable timer fires after its delay", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Sleep", function* (ctx: OrchestrationContext, ms: unknown) {
    yield ctx.scheduleTimer(ms as number);
    return "woke";
  });
  await rt.start();
  const t0 = Date.now();
  await f.client.startOrchestration("sleep-1", "Sleep", 400);
  const status = await f.client.waitForOrchestration("sleep-1", 20_000);
  assert.equal(status.output, "woke");
  assert.ok(Date.now() - t0 >= 400, "the timer must not fire early");
  const history = await f.provider.read("sleep-1");
  assert.deepEqual(eventTypes(history), [
    "OrchestrationStarted",
    "TimerCreated",
    "TimerFired",
    "OrchestrationCompleted",
  ]);
  const created = history[1] as Event & { type: "TimerCreated" };
  assert.ok(created.fireAtMs >= t0 + 400);
  assert.equal(history[2].sourceEventId, 2);
}, { server: true });

runtimeTest("runtime: an external event resumes the orchestration with its data", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Approval", function* (ctx: OrchestrationContext) {
    const decision = yield ctx.waitForEvent("Approve");
    return { decision };
  });
  await rt.start();
  await f.client.startOrchestration("appr-1", "Approval");
  await waitForSubscription(() => f.provider.read("appr-1"), "ExternalSubscribed");
  await f.client.raiseEvent("appr-1", "Approve", { ok: true, by: "ann" });
  const status = await f.client.waitForOrchestration("appr-1", 20_000);
  assert.deepEqual(status.output, { decision: { ok: true, by: "ann" } });
});

runtimeTest(
  "runtime: events match waits by position; early events are not delivered",
  async (f) => {
    const rt = f.runtime();
    rt.registerActivity("Noop", () => null);
    rt.registerOrchestration("TwoEvents", function* (ctx: OrchestrationContext) {
      yield ctx.scheduleActivity("Noop");
      const first = yield ctx.waitForEvent("Go");
      const second = yield ctx.waitForEvent("Go");
      return [first, second];
    });
    await rt.start();
    await f.client.startOrchestration("pos-1", "TwoEvents");
    await f.client.raiseEvent("pos-1", "Go", "too early"); // before any wait: dropped
    await waitForSubscription(() => f.provider.read("pos-1"), "ExternalSubscribed");
    await f.client.raiseEvent("pos-1", "Go", "one");
    await waitForSubscription(() => f.provider.read("pos-1"), "ExternalSubscribed", 2);
    await f.client.raiseEvent("pos-1", "Go", "two");
    const status = await f.client.waitForOrchestration("pos-1", 20_000);
    assert.deepEqual(status.output, ["one", "two"]);
  },
);

runtimeTest("runtime: race of an event against a timer (event wins)", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Deadline", function* (ctx: OrchestrationContext) {
    const r = (yield ctx.race(ctx.waitForEvent("Pay"), ctx.scheduleTimer(60_000))) as RaceResult;
    return r;
  });
  await rt.start();
  await f.client.startOrchestration("race-1", "Deadline");
  await waitForSubscription(() => f.provider.read("race-1"), "ExternalSubscribed");
  await f.client.raiseEvent("race-1", "Pay", 42);
  const status = await f.client.waitForOrchestration("race-1", 20_000);
  assert.deepEqual(status.output, { index: 0, value: 42 });
}, { server: true });

runtimeTest("runtime: race of an event against a timer (timer wins, wait cancelled)", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Deadline", function* (ctx: OrchestrationContext) {
    const r = (yield ctx.race(ctx.waitForEvent("Pay"), ctx.scheduleTimer(200))) as RaceResult;
    const late = yield ctx.race(ctx.waitForEvent("Pay"), ctx.scheduleTimer(300));
    return { first: r.index, late };
  });
  await rt.start();
  await f.client.startOrchestration("race-2", "Deadline");
  const status = await f.client.waitForOrchestration("race-2", 20_000);
  assert.deepEqual(status.output, { first: 1, late: { index: 1, value: null } });
  const history = await f.provider.read("race-2");
  const cancelled = history.filter((e) => e.type === "ExternalSubscribedCancelled");
  assert.equal(cancelled.length, 2);
  assert.equal((cancelled[0] as { reason: string }).reason, "dropped_future");
});

runtimeTest("runtime: a race loser activity is cancelled by lock stealing", async (f) => {
  const rt = f.runtime({ workerLockTimeoutMs: 1_000 });
  let sawCancel = false;
  rt.registerActivity("Slow", async (ctx) => {
    for (let i = 0; i < 100 && !ctx.isCancelled(); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    sawCancel = ctx.isCancelled();
    return "slow";
  });
  rt.registerOrchestration("Timeout", function* (ctx: OrchestrationContext) {
    const r = (yield ctx.race(ctx.scheduleActivity("Slow"), ctx.scheduleTimer(300))) as RaceResult;
    return r.index;
  });
  await rt.start();
  await f.client.startOrchestration("loser-1", "Timeout");
  assert.equal((await f.client.waitForOrchestration("loser-1", 20_000)).output, 1);
  const history = await f.provider.read("loser-1");
  const cancel = history.find((e) => e.type === "ActivityCancelRequested") as
    | (Event & { reason: string })
    | undefined;
  assert.equal(cancel?.reason, "dropped_future");
  assert.equal(cancel?.sourceEventId, 2);
  await rt.shutdown(10_000);
  // renewal happens at half the 1 s worker lock; the activity notices within ~0.5 s
  assert.ok(sawCancel, "the activity should have been told it was cancelled");
});

runtimeTest("runtime: queued events are buffered FIFO until dequeued", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Noop", () => null);
  rt.registerOrchestration("Inbox", function* (ctx: OrchestrationContext) {
    yield ctx.scheduleActivity("Noop");
    yield ctx.scheduleTimer(300);
    const a = yield ctx.dequeueEvent("inbox");
    const b = yield ctx.dequeueEvent("inbox");
    const c = yield ctx.dequeueEvent("inbox");
    return [a, b, c];
  });
  await rt.start();
  await f.client.startOrchestration("inbox-1", "Inbox");
  await waitForSubscription(() => f.provider.read("inbox-1"), "OrchestrationStarted");
  await f.client.enqueueEvent("inbox-1", "inbox", "m1");
  await f.client.enqueueEvent("inbox-1", "inbox", { n: 2 });
  await waitForSubscription(() => f.provider.read("inbox-1"), "QueueSubscribed");
  await f.client.enqueueEvent("inbox-1", "inbox", "m3");
  const status = await f.client.waitForOrchestration("inbox-1", 20_000);
  assert.deepEqual(status.output, ["m1", { n: 2 }, "m3"]);
});
