/**
 * Stress run: 10,000 orchestrations across two runtime processes on one schema of a
 * PostgreSQL server (DATABASE_URL, default the local `test` database), then throughput,
 * latency percentiles and losses.
 *
 * Each orchestration is the `Work` orchestration of `tests/chaos/_support/workload.ts` with two
 * activities in sequence (three turns, two activities); every activity records its execution
 * in a side table, so losses and re-executions are counted from the database. The processes
 * are `tests/chaos/_nodes/runtime_node.ts` with the runtime's default options (4 orchestration
 * and 8 worker slots, long polling). By default all starts are enqueued at once (32 at a time),
 * so latency (start enqueued to completion committed) includes the time an orchestration waits
 * behind the whole backlog; `--rate=N` paces the starts at N per second instead.
 *
 * Run: `deno task stress` (several minutes on 2 cores); options `--count=N`, `--processes=N`,
 * `--steps=N`, `--rate=N`, `--orch-concurrency=N`, `--worker-concurrency=N`, `--json=FILE`
 * (writes the summary). The schema is dropped at the end. Exits 1 if an orchestration was
 * lost or wrong.
 *
 * @module
 */

import { NodeProcess, stopAll } from "../tests/chaos/_support/node_process.ts";
import { Run } from "../tests/chaos/_support/run.ts";
import { type WorkInput, workInput } from "../tests/chaos/_support/workload.ts";

function flag(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Invalid --${name}`);
  return value;
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))];
}

const count = flag("count", 10_000);
const processes = flag("processes", 2);
const steps = flag("steps", 2);
const orchestrationConcurrency = flag("orch-concurrency", 4);
const workerConcurrency = flag("worker-concurrency", 8);
const rate = Deno.args.some((a) => a.startsWith("--rate=")) ? flag("rate", 1) : null;
const jsonFile = Deno.args.find((a) => a.startsWith("--json="))?.slice("--json=".length);
const url = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `stress_${Deno.pid}_${crypto.randomUUID().slice(0, 8)}`;

const run = await Run.open(url, schema);

/** Starts `instances` at `perSecond`, in batches every 100 ms (late batches go at once). */
async function paced(instances: [string, WorkInput][], perSecond: number, t0: number) {
  const batch = Math.max(1, Math.round(perSecond / 10));
  for (let i = 0; i < instances.length; i += batch) {
    const wait = t0 + i / perSecond * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await run.start(instances.slice(i, i + batch), 8);
  }
}
const nodes: NodeProcess[] = [];
let exitCode = 0;
try {
  for (let i = 0; i < processes; i++) {
    nodes.push(NodeProcess.spawn({
      url,
      schema,
      id: `stress${i}`,
      orchestrationConcurrency,
      workerConcurrency,
    }));
  }
  await Promise.all(nodes.map((n) => n.ready));
  console.log(
    `stress: ${count} orchestrations (${steps} activities each), ${processes} processes ` +
      `(${orchestrationConcurrency} + ${workerConcurrency} slots), schema ${schema}`,
  );

  const instances: [string, WorkInput][] = Array.from({ length: count }, (_, i) => [
    `stress-${i}`,
    workInput(i * 10_000, { steps }),
  ]);
  const t0 = Date.now();
  const submitted = (rate ? paced(instances, rate, t0) : run.start(instances, 32))
    .then(() => Date.now());
  // Wait for every orchestration (started or still to be started), reporting progress; give
  // up after 5 minutes without any (the outcome then counts the rest as lost).
  let progressAt = Date.now();
  for (let last = 0, finished = 0; finished < count && Date.now() - progressAt < 300_000;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await run.finishedCount();
    if (now > finished) progressAt = Date.now();
    finished = now;
    if (Date.now() - last >= 5_000) {
      last = Date.now();
      console.log(`  ${((last - t0) / 1000).toFixed(0)} s: ${finished} finished`);
    }
  }
  const submittedAt = await submitted;
  const outcome = await run.outcome();

  const rows = await run.query<{ instance_id: string; t: string }>(
    `select instance_id, completed_at_ms::text as t from "${schema}".executions
      where status = 'Completed'`,
  );
  const latencies = rows
    .map((r) => Number(r.t) - (run.startedAt.get(r.instance_id) ?? Number.NaN))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const lastCompletion = Math.max(...rows.map((r) => Number(r.t)));
  const seconds = (lastCompletion - t0) / 1000;
  await stopAll(nodes);
  const summary = {
    orchestrations: count,
    startRatePerSecond: rate ?? "all at once",
    processes,
    activitiesPerOrchestration: steps,
    started: outcome.started,
    completedCorrectly: outcome.completedCorrectly,
    wrong: outcome.wrong.length,
    lost: outcome.lost.length,
    activityExecutions: outcome.activitiesExecuted + outcome.repeatedExecutions,
    reExecutedActivities: outcome.repeatedExecutions,
    submitSeconds: (submittedAt - t0) / 1000,
    totalSeconds: seconds,
    orchestrationsPerSecond: count / seconds,
    activitiesPerSecond: outcome.activitiesExecuted / seconds,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1),
    },
    turnsPerProcess: nodes.map((n) => n.stats?.orchestrationTurns ?? null),
    activitiesPerProcess: nodes.map((n) => n.stats?.activitiesCompleted ?? null),
  };
  console.log(JSON.stringify(summary, null, 2));
  if (jsonFile) await Deno.writeTextFile(jsonFile, JSON.stringify(summary, null, 2) + "\n");
  if (outcome.lost.length || outcome.wrong.length) {
    console.error(`LOSSES: ${outcome.lost.length} lost, ${outcome.wrong.length} wrong`);
    exitCode = 1;
  }
} finally {
  await stopAll(nodes);
  await run.close();
}
Deno.exit(exitCode);
