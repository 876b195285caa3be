/**
 * `scheduleActivityWithRetry` as a nested generator: attempts are ordinary activities, the
 * per-attempt timeout is a race against a timer, backoff is a durable timer, and the total
 * timeout is one more timer that every wait of the loop races. Every decision is recorded and
 * replayed like user code.
 *
 * @module
 */

import {
  type ActivityTask,
  type ActivityWithRetryTask,
  backoffDelayMs,
  type RaceResult,
  type ScheduledTask,
  type TimerTask,
} from "./tasks.ts";
import { errorText } from "./error_details.ts";

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

/** Thrown when an attempt or the whole loop runs out of time; never retried. */
class RetryTimedOut extends Error {
  override readonly name = "RetryTimedOut";
}

function positiveMs(value: number | undefined): number {
  const ms = Math.floor(Number(value ?? 0));
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

/**
 * Waits for the first of `tasks`, or for `deadline` when it fires first (then `null`). The
 * deadline is the same descriptor every time, so the engine races the one timer it bound.
 */
function* firstOf(
  tasks: ScheduledTask[],
  deadline: TimerTask | null,
): Generator<ScheduledTask, RaceResult | null, unknown> {
  if (deadline === null && tasks.length === 1) return { index: 0, value: yield tasks[0] };
  const raced = (yield {
    type: "select",
    tasks: deadline === null ? tasks : [deadline, ...tasks],
  }) as RaceResult;
  if (deadline === null) return raced;
  return raced.index === 0 ? null : { index: raced.index - 1, value: raced.value };
}

/**
 * The retry loop of one `activityWithRetry` task; returns the activity's decoded result or
 * throws the last failure (or a `timeout: …` error when an attempt or the total time ran out).
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
  const timeoutMs = positiveMs(task.retry.timeoutMs);
  const totalMs = positiveMs(task.retry.totalTimeoutMs);
  // Scheduled with the first attempt, so the budget counts from the first scheduling.
  const deadline: TimerTask | null = totalMs > 0 ? { type: "timer", delayMs: totalMs } : null;
  let lastError: unknown = null;
  const expired = (attempts: number): RetryTimedOut =>
    new RetryTimedOut(
      `timeout: activity ${task.name} exceeded its total timeout of ${totalMs}ms ` +
        `after ${attempts} attempt(s)` +
        (lastError === null ? "" : `; last error: ${errorText(lastError)}`),
    );
  for (let attempt = 1;; attempt++) {
    const tasks: ScheduledTask[] = [attemptTask(task)];
    if (timeoutMs > 0) tasks.push({ type: "timer", delayMs: timeoutMs });
    let outcome: RaceResult | null;
    try {
      outcome = yield* firstOf(tasks, deadline);
    } catch (err) {
      lastError = err;
      if (attempt >= max) throw err;
      const delayMs = backoffDelayMs(task.retry.backoff, attempt);
      if (delayMs > 0) {
        const slept = yield* firstOf([{ type: "timer", delayMs }], deadline);
        if (slept === null) throw expired(attempt);
      }
      continue;
    }
    if (outcome === null) throw expired(attempt);
    if (outcome.index === 1) {
      throw new RetryTimedOut(
        `timeout: activity ${task.name} timed out after ${timeoutMs}ms (attempt ${attempt})`,
      );
    }
    return outcome.value;
  }
}
