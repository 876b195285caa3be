/**
 * Runtime basics end to end: activities in sequence and in parallel, failures surfaced to the
 * orchestration, custom status, KV, and the recorded system activities.
 */

import assert from "node:assert/strict";
import type { JoinResult, OrchestrationContext } from "../src/runtime/mod.ts";
import { eventTypes, runtimeTest } from "./runtime_harness_test.ts";

runtimeTest("runtime: hello world runs one activity", async ({ runtime, client }) => {
  const rt = runtime();
  rt.registerActivity("Greet", (_ctx, name) => `Hello, ${name}!`);
  rt.registerOrchestration("Hello", function* (ctx: OrchestrationContext, name: unknown) {
    return yield ctx.scheduleActivity("Greet", name);
  });
  await rt.start();
  await client.startOrchestration("hello-1", "Hello", "World");
  const status = await client.waitForOrchestration("hello-1", 20_000);
  assert.equal(status.status, "Completed");
  assert.equal(status.output, "Hello, World!");
}, { server: true });

runtimeTest("runtime: a sequence of activities passes results along", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Add", (_ctx, input) => {
    const { a, b } = input as { a: number; b: number };
    return a + b;
  });
  rt.registerOrchestration("Chain", function* (ctx: OrchestrationContext, start: unknown) {
    let total = start as number;
    for (let i = 1; i <= 3; i++) {
      total = (yield ctx.scheduleActivity("Add", { a: total, b: i })) as number;
    }
    return { total };
  });
  await rt.start();
  await f.client.startOrchestration("chain-1", "Chain", 10);
  const status = await f.client.waitForOrchestration("chain-1", 20_000);
  assert.deepEqual(status.output, { total: 16 });
  const history = await f.provider.read("chain-1");
  assert.deepEqual(eventTypes(history), [
    "OrchestrationStarted",
    "ActivityScheduled",
    "ActivityCompleted",
    "ActivityScheduled",
    "ActivityCompleted",
    "ActivityScheduled",
    "ActivityCompleted",
    "OrchestrationCompleted",
  ]);
  assert.deepEqual(history.map((e) => e.eventId), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(history[0].duroxideVersion, "0.1.26");
});

runtimeTest("runtime: fan-out/fan-in with all() keeps task order", async (f) => {
  const rt = f.runtime({ workerConcurrency: 3 });
  rt.registerActivity("Square", async (_ctx, n) => {
    await new Promise((r) => setTimeout(r, 50 - (n as number) * 10));
    return (n as number) * (n as number);
  });
  rt.registerActivity("Fail", () => {
    throw new Error("nope");
  });
  rt.registerOrchestration("FanOut", function* (ctx: OrchestrationContext) {
    const tasks = [1, 2, 3, 4].map((n) => ctx.scheduleActivity("Square", n));
    const results = (yield ctx.all([...tasks, ctx.scheduleActivity("Fail")])) as JoinResult[];
    return results;
  });
  await rt.start();
  await f.client.startOrchestration("fan-1", "FanOut");
  const status = await f.client.waitForOrchestration("fan-1", 20_000);
  assert.equal(status.status, "Completed");
  assert.deepEqual(status.output, [{ ok: 1 }, { ok: 4 }, { ok: 9 }, { ok: 16 }, { err: "nope" }]);
});

runtimeTest("runtime: an activity failure is an error the orchestration can catch", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Charge", (_ctx, amount) => {
    if ((amount as number) > 100) throw new Error(`card declined for ${amount}`);
    return "charged";
  });
  rt.registerOrchestration("Pay", function* (ctx: OrchestrationContext, amount: unknown) {
    try {
      return yield ctx.scheduleActivity("Charge", amount);
    } catch (err) {
      return `caught: ${(err as Error).message}`;
    }
  });
  rt.registerOrchestration("PayUncaught", function* (ctx: OrchestrationContext, amount: unknown) {
    return yield ctx.scheduleActivity("Charge", amount);
  });
  await rt.start();
  await f.client.startOrchestration("pay-1", "Pay", 500);
  await f.client.startOrchestration("pay-2", "PayUncaught", 500);
  assert.equal(
    (await f.client.waitForOrchestration("pay-1", 20_000)).output,
    "caught: card declined for 500",
  );
  const failed = await f.client.waitForOrchestration("pay-2", 20_000);
  assert.equal(failed.status, "Failed");
  assert.equal(failed.error, "card declined for 500");
  const last = (await f.provider.read("pay-2")).at(-1)!;
  assert.equal(last.type, "OrchestrationFailed");
  if (last.type === "OrchestrationFailed") {
    assert.deepEqual(last.details, {
      type: "Application",
      kind: "OrchestrationFailed",
      message: "card declined for 500",
      retryable: false,
    });
  }
});

runtimeTest("runtime: custom status and KV are recorded and visible to clients", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Noop", () => null);
  rt.registerOrchestration("Stateful", function* (ctx: OrchestrationContext) {
    ctx.setCustomStatus("step 1");
    ctx.setValue("count", "1");
    yield ctx.scheduleActivity("Noop");
    const count = Number(ctx.getValue("count")) + 1;
    ctx.setValue("count", String(count));
    ctx.setValue("temp", "x");
    ctx.clearValue("temp");
    ctx.setCustomStatus(`step ${count}`);
    return {
      status: ctx.getCustomStatus(),
      keys: ctx.getKvAllKeys(),
      all: ctx.getKvAllValues(),
      length: ctx.getKvLength(),
    };
  });
  await rt.start();
  await f.client.startOrchestration("state-1", "Stateful");
  const status = await f.client.waitForOrchestration("state-1", 20_000);
  assert.deepEqual(status.output, {
    status: "step 2",
    keys: ["count"],
    all: { count: "2" },
    length: 1,
  });
  assert.equal(status.customStatus, "step 2");
  assert.equal(status.customStatusVersion, 2);
  assert.equal(await f.client.getValue("state-1", "count"), "2");
  assert.deepEqual(await f.client.getKvAllValues("state-1"), { count: "2" });
});

runtimeTest("runtime: newGuid, utcNow and getValueFromInstance are recorded", async (f) => {
  const rt = f.runtime({ clock: () => 1_767_225_600_000 });
  rt.registerOrchestration("Source", function* (ctx: OrchestrationContext) {
    ctx.setValue("color", "blue");
    yield ctx.scheduleTimer(0);
    return null;
  });
  rt.registerOrchestration("Sys", function* (ctx: OrchestrationContext) {
    const guid = yield ctx.newGuid();
    const now = yield ctx.utcNow();
    const color = yield ctx.getValueFromInstance("src-1", "color");
    const missing = yield ctx.getValueFromInstance("src-1", "nope");
    return { guid, now, color, missing };
  });
  await rt.start();
  await f.client.startOrchestration("src-1", "Source");
  await f.client.waitForOrchestration("src-1", 20_000);
  await f.client.startOrchestration("sys-1", "Sys");
  const out = (await f.client.waitForOrchestration("sys-1", 20_000)).output as Record<
    string,
    unknown
  >;
  assert.match(out.guid as string, /^[0-9a-f-]{36}$/);
  assert.equal(out.now, 1_767_225_600_000);
  assert.equal(out.color, "blue");
  assert.equal(out.missing, null);
  const scheduled = (await f.provider.read("sys-1"))
    .filter((e) => e.type === "ActivityScheduled")
    .map((e) => (e as { name: string }).name);
  assert.deepEqual(scheduled, [
    "__duroxide_syscall:new_guid",
    "__duroxide_syscall:utc_now_ms",
    "__duroxide_syscall:get_kv_value",
    "__duroxide_syscall:get_kv_value",
  ]);
});
