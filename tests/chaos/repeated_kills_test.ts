/**
 * Chaos: repeated kills. Three process slots share the work; every 1.5 s one running process,
 * chosen at random, is killed with SIGKILL (whatever it holds: activities, turns, timers it
 * created) and a replacement starts in its slot. One slot holds each turn 300 ms before its
 * ack, so kills also land mid-turn. Nothing is lost, and each kill's held work is redone.
 */

import assert from "node:assert/strict";
import { chaosTest } from "./_support/harness.ts";
import type { NodeOptions, NodeProcess } from "./_support/node_process.ts";
import { assertNoLoss, report } from "./_support/report.ts";
import { scaled } from "./_support/run.ts";
import { type WorkInput, workInput } from "./_support/workload.ts";

const LEASES = { orchestratorLockMs: 4_000, workerLockMs: 4_000, refreshMs: 1_000 };
const KILL_EVERY_MS = 1_500;

chaosTest("chaos: repeated SIGKILLs with replacement processes", async (t) => {
  const slots: Omit<NodeOptions, "url" | "schema" | "id">[] = [
    { announce: true, ...LEASES },
    { announce: true, ...LEASES },
    { announce: true, ackHoldMs: 300, ...LEASES },
  ];
  const generation = [0, 0, 0];
  const running: NodeProcess[] = await Promise.all(
    slots.map((options, i) => t.node({ id: `s${i}.0`, ...options })),
  );
  const instances: [string, WorkInput][] = Array.from({ length: scaled(60) }, (_, i) => [
    `repeat-${i}`,
    workInput(i * 10_000, { steps: 3, width: 2, holdMs: 150, timerMs: i % 5 === 0 ? 300 : 0 }),
  ]);
  await t.run.start(instances);

  const kills = scaled(5);
  const recoveries: Promise<number>[] = [];
  const killedWork = new Set<string>();
  let inFlightAtKills = 0;
  for (let k = 0; k < kills; k++) {
    await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
    const slot = Math.floor(Math.random() * slots.length);
    const victim = running[slot];
    const inFlight = victim.inFlight();
    await victim.kill();
    inFlightAtKills += inFlight.length;
    for (const f of inFlight) killedWork.add(`${f.instance}#${f.activityId}`);
    const rows = await t.run.heldRows(inFlight);
    recoveries.push(t.run.waitUntilGone(rows, 60_000));
    running[slot] = await t.node({ id: `s${slot}.${++generation[slot]}`, ...slots[slot] });
  }
  const recoveryMs = await Promise.all(recoveries);
  await t.run.waitForAll(180_000);
  const outcome = await t.run.outcome();
  await report("chaos: repeated SIGKILLs (every 1.5 s, replacement started)", outcome, {
    kills,
    inFlightAtKills,
    recoveryMs,
    maxRecoveryMs: Math.max(...recoveryMs),
    leases: JSON.stringify(LEASES),
  });
  assertNoLoss(outcome);
  for (const ms of recoveryMs) {
    assert.ok(Number.isFinite(ms), "a killed process's work was never redone");
  }
  for (const r of outcome.repeated) {
    assert.ok(
      killedWork.has(`${r.instance}#${r.activityId}`),
      `${r.instance}#${r.activityId} ran twice but was not in flight on a killed process`,
    );
  }
});
