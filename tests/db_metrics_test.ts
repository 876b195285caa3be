/** Database metrics: per-procedure counts and timings, fetch effectiveness, round trips. */

import assert from "node:assert/strict";
import { DbMetrics, DURATION_BUCKETS_MS } from "../src/metrics/db_metrics.ts";
import { backendTest } from "./_support/backends.ts";
import { activityItem, startedEvent, startItem, testMetadata } from "../sim/validation/helpers.ts";

backendTest("DbMetrics counts calls, fetch effectiveness and round trips", async (t) => {
  const metrics = new DbMetrics();
  const provider = await t.createProvider({ metrics, longPoll: { enabled: false } });
  metrics.reset(); // start-up queries are not part of the workload

  for (const id of ["a", "b"]) await provider.enqueueForOrchestrator(startItem(id), null);
  assert.equal(await provider.fetchWorkItem(30_000, 0, null, { type: "Any" }), null);
  for (let i = 0; i < 2; i++) {
    const turn = await provider.fetchOrchestrationItem(30_000, 0);
    assert.ok(turn);
    await provider.ackOrchestrationItem(
      turn.lockToken,
      1,
      [startedEvent(turn.item.instance)],
      [
        activityItem(turn.item.instance, 1, 2),
      ],
      [],
      testMetadata(),
      [],
    );
  }
  assert.equal(await provider.fetchOrchestrationItem(30_000, 0), null);
  for (let i = 0; i < 2; i++) {
    const work = await provider.fetchWorkItem(30_000, 0, null, { type: "Any" });
    assert.ok(work);
    await provider.renewWorkItemLock(work.lockToken, 30_000);
    await provider.ackWorkItem(work.lockToken, null);
  }
  await assert.rejects(provider.ackWorkItem("no-such-token", null));

  const snapshot = metrics.snapshot();
  assert.deepEqual(snapshot.orchestrationFetch, {
    attempts: 3,
    items: 2,
    empty: 1,
    effectiveness: 2 / 3,
  });
  assert.deepEqual(snapshot.workerFetch, { attempts: 3, items: 2, empty: 1, effectiveness: 2 / 3 });
  // Per turn: one fetch and one ack, plus the final empty fetch spread over two turns.
  assert.equal(snapshot.roundTripsPerTurn, 5 / 2);
  // Per activity: fetch, renew and ack, plus an empty fetch and a failed ack.
  assert.equal(snapshot.roundTripsPerActivity, 8 / 2);
  const ack = snapshot.procedures.ack_work_item;
  assert.equal(ack.calls, 3);
  assert.equal(ack.errors, 1);
  assert.equal(ack.buckets.length, DURATION_BUCKETS_MS.length + 1);
  for (const m of Object.values(snapshot.procedures)) {
    assert.equal(m.buckets.reduce((a, b) => a + b, 0), m.calls);
    assert.ok(m.totalMs >= 0);
  }
  assert.equal(snapshot.procedures.enqueue_orchestrator_item.calls, 2);

  metrics.reset();
  assert.deepEqual(metrics.snapshot().procedures, {});
});
