/**
 * Long-polling benchmark on a PostgreSQL server (DATABASE_URL, default the local `test`
 * database):
 *
 * 1. wake latency: a fetcher waits (long poll); another provider, on its own pool, enqueues;
 *    the time from the start of the enqueue call to the fetch returning the item, for the
 *    orchestrator and the worker queue (and, for contrast, with long polling off and the
 *    runtime's 100 ms idle poll);
 * 2. idle load: 4 orchestration and 8 worker fetch loops, as the runtime runs them (30 s poll
 *    timeout, 100 ms minimum poll interval), wait with no work for BENCH_IDLE_SECONDS (60);
 *    transactions counted by the client and by `pg_stat_database`, with long polling on and off,
 *    next to a window with no provider at all (the database's own background activity), and
 *    the same for a real `Runtime` with its default options (4 + 8 slots, long polling);
 *
 * 3. dequeue with a backlog: fetch (worker + orchestration) and ack, with empty queues and with
 *    100,000 future-dated rows in each queue (the generic-plan trap of the Rust providers).
 *
 * It works in its own database, `duroxide_bench` on the same server (created if missing), so
 * that the server's transaction count sees nothing else.
 *
 * First it runs the throughput benchmarks of `scripts/bench_throughput.ts` (the seq5, fan10 and
 * hello workload shapes on a real `Runtime`, and the worker-queue benchmark).
 *
 * Run: `deno task bench` (about eight minutes; BENCH_IDLE_SECONDS=10 for a quick look,
 * BENCH_ONLY=throughput or BENCH_ONLY=long-polling for one half).
 *
 * @module
 */

import postgres from "postgres";
import type { SqlDriver } from "../src/driver/driver.ts";
import { postgresJsDriver } from "../src/driver/postgres_js.ts";
import { PostgresProvider, type PostgresProviderOptions } from "../src/postgres_provider.ts";
import { Runtime } from "../src/runtime/mod.ts";
import { throughputBenchmarks } from "./bench_throughput.ts";
import type { WorkItem } from "../src/types.ts";

const serverUrl = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
/** The benchmark's own database, so pg_stat_database counts nothing but the benchmark. */
const BENCH_DATABASE = "duroxide_bench";
const url = (() => {
  const u = new URL(serverUrl);
  u.pathname = `/${BENCH_DATABASE}`;
  return u.toString();
})();
const idleSeconds = Number(Deno.env.get("BENCH_IDLE_SECONDS") ?? 60);
const samples = Number(Deno.env.get("BENCH_WAKE_SAMPLES") ?? 300);
const schema = `bench_${Deno.pid}`;
const LOCK_MS = 30_000;
const POLL_MS = 30_000;
const MIN_POLL_INTERVAL_MS = 100;

/** A provider on its own pool, with every round trip counted. */
async function countedProvider(options: PostgresProviderOptions = {}) {
  const sql = postgres(url, { max: 10, onnotice: () => {} });
  const inner = postgresJsDriver(sql, true);
  const counter = { queries: 0 };
  const driver: SqlDriver = {
    ...inner,
    query(text, params) {
      counter.queries++;
      return inner.query(text, params);
    },
  };
  const provider = await PostgresProvider.fromDriver(driver, { schema, ...options });
  return { provider, counter };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const fmt = (ms: number) => ms.toFixed(2).padStart(7);
  return `p50 ${fmt(percentile(sorted, 50))} ms   p99 ${fmt(percentile(sorted, 99))} ms   ` +
    `max ${fmt(sorted.at(-1)!)} ms   (n=${sorted.length})`;
}

function start(instance: string): WorkItem {
  return {
    type: "StartOrchestration",
    instance,
    orchestration: "Bench",
    input: "",
    version: "1.0.0",
    parentInstance: null,
    parentId: null,
    executionId: 1,
  };
}

/** Fetches like a runtime dispatcher until something arrives. */
async function dispatcherFetch<T>(fetch: () => Promise<T | null>): Promise<T> {
  for (;;) {
    const started = performance.now();
    const found = await fetch();
    if (found) return found;
    const elapsed = performance.now() - started;
    if (elapsed < MIN_POLL_INTERVAL_MS) {
      await new Promise((r) => setTimeout(r, MIN_POLL_INTERVAL_MS - elapsed));
    }
  }
}

interface WakeSamples {
  /** From the start of the enqueue call to the fetch returning the item. */
  fromCall: number[];
  /** From the enqueue call returning (its transaction committed) to the fetch returning. */
  fromCommit: number[];
}

async function wakeLatency(longPoll: boolean, n: number): Promise<[WakeSamples, WakeSamples]> {
  const { provider: waiting } = await countedProvider({ longPoll: { enabled: longPoll } });
  const { provider: writer } = await countedProvider({ longPoll: { enabled: false } });
  const orch: WakeSamples = { fromCall: [], fromCommit: [] };
  const work: WakeSamples = { fromCall: [], fromCommit: [] };
  const record = async (
    samples: WakeSamples,
    t0: number,
    enqueue: Promise<void>,
    fetch: Promise<unknown>,
  ) => {
    let committed = 0;
    await enqueue.then(() => (committed = performance.now()));
    await fetch;
    const done = performance.now();
    samples.fromCall.push(done - t0);
    samples.fromCommit.push(Math.max(0, done - committed));
  };
  try {
    for (let i = 0; i < n; i++) {
      const turn = dispatcherFetch(() => waiting.fetchOrchestrationItem(LOCK_MS, POLL_MS));
      await new Promise((r) => setTimeout(r, 5 + (i % 7))); // let it settle into waiting
      const t0 = performance.now();
      await record(
        orch,
        t0,
        writer.enqueueForOrchestrator(start(`wake-${longPoll}-${i}`), null),
        turn,
      );
      await waiting.ackOrchestrationItem((await turn).lockToken, 1, [], [], [], {}, []);

      const item = dispatcherFetch(() =>
        waiting.fetchWorkItem(LOCK_MS, POLL_MS, null, { type: "DefaultOnly" })
      );
      await new Promise((r) => setTimeout(r, 5 + (i % 7)));
      const t1 = performance.now();
      const enqueued = writer.enqueueForWorker({
        type: "ActivityExecute",
        instance: "bench",
        executionId: 1,
        id: i + 1,
        name: "Noop",
        input: "",
      });
      await record(work, t1, enqueued, item);
      await waiting.ackWorkItem((await item).lockToken, null);
    }
  } finally {
    await waiting.close();
    await writer.close();
  }
  return [orch, work];
}

async function databaseTransactions(sql: postgres.Sql): Promise<number> {
  const [row] = await sql`select (xact_commit + xact_rollback)::float8 as n
                            from pg_stat_database where datname = current_database()`;
  return row.n as number;
}

/** Idle load of a real `Runtime` with default options (4 + 8 dispatcher slots), no work. */
async function idleRuntime(seconds: number, monitor: postgres.Sql) {
  const { provider, counter } = await countedProvider();
  const runtime = new Runtime(provider, { logLevel: "off" });
  await runtime.start();
  await new Promise((r) => setTimeout(r, 11_000));
  const clientBefore = counter.queries;
  const serverBefore = await databaseTransactions(monitor);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const clientTx = counter.queries - clientBefore;
  await runtime.shutdown(1_000);
  await provider.close();
  await new Promise((r) => setTimeout(r, 1_000));
  const serverTx = await databaseTransactions(monitor) - serverBefore - 1;
  return { clientTx, serverTx, seconds };
}

async function idleLoad(longPoll: boolean, seconds: number, monitor: postgres.Sql) {
  const { provider, counter } = await countedProvider({ longPoll: { enabled: longPoll } });
  const stop = new AbortController();
  // The loops below count their transactions until the window ends; the server's count runs
  // from the first reading to the last, after the provider is closed.
  const loop = async (fetch: () => Promise<unknown>) => {
    while (!stop.signal.aborted) {
      const started = performance.now();
      const found = await fetch();
      const elapsed = performance.now() - started;
      if (!found && elapsed < MIN_POLL_INTERVAL_MS && !stop.signal.aborted) {
        await new Promise((r) => setTimeout(r, MIN_POLL_INTERVAL_MS - elapsed));
      }
    }
  };
  const loops = [
    ...Array.from(
      { length: 4 },
      () => loop(() => provider.fetchOrchestrationItem(LOCK_MS, POLL_MS)),
    ),
    ...Array.from(
      { length: 8 },
      () => loop(() => provider.fetchWorkItem(LOCK_MS, POLL_MS, null, { type: "DefaultOnly" })),
    ),
  ];
  // Settle: the loops made their first queries, and every backend published its statistics
  // (idle backends do so within 10 s).
  await new Promise((r) => setTimeout(r, 11_000));
  const clientBefore = counter.queries;
  const serverBefore = await databaseTransactions(monitor);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const clientTx = counter.queries - clientBefore;
  stop.abort();
  await provider.close(); // ends the waits; closing its connections publishes their statistics
  await Promise.all(loops);
  await new Promise((r) => setTimeout(r, 1_000));
  const serverTx = await databaseTransactions(monitor) - serverBefore - 1; // minus our own read
  return { clientTx, serverTx, seconds };
}

/** p50/p99 of a worker fetch + orchestration fetch pair, then 100k future rows, again. */
async function backlogDequeue(monitor: postgres.Sql): Promise<void> {
  const { provider } = await countedProvider({ longPoll: { enabled: false } });
  const round = async (label: string) => {
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      await provider.enqueueForWorker({
        type: "ActivityExecute",
        instance: "backlog",
        executionId: 1,
        id: i,
        name: "Noop",
        input: "",
      });
      await provider.enqueueForOrchestrator(start(`backlog-${label}-${i}`), null);
      const t0 = performance.now();
      const work = await provider.fetchWorkItem(LOCK_MS, 0, null, { type: "Any" });
      const turn = await provider.fetchOrchestrationItem(LOCK_MS, 0);
      times.push(performance.now() - t0);
      await provider.ackWorkItem(work!.lockToken, null);
      await provider.ackOrchestrationItem(turn!.lockToken, 1, [], [], [], {}, []);
    }
    console.log(`  ${label.padEnd(28)} ${summary(times)}`);
  };
  console.log("\nDequeue (worker fetch + orchestration fetch), with and without a backlog:");
  await round("empty queues");
  const future = Date.now() + 86_400_000;
  await monitor.unsafe(
    `insert into "${schema}".worker_queue (work_item, visible_at, instance_id, execution_id,
       activity_id, created_at_ms)
     select '{}', ${future} + n, 'future', 1, n, 0 from generate_series(1, 100000) n`,
  );
  await monitor.unsafe(
    `insert into "${schema}".orchestrator_queue (instance_id, kind, work_item, visible_at,
       created_at_ms)
     select 'future-' || n, 'TimerFired', '{}', ${future} + n, 0 from generate_series(1, 100000) n`,
  );
  await monitor.unsafe(`analyze "${schema}".worker_queue; analyze "${schema}".orchestrator_queue`);
  await round("100,000 future rows per queue");
  await monitor.unsafe(
    `delete from "${schema}".worker_queue; delete from "${schema}".orchestrator_queue`,
  );
  await provider.close();
}

const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
const [exists] = await admin`select 1 as found from pg_database where datname = ${BENCH_DATABASE}`;
if (!exists) await admin.unsafe(`create database ${BENCH_DATABASE}`);
await admin.end();

const monitor = postgres(url, { max: 1, onnotice: () => {} });
try {
  const [version] = await monitor`select current_setting('server_version') as v,
    current_setting('fsync') as fsync, current_setting('synchronous_commit') as sync`;
  console.log(
    `PostgreSQL ${version.v} (fsync=${version.fsync}, synchronous_commit=${version.sync})`,
  );
  console.log(`Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`);

  const only = Deno.env.get("BENCH_ONLY");
  if (only !== "long-polling") {
    await throughputBenchmarks(url);
    console.log();
  }
  if (only === "throughput") {
    await monitor.end();
    Deno.exit(0);
  }

  // Create the schema once, outside the measurements.
  const { provider: setup } = await countedProvider({ longPoll: { enabled: false } });
  await setup.close();

  console.log("Wake latency until the waiting fetch returns the item:");
  const [lpOrch, lpWork] = await wakeLatency(true, samples);
  const [spOrch, spWork] = await wakeLatency(false, Math.max(20, Math.floor(samples / 6)));
  for (
    const [label, samples] of [
      ["long polling, orchestrator", lpOrch],
      ["long polling, worker      ", lpWork],
      ["100 ms polling, orch.     ", spOrch],
      ["100 ms polling, worker    ", spWork],
    ] as const
  ) {
    console.log(`  ${label} from enqueue call:   ${summary(samples.fromCall)}`);
    console.log(`  ${label} from enqueue commit: ${summary(samples.fromCommit)}`);
  }

  await backlogDequeue(monitor);

  console.log(`\nIdle load, 4 orchestration + 8 worker loops, ${idleSeconds} s, no work:`);
  // What the database does on its own (autovacuum visits, statistics) in the same window.
  await new Promise((r) => setTimeout(r, 11_000));
  const baselineBefore = await databaseTransactions(monitor);
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const baseline = (await databaseTransactions(monitor) - baselineBefore - 1) / idleSeconds;
  console.log(
    `  no provider (baseline): ${" ".repeat(27)}${
      baseline.toFixed(3).padStart(8)
    } tx/s in pg_stat_database`,
  );
  {
    const { clientTx, serverTx, seconds } = await idleRuntime(idleSeconds, monitor);
    console.log(
      `  Runtime (defaults):  ${
        (clientTx / seconds).toFixed(3).padStart(8)
      } tx/s by the provider (${clientTx} in ${seconds} s), ${
        (serverTx / seconds).toFixed(3).padStart(8)
      } tx/s in pg_stat_database`,
    );
  }
  for (const longPoll of [true, false]) {
    const { clientTx, serverTx, seconds } = await idleLoad(longPoll, idleSeconds, monitor);
    console.log(
      `  long polling ${longPoll ? "on: " : "off:"} ${
        (clientTx / seconds).toFixed(3).padStart(8)
      } tx/s by the provider (${clientTx} in ${seconds} s), ${
        (serverTx / seconds).toFixed(3).padStart(8)
      } tx/s in pg_stat_database`,
    );
  }
} finally {
  await monitor.unsafe(`drop schema if exists "${schema}" cascade`);
  await monitor.end();
}
