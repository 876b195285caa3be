/**
 * Failover: two runtime processes with skewed clocks share the work; one is killed with
 * SIGKILL while it runs activities. The survivor takes over its expired leases and finishes
 * every orchestration; only the activities the killed node had in flight run twice.
 */

import assert from "node:assert/strict";
import { multiNodeTest } from "../chaos/_support/harness.ts";
import { assertNoLoss, report } from "../chaos/_support/report.ts";
import { scaled } from "../chaos/_support/run.ts";
import { type WorkInput, workInput } from "../chaos/_support/workload.ts";

// Short leases so the survivor takes over within seconds; the renewal margin (lock minus
// renewal interval, 2 s) stays well above the 400 ms skew between the two nodes.
const LEASES = { orchestratorLockMs: 4_000, workerLockMs: 4_000, refreshMs: 1_000 };

multiNodeTest("multi-node: the survivor finishes the work of a killed process", async (t) => {
  const victim = await t.node({ id: "a", skewMs: -200, announce: true, ...LEASES });
  const survivor = await t.node({ id: "b", skewMs: 200, announce: true, ...LEASES });
  const instances: [string, WorkInput][] = Array.from({ length: scaled(20) }, (_, i) => [
    `failover-${i}`,
    workInput(i * 10_000, { steps: 3, width: 2, holdMs: 300 }),
  ]);
  await t.run.start(instances);
  assert.ok(await victim.until(() => victim.activities.size >= 2), "the victim ran nothing");
  const inFlight = victim.inFlight();
  await victim.kill();
  const held = await t.run.heldRows(inFlight);
  const recoveryMs = await t.run.waitUntilGone(held, 60_000);
  await t.run.waitForAll(120_000);
  const outcome = await t.run.outcome();
  await report("multi-node: failover after SIGKILL of one of two processes", outcome, {
    inFlightAtKill: inFlight.length,
    queueRowsHeldAtKill: held.length,
    recoveryMs,
    leases: JSON.stringify(LEASES),
  });
  assertNoLoss(outcome);
  assert.ok(Number.isFinite(recoveryMs), "the killed node's work was never redone");
  const killedWork = new Set(inFlight.map((f) => `${f.instance}#${f.activityId}`));
  for (const r of outcome.repeated) {
    assert.ok(
      killedWork.has(`${r.instance}#${r.activityId}`),
      `${r.instance}#${r.activityId} ran twice`,
    );
  }
  assert.ok(survivor.running);
});
