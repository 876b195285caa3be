/**
 * The errors injected faults throw. Both carry a SQLSTATE in `code`, like a driver's error, so
 * the provider classifies them exactly as it would the real failure.
 *
 * @module
 */

/**
 * The default error of an injected failure: SQLSTATE `08006` (connection failure), so the
 * provider reports a retryable `CONNECTION` error whose outcome is unknown.
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

  /** Creates the error for a call to `procedure` struck `"before"` or `"after"` it ran. */
  constructor(procedure: string, point: "before" | "after") {
    super(`simulated connection loss ${point} ${procedure}`);
  }
}

/**
 * An injected database error with a chosen SQLSTATE, e.g. `40001` (the provider retries it as
 * `CONFLICT`) or a project code such as `DX001` (`INVALID_LOCK_TOKEN`).
 *
 * @example
 * ```ts
 * import { SimulatedDatabaseError } from "@duroxide/pg/sim";
 *
 * const err = new SimulatedDatabaseError("40P01", "deadlock detected");
 * console.assert(err.code === "40P01" && err.message === "deadlock detected");
 * ```
 */
export class SimulatedDatabaseError extends Error {
  /** Always `"SimulatedDatabaseError"`. */
  override readonly name = "SimulatedDatabaseError";
  /** The SQLSTATE, five characters. */
  readonly code: string;

  /**
   * Creates the error.
   *
   * @throws {RangeError} unless `sqlstate` is five digits or upper-case letters.
   */
  constructor(sqlstate: string, message = `simulated database error ${sqlstate}`) {
    if (typeof sqlstate !== "string" || !/^[0-9A-Z]{5}$/.test(sqlstate)) {
      throw new RangeError(`Invalid SQLSTATE: expected five digits or letters, got ${sqlstate}`);
    }
    super(message);
    this.code = sqlstate;
  }
}
