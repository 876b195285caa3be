/**
 * Deliberately broken stored procedures, to show that the simulation catches real bugs in the
 * SQL (mutation testing of the kit). Each mutant is derived from the shipped migration text
 * (the latest definition of the procedure) by targeted string edits, so it tracks the
 * migrations: when an edit's target is no longer there, deriving the mutant throws instead of
 * silently testing nothing. The harness installs one with `create or replace function` over
 * the migrated procedure in the simulation's schema only. Never use them outside tests.
 *
 * @module
 */

import { EMBEDDED_MIGRATIONS } from "../../src/migrations/_embedded.ts";
import type { SqlExecutor } from "../../src/driver/driver.ts";

/** A broken variant of one stored procedure. */
export interface StoredProcedureMutant {
  /** Short name, e.g. `"ackAcceptsExpiredLease"`. */
  readonly name: string;
  /** What is broken, in words. */
  readonly description: string;
  /** The procedure it replaces. */
  readonly procedure: string;
  /** The broken definition, `create or replace function @SCHEMA@.…`, with `@SCHEMA@` unexpanded. */
  readonly sql: string;
}

/** One targeted edit: `find` must occur exactly once in the procedure's text. */
export interface ProcedureEdit {
  /** The exact text to replace. */
  find: string;
  /** Its replacement. */
  replace: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The latest shipped definition of `procedure` (from the embedded migrations), as a
 * `create or replace function` statement with `@SCHEMA@` unexpanded.
 *
 * @throws {Error} when no migration defines it.
 *
 * @example
 * ```ts
 * import { shippedFunctionSql } from "@duroxide/pg/sim";
 *
 * const sql = shippedFunctionSql("ack_work_item");
 * console.assert(sql.startsWith("create or replace function @SCHEMA@.ack_work_item("));
 * ```
 */
export function shippedFunctionSql(procedure: string): string {
  const header = new RegExp(
    `create (?:or replace )?function @SCHEMA@\\.${escapeRegExp(procedure)}\\(`,
    "g",
  );
  for (const migration of [...EMBEDDED_MIGRATIONS].reverse()) {
    const starts = [...migration.sql.matchAll(header)];
    if (!starts.length) continue;
    const start = starts.at(-1)!.index!;
    const bodyStart = migration.sql.indexOf("$$", start);
    const bodyEnd = bodyStart < 0 ? -1 : migration.sql.indexOf("$$", bodyStart + 2);
    const end = bodyEnd < 0 ? -1 : migration.sql.indexOf(";", bodyEnd);
    if (end < 0) throw new Error(`${migration.name}: cannot find the end of ${procedure}`);
    return migration.sql.slice(start, end + 1)
      .replace(/^create (?:or replace )?function/, "create or replace function");
  }
  throw new Error(`No shipped migration defines the procedure ${procedure}`);
}

/**
 * The shipped definition of `procedure` with `edits` applied.
 *
 * @throws {Error} when an edit's target is missing or not unique (the migration changed: the
 *   mutant must be updated, not skipped).
 *
 * @example
 * ```ts
 * import { mutateShippedFunction } from "@duroxide/pg/sim";
 *
 * let error: unknown;
 * try {
 *   mutateShippedFunction("ack_work_item", [{ find: "no such text", replace: "" }]);
 * } catch (e) {
 *   error = e;
 * }
 * console.assert(error instanceof Error);
 * ```
 */
export function mutateShippedFunction(procedure: string, edits: readonly ProcedureEdit[]): string {
  let sql = shippedFunctionSql(procedure);
  for (const { find, replace } of edits) {
    const first = sql.indexOf(find);
    if (first < 0) {
      throw new Error(`Mutant of ${procedure}: target not found in the shipped text: ${find}`);
    }
    if (sql.indexOf(find, first + 1) >= 0) {
      throw new Error(`Mutant of ${procedure}: target occurs more than once: ${find}`);
    }
    sql = sql.slice(0, first) + replace + sql.slice(first + find.length);
  }
  return sql;
}

/**
 * `ack_orchestration_item` checks that the token exists but not that its lease is live: a
 * holder whose lease ran out (and was not yet taken over) still commits its turn.
 *
 * @example
 * ```ts ignore
 * const report = await runSimulation({ seed: 6, mutant: ackAcceptsExpiredLease() });
 * console.assert(!report.ok);
 * ```
 */
export function ackAcceptsExpiredLease(): StoredProcedureMutant {
  return {
    name: "ackAcceptsExpiredLease",
    description: "an orchestration ack validates the token but not its lease",
    procedure: "ack_orchestration_item",
    sql: mutateShippedFunction("ack_orchestration_item", [
      { find: "if not found or v_until <= p_now_ms then", replace: "if not found then" },
    ]),
  };
}

/**
 * `fetch_orchestration_item` ignores instance locks: it takes an instance whose lease is still
 * live, so two holders work on one instance at once.
 *
 * @example
 * ```ts ignore
 * const report = await runSimulation({ seed: 6, mutant: fetchTakesLiveLease() });
 * console.assert(!report.ok);
 * ```
 */
export function fetchTakesLiveLease(): StoredProcedureMutant {
  return {
    name: "fetchTakesLiveLease",
    description: "an orchestration fetch takes an instance whose lock is still live",
    procedure: "fetch_orchestration_item",
    sql: mutateShippedFunction("fetch_orchestration_item", [
      {
        find: "where l.instance_id = q.instance_id and l.locked_until > p_now_ms)",
        replace: "where l.instance_id = q.instance_id and false)",
      },
      { find: "where l.locked_until <= p_now_ms;", replace: ";" },
    ]),
  };
}

const CANCELLATION = `  delete from @SCHEMA@.worker_queue q
   using jsonb_to_recordset(p_cancelled) as c(instance text, execution_id bigint, activity_id bigint)
   where q.instance_id = c.instance
     and q.execution_id = c.execution_id
     and q.activity_id = c.activity_id;
`;

const NEW_ACTIVITIES = "  -- New activities go in before cancelled ones are deleted";

/**
 * `ack_orchestration_item` applies the turn's cancellations before it enqueues the turn's new
 * activities, so an activity scheduled and cancelled in the same turn stays queued.
 *
 * @example
 * ```ts ignore
 * const report = await runSimulation({ seed: 6, mutant: cancelBeforeEnqueue() });
 * console.assert(!report.ok);
 * ```
 */
export function cancelBeforeEnqueue(): StoredProcedureMutant {
  return {
    name: "cancelBeforeEnqueue",
    description: "an orchestration ack deletes cancelled activities before enqueueing new ones",
    procedure: "ack_orchestration_item",
    sql: mutateShippedFunction("ack_orchestration_item", [
      { find: CANCELLATION, replace: "" },
      { find: NEW_ACTIVITIES, replace: `${CANCELLATION}${NEW_ACTIVITIES}` },
    ]),
  };
}

/**
 * `ack_work_item` deletes the activity but never enqueues its completion: the result is lost
 * and the orchestration waits for ever.
 *
 * @example
 * ```ts ignore
 * const report = await runSimulation({ seed: 6, mutant: ackWorkLosesCompletion() });
 * console.assert(!report.ok);
 * ```
 */
export function ackWorkLosesCompletion(): StoredProcedureMutant {
  return {
    name: "ackWorkLosesCompletion",
    description: "an activity ack deletes the activity without enqueueing its completion",
    procedure: "ack_work_item",
    sql: mutateShippedFunction("ack_work_item", [
      { find: "if p_completion is not null then", replace: "if false then" },
    ]),
  };
}

/**
 * Every stored-procedure mutant of the kit.
 *
 * @example
 * ```ts
 * import { storedProcedureMutants } from "@duroxide/pg/sim";
 *
 * console.assert(storedProcedureMutants().length >= 3);
 * ```
 */
export function storedProcedureMutants(): StoredProcedureMutant[] {
  return [
    ackAcceptsExpiredLease(),
    fetchTakesLiveLease(),
    cancelBeforeEnqueue(),
    ackWorkLosesCompletion(),
  ];
}

/**
 * Installs `mutant` over the procedure in `quotedSchema` (`create or replace function`).
 *
 * @example
 * ```ts ignore
 * await installMutant(driver, '"dx_sim_1"', fetchTakesLiveLease());
 * ```
 */
export async function installMutant(
  db: SqlExecutor,
  quotedSchema: string,
  mutant: StoredProcedureMutant,
): Promise<void> {
  await db.exec(mutant.sql.replaceAll("@SCHEMA@", quotedSchema));
}
