/**
 * Throughput benchmarks of `deno task bench` (run by scripts/bench.ts, or alone with
 * `deno run -A scripts/bench_throughput.ts`):
 *
 * 1. the runtime workload shapes of the reference benchmarks: **seq5** (5 activities one after
 *    another), **fan10** (10 activities fanned out and joined), both started all at once by the
 *    client and awaited, and **hello** (one activity) run serially for start-to-completion
 *    latency; activities are no-ops and every result is checked;
 * 2. a provider-level queue benchmark: no-op jobs on the worker queue, enqueued and then
 *    fetched and acked by concurrent workers, one call per item ("unbatched") and with the
 *    batch calls (`enqueueForWorkerBatch`, `fetchWorkItems`, `ackWorkItems`).
 *
 * Each run works in a schema of its own, dropped at the end.
 *
 * @module
 */

import postgres from "postgres";
import { Client } from "../src/client/client.ts";
import { PostgresProvider } from "../src/postgres_provider.ts";
import { type OrchestrationContext, Runtime } from "../src/runtime/mod.ts";
import type { WorkItem } from "../src/types.ts";

const LOCK_MS = 30_000;
const DEFAULT_ONLY = { type: "DefaultOnly" } as const;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function latencySummary(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(2);
  return `p50 ${f(percentile(s, 0.5))} ms, p95 ${f(percentile(s, 0.95))} ms, p99 ${
    f(percentile(s, 0.99))
  } ms (n=${s.length})`;
}

async function withSchema<T>(
  url: string,
  fn: (schema: string) => Promise<T>,
): Promise<T> {
  const schema = `bench_tp_${Deno.pid}_${crypto.randomUUID().slice(0, 6)}`;
  try {
    return await fn(schema);
  } finally {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`drop schema if exists "${schema}" cascade`);
    await sql.end();
  }
}

interface ShapeResult {
  orchestrations: number;
  activities: number;
  seconds: number;
}

/** Starts `n` orchestrations at once, waits for each, checks each output. */
async function runShape(
  url: string,
  shape: "Seq5" | "Fan10",
  n: number,
  orchestrationConcurrency: number,
  workerConcurrency: number,
): Promise<ShapeResult> {
  return await withSchema(url, async (schema) => {
    const provider = await PostgresProvider.connect(url, { schema, maxConnections: 20 });
    const runtime = new Runtime(provider, {
      orchestrationConcurrency,
      workerConcurrency,
      logLevel: "off",
    });
    registerShapes(runtime);
    await runtime.start();
    const client = new Client(provider);
    try {
      const ids = Array.from({ length: n }, (_, i) => `${shape}-${i}`);
      const started = performance.now();
      await Promise.all(ids.map((id) => client.startOrchestration(id, shape, 1)));
      const results = await Promise.all(ids.map((id) => client.waitForOrchestration(id, 300_000)));
      const seconds = (performance.now() - started) / 1000;
      const expected = shape === "Seq5" ? 6 : 10;
      for (const r of results) {
        if (r.status !== "Completed" || r.output !== expected) {
          throw new Error(`${shape}: unexpected result ${JSON.stringify(r)}`);
        }
      }
      return { orchestrations: n, activities: n * (shape === "Seq5" ? 5 : 10), seconds };
    } finally {
      await runtime.shutdown(2_000);
      await provider.close();
    }
  });
}

function registerShapes(runtime: Runtime): void {
  runtime.registerActivity("Inc", (_ctx, n) => (n as number) + 1);
  runtime.registerActivity("One", () => 1);
  runtime.registerOrchestration("Seq5", function* (ctx: OrchestrationContext, n) {
    let value = n as number;
    for (let i = 0; i < 5; i++) value = (yield ctx.scheduleActivity("Inc", value)) as number;
    return value;
  });
  runtime.registerOrchestration("Fan10", function* (ctx: OrchestrationContext) {
    const results = (yield ctx.all(
      Array.from({ length: 10 }, () => ctx.scheduleActivity("One")),
    )) as { ok: number }[];
    return results.reduce((sum, r) => sum + r.ok, 0);
  });
  runtime.registerOrchestration("Hello", function* (ctx: OrchestrationContext, name) {
    return yield ctx.scheduleActivity("Inc", name);
  });
}

/** Hello world, one orchestration at a time: start-to-completion latency. */
async function helloSerial(url: string, n: number): Promise<number[]> {
  return await withSchema(url, async (schema) => {
    const provider = await PostgresProvider.connect(url, { schema, maxConnections: 10 });
    const runtime = new Runtime(provider, { logLevel: "off" });
    registerShapes(runtime);
    await runtime.start();
    const client = new Client(provider);
    const latencies: number[] = [];
    try {
      for (let i = -10; i < n; i++) { // 10 warm-up runs
        const started = performance.now();
        await client.startOrchestration(`hello-${i}`, "Hello", i);
        const r = await client.waitForOrchestration(`hello-${i}`, 30_000);
        if (r.output !== i + 1) throw new Error(`hello: unexpected result ${JSON.stringify(r)}`);
        if (i >= 0) latencies.push(performance.now() - started);
      }
      return latencies;
    } finally {
      await runtime.shutdown(2_000);
      await provider.close();
    }
  });
}

function job(i: number): WorkItem {
  return {
    type: "ActivityExecute",
    instance: `job-${i}`,
    executionId: 1,
    id: 1,
    name: "Noop",
    input: "{}",
  };
}

interface QueueResult {
  enqueueSeconds: number;
  processSeconds: number;
}

/**
 * Enqueues `jobs` no-op jobs (with `enqueuers` concurrent clients), then has `workers`
 * concurrent loops fetch and ack them, `batch` at a time (1 = the single-item calls).
 */
async function queueRun(
  url: string,
  jobs: number,
  workers: number,
  batch: number,
): Promise<QueueResult> {
  return await withSchema(url, async (schema) => {
    const provider = await PostgresProvider.connect(url, {
      schema,
      maxConnections: workers + 2,
      longPoll: { enabled: false },
    });
    try {
      let next = 0;
      const enqueueStarted = performance.now();
      await Promise.all(Array.from({ length: workers }, async () => {
        while (next < jobs) {
          const from = next;
          next = Math.min(jobs, next + batch);
          if (batch === 1) await provider.enqueueForWorker(job(from));
          else {
            await provider.enqueueForWorkerBatch(
              Array.from({ length: next - from }, (_, k) => job(from + k)),
            );
          }
        }
      }));
      const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;
      let done = 0;
      const processStarted = performance.now();
      await Promise.all(Array.from({ length: workers }, async () => {
        while (true) {
          if (batch === 1) {
            const item = await provider.fetchWorkItem(LOCK_MS, 0, null, DEFAULT_ONLY);
            if (!item) break;
            await provider.ackWorkItem(item.lockToken, null);
            done++;
          } else {
            const items = await provider.fetchWorkItems(LOCK_MS, 0, batch, null, DEFAULT_ONLY);
            if (items.length === 0) break;
            const outcomes = await provider.ackWorkItems(
              items.map((i) => ({ lockToken: i.lockToken, completion: null })),
            );
            if (outcomes.some((o) => o !== null)) throw new Error("queue: an ack failed");
            done += items.length;
          }
        }
      }));
      const processSeconds = (performance.now() - processStarted) / 1000;
      if (done !== jobs) throw new Error(`queue: processed ${done} of ${jobs} jobs`);
      return { enqueueSeconds, processSeconds };
    } finally {
      await provider.close();
    }
  });
}

/** Runs every throughput benchmark against `url` and prints the results. */
export async function throughputBenchmarks(url: string): Promise<void> {
  const seq5N = Number(Deno.env.get("BENCH_SEQ5") ?? 300);
  const fan10N = Number(Deno.env.get("BENCH_FAN10") ?? 200);
  const helloN = Number(Deno.env.get("BENCH_HELLO") ?? 200);
  const jobs = Number(Deno.env.get("BENCH_JOBS") ?? 20_000);

  if (seq5N > 0) {
    console.log(`Runtime workload shapes (no-op activities, results checked):`);
    for (const [oc, wc] of [[4, 8], [8, 16], [16, 32]]) {
      const r = await runShape(url, "Seq5", seq5N, oc, wc);
      console.log(
        `  seq5  ${seq5N} orchestrations, ${oc}:${wc} slots: ${
          (r.orchestrations / r.seconds).toFixed(1)
        } orch/s, ${(r.activities / r.seconds).toFixed(0)} activities/s`,
      );
    }
    for (const [oc, wc] of [[8, 16], [16, 32]]) {
      const r = await runShape(url, "Fan10", fan10N, oc, wc);
      console.log(
        `  fan10 ${fan10N} orchestrations, ${oc}:${wc} slots: ${
          (r.orchestrations / r.seconds).toFixed(1)
        } orch/s, ${(r.activities / r.seconds).toFixed(0)} activities/s`,
      );
    }
    console.log(
      `  hello serial, default options: ${latencySummary(await helloSerial(url, helloN))}`,
    );
  }

  console.log(`\nQueue: ${jobs} no-op jobs on the worker queue, enqueued, then fetched and acked:`);
  for (const [label, workers, batch] of [["unbatched", 10, 1], ["batched  ", 24, 100]] as const) {
    const r = await queueRun(url, jobs, workers, batch);
    console.log(
      `  ${label} (${workers} workers, ${batch} per call): enqueue ${
        (jobs / r.enqueueSeconds).toFixed(0)
      } jobs/s, fetch+ack ${(jobs / r.processSeconds).toFixed(0)} jobs/s, end to end ${
        (jobs / (r.enqueueSeconds + r.processSeconds)).toFixed(0)
      } jobs/s`,
    );
  }
}

if (import.meta.main) {
  await throughputBenchmarks(
    Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test",
  );
}
