/**
 * Sub-orchestrations (results, failures, explicit ids), detached starts, and continue-as-new
 * with carried-forward queue messages, custom status and KV.
 */

import assert from "node:assert/strict";
import type { OrchestrationContext } from "../src/runtime/mod.ts";
import type { Event } from "../src/types.ts";
import { runtimeTest } from "./runtime_harness_test.ts";

runtimeTest("runtime: a sub-orchestration's output is the parent's task result", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Double", (_ctx, n) => (n as number) * 2);
  rt.registerOrchestration("Child", function* (ctx: OrchestrationContext, n: unknown) {
    return yield ctx.scheduleActivity("Double", n);
  });
  rt.registerOrchestration("Parent", function* (ctx: OrchestrationContext) {
    const a = yield ctx.scheduleSubOrchestration("Child", 5);
    const b = yield ctx.scheduleSubOrchestrationWithId("Child", "explicit-child", 7);
    return { a, b };
  });
  await rt.start();
  await f.client.startOrchestration("parent-1", "Parent");
  const status = await f.client.waitForOrchestration("parent-1", 20_000);
  assert.deepEqual(status.output, { a: 10, b: 14 });
  const history = await f.provider.read("parent-1");
  const scheduled = history.filter((e) => e.type === "SubOrchestrationScheduled") as (Event & {
    instance: string;
  })[];
  assert.deepEqual(scheduled.map((e) => e.instance), ["sub::2", "explicit-child"]);
  const admin = f.provider.asManagementCapability();
  assert.equal((await admin.getInstanceInfo("parent-1::sub::2")).parentInstanceId, "parent-1");
  assert.equal((await admin.getInstanceInfo("explicit-child")).status, "Completed");
  assert.deepEqual((await admin.getInstanceTree("parent-1")).allIds.sort(), [
    "explicit-child",
    "parent-1",
    "parent-1::sub::2",
  ]);
}, { server: true });

runtimeTest("runtime: a failed sub-orchestration fails the parent's task", async (f) => {
  const rt = f.runtime();
  // deno-lint-ignore require-yield
  rt.registerOrchestration("Broken", function* () {
    throw new Error("child exploded");
  });
  rt.registerOrchestration("Parent", function* (ctx: OrchestrationContext) {
    try {
      yield ctx.scheduleSubOrchestration("Broken");
      return "unexpected";
    } catch (err) {
      return `caught: ${(err as Error).message}`;
    }
  });
  rt.registerOrchestration("ParentUncaught", function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleSubOrchestration("Broken");
  });
  await rt.start();
  await f.client.startOrchestration("p-1", "Parent");
  await f.client.startOrchestration("p-2", "ParentUncaught");
  assert.equal(
    (await f.client.waitForOrchestration("p-1", 20_000)).output,
    "caught: child exploded",
  );
  const failed = await f.client.waitForOrchestration("p-2", 20_000);
  assert.equal(failed.status, "Failed");
  assert.equal(failed.error, "child exploded");
  assert.equal((await f.client.getStatus("p-1::sub::2")).status, "Failed");
});

runtimeTest("runtime: a detached orchestration runs on its own", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Worker", function* (ctx: OrchestrationContext, input: unknown) {
    yield ctx.scheduleTimer(100);
    return `worked on ${input}`;
  });
  rt.registerOrchestration("Launcher", function* (ctx: OrchestrationContext) {
    const r = yield ctx.startOrchestration("Worker", "detached-1", "job");
    return { launched: r };
  });
  await rt.start();
  await f.client.startOrchestration("launcher-1", "Launcher");
  assert.deepEqual((await f.client.waitForOrchestration("launcher-1", 20_000)).output, {
    launched: null,
  });
  assert.equal(
    (await f.client.waitForOrchestration("detached-1", 20_000)).output,
    "worked on job",
  );
  const admin = f.provider.asManagementCapability();
  assert.equal((await admin.getInstanceInfo("detached-1")).parentInstanceId, null);
});

runtimeTest("runtime: continue-as-new carries queue messages, custom status and KV", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Loop", function* (ctx: OrchestrationContext, input: unknown) {
    const { round } = input as { round: number };
    if (round === 0) {
      const first = yield ctx.dequeueEvent("q");
      ctx.setCustomStatus(`got ${first}`);
      ctx.setValue("k", "v0");
      yield ctx.scheduleTimer(400);
      return yield ctx.continueAsNew({ round: 1 });
    }
    const a = yield ctx.dequeueEvent("q");
    const b = yield ctx.dequeueEvent("q");
    return {
      a,
      b,
      status: ctx.getCustomStatus(),
      kv: ctx.getValue("k"),
      execution: ctx.executionId,
    };
  });
  await rt.start();
  await f.client.startOrchestration("loop-1", "Loop", { round: 0 });
  await f.client.enqueueEvent("loop-1", "q", "m1");
  for (let i = 0; i < 400; i++) {
    const history = await f.provider.read("loop-1");
    if (history.some((e) => e.type === "TimerCreated")) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await f.client.enqueueEvent("loop-1", "q", "m2");
  await f.client.enqueueEvent("loop-1", "q", "m3");
  const status = await f.client.waitForOrchestration("loop-1", 20_000);
  assert.deepEqual(status.output, {
    a: "m2",
    b: "m3",
    status: "got m1",
    kv: "v0",
    execution: 2,
  });
  const admin = f.provider.asManagementCapability();
  assert.deepEqual(await admin.listExecutions("loop-1"), [1, 2]);
  assert.equal((await admin.getExecutionInfo("loop-1", 1)).status, "ContinuedAsNew");
  const exec2 = await f.provider.readWithExecution("loop-1", 2);
  const started = exec2[0] as Event & { type: "OrchestrationStarted" };
  assert.deepEqual(started.carryForwardEvents, [["q", '"m2"'], ["q", '"m3"']]);
  assert.equal(started.initialCustomStatus, "got m1");
});

runtimeTest("runtime: continue-as-new loops keep the latest input", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Count", function* (ctx: OrchestrationContext, n: unknown) {
    if ((n as number) < 3) return yield ctx.continueAsNew((n as number) + 1);
    return `done at ${n} in execution ${ctx.executionId}`;
  });
  await rt.start();
  await f.client.startOrchestration("count-1", "Count", 0);
  const status = await f.client.waitForOrchestration("count-1", 20_000);
  assert.equal(status.output, "done at 3 in execution 4");
});
