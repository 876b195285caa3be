/**
 * The test's side of a multi-node or chaos run: it prepares the schema (provider migrations
 * plus the effects table), starts `Work` orchestrations through a {@linkcode Client}, waits for
 * them, and judges the outcome from the database: how many completed with the right output,
 * how many were lost, how often activities ran, and when orchestrations completed (for
 * recovery times).
 *
 * @module
 */

import postgres from "postgres";
import { Client } from "../../../src/client/client.ts";
import { PostgresProvider } from "../../../src/postgres_provider.ts";
import { toProviderError } from "../../../src/sqlstate.ts";
import {
  EFFECTS_TABLE,
  effectsTableDdl,
  EVENT_VALUE,
  expectedActivities,
  expectedOutput,
  type WorkInput,
} from "./workload.ts";
import type { Event } from "../../../src/types.ts";
import type { InFlight } from "./node_process.ts";

/** What a run produced. */
export interface Outcome {
  /** Orchestrations started. */
  started: number;
  /** Completed with exactly the expected output. */
  completedCorrectly: number;
  /** Finished with another output, or failed: `id: what happened`. */
  wrong: string[];
  /** Started but not finished when the run ended. */
  lost: string[];
  /** Activities the orchestrations needed. */
  activitiesExpected: number;
  /** Distinct activities that recorded at least one effect. */
  activitiesExecuted: number;
  /** Effect rows beyond the first per activity (at-least-once re-executions). */
  repeatedExecutions: number;
  /** The activities that ran more than once, with the nodes that ran them. */
  repeated: { instance: string; activityId: number; nodes: string[] }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `call`, retrying for up to 20 s while it fails as a lost or refused connection does
 * (classified as the provider classifies errors); any other error is thrown at once.
 */
async function retryOutages<T>(operation: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!toProviderError(operation, err).retryable || attempt >= 100) throw err;
      await sleep(200);
    }
  }
}

/** How much larger than the CI defaults a run should be (`CHAOS_SCALE`, default 1). */
export function chaosScale(): number {
  const v = Number(Deno.env.get("CHAOS_SCALE") ?? 1);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`Invalid CHAOS_SCALE: ${v}`);
  return v;
}

/** `n` scaled by {@linkcode chaosScale}, at least 1. */
export function scaled(n: number): number {
  return Math.max(1, Math.round(n * chaosScale()));
}

/** One run on one schema. */
export class Run {
  /** The schema. */
  readonly schema: string;
  /** The server URL. */
  readonly url: string;
  /** A client for starting orchestrations and sending events. */
  readonly client: Client;
  /** Inputs of the started orchestrations, by instance id. */
  readonly inputs = new Map<string, WorkInput>();
  /** When each orchestration's start was enqueued (epoch ms). */
  readonly startedAt = new Map<string, number>();
  readonly #provider: PostgresProvider;
  readonly #sql: postgres.Sql;
  readonly #dropSchema: boolean;

  private constructor(
    url: string,
    schema: string,
    provider: PostgresProvider,
    sql: postgres.Sql,
    dropSchema: boolean,
  ) {
    this.url = url;
    this.schema = schema;
    this.#provider = provider;
    this.#sql = sql;
    this.client = new Client(provider);
    this.#dropSchema = dropSchema;
  }

  /**
   * Migrates `schema` and creates the effects table. With `dropSchema`, {@linkcode Run.close}
   * drops the schema (on the shared server; a private cluster is removed whole).
   */
  static async open(url: string, schema: string, dropSchema = true): Promise<Run> {
    const provider = await PostgresProvider.connect(url, {
      schema,
      maxConnections: 4,
      longPoll: { enabled: false }, // the test polls the tables; it waits for no instance
    });
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      await sql.unsafe(effectsTableDdl(schema));
    } catch (err) {
      await provider.close();
      await sql.end({ timeout: 2 });
      throw err;
    }
    return new Run(url, schema, provider, sql, dropSchema);
  }

  /** Runs one statement, retrying while the server is unreachable (it may be restarting). */
  query<Row>(text: string, params: unknown[] = []): Promise<Row[]> {
    return retryOutages("query", async () =>
      [
        ...await this.#sql.unsafe(text, params as postgres.ParameterOrJSON<never>[]),
      ] as Row[]);
  }

  /** Starts `Work` orchestrations, `concurrency` enqueues at a time (retrying outages). */
  async start(instances: Iterable<[string, WorkInput]>, concurrency = 8): Promise<void> {
    const queue = [...instances];
    let next = 0;
    const worker = async () => {
      while (next < queue.length) {
        const [id, input] = queue[next++];
        this.inputs.set(id, input);
        await retryOutages("start", () => this.client.startOrchestration(id, "Work", input));
        this.startedAt.set(id, Date.now());
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /** Sends the `go` event to every started instance whose input asks for one. */
  async sendEvents(): Promise<void> {
    for (const [id, input] of this.inputs) {
      if (input.event) await this.client.enqueueEvent(id, "go", EVENT_VALUE);
    }
  }

  /** Orchestrations that have finished (completed or failed). */
  async finishedCount(): Promise<number> {
    const [row] = await this.query<{ n: number }>(
      `select count(*)::int as n from "${this.schema}".executions
        where status in ('Completed', 'Failed')`,
    );
    return row.n;
  }

  /**
   * Waits until every started orchestration finished or `timeoutMs` passed (a liveness bound,
   * not a performance assertion: the outcome then reports the unfinished ones as lost).
   */
  async waitForAll(timeoutMs: number, onProgress?: (finished: number) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const finished = await this.finishedCount();
      onProgress?.(finished);
      if (finished >= this.inputs.size) return;
      await sleep(200);
    }
  }

  /** Waits until `finishedCount()` reaches `n` (or `timeoutMs` passes). */
  async waitForFinished(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && await this.finishedCount() < n) await sleep(50);
  }

  /** Completion times (the completing node's clock, epoch ms), ascending. */
  async completionTimes(): Promise<number[]> {
    const rows = await this.query<{ t: string }>(
      `select completed_at_ms::text as t from "${this.schema}".executions
        where status = 'Completed' order by completed_at_ms`,
    );
    return rows.map((r) => Number(r.t));
  }

  /**
   * Queue rows a killed node held (its announced activities and held turns), to wait for them
   * with {@linkcode Run.waitUntilGone}.
   */
  async heldRows(inFlight: InFlight[]): Promise<string[]> {
    const activities = inFlight.filter((f) => f.activityId !== null);
    const turns = inFlight.filter((f) => f.activityId === null).map((f) => f.instance);
    const rows = await this.query<{ key: string }>(
      `select 'w' || w.id as key from "${this.schema}".worker_queue w
         join unnest($1::text[], $2::bigint[]) as a(instance_id, activity_id)
           on a.instance_id = w.instance_id and a.activity_id = w.activity_id
       union all
       select 'o' || o.id from "${this.schema}".orchestrator_queue o
        where o.instance_id = any($3::text[]) and o.lock_token is not null`,
      [
        activities.map((a) => a.instance),
        activities.map((a) => a.activityId),
        turns,
      ],
    );
    return rows.map((r) => r.key);
  }

  /**
   * Waits until none of `keys` (from {@linkcode Run.heldRows}) is left in the queues, i.e.
   * another node redid and acked the work; returns how long that took.
   */
  async waitUntilGone(keys: string[], timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    const workerIds = keys.filter((k) => k.startsWith("w")).map((k) => k.slice(1));
    const orchIds = keys.filter((k) => k.startsWith("o")).map((k) => k.slice(1));
    while (Date.now() - t0 < timeoutMs) {
      const [row] = await this.query<{ n: number }>(
        `select ((select count(*) from "${this.schema}".worker_queue where id = any($1::bigint[]))
               + (select count(*) from "${this.schema}".orchestrator_queue
                   where id = any($2::bigint[])))::int as n`,
        [workerIds, orchIds],
      );
      if (row.n === 0) return Date.now() - t0;
      await sleep(25);
    }
    return Number.POSITIVE_INFINITY;
  }

  /** The latest execution's history of `instance`. */
  history(instance: string): Promise<Event[]> {
    return this.#provider.read(instance);
  }

  /** How many history events of `type` the schema holds. */
  async countEvents(type: string): Promise<number> {
    const [row] = await this.query<{ n: number }>(
      `select count(*)::int as n from "${this.schema}".history where event_type = $1`,
      [type],
    );
    return row.n;
  }

  /** Effect rows per node id. */
  async effectsByNode(): Promise<Map<string, number>> {
    const rows = await this.query<{ node_id: string; n: number }>(
      `select node_id, count(*)::int as n from "${this.schema}".${EFFECTS_TABLE} group by 1`,
    );
    return new Map(rows.map((r) => [r.node_id, r.n]));
  }

  /** Judges every started orchestration and every activity execution. */
  async outcome(): Promise<Outcome> {
    const executions = await this.query<{ instance_id: string; status: string; output: string }>(
      `select i.instance_id, e.status, e.output
         from "${this.schema}".instances i
         join "${this.schema}".executions e
           on e.instance_id = i.instance_id and e.execution_id = i.current_execution_id`,
    );
    const byId = new Map(executions.map((e) => [e.instance_id, e]));
    const wrong: string[] = [];
    const lost: string[] = [];
    let completedCorrectly = 0;
    let activitiesExpected = 0;
    for (const [id, input] of this.inputs) {
      activitiesExpected += expectedActivities(input);
      const e = byId.get(id);
      if (!e || (e.status !== "Completed" && e.status !== "Failed")) {
        lost.push(id);
      } else if (e.status === "Failed") {
        wrong.push(`${id}: failed: ${e.output}`);
      } else if (JSON.stringify(JSON.parse(e.output)) !== JSON.stringify(expectedOutput(input))) {
        wrong.push(`${id}: output ${e.output}, expected ${JSON.stringify(expectedOutput(input))}`);
      } else {
        completedCorrectly++;
      }
    }
    const effects = await this.query<{ instance_id: string; activity_id: string; nodes: string[] }>(
      `select instance_id, activity_id::text, array_agg(node_id order by at_ms) as nodes
         from "${this.schema}".${EFFECTS_TABLE} group by 1, 2`,
    );
    const repeated = effects.filter((e) => e.nodes.length > 1).map((e) => ({
      instance: e.instance_id,
      activityId: Number(e.activity_id),
      nodes: e.nodes,
    }));
    return {
      started: this.inputs.size,
      completedCorrectly,
      wrong,
      lost,
      activitiesExpected,
      activitiesExecuted: effects.length,
      repeatedExecutions: repeated.reduce((n, r) => n + r.nodes.length - 1, 0),
      repeated,
    };
  }

  /** Closes the client's provider and pool; drops the schema if asked to at open. */
  async close(): Promise<void> {
    await this.#provider.close();
    if (this.#dropSchema) {
      await this.#sql.unsafe(`drop schema if exists "${this.schema}" cascade`).catch(() => {});
    }
    await this.#sql.end({ timeout: 2 });
  }
}

/**
 * Recovery after a fault that ended at `faultEndMs`: the time to the first orchestration
 * completed after it, and the longest stretch without any completion from `faultStartMs`
 * until then (the outage as the application saw it).
 */
export function recoveryAfter(
  completions: number[],
  faultStartMs: number,
  faultEndMs: number,
): { recoveryMs: number; longestStallMs: number } {
  const after = completions.find((t) => t > faultEndMs);
  if (after === undefined) {
    return { recoveryMs: Number.POSITIVE_INFINITY, longestStallMs: Number.POSITIVE_INFINITY };
  }
  let previous = faultStartMs;
  let longest = 0;
  for (const t of completions.filter((t) => t > faultStartMs && t <= after)) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return { recoveryMs: after - faultEndMs, longestStallMs: longest };
}
