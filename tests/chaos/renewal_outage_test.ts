/**
 * Chaos: the server is down for 1.5 s while activities that outlast their lock renewal
 * interval run (4 s activities, 2 s worker lock renewed every second). Every renewal in the
 * outage fails with a retryable connection error; the activities must still complete.
 *
 * A regression test: the worker dispatcher used to treat any failed renewal as "the activity
 * was cancelled" and, after the grace period, ack the item without a result; once the server
 * was back that ack deleted the activity, and its orchestration waited forever. Now only a lost
 * lock cancels. Activities may still run twice: their 2 s lease can lapse during the outage.
 */

import { chaosTest } from "./_support/harness.ts";
import { assertNoLoss, report } from "./_support/report.ts";
import { scaled } from "./_support/run.ts";
import { type WorkInput, workInput } from "./_support/workload.ts";

const LEASES = { orchestratorLockMs: 4_000, workerLockMs: 2_000, refreshMs: 1_000 };

chaosTest(
  "chaos: activities outlive a server outage during their lock renewals",
  async (t) => {
    const node = await t.node({ id: "a", announce: true, ...LEASES });
    const count = scaled(8);
    const instances: [string, WorkInput][] = Array.from({ length: count }, (_, i) => [
      `renew-${i}`,
      workInput(i * 10_000, { steps: 1, holdMs: 4_000 }),
    ]);
    await t.run.start(instances);
    await node.until(() => node.activities.size >= count);
    await new Promise((r) => setTimeout(r, 300));
    const startMs = Date.now();
    await t.cluster.stop("fast");
    await new Promise((r) => setTimeout(r, 1_500));
    await t.cluster.startAgain();
    const downMs = Date.now() - startMs;
    await t.run.waitForAll(30_000);
    const outcome = await t.run.outcome();
    await report("chaos: server down during activity lock renewals", outcome, {
      serverDownMs: downMs,
      leases: JSON.stringify(LEASES),
    });
    assertNoLoss(outcome);
  },
);
