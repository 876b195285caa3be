/**
 * What orchestration code waits for after a `yield` (one task, all of several, the first of
 * several, or a value at hand) and when the wait is over.
 *
 * @module
 */

import { type BoundTask, TaskFailedError, taskFailure, taskValue } from "./bound_task.ts";
import type { ScheduledTask } from "./tasks.ts";

/** A suspended `yield`: what must settle before the code resumes. */
export type Waiter =
  | { mode: "value"; value: unknown }
  | { mode: "single"; task: BoundTask }
  | { mode: "all"; tasks: BoundTask[] }
  | { mode: "race"; tasks: BoundTask[] };

/** What the code resumes with: a value, or an error thrown at the `yield`. */
export type Resume = { value: unknown } | { error: unknown };

/**
 * A wait for one task.
 *
 * @example
 * ```ts
 * import { single } from "./waiters.ts";
 * const w = single({ kind: "timer", eventId: 2, isNew: true, status: "pending" });
 * console.assert(w.mode === "single");
 * ```
 */
export function single(task: BoundTask): Waiter {
  return { mode: "single", task };
}

/**
 * A settled task standing for an immediate value inside `all`/`race`.
 *
 * @example
 * ```ts
 * import { resolvedTask } from "./waiters.ts";
 * console.assert(resolvedTask({ mode: "value", value: null }).status === "ok");
 * ```
 */
export function resolvedTask(w: Waiter): BoundTask {
  const value = w.mode === "value" ? w.value : null;
  return { kind: "value", eventId: 0, isNew: false, status: "ok", value };
}

/**
 * Marks a task successful with its raw result.
 *
 * @example
 * ```ts
 * import type { BoundTask } from "./bound_task.ts";
 * import { settle } from "./waiters.ts";
 * const t: BoundTask = { kind: "activity", eventId: 2, isNew: false, status: "pending" };
 * settle(t, '"done"');
 * console.assert(t.status === "ok" && t.raw === '"done"');
 * ```
 */
export function settle(t: BoundTask, raw: string): void {
  t.status = "ok";
  t.raw = raw;
}

/**
 * Checks that a task may be joined or raced (composites may not).
 *
 * @throws {TypeError} for a composite task.
 * @example
 * ```ts
 * import { composableTask } from "./waiters.ts";
 * console.assert(composableTask({ type: "timer", delayMs: 5 }, "join").type === "timer");
 * ```
 */
export function composableTask(t: ScheduledTask, parent: "join" | "select"): ScheduledTask {
  const type = t?.type;
  if (
    type === "join" || type === "select" || type === "activityWithRetry" || type === "continueAsNew"
  ) {
    throw new TypeError(`Cannot use a ${type} task inside ${parent === "join" ? "all" : "race"}`);
  }
  return t;
}

/**
 * How the code resumes from `w`, or `null` while it must keep waiting. A race is won by the
 * first task in task order that settled (tasks settle one history event at a time).
 *
 * @example
 * ```ts
 * import { single, tryResolve } from "./waiters.ts";
 * const w = single({ kind: "timer", eventId: 2, isNew: false, status: "pending" });
 * console.assert(tryResolve(w) === null);
 * ```
 */
export function tryResolve(w: Waiter): Resume | null {
  switch (w.mode) {
    case "value":
      return { value: w.value };
    case "single":
      if (w.task.status === "pending") return null;
      return w.task.status === "ok"
        ? { value: taskValue(w.task) }
        : { error: new TaskFailedError(w.task.error!) };
    case "all":
      if (w.tasks.some((t) => t.status === "pending")) return null;
      return {
        value: w.tasks.map((t) =>
          t.status === "ok" ? { ok: taskValue(t) } : { err: taskFailure(t) }
        ),
      };
    case "race": {
      const index = w.tasks.findIndex((t) => t.status !== "pending");
      if (index < 0) return null;
      const t = w.tasks[index];
      return t.status === "ok"
        ? { value: { index, value: taskValue(t) } }
        : { error: new TaskFailedError(t.error!) };
    }
  }
}
