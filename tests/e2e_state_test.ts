/**
 * End to end, state: a client that follows progress through custom status changes, the
 * KV store's housekeeping (pruning by age, clearing) watched from a client, and the figures
 * the client, the management API and the runtime report.
 */

import assert from "node:assert/strict";
import type { OrchestrationContext } from "../mod.ts";
import { e2eTest, historyWith, until } from "./_support/e2e.ts";

e2eTest("a client follows progress through custom status changes", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Import", function* (ctx: OrchestrationContext, files: unknown) {
    const names = files as string[];
    for (let i = 0; i < names.length; i++) {
      ctx.setCustomStatus(JSON.stringify({ file: names[i], done: i, of: names.length }));
      yield ctx.waitForEvent("Ack"); // the client acknowledges every step
    }
    ctx.resetCustomStatus();
    return `imported ${names.length}`;
  });
  await rt.start();
  await f.client.startOrchestration("import-1", "Import", ["a.csv", "b.csv", "c.csv"]);
  const seen: unknown[] = [];
  let version = 0;
  for (let step = 0; step < 3; step++) {
    const status = await f.client.waitForStatusChange("import-1", version, 5_000, 20_000);
    version = status.customStatusVersion;
    seen.push(JSON.parse(status.customStatus!));
    await f.client.raiseEvent("import-1", "Ack");
  }
  assert.deepEqual(seen, [
    { file: "a.csv", done: 0, of: 3 },
    { file: "b.csv", done: 1, of: 3 },
    { file: "c.csv", done: 2, of: 3 },
  ]);
  const final = await f.client.waitForOrchestration("import-1", 20_000);
  assert.equal(final.output, "imported 3");
  assert.equal(final.customStatus, null);
  assert.equal(final.customStatusVersion, 4);
});

e2eTest("KV values are pruned by age, cleared, and watched by clients", async (f) => {
  let offsetMs = 0; // the runtime's clock, moved forward by the test
  const rt = f.runtime({ clock: () => Date.now() + offsetMs });
  rt.registerOrchestration("Cache", function* (ctx: OrchestrationContext) {
    ctx.setValue("session:alice", "a");
    ctx.setValue("session:bob", "b");
    ctx.setValue("ready", "yes");
    yield ctx.waitForEvent("Sweep"); // an hour later, by the runtime's clock
    ctx.setValue("session:carol", "c");
    const now = (yield ctx.utcNow()) as number;
    const pruned = ctx.pruneKvValuesUpdatedBefore(now - 30 * 60_000);
    const afterPrune = ctx.getKvAllKeys().sort();
    yield ctx.waitForEvent("Reset");
    ctx.clearAllValues();
    ctx.setValue("generation", "2");
    return { pruned, afterPrune, length: ctx.getKvLength() };
  });
  await rt.start();
  await f.client.startOrchestration("cache-1", "Cache");
  assert.equal(await f.client.waitForValue("cache-1", "ready", 20_000), "yes");
  offsetMs = 60 * 60_000;
  await f.client.raiseEvent("cache-1", "Sweep");
  assert.equal(await f.client.waitForValue("cache-1", "session:carol", 20_000), "c");
  await historyWith(f.provider, "cache-1", "ExternalSubscribed", 2);
  assert.deepEqual(await f.client.getKvAllValues("cache-1"), { "session:carol": "c" });
  await f.client.raiseEvent("cache-1", "Reset");
  const status = await f.client.waitForOrchestration("cache-1", 20_000);
  assert.deepEqual(status.output, {
    pruned: 3,
    afterPrune: ["session:carol"],
    length: 1,
  });
  assert.deepEqual(await f.client.getKvAllValues("cache-1"), { generation: "2" });
  assert.equal(await f.client.getValue("cache-1", "session:carol"), null);
});

e2eTest("stats and metrics from the client, the management API and the runtime", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Work", (_ctx, n) => {
    if (n === "bad") throw new Error("bad input");
    return n;
  });
  rt.registerOrchestration("Job", function* (ctx: OrchestrationContext, n: unknown) {
    ctx.setValue("input", String(n));
    const result = yield ctx.scheduleActivity("Work", n);
    if (n === "wait") return yield ctx.waitForEvent("Finish");
    return result;
  });
  await rt.start();
  for (const [id, input] of [["ok-1", 1], ["ok-2", 2], ["bad-1", "bad"], ["wait-1", "wait"]]) {
    await f.client.startOrchestration(id as string, "Job", input);
  }
  for (const id of ["ok-1", "ok-2", "bad-1"]) await f.client.waitForOrchestration(id, 20_000);
  await historyWith(f.provider, "wait-1", "ExternalSubscribed");

  const stats = await f.client.getOrchestrationStats("wait-1");
  const history = await f.provider.read("wait-1");
  assert.deepEqual(stats, {
    historyEventCount: history.length,
    historySizeBytes: stats!.historySizeBytes,
    queuePendingCount: 0,
    kvUserKeyCount: 1,
    kvTotalValueBytes: "wait".length,
  });
  assert.ok(stats!.historySizeBytes > 0);
  assert.equal(await f.client.getOrchestrationStats("missing"), null);

  const metrics = await f.client.getSystemMetrics();
  let events = 0;
  for (const id of ["ok-1", "ok-2", "bad-1", "wait-1"]) {
    events += (await f.provider.read(id)).length;
  }
  assert.deepEqual(metrics, {
    totalInstances: 4,
    totalExecutions: 4,
    runningInstances: 1,
    completedInstances: 2,
    failedInstances: 1,
    totalEvents: events,
  });
  assert.deepEqual((await f.client.listInstancesByStatus("Completed")).sort(), ["ok-1", "ok-2"]);
  assert.deepEqual(await f.client.listInstancesByStatus("Failed"), ["bad-1"]);
  assert.deepEqual(await f.client.getQueueDepths(), {
    orchestratorQueue: 0,
    workerQueue: 0,
    timerQueue: 0,
  });

  // One start turn and one completion turn per instance (counted just after each ack).
  await until(() => Promise.resolve(rt.metricsSnapshot().orchestrationTurns === 8));
  const runtime = rt.metricsSnapshot();
  assert.equal(runtime.orchestrationsCompleted, 2);
  assert.equal(runtime.orchestrationsFailed, 1);
  assert.equal(runtime.activitiesCompleted, 3);
  assert.equal(runtime.activitiesFailed, 1);
  assert.equal(runtime.poisonMessages, 0);
});
