/**
 * Chaos: the runtime processes' database sessions are killed with `pg_terminate_backend` while
 * they work. Every 50 ms the sessions caught running a fetch or an ack are killed (mid-fetch,
 * mid-ack: the caller may not learn whether its call committed), and every 2 s all of
 * their sessions, idle pool connections and the LISTEN connection included. Nothing is lost
 * and every result is right; an ack whose reply was lost may make an activity run again.
 *
 * A process supervisor restarts a node that crashes, as a deployment would: postgres.js 3.4.9
 * can crash the process when its sessions are killed. It runs an array-type query on every new
 * connection and leaves that promise unhandled (a kill during it is an unhandled rejection), and
 * a write it deferred can run after the socket was cleared (`nextWrite` on `null`). The run
 * counts crashes; the second test, which also kills sessions right after they connect and
 * allows no crash, is ignored until that is fixed.
 */

import assert from "node:assert/strict";
import { chaosTest, type ChaosTestContext } from "./_support/harness.ts";
import { assertNoLoss, report } from "./_support/report.ts";
import { recoveryAfter, type Run, scaled } from "./_support/run.ts";
import { Supervisor } from "./_support/supervisor.ts";
import { type WorkInput, workInput } from "./_support/workload.ts";

const LEASES = { orchestratorLockMs: 4_000, workerLockMs: 4_000, refreshMs: 1_000 };

/** How often sessions are killed. */
interface Cadence {
  /** Pause between two kills of the sessions running a fetch or an ack. */
  everyMs: number;
  /** Pause between two kills of all the nodes' sessions. */
  sweepMs: number;
  /** How long the faults go on. */
  windowMs: number;
  /** Also kill sessions younger than 200 ms (killed during their first statements). */
  young?: boolean;
}

/** Kills the nodes' sessions for `cadence.windowMs`; counts what each kill interrupted. */
async function killSessions(run: Run, cadence: Cadence): Promise<Record<string, number>> {
  const kills = { fetch: 0, ack: 0, sweep: 0, young: 0 };
  const untilMs = Date.now() + cadence.windowMs;
  let nextSweep = Date.now() + cadence.sweepMs;
  while (Date.now() < untilMs) {
    // One statement finds and kills, so the call is caught while it runs.
    const rows = await run.query<{ kind: "fetch" | "ack" }>(
      `select case when query ~ 'fetch_' then 'fetch' else 'ack' end as kind
         from pg_stat_activity
        where application_name like 'chaos_node_%' and state = 'active'
          and query ~ '(fetch|ack)_(orchestration|work)_item'
          and pg_terminate_backend(pid)`,
    );
    for (const r of rows) kills[r.kind]++;
    if (cadence.young) {
      const [row] = await run.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where application_name like 'chaos_node_%'
            and backend_start > now() - interval '200 ms' and pg_terminate_backend(pid)`,
      );
      kills.young += row.n;
    }
    if (Date.now() >= nextSweep) {
      const [row] = await run.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where application_name like 'chaos_node_%' and pg_terminate_backend(pid)`,
      );
      kills.sweep += row.n;
      nextSweep = Date.now() + cadence.sweepMs;
    }
    await new Promise((r) => setTimeout(r, cadence.everyMs));
  }
  return kills;
}

async function sessionKills(
  t: ChaosTestContext,
  scenario: string,
  cadence: Cadence,
  strict: boolean,
) {
  const supervisor = new Supervisor(t.node);
  await Promise.all(["a", "b"].map((id) => supervisor.add({ id, ...LEASES })));
  const count = scaled(40);
  const instances: [string, WorkInput][] = Array.from({ length: count }, (_, i) => [
    `kill-session-${i}`,
    workInput(i * 10_000, { steps: 3, width: 3, holdMs: 20 }),
  ]);
  const t0 = Date.now();
  await t.run.start(instances);
  const faultStartMs = Date.now();
  const kills = await killSessions(t.run, cadence);
  const faultEndMs = Date.now();
  const finishedInWindow = await t.run.finishedCount();
  await t.run.waitForAll(180_000);
  const elapsedMs = Date.now() - t0;
  await supervisor.stop();
  const outcome = await t.run.outcome();
  const { recoveryMs, longestStallMs } = recoveryAfter(
    await t.run.completionTimes(),
    faultStartMs,
    faultEndMs,
  );
  await report(scenario, outcome, {
    faultWindowMs: faultEndMs - faultStartMs,
    finishedDuringFaults: finishedInWindow,
    killedMidFetch: kills.fetch,
    killedMidAck: kills.ack,
    killedInSweeps: kills.sweep,
    killedYoung: kills.young,
    nodeCrashes: supervisor.crashes.length,
    crashErrors: [...new Set(supervisor.crashes.map((c) => c.error))].join(" | ") || "none",
    recoveryMs,
    longestStallMs,
    elapsedMs,
    leases: JSON.stringify(LEASES),
  });
  for (const c of supervisor.crashes) console.log(`--- crash of ${c.id}:\n${c.log}`);
  assertNoLoss(outcome);
  assert.ok(kills.fetch + kills.ack + kills.sweep > 0, "no session was killed");
  if (strict) {
    assert.deepEqual(supervisor.crashes, [], "a node crashed when its sessions were killed");
  }
}

chaosTest(
  "chaos: sessions killed mid-fetch and mid-ack (pg_terminate_backend)",
  (t) =>
    sessionKills(
      t,
      "chaos: sessions killed mid-fetch and mid-ack",
      { everyMs: 50, sweepMs: 2_000, windowMs: 8_000 },
      false,
    ),
);

chaosTest(
  "chaos: no process crashes when its sessions are killed",
  // Sessions are also killed right after they connect: processes crashed in every run tried.
  (t) =>
    sessionKills(
      t,
      "chaos: sessions killed, no process may crash",
      { everyMs: 20, sweepMs: 400, windowMs: 15_000, young: true },
      true,
    ),
  // Known bug: postgres.js 3.4.9 crashes the process when a session dies in its type query or before a deferred write.
  { ignore: true },
);
