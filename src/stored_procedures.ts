/**
 * The database API of the provider: every stored procedure with its parameter types. Each
 * provider and management operation is exactly one call of one of these, i.e. one round trip.
 *
 * @module
 */

import { decodeEvent } from "./codec.ts";
import type { SqlDriver } from "./driver/driver.ts";
import { ProviderError } from "./errors.ts";
import { toProviderError } from "./sqlstate.ts";
import type { Event } from "./types.ts";

/** Parameter types of every stored procedure, in order. Every procedure returns `jsonb`. */
const PROCEDURES = {
  enqueue_orchestrator_item: ["text", "text", "text", "bigint", "bigint"],
  fetch_orchestration_item: ["bigint", "bigint", "bigint", "bigint"],
  ack_orchestration_item: [
    "text",
    "bigint",
    "bigint",
    "jsonb",
    "jsonb",
    "jsonb",
    "jsonb",
    "jsonb",
    "jsonb",
    "jsonb",
  ],
  abandon_orchestration_item: ["text", "bigint", "bigint", "boolean"],
  renew_orchestration_item_lock: ["text", "bigint", "bigint"],
  read_history: ["text", "bigint"],
  append_history: ["text", "bigint", "jsonb", "bigint"],
  enqueue_worker_item: ["text", "text", "bigint", "bigint", "text", "text", "bigint"],
  fetch_work_item: ["bigint", "bigint", "text", "bigint", "text", "jsonb"],
  ack_work_item: ["text", "bigint", "jsonb"],
  renew_work_item_lock: ["text", "bigint", "bigint"],
  abandon_work_item: ["text", "bigint", "bigint", "boolean"],
  renew_session_lock: ["jsonb", "bigint", "bigint", "bigint"],
  cleanup_orphaned_sessions: ["bigint"],
  get_custom_status: ["text", "bigint"],
  get_kv_value: ["text", "text"],
  get_kv_all_values: ["text"],
  get_instance_stats: ["text"],
  // batches
  fetch_orchestration_items: ["bigint", "bigint", "bigint", "bigint", "integer"],
  fetch_work_items: ["bigint", "bigint", "text", "bigint", "text", "jsonb", "integer"],
  ack_orchestration_items: ["bigint", "jsonb"],
  ack_work_items: ["bigint", "jsonb"],
  enqueue_worker_items: ["jsonb", "bigint"],
  // management
  list_instances: ["text"],
  list_instances_page: ["text", "text", "integer"],
  list_executions: ["text"],
  get_instance_info: ["text"],
  get_execution_info: ["text", "bigint"],
  get_system_metrics: [],
  get_queue_depths: ["bigint"],
  list_children: ["text"],
  get_parent_id: ["text"],
  get_instance_tree: ["text"],
  delete_instances_json: ["jsonb", "boolean"],
  delete_instance: ["text", "boolean"],
  delete_instance_bulk: ["jsonb", "bigint", "integer"],
  prune_executions: ["text", "integer", "bigint"],
  prune_executions_bulk: ["jsonb", "bigint", "integer", "integer", "bigint"],
} as const satisfies Record<string, readonly string[]>;

/**
 * The cast applied to a bound parameter. JSON is bound as text and cast on the server, because
 * drivers disagree on how to serialise a string bound to a `jsonb` parameter.
 */
function bindCast(type: string): string {
  return type === "jsonb" ? "text::jsonb" : type;
}

/**
 * A JSON escape of NUL or of a lone surrogate (after an even run of backslashes, so it is an
 * escape and not escaped text). `JSON.stringify` writes both this way; `jsonb` rejects them.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * The error for a string PostgreSQL cannot store exactly: a NUL character, a lone surrogate (a
 * driver would silently replace it, so two different ids could name one row), or in a `jsonb`
 * parameter a NUL or lone-surrogate escape; else `null`. `type` is the parameter's type in the
 * procedure table. (Payloads inside stored work items and events are JSON text within the
 * JSON, so their escapes are escaped again and store exactly.)
 */
export function unstorable(
  operation: string,
  type: string,
  value: ProcedureArg,
): ProviderError | null {
  if (typeof value !== "string") return null;
  const escaped = type === "jsonb" && UNSTORABLE_ESCAPE.test(value);
  if (value.includes("\0") || !value.isWellFormed() || escaped) {
    return new ProviderError(
      "Invalid argument: text with a NUL character or a lone UTF-16 surrogate cannot be stored",
      { code: "INVALID_ARGUMENT", operation, retryable: false },
    );
  }
  return null;
}

/** The name of a stored procedure. */
export type ProcedureName = keyof typeof PROCEDURES;

/** A value bound to a procedure parameter (JSON parameters are passed as text). */
export type ProcedureArg = string | number | boolean | null;

/** Calls the provider's stored procedures in one schema. */
export class ProcedureCaller {
  readonly #driver: SqlDriver;
  readonly #statements = new Map<ProcedureName, string>();

  /** Binds to `driver` and the already-quoted schema name. */
  constructor(driver: SqlDriver, quotedSchema: string) {
    this.#driver = driver;
    for (const [name, types] of Object.entries(PROCEDURES)) {
      const params = types.map((type, i) => `$${i + 1}::${bindCast(type)}`).join(", ");
      this.#statements.set(
        name as ProcedureName,
        `select ${quotedSchema}.${name}(${params}) as r`,
      );
    }
  }

  /**
   * Calls `name` and returns its JSON result (`null` for SQL NULL).
   *
   * Errors that guarantee the call was rolled back and may succeed at once (`PLAN_CHANGED`
   * while a migration replaces functions, `CONFLICT` from a deadlock or serialization
   * failure) are retried up to {@linkcode MAX_ATTEMPTS} times. Connection errors are not:
   * the call may have committed.
   *
   * @throws {ProviderError} with `operation` = `operation`, classified by SQLSTATE;
   * `INVALID_ARGUMENT` before any round trip for text that cannot be stored exactly.
   */
  async call<T>(operation: string, name: ProcedureName, args: ProcedureArg[]): Promise<T | null> {
    const expected = PROCEDURES[name].length;
    if (args.length !== expected) {
      throw new TypeError(`${name} takes ${expected} arguments, got ${args.length}`);
    }
    PROCEDURES[name].forEach((type, i) => {
      const problem = unstorable(operation, type, args[i]);
      if (problem) throw problem;
    });
    return await callWithRetry(operation, async () => {
      const rows = await this.#driver.query<{ r: T | null }>(this.#statements.get(name)!, args);
      return rows[0]?.r ?? null;
    });
  }
}

/** How often a call that was certainly rolled back is attempted in all. */
export const MAX_ATTEMPTS = 3;

/** Runs `attempt`, retrying rolled-back failures that may succeed on the next try. */
export async function callWithRetry<T>(operation: string, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1;; n++) {
    try {
      return await attempt();
    } catch (err) {
      const error = toProviderError(operation, err);
      const rolledBack = error.code === "PLAN_CHANGED" || error.code === "CONFLICT";
      if (!rolledBack || n >= MAX_ATTEMPTS) throw error;
      if (error.code === "CONFLICT") await new Promise((r) => setTimeout(r, 10 * n));
    }
  }
}

/**
 * Decodes the history rows a procedure returned.
 *
 * @throws {ProviderError} `CORRUPT_DATA` when a row is not a valid event (nothing is skipped).
 */
export function decodeHistory(operation: string, instance: string, rows: string[]): Event[] {
  try {
    return rows.map(decodeEvent);
  } catch (err) {
    throw new ProviderError(
      `history of instance ${instance} could not be decoded: ${(err as Error).message}`,
      { code: "CORRUPT_DATA", operation, retryable: false, cause: err },
    );
  }
}
