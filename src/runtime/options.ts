/**
 * Runtime options (duroxide-node's names) with Duroxide's defaults, validated and resolved once.
 *
 * @module
 */

import type { TagFilter } from "../types.ts";
import type { LogLevel, LogRecord } from "./logger.ts";
import { MAX_TAG_NAME_BYTES, MAX_WORKER_TAGS, utf8Length } from "./replay/limits.ts";

/** Which tagged activities this runtime's workers run (duroxide-node spelling). */
export type WorkerTagFilter =
  | "defaultOnly"
  | "any"
  | "none"
  | { tags: string[] }
  | { defaultAnd: string[] };

/** Options of {@linkcode Runtime}. Every field is optional. */
export interface RuntimeOptions {
  /** Concurrent orchestration turns. @default {4} */
  orchestrationConcurrency?: number;
  /** Concurrent activities. @default {8} */
  workerConcurrency?: number;
  /** Minimum time between two empty fetches of one dispatcher slot, in ms. @default {100} */
  dispatcherPollIntervalMs?: number;
  /** How long a fetch may wait for work (the provider's long poll), in ms. @default {30000} */
  dispatcherLongPollTimeoutMs?: number;
  /** Instance lock of a turn, in ms (renewed while the turn runs). @default {5000} */
  orchestratorLockTimeoutMs?: number;
  /** Lock of a running activity, in ms (renewed while it runs). @default {30000} */
  workerLockTimeoutMs?: number;
  /** Fetches of one message before it is treated as poison. @default {10} */
  maxAttempts?: number;
  /** How long a cancelled activity may keep running before its result is dropped, in ms. @default {10000} */
  activityCancellationGracePeriodMs?: number;
  /** First delay of an item whose handler is not registered, in ms (doubles). @default {1000} */
  unregisteredBackoffBaseMs?: number;
  /** Largest delay of an item whose handler is not registered, in ms. @default {60000} */
  unregisteredBackoffMaxMs?: number;
  /** Distinct sessions this runtime serves at once. @default {10} */
  maxSessionsPerRuntime?: number;
  /** Session ownership lease, in ms. @default {30000} */
  sessionLockTimeoutMs?: number;
  /** A session idle this long is released, in ms. @default {300000} */
  sessionIdleTimeoutMs?: number;
  /** How often orphaned sessions are swept, in ms. @default {300000} */
  sessionCleanupIntervalMs?: number;
  /** Session owner id of this runtime's workers (stable across restarts); default one per runtime. */
  workerNodeId?: string;
  /** Which tagged activities to run. @default {"defaultOnly"} */
  workerTagFilter?: WorkerTagFilter;
  /** Lowest level logged (traces and runtime diagnostics). @default {"info"} */
  logLevel?: LogLevel | "off";
  /** Receives log records; default: the console. */
  logger?: (record: LogRecord) => void;
  /** Added to log records. @default {"duroxide"} */
  serviceName?: string;
  /** Wall clock in epoch ms (timer deadlines, event timestamps). @default {Date.now} */
  clock?: () => number;
}

/** {@linkcode RuntimeOptions} with every default applied. */
export interface ResolvedRuntimeOptions {
  /** See {@linkcode RuntimeOptions}. */
  orchestrationConcurrency: number;
  /** See {@linkcode RuntimeOptions}. */
  workerConcurrency: number;
  /** See {@linkcode RuntimeOptions}. */
  pollIntervalMs: number;
  /** See {@linkcode RuntimeOptions}. */
  longPollTimeoutMs: number;
  /** See {@linkcode RuntimeOptions}. */
  orchestratorLockMs: number;
  /** See {@linkcode RuntimeOptions}. */
  workerLockMs: number;
  /** See {@linkcode RuntimeOptions}. */
  maxAttempts: number;
  /** See {@linkcode RuntimeOptions}. */
  cancelGraceMs: number;
  /** See {@linkcode RuntimeOptions}. */
  unregisteredBaseMs: number;
  /** See {@linkcode RuntimeOptions}. */
  unregisteredMaxMs: number;
  /** See {@linkcode RuntimeOptions}. */
  maxSessions: number;
  /** See {@linkcode RuntimeOptions}. */
  sessionLockMs: number;
  /** See {@linkcode RuntimeOptions}. */
  sessionIdleMs: number;
  /** See {@linkcode RuntimeOptions}. */
  sessionCleanupMs: number;
  /** See {@linkcode RuntimeOptions}. */
  workerNodeId: string | null;
  /** The provider-level tag filter. */
  tagFilter: TagFilter;
  /** See {@linkcode RuntimeOptions}. */
  logLevel: LogLevel | "off";
  /** See {@linkcode RuntimeOptions}. */
  logger: ((record: LogRecord) => void) | null;
  /** See {@linkcode RuntimeOptions}. */
  serviceName: string;
  /** See {@linkcode RuntimeOptions}. */
  clock: () => number;
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`Invalid ${name}: expected an integer >= ${min}, got ${v}`);
  }
  return v;
}

function checkTags(tags: string[]): string[] {
  if (tags.length === 0 || tags.length > MAX_WORKER_TAGS) {
    throw new RangeError(`Invalid workerTagFilter: expected 1 to ${MAX_WORKER_TAGS} tags`);
  }
  for (const t of tags) {
    if (t === "" || utf8Length(t) > MAX_TAG_NAME_BYTES) {
      throw new RangeError(`Invalid workerTagFilter: tag "${t}" is empty or too long`);
    }
  }
  return [...tags];
}

/**
 * Converts duroxide-node's tag filter to the provider's.
 *
 * @example
 * ```ts
 * import { toTagFilter } from "./options.ts";
 * console.assert(toTagFilter({ tags: ["gpu"] }).type === "Tags");
 * ```
 */
export function toTagFilter(filter: WorkerTagFilter | undefined): TagFilter {
  if (filter === undefined || filter === "defaultOnly") return { type: "DefaultOnly" };
  if (filter === "any") return { type: "Any" };
  if (filter === "none") return { type: "None" };
  if ("tags" in filter) return { type: "Tags", tags: checkTags(filter.tags) };
  if ("defaultAnd" in filter) return { type: "DefaultAnd", tags: checkTags(filter.defaultAnd) };
  throw new RangeError(`Invalid workerTagFilter: ${JSON.stringify(filter)}`);
}

/**
 * Applies defaults and validates.
 *
 * @example
 * ```ts
 * import { resolveRuntimeOptions } from "./options.ts";
 * console.assert(resolveRuntimeOptions({}).workerConcurrency === 8);
 * ```
 */
export function resolveRuntimeOptions(o: RuntimeOptions = {}): ResolvedRuntimeOptions {
  const resolved: ResolvedRuntimeOptions = {
    orchestrationConcurrency: positiveInt(
      "orchestrationConcurrency",
      o.orchestrationConcurrency,
      4,
    ),
    workerConcurrency: positiveInt("workerConcurrency", o.workerConcurrency, 8),
    pollIntervalMs: positiveInt("dispatcherPollIntervalMs", o.dispatcherPollIntervalMs, 100, 0),
    longPollTimeoutMs: positiveInt(
      "dispatcherLongPollTimeoutMs",
      o.dispatcherLongPollTimeoutMs,
      30_000,
      0,
    ),
    orchestratorLockMs: positiveInt(
      "orchestratorLockTimeoutMs",
      o.orchestratorLockTimeoutMs,
      5_000,
    ),
    workerLockMs: positiveInt("workerLockTimeoutMs", o.workerLockTimeoutMs, 30_000),
    maxAttempts: positiveInt("maxAttempts", o.maxAttempts, 10),
    cancelGraceMs: positiveInt(
      "activityCancellationGracePeriodMs",
      o.activityCancellationGracePeriodMs,
      10_000,
      0,
    ),
    unregisteredBaseMs: positiveInt(
      "unregisteredBackoffBaseMs",
      o.unregisteredBackoffBaseMs,
      1_000,
    ),
    unregisteredMaxMs: positiveInt("unregisteredBackoffMaxMs", o.unregisteredBackoffMaxMs, 60_000),
    maxSessions: positiveInt("maxSessionsPerRuntime", o.maxSessionsPerRuntime, 10),
    sessionLockMs: positiveInt("sessionLockTimeoutMs", o.sessionLockTimeoutMs, 30_000),
    sessionIdleMs: positiveInt("sessionIdleTimeoutMs", o.sessionIdleTimeoutMs, 300_000),
    sessionCleanupMs: positiveInt("sessionCleanupIntervalMs", o.sessionCleanupIntervalMs, 300_000),
    workerNodeId: o.workerNodeId ?? null,
    tagFilter: toTagFilter(o.workerTagFilter),
    logLevel: o.logLevel ?? "info",
    logger: o.logger ?? null,
    serviceName: o.serviceName ?? "duroxide",
    clock: o.clock ?? Date.now,
  };
  if (resolved.sessionIdleMs <= resolved.workerLockMs - Math.min(5_000, resolved.workerLockMs)) {
    throw new RangeError(
      "Invalid sessionIdleTimeoutMs: must exceed the worker lock renewal interval",
    );
  }
  return resolved;
}

/**
 * How often a lock of `timeoutMs` is renewed: `timeout − buffer` (at least 1 s) for locks of
 * 15 s or more, else half the timeout rounded up to whole seconds (at least 1 s); locks under
 * 2 s renew at half their timeout so short test locks still hold.
 *
 * @example
 * ```ts
 * import { renewalIntervalMs } from "./options.ts";
 * console.assert(renewalIntervalMs(30_000, 5_000) === 25_000);
 * console.assert(renewalIntervalMs(5_000, 2_000) === 3_000);
 * ```
 */
export function renewalIntervalMs(timeoutMs: number, bufferMs: number): number {
  if (timeoutMs < 2_000) return Math.max(1, Math.floor(timeoutMs / 2));
  if (timeoutMs >= 15_000) return Math.max(1_000, timeoutMs - Math.min(bufferMs, timeoutMs));
  return Math.max(1_000, Math.ceil(timeoutMs / 2_000) * 1_000);
}
