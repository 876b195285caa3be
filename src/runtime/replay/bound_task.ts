/**
 * A task after it was scheduled: bound to its scheduling event, with its outcome once history
 * delivers one. Values are decoded here, per kind.
 *
 * @module
 */

import type { ErrorDetails } from "../../types.ts";
import { displayMessage } from "./error_details.ts";
import { decodePayload } from "./payload.ts";

/** A scheduled task and its outcome. */
export interface BoundTask {
  /** What kind of task (decides how its result is decoded and how it is cancelled). */
  kind:
    | "activity"
    | "guid"
    | "now"
    | "kvRead"
    | "timer"
    | "wait"
    | "dequeue"
    | "subOrch"
    | "value";
  /** Event id of the scheduling event (0 for immediate values). */
  eventId: number;
  /** Whether this turn scheduled it (not replayed). */
  isNew: boolean;
  /** Outcome so far; `dropped` once a race cancelled it. */
  status: "pending" | "ok" | "err" | "dropped";
  /** Raw result or event data. */
  raw?: string;
  /** Failure details. */
  error?: ErrorDetails;
  /** Immediate value (`kind: "value"`). */
  value?: unknown;
  /** Event or queue name of subscriptions. */
  name?: string;
  /** Full instance id of a child orchestration. */
  childInstance?: string;
}

/**
 * The error thrown into orchestration code when a task it waits for failed. `message` is the
 * failure's display text; `details` the structured failure.
 *
 * @example
 * ```ts
 * import { TaskFailedError } from "./bound_task.ts";
 * const err = new TaskFailedError({
 *   type: "Application", kind: "ActivityFailed", message: "boom", retryable: false,
 * });
 * console.assert(err.message === "boom");
 * ```
 */
export class TaskFailedError extends Error {
  /** Always `"TaskFailedError"`. */
  override readonly name = "TaskFailedError";
  /** The structured failure. */
  readonly details: ErrorDetails;

  /** Wraps failure details. */
  constructor(details: ErrorDetails) {
    super(displayMessage(details));
    this.details = details;
  }
}

/**
 * The decoded value of a successful task.
 *
 * @example
 * ```ts
 * import { taskValue } from "./bound_task.ts";
 * console.assert(taskValue({ kind: "now", eventId: 2, isNew: false, status: "ok", raw: "5" }) === 5);
 * ```
 */
export function taskValue(t: BoundTask): unknown {
  const raw = t.raw ?? "";
  switch (t.kind) {
    case "value":
      return t.value;
    case "timer":
      return null;
    case "guid":
      return raw;
    case "now":
      return Number(raw);
    default:
      return decodePayload(raw);
  }
}

/**
 * The display text of a failed task.
 *
 * @example
 * ```ts ignore
 * taskFailure(failedTask); // "boom"
 * ```
 */
export function taskFailure(t: BoundTask): string {
  return t.error ? displayMessage(t.error) : "unknown failure";
}
