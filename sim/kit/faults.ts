/**
 * Fault injection for the simulation: a wrapper that makes a stored-procedure call fail either
 * **before** it reaches the database (nothing happened) or **after** it committed (it happened,
 * but the caller sees an error), as a lost connection would, and a one-shot switch that arms it
 * per step. Built on the general fault kit in `sim/faults/`.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";
import { type FaultPoint, type InjectedFault, withFaults } from "../faults/fault_driver.ts";
import type { StoredProcedureCall } from "../faults/procedure_call.ts";

export type { FaultPoint, InjectedFault } from "../faults/fault_driver.ts";
export { SimulatedConnectionError } from "../faults/errors.ts";
export { procedureOf, type StoredProcedureCall } from "../faults/procedure_call.ts";

/** Options of {@linkcode faultyDriver}. */
export interface FaultyDriverOptions {
  /** Decides, per call, whether it fails and where; `null` lets it through. */
  decide: (call: StoredProcedureCall) => FaultPoint | null;
  /** Told about every injected fault, with what the database did. */
  onFault?: (fault: InjectedFault) => void;
}

/**
 * Wraps a driver so that the calls `decide` picks fail before or after reaching the database
 * (a {@linkcode withFaults} whose only action is a failure with the default connection error).
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
  return withFaults(driver, {
    decide(call) {
      const point = decide(call);
      return point === null ? null : { fail: point };
    },
    onFault,
  });
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
