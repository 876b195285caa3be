/**
 * Failure handling: activity retries, nondeterminism detection, poison messages (orchestration,
 * activity, and corrupted history).
 */

import assert from "node:assert/strict";
import type { OrchestrationContext } from "../src/runtime/mod.ts";
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

function start(instance: string, orchestration: string, input: unknown = null) {
  return {
    type: "StartOrchestration" as const,
    instance,
    orchestration,
    input: JSON.stringify(input),
    version: null,
    parentInstance: null,
    parentId: null,
    executionId: 1,
  };
}

runtimeTest("runtime: activity retries back off with durable timers", async (f) => {
  const rt = f.runtime();
  let calls = 0;
  rt.registerActivity("Flaky", () => {
    calls++;
    if (calls < 3) throw new Error(`boom ${calls}`);
    return `ok after ${calls}`;
  });
  rt.registerActivity("AlwaysFails", () => {
    throw new Error("always");
  });
  rt.registerActivity("Slow", () => new Promise((r) => setTimeout(() => r("late"), 1_500)));
  rt.registerOrchestration("Retry", function* (ctx: OrchestrationContext) {
    const ok = yield ctx.scheduleActivityWithRetry("Flaky", null, {
      maxAttempts: 5,
      backoff: { type: "fixed", delayMs: 50 },
    });
    let exhausted = "";
    try {
      yield ctx.scheduleActivityWithRetry("AlwaysFails", null, { maxAttempts: 2, backoff: 10 });
    } catch (err) {
      exhausted = (err as Error).message;
    }
    let timedOut = "";
    try {
      yield ctx.scheduleActivityWithRetry("Slow", null, { maxAttempts: 3, timeoutMs: 200 });
    } catch (err) {
      timedOut = (err as Error).message;
    }
    return { ok, exhausted, timedOut };
  });
  await rt.start();
  await f.client.startOrchestration("retry-1", "Retry");
  const status = await f.client.waitForOrchestration("retry-1", 20_000);
  const out = status.output as Record<string, string>;
  assert.equal(out.ok, "ok after 3");
  assert.equal(out.exhausted, "always");
  assert.match(out.timedOut, /^timeout: activity Slow timed out after 200ms/);
  const history = await f.provider.read("retry-1");
  const names = history.filter((e) => e.type === "ActivityScheduled").map((e) =>
    (e as { name: string }).name
  );
  assert.deepEqual(names, ["Flaky", "Flaky", "Flaky", "AlwaysFails", "AlwaysFails", "Slow"]);
  assert.equal(history.filter((e) => e.type === "TimerCreated").length, 2 + 1 + 1);
});

runtimeTest("runtime: replaying a changed orchestration fails with nondeterminism", async (f) => {
  const rt1 = f.runtime();
  rt1.registerActivity("A", () => "a");
  rt1.registerActivity("B", () => "b");
  rt1.registerOrchestration("Flow", function* (ctx: OrchestrationContext) {
    yield ctx.scheduleActivity("A", 1);
    return yield ctx.waitForEvent("Go");
  });
  await rt1.start();
  await f.client.startOrchestration("nd-1", "Flow");
  await until(async () =>
    (await f.provider.read("nd-1")).some((e) => e.type === "ExternalSubscribed")
  );
  await rt1.shutdown();

  const rt2 = f.runtime({}, await f.newProvider());
  rt2.registerActivity("B", () => "b");
  rt2.registerOrchestration("Flow", function* (ctx: OrchestrationContext) {
    yield ctx.scheduleActivity("B", 1); // the code changed under a running instance
    return yield ctx.waitForEvent("Go");
  });
  await rt2.start();
  await f.client.raiseEvent("nd-1", "Go", "now");
  const status = await f.client.waitForOrchestration("nd-1", 20_000);
  assert.equal(status.status, "Failed");
  assert.match(status.error!, /^nondeterministic: /);
  assert.match(status.error!, /ActivityScheduled\(name="A"/);
  assert.match(status.error!, /ActivityScheduled\(name="B"/);
  const last = (await f.provider.read("nd-1")).at(-1) as Event & { type: "OrchestrationFailed" };
  assert.equal(last.details.type, "Configuration");
});

runtimeTest("runtime: an orchestration message fetched too often is poisoned", async (f) => {
  const maxAttempts = 3;
  await f.provider.enqueueForOrchestrator(start("poison-1", "Flow"), null);
  for (let i = 0; i < maxAttempts; i++) {
    const fetched = await f.provider.fetchOrchestrationItem(5_000, 0);
    assert.ok(fetched);
    await f.provider.abandonOrchestrationItem(fetched.lockToken, null, false);
  }
  const rt = f.runtime({ maxAttempts });
  // deno-lint-ignore require-yield
  rt.registerOrchestration("Flow", function* () {
    return "never";
  });
  await rt.start();
  const status = await f.client.waitForOrchestration("poison-1", 20_000);
  assert.equal(status.status, "Failed");
  assert.equal(status.error, "poison: orchestration poison-1 exceeded 4 attempts (max 3)");
  const history = await f.provider.read("poison-1");
  assert.deepEqual(history.map((e) => e.type), ["OrchestrationStarted", "OrchestrationFailed"]);
  assert.equal(rt.metricsSnapshot().poisonMessages, 1);
});

runtimeTest("runtime: an activity fetched too often is poisoned", async (f) => {
  const maxAttempts = 3;
  const rt1 = f.runtime({ workerTagFilter: "none" });
  rt1.registerOrchestration("Flow", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleActivity("Act", "x");
  });
  await rt1.start();
  await f.client.startOrchestration("apoison-1", "Flow");
  await until(async () =>
    (await f.provider.read("apoison-1")).some((e) => e.type === "ActivityScheduled")
  );
  await rt1.shutdown();
  for (let i = 0; i < maxAttempts; i++) {
    const fetched = await f.provider.fetchWorkItem(5_000, 0, null, { type: "DefaultOnly" });
    assert.ok(fetched);
    await f.provider.abandonWorkItem(fetched.lockToken, null, false);
  }
  const rt2 = f.runtime({ maxAttempts }, await f.newProvider());
  rt2.registerActivity("Act", () => "ran");
  rt2.registerOrchestration("Flow", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleActivity("Act", "x");
  });
  await rt2.start();
  const status = await f.client.waitForOrchestration("apoison-1", 20_000);
  assert.equal(status.status, "Failed");
  assert.equal(status.error, "poison: activity Act#2 exceeded 4 attempts (max 3)");
});

runtimeTest("runtime: corrupted history is poisoned with event 99999", async (f) => {
  const rt1 = f.runtime();
  rt1.registerOrchestration("Flow", function* (ctx: OrchestrationContext) {
    return yield ctx.waitForEvent("Go");
  });
  await rt1.start();
  await f.client.startOrchestration("corrupt-1", "Flow");
  await until(async () =>
    (await f.provider.read("corrupt-1")).some((e) => e.type === "ExternalSubscribed")
  );
  await rt1.shutdown();
  await f.sql(
    `update "${f.schema}".history set event_data = '{"not a valid event' where instance_id = $1`,
    ["corrupt-1"],
  );
  await f.client.raiseEvent("corrupt-1", "Go", 1);
  const rt2 = f.runtime({ maxAttempts: 2 }, await f.newProvider());
  rt2.registerOrchestration("Flow", function* (ctx: OrchestrationContext) {
    return yield ctx.waitForEvent("Go");
  });
  await rt2.start();
  const admin = f.provider.asManagementCapability();
  const info = await until(async () => {
    const i = await admin.getInstanceInfo("corrupt-1");
    return i.status === "Failed" ? i : null;
  });
  assert.match(
    info.output!,
    /^poison: orchestration corrupt-1 history deserialization failed after 3 attempts \(max 2\): /,
  );
  const rows = await f.sql<{ event_id: number }>(
    `select event_id from "${f.schema}".history where instance_id = $1 order by event_id`,
    ["corrupt-1"],
  );
  assert.equal(Number(rows.at(-1)!.event_id), 99999);
});
