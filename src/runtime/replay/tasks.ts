/**
 * The task descriptors an orchestration yields. They are plain data: creating one schedules
 * nothing; yielding it does (in yield order, which is what replay matches against history).
 *
 * @module
 */

/** How long to wait between attempts of {@linkcode ActivityWithRetryTask}. */
export type BackoffStrategy =
  | { type: "none" }
  | { type: "fixed"; delayMs: number }
  | { type: "linear"; baseMs: number; maxMs?: number }
  | { type: "exponential"; baseMs: number; multiplier?: number; maxMs?: number };

/**
 * Retry settings of `scheduleActivityWithRetry`. `backoff` as a number is the base of an
 * exponential backoff in ms (×2 per attempt, capped at 30 s); omitted, the base is 100 ms.
 * A `timeoutMs` above 0 bounds every attempt; an attempt that times out is not retried.
 * A `totalTimeoutMs` above 0 bounds the attempts and backoffs together: when it passes, the
 * running attempt is cancelled (or the backoff cut short) and the task fails with a
 * `timeout:` error naming the last failure.
 */
export interface RetryPolicy {
  /** Attempts in total, at least 1. */
  maxAttempts: number;
  /** Per-attempt timeout in ms; 0 or omitted means none. */
  timeoutMs?: number;
  /** Timeout of all attempts and backoffs together, in ms; 0 or omitted means none. */
  totalTimeoutMs?: number;
  /** Delay between attempts. */
  backoff?: number | BackoffStrategy;
}

/** Schedules an activity on the worker queue. */
export interface ActivityTask {
  /** Discriminator. */
  readonly type: "activity";
  /** Activity name. */
  readonly name: string;
  /** JSON-encoded input. */
  readonly input: string;
  /** Session affinity. */
  sessionId?: string;
  /** Routing tag. */
  tag?: string;
  /** Routes the activity to workers that accept `tag`; returns the same task. */
  withTag(tag: string): ActivityTask;
}

/** Runs an activity with retries (a composite: several activities and timers). */
export interface ActivityWithRetryTask {
  /** Discriminator. */
  readonly type: "activityWithRetry";
  /** Activity name. */
  readonly name: string;
  /** JSON-encoded input. */
  readonly input: string;
  /** Retry settings. */
  readonly retry: RetryPolicy;
  /** Session affinity. */
  readonly sessionId?: string;
}

/** A durable timer. */
export interface TimerTask {
  /** Discriminator. */
  readonly type: "timer";
  /** Delay in ms from the turn that first scheduled it. */
  readonly delayMs: number;
}

/** Waits for an external event (positional by name). */
export interface WaitEventTask {
  /** Discriminator. */
  readonly type: "waitEvent";
  /** Event name. */
  readonly name: string;
}

/** Takes the next message of a persistent event queue. */
export interface DequeueEventTask {
  /** Discriminator. */
  readonly type: "dequeueEvent";
  /** Queue name. */
  readonly queueName: string;
}

/** Runs a child orchestration and waits for its result. */
export interface SubOrchestrationTask {
  /** Discriminator. */
  readonly type: "subOrchestration";
  /** Orchestration name. */
  readonly name: string;
  /** JSON-encoded input. */
  readonly input: string;
  /** Explicit child instance id; default `"{parent}::sub::{eventId}"`. */
  readonly instanceId: string | null;
  /** Explicit version; default the latest registered. */
  readonly version: string | null;
}

/** Starts an independent orchestration (fire and forget). */
export interface DetachedOrchestrationTask {
  /** Discriminator. */
  readonly type: "orchestration";
  /** Orchestration name. */
  readonly name: string;
  /** The new instance's id, used verbatim. */
  readonly instanceId: string;
  /** JSON-encoded input. */
  readonly input: string;
  /** Explicit version; default the latest registered. */
  readonly version: string | null;
}

/** A recorded GUID (system activity). */
export interface NewGuidTask {
  /** Discriminator. */
  readonly type: "newGuid";
}

/** The recorded current time in epoch ms (system activity). */
export interface UtcNowTask {
  /** Discriminator. */
  readonly type: "utcNow";
}

/** Reads a KV value of another instance (system activity). */
export interface GetValueFromInstanceTask {
  /** Discriminator. */
  readonly type: "getValueFromInstance";
  /** The instance to read from. */
  readonly instanceId: string;
  /** The key. */
  readonly key: string;
}

/** Ends this execution and starts the next one with new input. */
export interface ContinueAsNewTask {
  /** Discriminator. */
  readonly type: "continueAsNew";
  /** JSON-encoded input of the next execution. */
  readonly input: string;
  /** Version of the next execution; default the latest registered. */
  readonly version: string | null;
}

/** Waits for every task; resolves to `[{ok} | {err}]` in task order. */
export interface JoinTask {
  /** Discriminator. */
  readonly type: "join";
  /** The tasks (single tasks only, no composites). */
  readonly tasks: readonly ScheduledTask[];
}

/** Waits for the first task; resolves to `{index, value}` and cancels the others. */
export interface SelectTask {
  /** Discriminator. */
  readonly type: "select";
  /** The tasks (single tasks only, no composites). */
  readonly tasks: readonly ScheduledTask[];
}

/** Anything an orchestration may yield. */
export type ScheduledTask =
  | ActivityTask
  | ActivityWithRetryTask
  | TimerTask
  | WaitEventTask
  | DequeueEventTask
  | SubOrchestrationTask
  | DetachedOrchestrationTask
  | NewGuidTask
  | UtcNowTask
  | GetValueFromInstanceTask
  | ContinueAsNewTask
  | JoinTask
  | SelectTask;

/** One entry of a join result. */
export type JoinResult = { ok: unknown } | { err: string };

/** The result of a race: which task won and its value. */
export interface RaceResult {
  /** Index of the winning task. */
  index: number;
  /** The winner's decoded value. */
  value: unknown;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * The delay before attempt `attempt + 1` after `attempt` failed (attempt counts from 1).
 *
 * @example
 * ```ts
 * import { backoffDelayMs } from "./tasks.ts";
 * console.assert(backoffDelayMs(100, 1) === 100);
 * console.assert(backoffDelayMs(100, 3) === 400);
 * console.assert(backoffDelayMs({ type: "fixed", delayMs: 5 }, 9) === 5);
 * ```
 */
export function backoffDelayMs(backoff: RetryPolicy["backoff"], attempt: number): number {
  const b: BackoffStrategy = backoff === undefined
    ? { type: "exponential", baseMs: 100 }
    : typeof backoff === "number"
    ? { type: "exponential", baseMs: backoff }
    : backoff;
  switch (b.type) {
    case "none":
      return 0;
    case "fixed":
      return Math.max(0, b.delayMs);
    case "linear":
      return Math.min(b.baseMs * attempt, b.maxMs ?? MAX_BACKOFF_MS);
    case "exponential": {
      const raw = b.baseMs * Math.pow(b.multiplier ?? 2, attempt - 1);
      return Math.max(0, Math.floor(Math.min(raw, b.maxMs ?? MAX_BACKOFF_MS)));
    }
  }
}
