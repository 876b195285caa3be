/**
 * The core of procedure-level fault injection: a driver wrapper that asks, for every statement,
 * what to do to it (wait before sending it, make the server stall inside it, fail it before it
 * reaches the database or after it committed) and does it. The provider under test is
 * unchanged: faults never go into production options, and a driver that is not wrapped pays
 * nothing.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";
import { SimulatedConnectionError } from "./errors.ts";
import { procedureOf, type StoredProcedureCall } from "./procedure_call.ts";

/** Where an injected failure strikes a call: before it reaches the database, or after it ran. */
export type FaultPoint = "before" | "after";

/** What to do to one call. Every field is optional; an empty action lets the call through. */
export interface FaultAction {
  /**
   * Wait this long (ms) before sending the statement: a slow network or a pool wait. The call's
   * clock was read before the wait, so a lease it takes is shorter by the delay; nothing on the
   * server can see this wait.
   */
  delayMs?: number;
  /**
   * Make the server wait this long (ms) inside the statement before the procedure runs, as a
   * lock wait or a stalled server would. The procedure can measure this wait (`wait_ms()`).
   * Only for single-expression `select` statements (every provider call is one).
   */
  stallMs?: number;
  /**
   * Fail the call `"before"` it reaches the database (nothing happened) or `"after"` it ran
   * and committed (it happened, but the caller sees an error), as a lost connection would.
   */
  fail?: FaultPoint;
  /**
   * The error a failure throws. Use connection errors for `"after"`: an error class that
   * promises a rollback (`40001`, `40P01`) after a commit is a lie PostgreSQL never tells.
   * @default {a SimulatedConnectionError (SQLSTATE 08006)}
   */
  error?: (call: StoredProcedureCall, point: FaultPoint) => unknown;
}

/** What happened to a call that an injected failure struck. */
export interface InjectedFault {
  /** The call. */
  call: StoredProcedureCall;
  /** Where it was struck. */
  point: FaultPoint;
  /** For `"after"`: the rows the database returned (hidden from the caller), else `null`. */
  rows: unknown[] | null;
  /** For `"after"`: the error the database raised (hidden from the caller), else `null`. */
  error: unknown;
}

/** Decides the fault of each call; see {@linkcode withFaults}. */
export interface FaultDecider {
  /** The action for this call, or `null` to let it through untouched. */
  decide(call: StoredProcedureCall): FaultAction | null;
  /** Told about every injected failure, with what the database did. */
  onFault?(fault: InjectedFault): void;
}

/**
 * Checks a fault action's numbers.
 *
 * @throws {RangeError} for a negative or non-finite `delayMs` or `stallMs`.
 *
 * @example
 * ```ts
 * import { checkFaultAction } from "@duroxide/pg/sim";
 *
 * checkFaultAction({ delayMs: 10, fail: "after" });
 * ```
 */
export function checkFaultAction(action: FaultAction): void {
  for (const key of ["delayMs", "stallMs"] as const) {
    const value = action[key];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new RangeError(`Invalid ${key}: expected a non-negative number, got ${value}`);
    }
  }
  if (action.fail !== undefined && action.fail !== "before" && action.fail !== "after") {
    throw new RangeError(`Invalid fail: expected "before" or "after", got ${String(action.fail)}`);
  }
}

/**
 * The statement with a server-side wait of `ms` in front of it: a materialised CTE sleeps, and
 * the original expression is evaluated on its single row, so the wait is inside the statement
 * (after `statement_timestamp()`) and before the procedure starts.
 */
function withStall(sql: string, ms: number): string {
  if (!/^\s*select\b/i.test(sql) || /\bfrom\b/i.test(sql)) {
    throw new TypeError(
      "stallMs applies only to a single-expression select statement (a procedure call)",
    );
  }
  return `with dx_fault_stall as materialized (select pg_sleep(${ms / 1000}))\n${sql.trim()}\n` +
    `from dx_fault_stall`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Wraps a driver so that each statement gets the action `decider` picks. Only `query` (one
 * statement, the way the provider makes every procedure call, its listener's included) is
 * struck; scripts, transactions and LISTEN pass through.
 *
 * @example Make every third call of `fetch_work_item` wait 20 ms before it is sent
 * ```ts
 * import type { SqlDriver } from "@duroxide/pg";
 * import { withFaults } from "@duroxide/pg/sim";
 *
 * const inner = { query: () => Promise.resolve([]) } as unknown as SqlDriver;
 * let n = 0;
 * const driver = withFaults(inner, {
 *   decide: (call) => call.procedure === "fetch_work_item" && ++n % 3 === 0 ? { delayMs: 20 } : null,
 * });
 * await driver.query('select "s".fetch_work_item($1::bigint) as r', [0]);
 * ```
 */
export function withFaults(driver: SqlDriver, decider: FaultDecider): SqlDriver {
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
      const call: StoredProcedureCall = { procedure: procedureOf(sql), sql, params };
      const action = decider.decide(call);
      if (action === null) return await driver.query<Row>(sql, params);
      if (action.delayMs) await sleep(action.delayMs);
      const fail = (point: FaultPoint) =>
        action.error?.(call, point) ?? new SimulatedConnectionError(call.procedure, point);
      if (action.fail === "before") {
        decider.onFault?.({ call, point: "before", rows: null, error: null });
        throw fail("before");
      }
      const text = action.stallMs ? withStall(sql, action.stallMs) : sql;
      if (action.fail !== "after") return await driver.query<Row>(text, params);
      let rows: Row[] | null = null;
      let error: unknown = null;
      try {
        rows = await driver.query<Row>(text, params);
      } catch (err) {
        error = err;
      }
      decider.onFault?.({ call, point: "after", rows, error });
      throw fail("after");
    },
    exec: (script) => driver.exec(script),
    transaction: (fn) => driver.transaction(fn),
    listen: (channel, onPayload, onReconnect) => driver.listen(channel, onPayload, onReconnect),
    close: () => driver.close(),
  };
}
