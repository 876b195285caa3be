/**
 * Chaos: the PostgreSQL server (a private cluster) is restarted twice while two runtime
 * processes work: first a fast restart (every session disconnected, clean shutdown), then an
 * immediate one (a crash: no checkpoint, WAL recovery on start). Nothing committed is lost,
 * every orchestration completes with its result, and work resumes once the server is back.
 */

import assert from "node:assert/strict";
import { chaosTest } from "./_support/harness.ts";
import { assertNoLoss, report } from "./_support/report.ts";
import { recoveryAfter, scaled } from "./_support/run.ts";
import { type WorkInput, workInput } from "./_support/workload.ts";

const LEASES = { orchestratorLockMs: 4_000, workerLockMs: 4_000, refreshMs: 1_000 };

chaosTest("chaos: PostgreSQL restarted mid-run (fast, then immediate)", async (t) => {
  await Promise.all(["a", "b"].map((id) => t.node({ id, ...LEASES })));
  const count = scaled(40);
  const instances: [string, WorkInput][] = Array.from({ length: count }, (_, i) => [
    `restart-${i}`,
    workInput(i * 10_000, { steps: 3, width: 2, holdMs: 100, timerMs: i % 4 === 0 ? 500 : 0 }),
  ]);
  const t0 = Date.now();
  await t.run.start(instances);
  const restarts: { mode: "fast" | "immediate"; startMs: number; endMs: number }[] = [];
  for (const [mode, fraction] of [["fast", 0.25], ["immediate", 0.6]] as const) {
    await t.run.waitForFinished(Math.floor(count * fraction), 120_000);
    const startMs = Date.now();
    await t.cluster.restart(mode);
    restarts.push({ mode, startMs, endMs: Date.now() });
  }
  await t.run.waitForAll(180_000);
  const elapsedMs = Date.now() - t0;
  const drainMs = Date.now() - restarts[1].endMs;
  const outcome = await t.run.outcome();
  const completions = await t.run.completionTimes();
  const recovery = restarts.map((r) => recoveryAfter(completions, r.startMs, r.endMs));
  await report("chaos: PostgreSQL restarted mid-run (fast, then immediate)", outcome, {
    serverDownMs: restarts.map((r) => r.endMs - r.startMs),
    recoveryMs: recovery.map((r) => r.recoveryMs),
    longestStallMs: recovery.map((r) => r.longestStallMs),
    elapsedMs,
    drainAfterLastRestartMs: drainMs,
    leases: JSON.stringify(LEASES),
  });
  assertNoLoss(outcome);
  for (const r of recovery) {
    assert.ok(Number.isFinite(r.recoveryMs), "no completion after a restart");
  }
});
