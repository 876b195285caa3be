/**
 * Fault injection at the driver boundary: a wrapper that makes a stored-procedure call fail
 * either **before** it reaches the database (nothing happened) or **after** it committed (it
 * happened, but the caller sees an error), as a lost connection would. Faults never go into
 * production options: they are a driver wrapper, so the provider under test is unchanged.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";

/** Where an injected failure strikes a stored-procedure call. */
export type FaultPoint = "before" | "after";

/** One stored-procedure call as the driver sees it. */
export interface StoredProcedureCall {
  /** The procedure's name, e.g. `"ack_orchestration_item"`. */
  procedure: string;
  /** The statement text. */
  sql: string;
  /** The bound parameters. */
  params: readonly unknown[];
}

/** What happened to a call that a fault struck. */
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

/** Options of {@linkcode faultyDriver}. */
export interface FaultyDriverOptions {
  /** Decides, per call, whether it fails and where; `null` lets it through. */
  decide: (call: StoredProcedureCall) => FaultPoint | null;
  /** Told about every injected fault, with what the database did. */
  onFault?: (fault: InjectedFault) => void;
}

/**
 * The error an injected fault throws: SQLSTATE `08006` (connection failure), so the provider
 * classifies it as a retryable `CONNECTION` error whose outcome is unknown.
 *
 * @example
 * ```ts
 * import { SimulatedConnectionError } from "@duroxide/pg/sim";
 *
 * const err = new SimulatedConnectionError("ack_work_item", "after");
 * console.assert(err.code === "08006");
 * ```
 */
export class SimulatedConnectionError extends Error {
  /** Always `"SimulatedConnectionError"`. */
  override readonly name = "SimulatedConnectionError";
  /** SQLSTATE `08006`, connection failure. */
  readonly code = "08006";

  /** Creates the error for a call to `procedure` struck at `point`. */
  constructor(procedure: string, point: FaultPoint) {
    super(`simulated connection loss ${point} ${procedure}`);
  }
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
 * ```
 */
export function procedureOf(sql: string): string {
  return PROCEDURE_CALL.exec(sql)?.[1] ?? "";
}

/**
 * Wraps a driver so that the calls `decide` picks fail before or after reaching the database.
 * Only `query` (one statement, the way the provider calls every stored procedure) is struck;
 * scripts, transactions and LISTEN pass through.
 *
 * @example Make the first ack of a work item commit and then "lose the connection"
 * ```ts
 * import type { SqlDriver } from "@duroxide/pg";
 * import { faultyDriver } from "@duroxide/pg/sim";
 *
 * const calls: string[] = [];
 * const inner = {
 *   query: (sql: string) => (calls.push(sql), Promise.resolve([])),
 * } as unknown as SqlDriver; // any driver, e.g. pgliteDriver(db, false)
 * let struck = false;
 * const driver = faultyDriver(inner, {
 *   decide: (call) =>
 *     !struck && call.procedure === "ack_work_item" ? (struck = true, "after") : null,
 * });
 * const error = await driver.query('select "s".ack_work_item($1::text) as r', ["t"]).catch((e) => e);
 * console.assert(error.code === "08006" && calls.length === 1); // it ran, yet the caller failed
 * ```
 */
export function faultyDriver(driver: SqlDriver, options: FaultyDriverOptions): SqlDriver {
  const { decide, onFault } = options;
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
      const call = { procedure: procedureOf(sql), sql, params };
      const point = decide(call);
      if (point === null) return await driver.query<Row>(sql, params);
      if (point === "before") {
        onFault?.({ call, point, rows: null, error: null });
        throw new SimulatedConnectionError(call.procedure, point);
      }
      let rows: Row[] | null = null;
      let error: unknown = null;
      try {
        rows = await driver.query<Row>(sql, params);
      } catch (err) {
        error = err;
      }
      onFault?.({ call, point, rows, error });
      throw new SimulatedConnectionError(call.procedure, point);
    },
    exec: (script) => driver.exec(script),
    transaction: (fn) => driver.transaction(fn),
    listen: (channel, onPayload, onReconnect) => driver.listen(channel, onPayload, onReconnect),
    close: () => driver.close(),
  };
}

/**
 * A one-shot fault switch for a simulation step: {@linkcode FaultSwitch.arm} a point, make one
 * provider call through a {@linkcode faultyDriver} built with {@linkcode FaultSwitch.options},
 * then {@linkcode FaultSwitch.take} what the fault did.
 *
 * @example
 * ```ts
 * import { createFaultSwitch } from "@duroxide/pg/sim";
 *
 * const faults = createFaultSwitch();
 * faults.arm("before");
 * const point = faults.options.decide({ procedure: "fetch_work_item", sql: "", params: [] });
 * console.assert(point === "before" && faults.take() === null);
 * ```
 */
export interface FaultSwitch {
  /** Options for {@linkcode faultyDriver} that consult this switch. */
  readonly options: FaultyDriverOptions;
  /** Makes the next call fail at `point` (or none, with `null`). */
  arm(point: FaultPoint | null): void;
  /** Disarms the switch and returns the fault it injected since it was armed, if any. */
  take(): InjectedFault | null;
}

/**
 * Creates a {@linkcode FaultSwitch}.
 *
 * @example
 * ```ts
 * import { createFaultSwitch } from "@duroxide/pg/sim";
 *
 * const faults = createFaultSwitch();
 * faults.arm(null);
 * console.assert(faults.options.decide({ procedure: "x", sql: "", params: [] }) === null);
 * ```
 */
export function createFaultSwitch(): FaultSwitch {
  let armed: FaultPoint | null = null;
  let injected: InjectedFault | null = null;
  return {
    options: {
      decide() {
        const point = armed;
        armed = null;
        return point;
      },
      onFault(fault) {
        injected = fault;
      },
    },
    arm(point) {
      armed = point;
      injected = null;
    },
    take() {
      const fault = injected;
      armed = null;
      injected = null;
      return fault;
    },
  };
}
