/**
 * End to end, errors and retries: exponential backoff that ends in success, retries that run
 * out and trigger compensation (a saga), a total timeout over every attempt, and the shapes of
 * the errors orchestration code and clients see.
 */

import assert from "node:assert/strict";
import { type OrchestrationContext, TaskFailedError } from "../mod.ts";
import { e2eTest, eventsOf, scheduledActivities, until } from "./_support/e2e.ts";

e2eTest("retries back off exponentially and end in success", async (f) => {
  const rt = f.runtime();
  let calls = 0;
  rt.registerActivity("CallPartner", (_ctx, request) => {
    calls++;
    if (calls < 4) throw new Error(`503 on attempt ${calls}`);
    return { request, attempt: calls };
  });
  rt.registerOrchestration("Sync", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleActivityWithRetry("CallPartner", "ping", {
      maxAttempts: 5,
      backoff: { type: "exponential", baseMs: 40, multiplier: 2, maxMs: 1_000 },
    });
  });
  await rt.start();
  await f.client.startOrchestration("sync-1", "Sync");
  const status = await f.client.waitForOrchestration("sync-1", 20_000);
  assert.deepEqual(status.output, { request: "ping", attempt: 4 });
  const history = await f.provider.read("sync-1");
  assert.deepEqual(scheduledActivities(history), Array(4).fill("CallPartner"));
  assert.deepEqual(
    eventsOf(history, "ActivityFailed").map((e) =>
      e.details.type === "Application" && e.details.message
    ),
    ["503 on attempt 1", "503 on attempt 2", "503 on attempt 3"],
  );
  // Each backoff is a durable timer, its delay frozen when it was scheduled.
  const backoffs = eventsOf(history, "TimerCreated").map((e) => e.fireAtMs - e.timestampMs);
  assert.deepEqual(backoffs, [40, 80, 160]);
});

e2eTest("exhausted retries surface the last error, and a saga compensates", async (f) => {
  const rt = f.runtime();
  const ledger: string[] = [];
  let hotelCalls = 0;
  rt.registerActivity("BookFlight", (_ctx, trip) => {
    ledger.push(`flight booked for ${trip}`);
    return "FL-1";
  });
  rt.registerActivity("BookHotel", () => {
    throw new Error(`no rooms (call ${++hotelCalls})`);
  });
  rt.registerActivity("CancelFlight", (_ctx, booking) => {
    ledger.push(`flight ${booking} cancelled`);
    return null;
  });
  rt.registerOrchestration("Trip", function* (ctx: OrchestrationContext, trip: unknown) {
    const flight = yield ctx.scheduleActivity("BookFlight", trip);
    try {
      const hotel = yield ctx.scheduleActivityWithRetry("BookHotel", trip, {
        maxAttempts: 3,
        backoff: { type: "linear", baseMs: 20 },
      });
      return { flight, hotel };
    } catch (err) {
      yield ctx.scheduleActivity("CancelFlight", flight);
      throw new Error(`trip to ${trip} abandoned: ${(err as Error).message}`);
    }
  });
  await rt.start();
  await f.client.startOrchestration("trip-1", "Trip", "Lisbon");
  const status = await f.client.waitForOrchestration("trip-1", 20_000);
  assert.equal(status.status, "Failed");
  assert.equal(status.error, "trip to Lisbon abandoned: no rooms (call 3)");
  assert.deepEqual(ledger, ["flight booked for Lisbon", "flight FL-1 cancelled"]);
  const history = await f.provider.read("trip-1");
  assert.deepEqual(scheduledActivities(history), [
    "BookFlight",
    "BookHotel",
    "BookHotel",
    "BookHotel",
    "CancelFlight",
  ]);
  assert.deepEqual(
    eventsOf(history, "TimerCreated").map((e) => e.fireAtMs - e.timestampMs),
    [20, 40],
  );
});

e2eTest("a total timeout bounds every attempt and backoff together", async (f) => {
  const rt = f.runtime({ workerLockTimeoutMs: 1_000 });
  let flakyCalls = 0;
  let slowCancelled = false;
  rt.registerActivity("AlwaysDown", () => {
    throw new Error("connection refused");
  });
  rt.registerActivity("Hangs", async (ctx) => {
    while (!ctx.isCancelled()) await new Promise((r) => setTimeout(r, 25));
    slowCancelled = true;
    return "too late";
  });
  rt.registerActivity("Flaky", () => {
    if (++flakyCalls === 1) throw new Error("first call fails");
    return "recovered";
  });
  rt.registerOrchestration("Deadlines", function* (ctx: OrchestrationContext) {
    const outcome = function* (
      name: string,
      backoffMs: number,
      totalTimeoutMs: number,
    ): Generator<unknown, unknown, unknown> {
      try {
        return yield ctx.scheduleActivityWithRetry(name, null, {
          maxAttempts: 100,
          backoff: { type: "fixed", delayMs: backoffMs },
          totalTimeoutMs,
        });
      } catch (err) {
        return (err as Error).message;
      }
    };
    return {
      down: yield* outcome("AlwaysDown", 250, 600), // the deadline cuts a backoff short
      hangs: yield* outcome("Hangs", 10, 300), // the deadline cancels the running attempt
      flaky: yield* outcome("Flaky", 10, 60_000), // done long before the deadline
    };
  });
  await rt.start();
  await f.client.startOrchestration("deadlines-1", "Deadlines");
  const status = await f.client.waitForOrchestration("deadlines-1", 20_000);
  const out = status.output as Record<string, string>;
  assert.match(
    out.down,
    /^timeout: activity AlwaysDown exceeded its total timeout of 600ms after \d attempt\(s\); last error: connection refused$/,
  );
  assert.equal(
    out.hangs,
    "timeout: activity Hangs exceeded its total timeout of 300ms after 1 attempt(s)",
  );
  assert.equal(out.flaky, "recovered");
  const history = await f.provider.read("deadlines-1");
  const attempts = scheduledActivities(history);
  const down = attempts.filter((n) => n === "AlwaysDown").length;
  assert.ok(down >= 1 && down <= 3, `${down} attempts of AlwaysDown within 600 ms`);
  assert.equal(attempts.filter((n) => n === "Hangs").length, 1);
  assert.equal(attempts.filter((n) => n === "Flaky").length, 2);
  // Each loop's first scheduled timer is its deadline, raced by all of its waits.
  const timers = eventsOf(history, "TimerCreated").map((e) => e.fireAtMs - e.timestampMs);
  assert.equal(timers[0], 600);
  assert.ok(timers.includes(300) && timers.includes(60_000));
  const hangs = eventsOf(history, "ActivityScheduled").find((e) => e.name === "Hangs")!;
  const cancelled = eventsOf(history, "ActivityCancelRequested")
    .filter((e) => e.sourceEventId === hangs.eventId);
  assert.deepEqual(cancelled.map((e) => e.reason), ["dropped_future"]);
  // Its queue row was taken away, so its next lock renewal told it to stop.
  await until(() => Promise.resolve(slowCancelled), "the hanging attempt told to stop");
});

e2eTest("failures keep their details, whatever was thrown", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("ThrowsObject", () => {
    throw { code: 42, reason: "quota" };
  });
  rt.registerActivity("ThrowsString", () => {
    throw "plain text failure";
  });
  // deno-lint-ignore require-yield
  rt.registerOrchestration("Child", function* () {
    throw new RangeError("child out of range");
  });
  rt.registerOrchestration("Inspect", function* (ctx: OrchestrationContext) {
    const seen: unknown[] = [];
    for (
      const task of [
        ctx.scheduleActivity("ThrowsObject"),
        ctx.scheduleActivity("ThrowsString"),
        ctx.scheduleSubOrchestration("Child"),
      ]
    ) {
      try {
        yield task;
      } catch (err) {
        const e = err as TaskFailedError;
        seen.push({ typed: e instanceof TaskFailedError, message: e.message, details: e.details });
      }
    }
    return seen;
  });
  // deno-lint-ignore require-yield
  rt.registerOrchestration("ThrowsValue", function* () {
    throw { not: "an error" };
  });
  await rt.start();
  await f.client.startOrchestration("inspect-1", "Inspect");
  await f.client.startOrchestration("value-1", "ThrowsValue");
  const app = (message: string, kind: string) => ({
    type: "Application",
    kind,
    message,
    retryable: false,
  });
  assert.deepEqual((await f.client.waitForOrchestration("inspect-1", 20_000)).output, [
    {
      typed: true,
      message: '{"code":42,"reason":"quota"}',
      details: app('{"code":42,"reason":"quota"}', "ActivityFailed"),
    },
    {
      typed: true,
      message: "plain text failure",
      details: app("plain text failure", "ActivityFailed"),
    },
    {
      typed: true,
      message: "child out of range",
      details: app("child out of range", "OrchestrationFailed"),
    },
  ]);
  const failed = await f.client.waitForOrchestration("value-1", 20_000);
  assert.equal(failed.status, "Failed");
  assert.equal(failed.error, '{"not":"an error"}');
});
