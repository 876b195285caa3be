/**
 * Every provider and management method is exactly one database round trip: a counting driver
 * wrapper sees one `query` per call (and no transactions or scripts).
 */

import assert from "node:assert/strict";
import { PostgresProvider } from "../src/postgres_provider.ts";
import { backendTest } from "./_support/backends.ts";
import { countingDriver } from "./_support/counting_driver.ts";
import { activityItem, startedEvent, startItem, testMetadata } from "../sim/validation/helpers.ts";

backendTest("every provider method makes exactly one round trip", async (t) => {
  const counter = countingDriver(t.driver);
  // Long polling off: its listener's refresh would add queries at unpredictable moments.
  const provider = await PostgresProvider.fromDriver(counter.driver, {
    schema: t.schema,
    longPoll: { enabled: false },
  });
  const admin = provider.asManagementCapability();

  /** Runs `call`, asserting its round trips; a call that fails must fail in one trip too. */
  async function once<T>(
    what: string,
    call: () => Promise<T>,
    expected = 1,
    fails = false,
  ): Promise<T> {
    const before = counter.calls;
    let result: T | undefined;
    let failure: unknown;
    try {
      result = await call();
    } catch (err) {
      failure = err;
    }
    const trips = counter.calls - before;
    assert.equal(trips, expected, `${what} made ${trips} round trips`);
    if (fails) assert.ok(failure, `${what} was expected to fail`);
    else if (failure) throw failure;
    return result as T;
  }

  await once("enqueueForOrchestrator", () => provider.enqueueForOrchestrator(startItem("a"), null));
  const turn = await once(
    "fetchOrchestrationItem",
    () => provider.fetchOrchestrationItem(30_000, 0),
  );
  assert.ok(turn);
  await once(
    "renewOrchestrationItemLock",
    () => provider.renewOrchestrationItemLock(turn.lockToken, 30_000),
  );
  await once("ackOrchestrationItem", () =>
    provider.ackOrchestrationItem(
      turn.lockToken,
      1,
      [startedEvent("a")],
      [activityItem("a", 1, 2, { sessionId: "s1" })],
      [],
      testMetadata(),
      [],
    ));
  await once(
    "ackOrchestrationItem (invalid token)",
    () => provider.ackOrchestrationItem("nope", 1, [], [], [], {}, []),
    1,
    true,
  );
  await once(
    "enqueueForOrchestrator (again)",
    () => provider.enqueueForOrchestrator(startItem("b"), null),
  );
  const turnB = await once(
    "fetchOrchestrationItem",
    () => provider.fetchOrchestrationItem(30_000, 0),
  );
  assert.ok(turnB);
  await once(
    "abandonOrchestrationItem",
    () => provider.abandonOrchestrationItem(turnB.lockToken, 10, true),
  );
  await once("read", () => provider.read("a"));
  await once("readWithExecution", () => provider.readWithExecution("a", 1));
  await once(
    "appendWithExecution",
    () => provider.appendWithExecution("c", 1, [startedEvent("c")]),
  );
  await once("enqueueForWorker", () => provider.enqueueForWorker(activityItem("a", 1, 3)));
  const work = await once(
    "fetchWorkItem",
    () =>
      provider.fetchWorkItem(30_000, 0, { ownerId: "w1", lockTimeoutMs: 30_000 }, { type: "Any" }),
  );
  assert.ok(work);
  await once("renewWorkItemLock", () => provider.renewWorkItemLock(work.lockToken, 30_000));
  await once("renewSessionLock", () => provider.renewSessionLock(["w1"], 30_000, 60_000));
  await once("ackWorkItem", () =>
    provider.ackWorkItem(work.lockToken, {
      type: "ActivityCompleted",
      instance: "a",
      executionId: 1,
      id: 2,
      result: "ok",
    }));
  const work2 = await once(
    "fetchWorkItem",
    () => provider.fetchWorkItem(30_000, 0, null, { type: "Any" }),
  );
  assert.ok(work2);
  await once("abandonWorkItem", () => provider.abandonWorkItem(work2.lockToken, null, false));
  await once("cleanupOrphanedSessions", () => provider.cleanupOrphanedSessions(0));
  await once("getCustomStatus", () => provider.getCustomStatus("a", 0));
  await once("getKvValue", () => provider.getKvValue("a", "k"));
  await once("getKvAllValues", () => provider.getKvAllValues("a"));
  await once("getInstanceStats", () => provider.getInstanceStats("a"));

  // Calls that need no database at all.
  await once(
    "fetchOrchestrationItem (empty filter)",
    () => provider.fetchOrchestrationItem(1000, 0, { supportedDuroxideVersions: [] }),
    0,
  );
  await once(
    "fetchWorkItem (TagFilter None)",
    () => provider.fetchWorkItem(1000, 0, null, { type: "None" }),
    0,
  );
  await once("renewSessionLock (no owners)", () => provider.renewSessionLock([], 1000, 1000), 0);

  await once("listInstances", () => admin.listInstances());
  await once("listInstancesPage", () => admin.listInstancesPage({ limit: 10 }));
  await once("listInstancesByStatus", () => admin.listInstancesByStatus("Running"));
  await once("listExecutions", () => admin.listExecutions("a"));
  await once("readHistory", () => admin.readHistory("a"));
  await once("readHistoryWithExecutionId", () => admin.readHistoryWithExecutionId("a", 1));
  await once("latestExecutionId", () => admin.latestExecutionId("a"));
  await once("getInstanceInfo", () => admin.getInstanceInfo("a"));
  await once("getExecutionInfo", () => admin.getExecutionInfo("a", 1));
  await once("getSystemMetrics", () => admin.getSystemMetrics());
  await once("getQueueDepths", () => admin.getQueueDepths());
  await once("listChildren", () => admin.listChildren("a"));
  await once("getParentId", () => admin.getParentId("a"));
  await once("getInstanceTree", () => admin.getInstanceTree("a"));
  await once("pruneExecutions", () => admin.pruneExecutions("a", {}));
  await once("pruneExecutionsBulk", () => admin.pruneExecutionsBulk({}, {}));
  await once("deleteInstanceBulk", () => admin.deleteInstanceBulk({}));
  await once("deleteInstancesAtomic", () => admin.deleteInstancesAtomic(["c"], true));
  await once("deleteInstance", () => admin.deleteInstance("a", true));
});
