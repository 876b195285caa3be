/**
 * Three runtime processes with skewed clocks on one schema: every orchestration started by the
 * test process completes once with its result, events sent from outside reach whichever node
 * runs the instance, and turns and activities spread over all three nodes.
 *
 * A node whose clock lags sees new work that much later than the others (visibility times
 * come from the writer's clock), so with spare capacity elsewhere it may get nothing. The
 * load here exceeds the nodes' slots (slow activities, turns held 25 ms before their ack),
 * so work waits in the queues and every node takes part.
 */

import assert from "node:assert/strict";
import { multiNodeTest } from "../chaos/_support/harness.ts";
import { stopAll } from "../chaos/_support/node_process.ts";
import { assertNoLoss, report } from "../chaos/_support/report.ts";
import { scaled } from "../chaos/_support/run.ts";
import { type WorkInput, workInput } from "../chaos/_support/workload.ts";

const SKEWS_MS = [-250, 0, 250];

multiNodeTest(
  "multi-node: three skewed processes share one schema and split the work",
  async (t) => {
    const nodes = await Promise.all(SKEWS_MS.map((skewMs, i) =>
      t.node({
        id: `n${i}`,
        skewMs,
        orchestrationConcurrency: 1,
        workerConcurrency: 2,
        ackHoldMs: 25,
      })
    ));
    const instances: [string, WorkInput][] = Array.from({ length: scaled(36) }, (_, i) => [
      `dist-${i}`,
      workInput(i * 10_000, { steps: 2, width: 4, holdMs: 100, event: i % 3 === 0 }),
    ]);
    const t0 = Date.now();
    await t.run.start(instances);
    await t.run.sendEvents();
    await t.run.waitForAll(120_000);
    const elapsedMs = Date.now() - t0;
    const outcome = await t.run.outcome();
    await stopAll(nodes); // graceful: each prints its counters
    const effects = await t.run.effectsByNode();
    await report("multi-node: 3 processes, clocks -250/0/+250 ms, one schema", outcome, {
      elapsedMs,
      activitiesPerNode: nodes.map((n) => `${n.id}=${effects.get(n.id) ?? 0}`).join(" "),
      turnsPerNode: nodes.map((n) => `${n.id}=${n.stats?.orchestrationTurns}`).join(" "),
    });
    assertNoLoss(outcome);
    assert.equal(outcome.repeatedExecutions, 0, "without faults every activity runs once");
    for (const n of nodes) {
      assert.ok((effects.get(n.id) ?? 0) > 0, `node ${n.id} ran no activity`);
      assert.ok((n.stats?.orchestrationTurns ?? 0) > 0, `node ${n.id} ran no turn`);
    }
  },
);
