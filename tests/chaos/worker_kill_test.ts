/**
 * Chaos: a runtime process is killed with SIGKILL while it holds work, once mid-activity (its
 * activities sleeping before they record their effect) and once mid-turn (its turns held
 * before their ack). The other process takes over the expired leases, a replacement process
 * joins, every orchestration completes with its result, and only the killed process's
 * in-flight activities may run twice. Recovery is the time from the kill until every queue
 * row the killed process held has been processed by another one.
 */

import assert from "node:assert/strict";
import { chaosTest, type ChaosTestContext } from "./_support/harness.ts";
import type { NodeOptions } from "./_support/node_process.ts";
import { assertNoLoss, report } from "./_support/report.ts";
import { scaled } from "./_support/run.ts";
import { type WorkInput, workInput } from "./_support/workload.ts";

const LEASES = { orchestratorLockMs: 4_000, workerLockMs: 4_000, refreshMs: 1_000 };

async function killMidWork(
  t: ChaosTestContext,
  scenario: string,
  victimOptions: Partial<NodeOptions>,
  holding: (activities: number, turns: number) => boolean,
) {
  const victim = await t.node({ id: "victim", announce: true, ...LEASES, ...victimOptions });
  await t.node({ id: "survivor", announce: true, ...LEASES });
  const instances: [string, WorkInput][] = Array.from({ length: scaled(30) }, (_, i) => [
    `kill-${i}`,
    workInput(i * 10_000, { steps: 3, width: 2, holdMs: 300 }),
  ]);
  await t.run.start(instances);
  const held = await victim.until(() => holding(victim.activities.size, victim.turns.size));
  assert.ok(held, "the victim never held the work it should be killed with");
  const inFlight = victim.inFlight();
  await victim.kill();
  const rows = await t.run.heldRows(inFlight);
  const replacement = t.node({ id: "replacement", announce: true, ...LEASES });
  const recoveryMs = await t.run.waitUntilGone(rows, 60_000);
  await replacement;
  await t.run.waitForAll(120_000);
  const outcome = await t.run.outcome();
  await report(scenario, outcome, {
    activitiesInFlightAtKill: inFlight.filter((f) => f.activityId !== null).length,
    turnsInFlightAtKill: inFlight.filter((f) => f.activityId === null).length,
    queueRowsHeldAtKill: rows.length,
    recoveryMs,
    leases: JSON.stringify(LEASES),
  });
  assertNoLoss(outcome);
  assert.ok(Number.isFinite(recoveryMs), "the killed process's work was never redone");
  const killedWork = new Set(inFlight.map((f) => `${f.instance}#${f.activityId}`));
  for (const r of outcome.repeated) {
    assert.ok(
      killedWork.has(`${r.instance}#${r.activityId}`),
      `${r.instance}#${r.activityId} ran twice but was not in flight on the killed process`,
    );
  }
}

chaosTest("chaos: a process killed with SIGKILL mid-activity", (t) =>
  killMidWork(
    t,
    "chaos: SIGKILL mid-activity",
    {},
    (activities) => activities >= 3,
  ));

chaosTest("chaos: a process killed with SIGKILL mid-turn", (t) =>
  killMidWork(
    t,
    "chaos: SIGKILL mid-turn",
    // Every turn of the victim waits 1.5 s between its fetch and its ack.
    { ackHoldMs: 1_500 },
    (_, turns) => turns >= 2,
  ));
