/**
 * `scheduleActivityWithRetry` as a nested generator: attempts are ordinary activities, the
 * per-attempt timeout is a race against a timer, and backoff is a durable timer, so every
 * decision is recorded and replayed like user code.
 *
 * @module
 */

import {
  type ActivityTask,
  type ActivityWithRetryTask,
  backoffDelayMs,
  type RaceResult,
  type ScheduledTask,
} from "./tasks.ts";

function attemptTask(task: ActivityWithRetryTask): ActivityTask {
  const t: ActivityTask = {
    type: "activity",
    name: task.name,
    input: task.input,
    withTag(tag: string): ActivityTask {
      t.tag = tag;
      return t;
    },
  };
  if (task.sessionId !== undefined) t.sessionId = task.sessionId;
  return t;
}

/** Thrown when an attempt exceeds its timeout; never retried. */
class AttemptTimedOut extends Error {
  override readonly name = "AttemptTimedOut";
}

/**
 * The retry loop of one `activityWithRetry` task; returns the activity's decoded result or
 * throws the last failure.
 *
 * @example
 * ```ts ignore
 * const result = yield* retryLoop(task); // the engine drives it like user code
 * ```
 */
export function* retryLoop(
  task: ActivityWithRetryTask,
): Generator<ScheduledTask, unknown, unknown> {
  const max = Math.max(1, Math.floor(task.retry.maxAttempts));
  const timeoutMs = task.retry.timeoutMs ?? 0;
  for (let attempt = 1;; attempt++) {
    try {
      if (timeoutMs > 0) {
        const raced = (yield {
          type: "select",
          tasks: [attemptTask(task), { type: "timer", delayMs: timeoutMs }],
        }) as RaceResult;
        if (raced.index === 1) {
          throw new AttemptTimedOut(
            `timeout: activity ${task.name} timed out after ${timeoutMs}ms (attempt ${attempt})`,
          );
        }
        return raced.value;
      }
      return yield attemptTask(task);
    } catch (err) {
      if (err instanceof AttemptTimedOut || attempt >= max) throw err;
      const delayMs = backoffDelayMs(task.retry.backoff, attempt);
      if (delayMs > 0) yield { type: "timer", delayMs };
    }
  }
}
