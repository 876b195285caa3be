/**
 * {@linkcode PostgresProvider}: the Duroxide provider contract on PostgreSQL, over a server
 * (postgres.js) or an in-process PGlite database, with one stored-procedure call per
 * operation and every timestamp taken from the application clock.
 *
 * @module
 */

import postgres from "postgres";
import type { Sql } from "postgres";
import { historyRows, orchestratorInstanceOf, workerRow } from "./ack_payload.ts";
import type { AckOutcome, BatchProvider, OrchestrationItemAck, WorkItemAck } from "./batch_api.ts";
import { completionPayload, turnAckJson, turnAckPayload } from "./batch_payload.ts";
import { toProviderError } from "./sqlstate.ts";
import { decodeWorkItem, encodeWorkItem } from "./codec.ts";
import type { SqlDriver } from "./driver/driver.ts";
import { pgliteDriver, type PGliteLike } from "./driver/pglite.ts";
import { postgresJsDriver } from "./driver/postgres_js.ts";
import { ProviderError } from "./errors.ts";
import { type DbMetrics, withDbMetrics } from "./metrics/db_metrics.ts";
import { type LongPollOptions, Notifier, resolveLongPollOptions } from "./long_poll/notifier.ts";
import type { WakeSignal } from "./long_poll/wake_signal.ts";
import { dropSchemaObjects, migrate, type MigrationMode } from "./migrations/runner.ts";
import { type FetchedRow, toFetchedOrchestrationItem } from "./orchestration_item.ts";
import { PostgresAdmin } from "./postgres_admin.ts";
import { quoteSchemaName } from "./schema_name.ts";
import { decodeHistory, ProcedureCaller, unstorable } from "./stored_procedures.ts";
import type {
  CustomStatus,
  DispatcherCapabilityFilter,
  Event,
  ExecutionMetadata,
  FetchedOrchestrationItem,
  FetchedWorkItem,
  ScheduledActivityIdentifier,
  SemVer,
  SessionFetchConfig,
  SystemStats,
  TagFilter,
  WorkItem,
} from "./types.ts";
import {
  optionalNonNegativeInt,
  requireBatchSize,
  requireNonNegativeInt,
  requirePositiveInt,
  requireString,
} from "./validate.ts";

/** The module version, reported by {@linkcode PostgresProvider.version}. */
export const PROVIDER_VERSION = "0.1.0";

/** Options shared by every way of creating a {@linkcode PostgresProvider}. */
export interface PostgresProviderOptions {
  /**
   * The schema that holds the provider's tables and functions; letters, digits and `_`.
   * @default {"public"}
   */
  schema?: string;
  /**
   * `"apply"` runs pending migrations at start-up (under an advisory lock, safe with many
   * processes); `"verify"` only checks that the schema is current and runs no DDL (for
   * roles that may not create objects).
   * @default {"apply"}
   */
  migrations?: MigrationMode;
  /**
   * The application clock in epoch ms. Every lease, visibility time and timestamp comes from
   * it; the database clock is never consulted.
   * @default {Date.now}
   */
  clock?: () => number;
  /**
   * Long polling with LISTEN/NOTIFY: fetches with a `pollTimeoutMs` wait for a notification
   * instead of returning empty at once. See {@linkcode LongPollOptions} for the defaults.
   */
  longPoll?: LongPollOptions;
  /**
   * Collects per-procedure call counts and durations, fetch effectiveness and round trips per
   * turn. Without it, nothing is measured and nothing is wrapped.
   */
  metrics?: DbMetrics;
}

/** Options for {@linkcode PostgresProvider.connect}. */
export interface ConnectOptions extends PostgresProviderOptions {
  /** Maximum connections in the pool the provider creates. @default {10} */
  maxConnections?: number;
}

/** A worker queue row as the fetch procedures return it. */
interface WorkRow {
  work_item: string;
  lock_token: string;
  attempt_count: number;
}

const TAG_MODES = {
  DefaultOnly: "default_only",
  Tags: "tags",
  DefaultAnd: "default_and",
  Any: "any",
} as const;

function packVersion(v: SemVer): number {
  return v.major * 1_000_000 + v.minor * 1_000 + v.patch;
}

function corrupt(operation: string, detail: string, cause: unknown): ProviderError {
  return new ProviderError(detail, { code: "CORRUPT_DATA", operation, retryable: false, cause });
}

/**
 * A Duroxide provider on PostgreSQL.
 *
 * @example Embedded, in memory
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { PostgresProvider } from "@duroxide/pg";
 *
 * const db = await PGlite.create();
 * await using provider = await PostgresProvider.fromPGlite(db, { schema: "demo" });
 * await provider.enqueueForOrchestrator({
 *   type: "StartOrchestration", instance: "order-1", orchestration: "ProcessOrder",
 *   input: "{}", version: null, parentInstance: null, parentId: null, executionId: 1,
 * }, null);
 * const turn = await provider.fetchOrchestrationItem(30_000, 0);
 * console.assert(turn?.item.orchestrationName === "ProcessOrder");
 * await db.close();
 * ```
 */
export class PostgresProvider implements BatchProvider, AsyncDisposable {
  readonly #driver: SqlDriver;
  readonly #schema: string;
  readonly #clock: () => number;
  readonly #sp: ProcedureCaller;
  readonly #admin: PostgresAdmin;
  readonly #notifier: Notifier | null;
  /** Per fetch filter: the wake generation at which a query last found nothing. */
  readonly #emptyAt = new Map<string, number>();

  private constructor(
    driver: SqlDriver,
    schema: string,
    clock: () => number,
    notifier: Notifier | null,
  ) {
    const quoted = quoteSchemaName(schema);
    this.#driver = driver;
    this.#schema = schema;
    this.#clock = clock;
    this.#sp = new ProcedureCaller(driver, quoted);
    this.#admin = new PostgresAdmin(this.#sp, clock);
    this.#notifier = notifier;
  }

  /**
   * Creates a provider over any {@linkcode SqlDriver}, migrating (or verifying) its schema.
   * The other factories are shorthands for this one.
   *
   * @throws {TypeError} for an invalid schema name.
   * @throws {ProviderError} when the schema cannot be migrated or verified.
   */
  static async fromDriver(
    driver: SqlDriver,
    options: PostgresProviderOptions = {},
  ): Promise<PostgresProvider> {
    const { schema = "public", migrations = "apply", clock = Date.now, metrics } = options;
    const quoted = quoteSchemaName(schema);
    if (metrics) driver = withDbMetrics(driver, metrics);
    const longPoll = resolveLongPollOptions(options.longPoll);
    await migrate(driver, schema, { mode: migrations, clock });
    const notifier = longPoll.enabled
      ? await Notifier.start(driver, quoted, clock, longPoll)
      : null;
    return new PostgresProvider(driver, schema, clock, notifier);
  }

  /**
   * Connects to a PostgreSQL server with a pool of its own, closed by `close()`.
   *
   * @example
   * ```ts ignore
   * await using provider = await PostgresProvider.connect(Deno.env.get("DATABASE_URL")!);
   * ```
   */
  static async connect(url: string, options: ConnectOptions = {}): Promise<PostgresProvider> {
    requireString("url", url);
    const sql = postgres(url, {
      max: requirePositiveInt("maxConnections", options.maxConnections ?? 10),
      onnotice: () => {},
    });
    try {
      return await PostgresProvider.fromDriver(postgresJsDriver(sql, true), options);
    } catch (err) {
      await sql.end({ timeout: 1 });
      throw err;
    }
  }

  /** Uses an existing postgres.js instance; `close()` leaves it open. */
  static fromPostgresJs(
    sql: Sql,
    options: PostgresProviderOptions = {},
  ): Promise<PostgresProvider> {
    return PostgresProvider.fromDriver(postgresJsDriver(sql, false), options);
  }

  /** Uses an existing PGlite instance; `close()` leaves it open. */
  static fromPGlite(
    db: PGliteLike,
    options: PostgresProviderOptions = {},
  ): Promise<PostgresProvider> {
    return PostgresProvider.fromDriver(pgliteDriver(db, false), options);
  }

  /** The schema this provider works in. */
  get schema(): string {
    return this.#schema;
  }

  /** Returns `"duroxide-pg-ts"`. */
  name(): string {
    return "duroxide-pg-ts";
  }

  /** Returns the module version. */
  version(): string {
    return PROVIDER_VERSION;
  }

  // --- orchestrations -------------------------------------------------------------------------

  /**
   * Locks the instance with the oldest visible message and returns its turn, or `null`.
   * With long polling, waits up to `pollTimeoutMs` for work to arrive (0 = one query).
   */
  async fetchOrchestrationItem(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    filter: DispatcherCapabilityFilter | null = null,
    signal?: AbortSignal,
  ): Promise<FetchedOrchestrationItem | null> {
    const [found] = await this.#fetchOrchestrations(
      "fetch_orchestration_item",
      lockTimeoutMs,
      pollTimeoutMs,
      1,
      filter,
      signal,
    );
    return found ?? null;
  }

  /**
   * Locks up to `maxItems` instances in one call, each as {@linkcode fetchOrchestrationItem}
   * would, and returns their turns (empty when none is visible after the long poll).
   *
   * @throws {RangeError} when `maxItems` is not an integer in 1..1000.
   */
  async fetchOrchestrationItems(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    maxItems: number,
    filter: DispatcherCapabilityFilter | null = null,
    signal?: AbortSignal,
  ): Promise<FetchedOrchestrationItem[]> {
    requireBatchSize("maxItems", maxItems);
    return await this.#fetchOrchestrations(
      "fetch_orchestration_items",
      lockTimeoutMs,
      pollTimeoutMs,
      maxItems,
      filter,
      signal,
    );
  }

  async #fetchOrchestrations(
    op: string,
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    maxItems: number,
    filter: DispatcherCapabilityFilter | null,
    signal: AbortSignal | undefined,
  ): Promise<FetchedOrchestrationItem[]> {
    requireNonNegativeInt("lockTimeoutMs", lockTimeoutMs);
    requireNonNegativeInt("pollTimeoutMs", pollTimeoutMs);
    let min: number | null = null;
    let max: number | null = null;
    if (filter) {
      const range = filter.supportedDuroxideVersions[0];
      if (!range) return []; // nothing is compatible with an empty list: no query needed
      [min, max] = [packVersion(range.min), packVersion(range.max)];
    }
    const fetchOnce = async (): Promise<FetchedOrchestrationItem[] | null> => {
      const rows = await this.#sp.call<FetchedRow[]>(op, "fetch_orchestration_items", [
        this.#clock(),
        lockTimeoutMs,
        min,
        max,
        maxItems,
      ]);
      return rows?.length ? rows.map(toFetchedOrchestrationItem) : null;
    };
    return await this.#longPoll(
      this.#notifier?.orchestrations,
      `orch:${min}:${max}`,
      pollTimeoutMs,
      fetchOnce,
      signal,
    ) ?? [];
  }

  /**
   * Whether fetches long-poll right now (long polling enabled and its listener healthy): an
   * empty fetch then already waited, and fetching again at once costs no query until work is
   * announced.
   */
  isLongPolling(): boolean {
    return this.#notifier?.healthy ?? false;
  }

  /**
   * The long-poll protocol of both fetches. Interest is registered (the wake generation is
   * read) before querying; a query that finds nothing is skipped next time while no wake has
   * happened since; otherwise it waits for a wake or `pollTimeoutMs`, then queries once more.
   * A fetch that found work passes the wake on, since more may be waiting. `abort` (or the
   * provider closing) ends the wait with `null`.
   */
  async #longPoll<T>(
    signal: WakeSignal | undefined,
    filterKey: string,
    pollTimeoutMs: number,
    fetchOnce: () => Promise<T | null>,
    abort: AbortSignal | undefined,
  ): Promise<T | null> {
    const notifier = this.#notifier;
    if (!signal || !notifier?.healthy || pollTimeoutMs === 0) return await fetchOnce();
    const query = async (generation: number) => {
      const found = await fetchOnce();
      if (found) signal.wakeOne();
      else this.#emptyAt.set(filterKey, generation);
      return found;
    };
    const since = signal.generation;
    if (this.#emptyAt.get(filterKey) !== since) {
      const found = await query(since);
      if (found) return found;
    }
    const stop = abort ? AbortSignal.any([notifier.closedSignal, abort]) : notifier.closedSignal;
    const woken = await signal.wait(since, pollTimeoutMs, stop);
    return woken && !stop.aborted ? await query(signal.generation) : null;
  }

  /** Commits a turn atomically; fails (changing nothing) when the lock is invalid or expired. */
  async ackOrchestrationItem(
    lockToken: string,
    executionId: number,
    historyDelta: Event[],
    workerItems: WorkItem[],
    orchestratorItems: WorkItem[],
    metadata: ExecutionMetadata,
    cancelledActivities: ScheduledActivityIdentifier[],
  ): Promise<void> {
    const op = "ack_orchestration_item";
    const ack = {
      lockToken,
      executionId,
      historyDelta,
      workerItems,
      orchestratorItems,
      metadata,
      cancelledActivities,
    };
    const p = turnAckPayload(op, ack);
    await this.#sp.call(op, "ack_orchestration_item", [
      lockToken,
      this.#clock(),
      executionId,
      p.history,
      p.worker,
      p.orchestrator,
      p.metadata,
      p.customStatus,
      p.kv,
      p.cancelled,
    ]);
    this.#announceTurn(ack);
  }

  /**
   * Commits several turns in one transaction. Each turn is validated and applied as by
   * {@linkcode ackOrchestrationItem}; one that fails changes nothing and gets its error in
   * its slot of the result, while the others commit.
   *
   * @throws {RangeError} when there are more than 1000 acks.
   * @throws {ProviderError} when the call as a whole fails (nothing was committed).
   */
  async ackOrchestrationItems(acks: OrchestrationItemAck[]): Promise<AckOutcome[]> {
    const op = "ack_orchestration_items";
    if (acks.length === 0) return [];
    requireBatchSize("acks.length", acks.length);
    const items = acks.map((ack) => turnAckJson(op, ack));
    const outcomes = await this.#batchAck(op, "ack_orchestration_items", items);
    acks.forEach((ack, i) => outcomes[i] === null && this.#announceTurn(ack));
    return outcomes;
  }

  /** Releases an instance lock, optionally delaying its messages and refunding the attempt. */
  async abandonOrchestrationItem(
    lockToken: string,
    delayMs: number | null,
    ignoreAttempt: boolean,
  ): Promise<void> {
    requireString("lockToken", lockToken);
    const delay = optionalNonNegativeInt("delayMs", delayMs);
    await this.#sp.call("abandon_orchestration_item", "abandon_orchestration_item", [
      lockToken,
      this.#clock(),
      delay,
      Boolean(ignoreAttempt),
    ]);
    this.#notifier?.orchestrations.wakeOne(); // as after a turn: see #announceTurn
  }

  /** Extends a live instance lock to at least `extendForMs` from now. */
  async renewOrchestrationItemLock(lockToken: string, extendForMs: number): Promise<void> {
    requireString("lockToken", lockToken);
    requireNonNegativeInt("extendForMs", extendForMs);
    await this.#sp.call("renew_orchestration_item_lock", "renew_orchestration_item_lock", [
      lockToken,
      this.#clock(),
      extendForMs,
    ]);
  }

  // --- history --------------------------------------------------------------------------------

  /** The latest execution's history (empty for an unknown instance). */
  async read(instance: string): Promise<Event[]> {
    requireString("instance", instance);
    const rows = await this.#sp.call<string[]>("read", "read_history", [instance, null]);
    return decodeHistory("read", instance, rows ?? []);
  }

  /** One execution's history. */
  async readWithExecution(instance: string, executionId: number): Promise<Event[]> {
    requireString("instance", instance);
    requirePositiveInt("executionId", executionId);
    const rows = await this.#sp.call<string[]>("read_with_execution", "read_history", [
      instance,
      executionId,
    ]);
    return decodeHistory("read_with_execution", instance, rows ?? []);
  }

  /** Appends events as they are; a duplicate event id fails and appends nothing. */
  async appendWithExecution(instance: string, executionId: number, events: Event[]): Promise<void> {
    const op = "append_with_execution";
    requireString("instance", instance);
    requirePositiveInt("executionId", executionId);
    await this.#sp.call(op, "append_history", [
      instance,
      executionId,
      historyRows(events, op),
      this.#clock(),
    ]);
  }

  // --- queues ---------------------------------------------------------------------------------

  /** Puts a message on the orchestrator queue, visible after `delayMs` (timers included). */
  async enqueueForOrchestrator(item: WorkItem, delayMs: number | null): Promise<void> {
    const op = "enqueue_for_orchestrator";
    const delay = optionalNonNegativeInt("delayMs", delayMs) ?? 0;
    const instance = orchestratorInstanceOf(item, op);
    // The name and version reach every later ack's metadata: refuse what it could not hold
    // now, rather than leave a message that no ack can ever dispose of.
    if (item.type === "StartOrchestration" || item.type === "ContinueAsNew") {
      const problem = unstorable(op, "text", item.orchestration) ??
        unstorable(op, "text", item.version ?? null);
      if (problem) throw problem;
    }
    const now = this.#clock();
    await this.#sp.call(op, "enqueue_orchestrator_item", [
      instance,
      item.type,
      encodeWorkItem(item),
      now + delay,
      now,
    ]);
    if (delay === 0) this.#notifier?.orchestrations.wakeOne();
  }

  /** Puts an `ActivityExecute` item on the worker queue, visible at once. */
  async enqueueForWorker(item: WorkItem): Promise<void> {
    const op = "enqueue_for_worker";
    const row = workerRow(item, op);
    await this.#sp.call(op, "enqueue_worker_item", [
      row.work_item,
      row.instance_id,
      row.execution_id,
      row.activity_id,
      row.session_id,
      row.tag,
      this.#clock(),
    ]);
    this.#notifier?.work.wakeAll();
  }

  /**
   * Puts several `ActivityExecute` items on the worker queue in one call and one commit, all
   * or nothing, in array order.
   *
   * @throws {RangeError} when there are more than 1000 items.
   */
  async enqueueForWorkerBatch(items: WorkItem[]): Promise<void> {
    const op = "enqueue_for_worker_batch";
    if (items.length === 0) return;
    requireBatchSize("items.length", items.length);
    const rows = items.map((item) => workerRow(item, op));
    await this.#sp.call(op, "enqueue_worker_items", [JSON.stringify(rows), this.#clock()]);
    this.#notifier?.work.wakeAll();
  }

  /**
   * Locks the oldest activity this worker may run, or returns `null`. With long polling, waits
   * up to `pollTimeoutMs` for work to arrive (0 = one query).
   */
  async fetchWorkItem(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    session: SessionFetchConfig | null,
    tagFilter: TagFilter,
    signal?: AbortSignal,
  ): Promise<FetchedWorkItem | null> {
    const [found] = await this.#fetchWork(
      "fetch_work_item",
      lockTimeoutMs,
      pollTimeoutMs,
      1,
      session,
      tagFilter,
      signal,
    );
    return found ?? null;
  }

  /**
   * Locks up to `maxItems` activities in one call, each as {@linkcode fetchWorkItem} would
   * (sessions and tags included); empty when none is visible after the long poll.
   *
   * @throws {RangeError} when `maxItems` is not an integer in 1..1000.
   */
  async fetchWorkItems(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    maxItems: number,
    session: SessionFetchConfig | null,
    tagFilter: TagFilter,
    signal?: AbortSignal,
  ): Promise<FetchedWorkItem[]> {
    requireBatchSize("maxItems", maxItems);
    return await this.#fetchWork(
      "fetch_work_items",
      lockTimeoutMs,
      pollTimeoutMs,
      maxItems,
      session,
      tagFilter,
      signal,
    );
  }

  async #fetchWork(
    op: string,
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    maxItems: number,
    session: SessionFetchConfig | null,
    tagFilter: TagFilter,
    signal: AbortSignal | undefined,
  ): Promise<FetchedWorkItem[]> {
    requireNonNegativeInt("lockTimeoutMs", lockTimeoutMs);
    requireNonNegativeInt("pollTimeoutMs", pollTimeoutMs);
    if (tagFilter.type === "None") return []; // this worker takes no activities at all
    const tags = tagFilter.type === "Tags" || tagFilter.type === "DefaultAnd" ? tagFilter.tags : [];
    if (session) {
      requireString("session.ownerId", session.ownerId);
      requireNonNegativeInt("session.lockTimeoutMs", session.lockTimeoutMs);
    }
    const args = [
      session?.ownerId ?? null,
      session?.lockTimeoutMs ?? null,
      TAG_MODES[tagFilter.type],
      JSON.stringify(tags),
    ];
    const decode = (row: WorkRow): FetchedWorkItem => {
      let item: WorkItem;
      try {
        item = decodeWorkItem(row.work_item);
      } catch (err) {
        throw corrupt(op, `worker queue item could not be decoded: ${(err as Error).message}`, err);
      }
      return { item, lockToken: row.lock_token, attemptCount: row.attempt_count };
    };
    const fetchOnce = async (): Promise<FetchedWorkItem[] | null> => {
      const rows = await this.#sp.call<WorkRow[]>(op, "fetch_work_items", [
        this.#clock(),
        lockTimeoutMs,
        ...args,
        maxItems,
      ]);
      return rows?.length ? rows.map(decode) : null;
    };
    return await this.#longPoll(
      this.#notifier?.work,
      `work:${JSON.stringify(args)}`,
      pollTimeoutMs,
      fetchOnce,
      signal,
    ) ?? [];
  }

  /**
   * Deletes a locked activity and enqueues its completion (`ActivityCompleted` or
   * `ActivityFailed`), atomically. Fails when the activity was cancelled or its lock is lost.
   */
  async ackWorkItem(lockToken: string, completion: WorkItem | null): Promise<void> {
    const op = "ack_work_item";
    requireString("lockToken", lockToken);
    const payload = completionPayload(op, completion);
    await this.#sp.call(op, "ack_work_item", [lockToken, this.#clock(), payload]);
    if (completion) this.#notifier?.orchestrations.wakeOne();
  }

  /**
   * Acks several activities in one transaction, each as {@linkcode ackWorkItem} would; one
   * that fails changes nothing and gets its error in its slot of the result.
   *
   * @throws {RangeError} when there are more than 1000 acks.
   * @throws {ProviderError} when the call as a whole fails (nothing was committed).
   */
  async ackWorkItems(acks: WorkItemAck[]): Promise<AckOutcome[]> {
    const op = "ack_work_items";
    if (acks.length === 0) return [];
    requireBatchSize("acks.length", acks.length);
    const items = acks.map(({ lockToken, completion }) => {
      requireString("lockToken", lockToken);
      return `{"lock_token":${JSON.stringify(lockToken)},"completion":${
        completionPayload(op, completion) ?? "null"
      }}`;
    });
    const outcomes = await this.#batchAck(op, "ack_work_items", items);
    if (acks.some((ack, i) => ack.completion && outcomes[i] === null)) {
      this.#notifier?.orchestrations.wakeOne();
    }
    return outcomes;
  }

  /**
   * Calls a batch ack procedure with JSON items and turns its result slots into outcomes. An
   * item that cannot be stored is refused on its own, so it does not fail the others.
   */
  async #batchAck(
    op: string,
    procedure: "ack_orchestration_items" | "ack_work_items",
    items: string[],
  ): Promise<AckOutcome[]> {
    const outcomes: AckOutcome[] = items.map((item) => unstorable(op, "jsonb", item));
    const sent = items.filter((_, i) => outcomes[i] === null);
    if (sent.length === 0) return outcomes;
    const slots = await this.#sp.call<({ code: string; message: string } | null)[]>(
      op,
      procedure,
      [this.#clock(), `[${sent.join(",")}]`],
    );
    if (!Array.isArray(slots) || slots.length !== sent.length) {
      throw corrupt(
        op,
        `${procedure} returned ${slots?.length ?? 0} results for ${sent.length}`,
        null,
      );
    }
    let next = 0;
    return outcomes.map((outcome) => {
      if (outcome) return outcome;
      const slot = slots[next++];
      return slot === null
        ? null
        : toProviderError(op, Object.assign(new Error(slot.message), slot));
    });
  }

  /**
   * After a committed turn, wakes this process's own fetchers at once rather than when the
   * database's notification comes back (it still comes, for the others). The orchestration
   * fetchers are woken after every turn, even one that enqueued nothing: a message that
   * committed while the turn held its instance's lock was skipped by the fetch its own
   * notification caused, and the unlock trigger ran before that message existed, so only the
   * process releasing the lock can be sure to look again.
   */
  #announceTurn(ack: OrchestrationItemAck): void {
    const notifier = this.#notifier;
    if (!notifier) return;
    if (ack.workerItems.length > 0) notifier.work.wakeAll();
    notifier.orchestrations.wakeOne();
  }

  /** Extends a live activity lock; fails once the activity was cancelled. */
  async renewWorkItemLock(lockToken: string, extendForMs: number): Promise<void> {
    requireString("lockToken", lockToken);
    requireNonNegativeInt("extendForMs", extendForMs);
    await this.#sp.call("renew_work_item_lock", "renew_work_item_lock", [
      lockToken,
      this.#clock(),
      extendForMs,
    ]);
  }

  /** Releases an activity lock, optionally delaying the item and refunding the attempt. */
  async abandonWorkItem(
    lockToken: string,
    delayMs: number | null,
    ignoreAttempt: boolean,
  ): Promise<void> {
    requireString("lockToken", lockToken);
    const delay = optionalNonNegativeInt("delayMs", delayMs);
    await this.#sp.call("abandon_work_item", "abandon_work_item", [
      lockToken,
      this.#clock(),
      delay,
      Boolean(ignoreAttempt),
    ]);
  }

  // --- sessions -------------------------------------------------------------------------------

  /** Extends the live sessions of these owners active within `idleTimeoutMs`; returns how many. */
  async renewSessionLock(
    ownerIds: string[],
    extendForMs: number,
    idleTimeoutMs: number,
  ): Promise<number> {
    requireNonNegativeInt("extendForMs", extendForMs);
    requireNonNegativeInt("idleTimeoutMs", idleTimeoutMs);
    if (ownerIds.length === 0) return 0;
    const count = await this.#sp.call<number>("renew_session_lock", "renew_session_lock", [
      JSON.stringify(ownerIds),
      this.#clock(),
      extendForMs,
      idleTimeoutMs,
    ]);
    return count ?? 0;
  }

  /**
   * Deletes expired sessions that no queued activity refers to; returns how many.
   * `idleTimeoutMs` is accepted for the contract: expiry already covers idleness.
   */
  async cleanupOrphanedSessions(idleTimeoutMs: number): Promise<number> {
    requireNonNegativeInt("idleTimeoutMs", idleTimeoutMs);
    const count = await this.#sp.call<number>(
      "cleanup_orphaned_sessions",
      "cleanup_orphaned_sessions",
      [this.#clock()],
    );
    return count ?? 0;
  }

  // --- status, KV, stats ----------------------------------------------------------------------

  /** The management capability (with paginated listing beyond the contract). */
  asManagementCapability(): PostgresAdmin {
    return this.#admin;
  }

  /** The custom status if its version is newer than `lastSeenVersion`, else `null`. */
  async getCustomStatus(instance: string, lastSeenVersion: number): Promise<CustomStatus | null> {
    requireString("instance", instance);
    requireNonNegativeInt("lastSeenVersion", lastSeenVersion);
    return await this.#sp.call<CustomStatus>("get_custom_status", "get_custom_status", [
      instance,
      lastSeenVersion,
    ]);
  }

  /** One KV value, or `null` when absent or cleared. */
  async getKvValue(instance: string, key: string): Promise<string | null> {
    requireString("instance", instance);
    requireString("key", key);
    const found = await this.#sp.call<{ value: string }>("get_kv_value", "get_kv_value", [
      instance,
      key,
    ]);
    return found?.value ?? null;
  }

  /** Every live KV value of an instance. */
  async getKvAllValues(instance: string): Promise<Record<string, string>> {
    requireString("instance", instance);
    return await this.#sp.call<Record<string, string>>(
      "get_kv_all_values",
      "get_kv_all_values",
      [instance],
    ) ?? {};
  }

  /** Storage figures of an instance's current execution, or `null` for an unknown instance. */
  async getInstanceStats(instance: string): Promise<SystemStats | null> {
    requireString("instance", instance);
    const row = await this.#sp.call<Record<string, number>>(
      "get_instance_stats",
      "get_instance_stats",
      [instance],
    );
    return row && {
      historyEventCount: row.history_event_count,
      historySizeBytes: row.history_size_bytes,
      queuePendingCount: row.queue_pending_count,
      kvUserKeyCount: row.kv_user_key_count,
      kvTotalValueBytes: row.kv_total_value_bytes,
    };
  }

  /**
   * Waits until `instance` changes status or custom status, `timeoutMs` passes or `abort`
   * fires; resolves `true` on a change notification. The wait is registered by the call itself,
   * so call it before reading the state it guards. Clients use it between reads instead of
   * polling; it is a hint only (re-read after it resolves, whatever it says). Without long
   * polling it simply waits out the timeout.
   */
  waitForInstanceChange(
    instance: string,
    timeoutMs: number,
    abort?: AbortSignal,
  ): Promise<boolean> {
    requireString("instance", instance);
    requireNonNegativeInt("timeoutMs", timeoutMs);
    if (this.#notifier) return this.#notifier.waitForInstanceChange(instance, timeoutMs, abort);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        abort?.removeEventListener("abort", done);
        resolve(false);
      };
      const timer = setTimeout(done, timeoutMs);
      abort?.addEventListener("abort", done);
    });
  }

  /** Whether long polling is on and its listener currently receives notifications. */
  get longPollHealthy(): boolean {
    return this.#notifier?.healthy ?? false;
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /**
   * Drops the provider's objects: the whole schema, or in `public` only the provider's own
   * tables and functions. Meant for tests and teardown.
   */
  async cleanupSchema(): Promise<void> {
    await dropSchemaObjects(this.#driver, this.#schema);
  }

  /** Stops the listener and releases the connection pool if the provider created it. */
  async close(): Promise<void> {
    await this.#notifier?.close();
    await this.#driver.close();
  }

  /** Same as {@linkcode PostgresProvider.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
