/**
 * Database metrics of a provider: every stored-procedure call counted and timed, fetch
 * effectiveness for both queues, and round trips per orchestration turn and per activity.
 *
 * Metrics are opt-in: pass a {@linkcode DbMetrics} as the provider's `metrics` option. Without
 * it the provider's driver is not wrapped at all, so the cost when unused is nil.
 *
 * @module
 */

import type { SqlDriver } from "../driver/driver.ts";

/** Upper bounds (ms) of the duration histogram buckets; a last bucket catches the rest. */
export const DURATION_BUCKETS_MS: readonly number[] = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000];

/** Figures of one stored procedure. */
export interface ProcedureMetrics {
  /** Calls made (`duroxide.db.calls`). */
  calls: number;
  /** Calls that failed (`duroxide.db.errors`). */
  errors: number;
  /** Total time spent, ms (`duroxide.db.duration`). */
  totalMs: number;
  /** Calls per duration bucket: `buckets[i]` counts calls up to `DURATION_BUCKETS_MS[i]`, the last one the rest. */
  buckets: number[];
}

/** Fetch figures of one queue. */
export interface FetchMetrics {
  /** Fetch queries made (`duroxide.fetch.attempts`). */
  attempts: number;
  /** Items fetched; a batch fetch counts each of its items (`duroxide.fetch.items`). */
  items: number;
  /** Queries that returned nothing (`duroxide.fetch.empty`). */
  empty: number;
  /** `items / attempts`, 0 before the first attempt (`duroxide.fetch.effectiveness`). */
  effectiveness: number;
}

/** A point-in-time copy of all figures. */
export interface DbMetricsSnapshot {
  /** Per stored procedure, by name. */
  procedures: Record<string, ProcedureMetrics>;
  /** Orchestrator-queue fetches. */
  orchestrationFetch: FetchMetrics;
  /** Worker-queue fetches. */
  workerFetch: FetchMetrics;
  /**
   * Orchestration round trips (fetch, ack, abandon, renew calls) per successful ack, i.e. per
   * completed turn; 0 before the first (`duroxide.roundtrips.per_turn`).
   */
  roundTripsPerTurn: number;
  /**
   * Worker round trips (fetch, ack, abandon, renew calls) per successful worker ack, i.e. per
   * finished activity; 0 before the first (`duroxide.roundtrips.per_activity`).
   */
  roundTripsPerActivity: number;
}

const ORCHESTRATION_CALLS = [
  "fetch_orchestration_item",
  "fetch_orchestration_items",
  "ack_orchestration_item",
  "ack_orchestration_items",
  "abandon_orchestration_item",
  "renew_orchestration_item_lock",
];
const WORKER_CALLS = [
  "fetch_work_item",
  "fetch_work_items",
  "ack_work_item",
  "ack_work_items",
  "abandon_work_item",
  "renew_work_item_lock",
];

/** The procedure a statement calls (`select "schema".name(...)`), or `null`. */
const PROCEDURE_CALL = /^select\s+"[^"]+"\.(\w+)\(/;

/**
 * Collects the database figures of one or more providers.
 *
 * @example
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { DbMetrics, PostgresProvider } from "@duroxide/pg";
 *
 * const db = await PGlite.create();
 * const metrics = new DbMetrics();
 * await using provider = await PostgresProvider.fromPGlite(db, { metrics });
 * await provider.fetchOrchestrationItem(30_000, 0);
 * const snapshot = metrics.snapshot();
 * console.assert(snapshot.orchestrationFetch.empty === 1);
 * await db.close();
 * ```
 */
export class DbMetrics {
  readonly #procedures = new Map<string, ProcedureMetrics>();
  readonly #fetch = {
    orchestration: { attempts: 0, items: 0, empty: 0 },
    worker: { attempts: 0, items: 0, empty: 0 },
  };
  /** Items committed by successful batch acks (a batch call counts one per ok slot). */
  #batchAcked = { turns: 0, activities: 0 };

  /** Records one call of `procedure` that took `ms` and returned `result` (or failed). */
  record(procedure: string, ms: number, ok: boolean, result: unknown): void {
    let entry = this.#procedures.get(procedure);
    if (!entry) {
      entry = {
        calls: 0,
        errors: 0,
        totalMs: 0,
        buckets: DURATION_BUCKETS_MS.map(() => 0).concat(0),
      };
      this.#procedures.set(procedure, entry);
    }
    entry.calls++;
    entry.totalMs += ms;
    if (!ok) entry.errors++;
    let bucket = DURATION_BUCKETS_MS.findIndex((limit) => ms <= limit);
    if (bucket < 0) bucket = DURATION_BUCKETS_MS.length;
    entry.buckets[bucket]++;
    if (!ok) return;
    const batch = Array.isArray(result) ? result : null;
    if (
      procedure.startsWith("fetch_orchestration_item") || procedure.startsWith("fetch_work_item")
    ) {
      const queue = procedure.startsWith("fetch_work_item")
        ? this.#fetch.worker
        : this.#fetch.orchestration;
      queue.attempts++;
      const items = batch ? batch.length : result !== null && result !== undefined ? 1 : 0;
      queue.items += items;
      if (items === 0) queue.empty++;
    } else if (batch && procedure === "ack_orchestration_items") {
      this.#batchAcked.turns += batch.filter((slot) => slot === null).length;
    } else if (batch && procedure === "ack_work_items") {
      this.#batchAcked.activities += batch.filter((slot) => slot === null).length;
    }
  }

  /** A copy of all figures. */
  snapshot(): DbMetricsSnapshot {
    const procedures: Record<string, ProcedureMetrics> = {};
    for (const [name, m] of this.#procedures) procedures[name] = { ...m, buckets: [...m.buckets] };
    const fetch = (q: { attempts: number; items: number; empty: number }): FetchMetrics => ({
      attempts: q.attempts,
      items: q.items,
      empty: q.empty,
      effectiveness: q.attempts === 0 ? 0 : q.items / q.attempts,
    });
    const calls = (names: string[]) =>
      names.reduce((sum, name) => sum + (procedures[name]?.calls ?? 0), 0);
    const succeeded = (name: string) =>
      (procedures[name]?.calls ?? 0) - (procedures[name]?.errors ?? 0);
    const turns = succeeded("ack_orchestration_item") + this.#batchAcked.turns;
    const activities = succeeded("ack_work_item") + this.#batchAcked.activities;
    return {
      procedures,
      orchestrationFetch: fetch(this.#fetch.orchestration),
      workerFetch: fetch(this.#fetch.worker),
      roundTripsPerTurn: turns === 0 ? 0 : calls(ORCHESTRATION_CALLS) / turns,
      roundTripsPerActivity: activities === 0 ? 0 : calls(WORKER_CALLS) / activities,
    };
  }

  /** Clears every figure. */
  reset(): void {
    this.#procedures.clear();
    this.#fetch.orchestration = { attempts: 0, items: 0, empty: 0 };
    this.#fetch.worker = { attempts: 0, items: 0, empty: 0 };
    this.#batchAcked = { turns: 0, activities: 0 };
  }
}

/**
 * Wraps a driver so that every stored-procedure call is recorded in `metrics`. Statements that
 * are not procedure calls (migrations, LISTEN) pass through unrecorded.
 */
export function withDbMetrics(driver: SqlDriver, metrics: DbMetrics): SqlDriver {
  const names = new Map<string, string | null>();
  const procedureOf = (text: string): string | null => {
    let name = names.get(text);
    if (name === undefined) {
      name = PROCEDURE_CALL.exec(text)?.[1] ?? null;
      names.set(text, name);
    }
    return name;
  };
  return {
    ...driver,
    async query<Row>(text: string, params?: readonly unknown[]): Promise<Row[]> {
      const procedure = procedureOf(text);
      if (procedure === null) return await driver.query<Row>(text, params);
      const started = performance.now();
      try {
        const rows = await driver.query<Row>(text, params);
        const first = rows[0] as { r?: unknown } | undefined;
        metrics.record(procedure, performance.now() - started, true, first?.r ?? null);
        return rows;
      } catch (err) {
        metrics.record(procedure, performance.now() - started, false, null);
        throw err;
      }
    },
  };
}
