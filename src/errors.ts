/**
 * The one error type the provider throws for storage failures, with a string code and a
 * retryability flag the runtime acts on.
 *
 * @module
 */

/**
 * What went wrong, as a stable string.
 *
 * | code | meaning | retryable |
 * | --- | --- | --- |
 * | `INVALID_LOCK_TOKEN` | the token was never issued, or its lock was released or stolen | no |
 * | `LOCK_EXPIRED` | the token's lease ran out | no |
 * | `DUPLICATE_EVENT` | a history event with that id already exists | no |
 * | `NOT_FOUND` | the instance (or execution) does not exist | no |
 * | `INSTANCE_RUNNING` | a delete without `force` met a running instance | no |
 * | `ORPHAN_DETECTED` | a delete would leave a child without its parent | no |
 * | `NOT_ROOT` | `deleteInstance` was called on a sub-orchestration | no |
 * | `INVALID_ARGUMENT` | the call's input breaks the contract (wrong work item type, event id 0) | no |
 * | `CORRUPT_DATA` | a stored row could not be decoded | no |
 * | `SCHEMA_TOO_NEW` | the database has migrations this code does not know | no |
 * | `SCHEMA_NOT_READY` | verify-only mode found the schema missing or behind | no |
 * | `MIGRATION_CHANGED` | an applied migration's text differs from the shipped file | no |
 * | `CONFLICT` | deadlock or serialization failure | yes |
 * | `PLAN_CHANGED` | a cached plan was invalidated by a concurrent migration | yes |
 * | `CONNECTION` | the connection was lost, refused or the server is shutting down | yes |
 * | `DATABASE` | any other database error | no |
 */
export type ErrorCode =
  | "INVALID_LOCK_TOKEN"
  | "LOCK_EXPIRED"
  | "DUPLICATE_EVENT"
  | "NOT_FOUND"
  | "INSTANCE_RUNNING"
  | "ORPHAN_DETECTED"
  | "NOT_ROOT"
  | "INVALID_ARGUMENT"
  | "CORRUPT_DATA"
  | "SCHEMA_TOO_NEW"
  | "SCHEMA_NOT_READY"
  | "MIGRATION_CHANGED"
  | "CONFLICT"
  | "PLAN_CHANGED"
  | "CONNECTION"
  | "DATABASE";

/** Options of the {@linkcode ProviderError} constructor. */
export interface ProviderErrorOptions {
  /** The stable error code. */
  code: ErrorCode;
  /** The provider operation that failed, e.g. `"ack_orchestration_item"`. */
  operation: string;
  /** Whether retrying the same call may succeed. */
  retryable: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A storage failure. `message` is `"{operation}: {detail}"`, as in Duroxide.
 *
 * @example Tell a lost lock from a transient failure
 * ```ts
 * import { ProviderError } from "@duroxide/pg";
 *
 * const err = new ProviderError("Invalid lock token", {
 *   code: "INVALID_LOCK_TOKEN",
 *   operation: "ack_orchestration_item",
 *   retryable: false,
 * });
 * console.assert(err.message === "ack_orchestration_item: Invalid lock token");
 * console.assert(!err.retryable && err.code === "INVALID_LOCK_TOKEN");
 * ```
 */
export class ProviderError extends Error {
  /** Always `"ProviderError"`. */
  override readonly name = "ProviderError";
  /** The stable error code. */
  readonly code: ErrorCode;
  /** The provider operation that failed. */
  readonly operation: string;
  /** Whether retrying the same call may succeed. */
  readonly retryable: boolean;
  /** The failure without the operation prefix. */
  readonly detail: string;

  /** Creates an error for `operation` with the given detail text. */
  constructor(detail: string, options: ProviderErrorOptions) {
    super(`${options.operation}: ${detail}`, { cause: options.cause });
    this.code = options.code;
    this.operation = options.operation;
    this.retryable = options.retryable;
    this.detail = detail;
  }
}
