/**
 * Fault injection for the PostgreSQL provider, from the outside: driver wrappers and a clock,
 * so production code carries no test flags and pays nothing when they are not used.
 *
 * - {@linkcode procedureFaults}: rules keyed by stored-procedure name that delay a call
 *   before it is sent, stall the server inside it, or fail it before or after it ran (with a
 *   connection error or any SQLSTATE the provider classifies).
 * - {@linkcode listenerFaults}: LISTEN refused, a crashed listener, dropped notifications and
 *   forced reconnects, for the long-polling notifier.
 * - {@linkcode skewedClock}: a signed clock offset per provider, adjustable at run time.
 *
 * See `docs/fault-injection.md`.
 *
 * @example Stack the wrappers under one provider
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { pgliteDriver, PostgresProvider } from "@duroxide/pg";
 * import { listenerFaults, procedureFaults, skewedClock } from "@duroxide/pg/sim";
 *
 * const db = await PGlite.create();
 * const procedures = procedureFaults(pgliteDriver(db, false));
 * const listener = listenerFaults(procedures.driver);
 * const clock = skewedClock(-2_000); // two seconds behind
 * const provider = await PostgresProvider.fromDriver(listener.driver, { clock });
 * procedures.inject("fetch_work_item", { stallMs: 100, times: 1 });
 * console.assert(await provider.fetchWorkItem(30_000, 0, null, { type: "Any" }) === null);
 * await provider.close();
 * await db.close();
 * ```
 *
 * @module
 */

export { SimulatedConnectionError, SimulatedDatabaseError } from "./errors.ts";
export { procedureOf, type StoredProcedureCall } from "./procedure_call.ts";
export {
  checkFaultAction,
  type FaultAction,
  type FaultDecider,
  type FaultPoint,
  type InjectedFault,
  withFaults,
} from "./fault_driver.ts";
export {
  type ActiveFaultRule,
  type FaultRule,
  type ProcedureFaults,
  procedureFaults,
} from "./procedure_faults.ts";
export { type ListenerFaults, listenerFaults } from "./listener_faults.ts";
export { type SkewedClock, skewedClock } from "./skewed_clock.ts";
