/**
 * The one table that turns database errors into {@linkcode ProviderError}s. Errors are
 * classified by SQLSTATE (or a driver's connection error code), never by message text.
 *
 * @module
 */

import { type ErrorCode, ProviderError } from "./errors.ts";

interface Classification {
  code: ErrorCode;
  retryable: boolean;
}

/** Exact SQLSTATEs: the project's own `DX` class first, then PostgreSQL's. */
const BY_SQLSTATE: Record<string, Classification> = {
  DX001: { code: "INVALID_LOCK_TOKEN", retryable: false },
  DX002: { code: "LOCK_EXPIRED", retryable: false },
  DX004: { code: "NOT_FOUND", retryable: false },
  DX005: { code: "INSTANCE_RUNNING", retryable: false },
  DX006: { code: "ORPHAN_DETECTED", retryable: false },
  DX007: { code: "NOT_ROOT", retryable: false },
  DX010: { code: "INVALID_ARGUMENT", retryable: false },
  "23505": { code: "DUPLICATE_EVENT", retryable: false }, // only history ids can collide
  "22021": { code: "INVALID_ARGUMENT", retryable: false }, // character_not_in_repertoire
  "22P02": { code: "INVALID_ARGUMENT", retryable: false }, // invalid_text_representation
  "22P05": { code: "INVALID_ARGUMENT", retryable: false }, // untranslatable_character
  "54000": { code: "INVALID_ARGUMENT", retryable: false }, // program_limit_exceeded (index row)
  "40001": { code: "CONFLICT", retryable: true }, // serialization_failure
  "40P01": { code: "CONFLICT", retryable: true }, // deadlock_detected
  "55P03": { code: "CONFLICT", retryable: true }, // lock_not_available
  "0A000": { code: "PLAN_CHANGED", retryable: true }, // cached plan must not change result type
  "57P01": { code: "CONNECTION", retryable: true }, // admin_shutdown
  "57P02": { code: "CONNECTION", retryable: true }, // crash_shutdown
  "57P03": { code: "CONNECTION", retryable: true }, // cannot_connect_now
  "53300": { code: "CONNECTION", retryable: true }, // too_many_connections
};

/** Driver-level codes (postgres.js and Node's socket errors) for a lost or refused link. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
]);

/** Reads `.code` from any thrown value without trusting its class. */
function errorCodeOf(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** The server routine that raised a PostgreSQL error (its `R` field), if the driver reports it. */
function routineOf(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "routine" in err) {
    const routine = (err as { routine: unknown }).routine;
    return typeof routine === "string" ? routine : undefined;
  }
  return undefined;
}

/**
 * Classifies a database error raised by `operation`. A `ProviderError` passes through unchanged.
 *
 * @example
 * ```ts
 * import { toProviderError } from "./sqlstate.ts";
 *
 * const err = toProviderError("fetch_work_item", { code: "40P01", message: "deadlock detected" });
 * console.assert(err.code === "CONFLICT" && err.retryable);
 * ```
 */
export function toProviderError(operation: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const sqlstate = errorCodeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  let classification: Classification = { code: "DATABASE", retryable: false };
  if (sqlstate !== undefined) {
    if (sqlstate in BY_SQLSTATE) classification = BY_SQLSTATE[sqlstate];
    else if (sqlstate === "XX000" && routineOf(err) === "func_get_detail") {
      // The function the call named was dropped and created again (a migration changing its
      // signature) between the call's lookup and its parse: nothing ran, a new call finds the
      // new function. The same case as a cached plan whose result type changed.
      classification = BY_SQLSTATE["0A000"];
    } else if (sqlstate.startsWith("08") || CONNECTION_CODES.has(sqlstate)) {
      classification = { code: "CONNECTION", retryable: true }; // class 08: connection exception
    }
  }
  return new ProviderError(message, { ...classification, operation, cause: err });
}
