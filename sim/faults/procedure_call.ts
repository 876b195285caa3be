/**
 * One stored-procedure call as a driver wrapper sees it, and how to tell which procedure a
 * statement calls.
 *
 * @module
 */

/** One stored-procedure call as the driver sees it. */
export interface StoredProcedureCall {
  /** The procedure's name, e.g. `"ack_orchestration_item"` (`""` for any other statement). */
  procedure: string;
  /** The statement text. */
  sql: string;
  /** The bound parameters. */
  params: readonly unknown[];
}

const PROCEDURE_CALL = /\.\s*([a-z_][a-z0-9_]*)\s*\(/i;

/**
 * The stored procedure a statement calls (the first `schema.name(`), or `""` for any other
 * statement.
 *
 * @example
 * ```ts
 * import { procedureOf } from "@duroxide/pg/sim";
 *
 * console.assert(procedureOf('select "s".ack_work_item($1::text) as r') === "ack_work_item");
 * console.assert(procedureOf("select 1") === "");
 * ```
 */
export function procedureOf(sql: string): string {
  return PROCEDURE_CALL.exec(sql)?.[1] ?? "";
}
