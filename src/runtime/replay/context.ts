/**
 * {@linkcode OrchestrationContext}: what orchestration code receives. Scheduling methods return
 * task descriptors to `yield`; custom status, KV and tracing act at once (and are recorded or
 * replayed by the engine behind {@linkcode ReplayHost}).
 *
 * @module
 */

import { encodePayload } from "./payload.ts";
import type {
  ActivityTask,
  ActivityWithRetryTask,
  ContinueAsNewTask,
  DequeueEventTask,
  DetachedOrchestrationTask,
  GetValueFromInstanceTask,
  JoinTask,
  NewGuidTask,
  RetryPolicy,
  ScheduledTask,
  SelectTask,
  SubOrchestrationTask,
  TimerTask,
  UtcNowTask,
  WaitEventTask,
} from "./tasks.ts";

/** Trace severity. */
export type TraceLevel = "info" | "warn" | "error" | "debug";

/** The engine side of a context: replay state and recorded fire-and-forget operations. */
export interface ReplayHost {
  /** Whether the code is re-executing recorded history. */
  isReplaying(): boolean;
  /** Records a custom status change (`null` clears). */
  setCustomStatus(status: string | null): void;
  /** The current custom status. */
  getCustomStatus(): string | null;
  /** Records a KV write. */
  setValue(key: string, value: string): void;
  /** Records a KV delete. */
  clearValue(key: string): void;
  /** Records a delete of every key. */
  clearAllValues(): void;
  /** Current KV values with their write times. */
  kvEntries(): ReadonlyMap<string, { value: string; lastUpdatedAtMs: number }>;
  /** Emits a trace line (the engine suppresses it while replaying). */
  trace(level: TraceLevel, message: string): void;
}

/** Identity of the running orchestration. */
export interface OrchestrationIdentity {
  /** Instance id. */
  instanceId: string;
  /** Execution id (1, 2, … across continue-as-new). */
  executionId: number;
  /** Orchestration name. */
  orchestrationName: string;
  /** Orchestration version. */
  orchestrationVersion: string;
}

function activityTask(name: string, input: unknown, sessionId?: string): ActivityTask {
  const task: ActivityTask = {
    type: "activity",
    name,
    input: encodePayload(input),
    withTag(tag: string): ActivityTask {
      task.tag = tag;
      return task;
    },
  };
  if (sessionId !== undefined) task.sessionId = sessionId;
  return task;
}

/**
 * The context of one orchestration execution. Yield its task descriptors from a generator.
 * A descriptor is scheduled when it is first yielded; yielding the same descriptor again
 * waits for the same task (a finished one gives its result again), so one deadline timer can
 * be raced by several waits:
 *
 * @example
 * ```ts ignore
 * runtime.registerOrchestration("Greet", function* (ctx: OrchestrationContext, name) {
 *   const greeting = yield ctx.scheduleActivity("Hello", name);
 *   ctx.setCustomStatus("greeted");
 *   return greeting;
 * });
 * ```
 *
 * @example Collect votes until one deadline
 * ```ts ignore
 * runtime.registerOrchestration("Poll", function* (ctx: OrchestrationContext) {
 *   const deadline = ctx.scheduleTimer(60_000);
 *   const votes: unknown[] = [];
 *   for (;;) {
 *     const r = (yield ctx.race(ctx.dequeueEvent("votes"), deadline)) as RaceResult;
 *     if (r.index === 1) return votes;
 *     votes.push(r.value);
 *   }
 * });
 * ```
 */
export class OrchestrationContext {
  readonly #host: ReplayHost;
  /** Instance id. */
  readonly instanceId: string;
  /** Execution id (1, 2, … across continue-as-new). */
  readonly executionId: number;
  /** Orchestration name. */
  readonly orchestrationName: string;
  /** Orchestration version. */
  readonly orchestrationVersion: string;

  /** Created by the runtime for every turn; orchestration code never constructs one. */
  constructor(identity: OrchestrationIdentity, host: ReplayHost) {
    this.#host = host;
    this.instanceId = identity.instanceId;
    this.executionId = identity.executionId;
    this.orchestrationName = identity.orchestrationName;
    this.orchestrationVersion = identity.orchestrationVersion;
  }

  // --- scheduling (yield these) ---------------------------------------------------------------

  /** Schedules an activity; `options.sessionId` pins it to one worker. */
  scheduleActivity(name: string, input?: unknown, options?: { sessionId?: string }): ActivityTask {
    return activityTask(name, input, options?.sessionId);
  }

  /** Schedules an activity on a session (worker affinity). */
  scheduleActivityOnSession(name: string, input: unknown, sessionId: string): ActivityTask {
    return activityTask(name, input, sessionId);
  }

  /** Schedules an activity retried per `retry` (backoff via durable timers). */
  scheduleActivityWithRetry(
    name: string,
    input: unknown,
    retry: RetryPolicy,
  ): ActivityWithRetryTask {
    return { type: "activityWithRetry", name, input: encodePayload(input), retry: { ...retry } };
  }

  /** {@linkcode OrchestrationContext.scheduleActivityWithRetry} on a session. */
  scheduleActivityWithRetryOnSession(
    name: string,
    input: unknown,
    retry: RetryPolicy,
    sessionId: string,
  ): ActivityWithRetryTask {
    return {
      type: "activityWithRetry",
      name,
      input: encodePayload(input),
      retry: { ...retry },
      sessionId,
    };
  }

  /**
   * A durable timer of `delayMs` milliseconds, counted from the turn that first yields it.
   * A timer that loses a `race` keeps running and can be yielded or raced again.
   */
  scheduleTimer(delayMs: number): TimerTask {
    return { type: "timer", delayMs };
  }

  /** Waits for the next external event `name` raised after this wait was scheduled. */
  waitForEvent(name: string): WaitEventTask {
    return { type: "waitEvent", name };
  }

  /** Takes the next message of the persistent queue `queueName` (buffered, FIFO). */
  dequeueEvent(queueName: string): DequeueEventTask {
    return { type: "dequeueEvent", queueName };
  }

  /** Reads a KV value of another instance (recorded); resolves to the string or `null`. */
  getValueFromInstance(instanceId: string, key: string): GetValueFromInstanceTask {
    return { type: "getValueFromInstance", instanceId, key: String(key) };
  }

  /** Runs a child orchestration (id `"{parent}::sub::{eventId}"`) and resolves to its output. */
  scheduleSubOrchestration(name: string, input?: unknown): SubOrchestrationTask {
    return subOrch(name, input, null, null);
  }

  /** Runs a child orchestration with an explicit instance id. */
  scheduleSubOrchestrationWithId(
    name: string,
    instanceId: string,
    input?: unknown,
  ): SubOrchestrationTask {
    return subOrch(name, input, instanceId, null);
  }

  /** Runs a specific version of a child orchestration. */
  scheduleSubOrchestrationVersioned(
    name: string,
    version: string,
    input?: unknown,
  ): SubOrchestrationTask {
    return subOrch(name, input, null, version || null);
  }

  /** Runs a specific version of a child orchestration with an explicit instance id. */
  scheduleSubOrchestrationVersionedWithId(
    name: string,
    version: string,
    instanceId: string,
    input?: unknown,
  ): SubOrchestrationTask {
    return subOrch(name, input, instanceId, version || null);
  }

  /** Starts an independent orchestration (fire and forget); resolves at once to `null`. */
  startOrchestration(name: string, instanceId: string, input?: unknown): DetachedOrchestrationTask {
    return { type: "orchestration", name, instanceId, input: encodePayload(input), version: null };
  }

  /** {@linkcode OrchestrationContext.startOrchestration} for a specific version. */
  startOrchestrationVersioned(
    name: string,
    version: string,
    instanceId: string,
    input?: unknown,
  ): DetachedOrchestrationTask {
    return {
      type: "orchestration",
      name,
      instanceId,
      input: encodePayload(input),
      version: version || null,
    };
  }

  /** A GUID, recorded in history (a system activity). */
  newGuid(): NewGuidTask {
    return { type: "newGuid" };
  }

  /** The current time in epoch ms, recorded in history (a system activity). */
  utcNow(): UtcNowTask {
    return { type: "utcNow" };
  }

  /** Ends this execution and starts a fresh one with `input` (the yield never returns). */
  continueAsNew(input?: unknown): ContinueAsNewTask {
    return { type: "continueAsNew", input: encodePayload(input), version: null };
  }

  /** {@linkcode OrchestrationContext.continueAsNew} into a specific version. */
  continueAsNewVersioned(input: unknown, version: string): ContinueAsNewTask {
    return { type: "continueAsNew", input: encodePayload(input), version: version || null };
  }

  /** Waits for all tasks; resolves to `[{ok: value} | {err: message}]` in task order. */
  all(tasks: readonly ScheduledTask[]): JoinTask {
    return { type: "join", tasks: [...tasks] };
  }

  /**
   * Waits for the first of the tasks; resolves to `{index, value}` (throws if the winner
   * failed). Losing activities and sub-orchestrations are cancelled.
   */
  race(...tasks: (ScheduledTask | readonly ScheduledTask[])[]): SelectTask {
    return { type: "select", tasks: tasks.flat() as ScheduledTask[] };
  }

  // --- typed aliases (values are always decoded here) -----------------------------------------

  /** Same as {@linkcode OrchestrationContext.scheduleActivity}. */
  scheduleActivityTyped(name: string, input?: unknown): ActivityTask {
    return this.scheduleActivity(name, input);
  }

  /** Same as {@linkcode OrchestrationContext.scheduleSubOrchestration}. */
  scheduleSubOrchestrationTyped(name: string, input?: unknown): SubOrchestrationTask {
    return this.scheduleSubOrchestration(name, input);
  }

  /** Same as {@linkcode OrchestrationContext.startOrchestration}. */
  startOrchestrationTyped(
    name: string,
    instanceId: string,
    input?: unknown,
  ): DetachedOrchestrationTask {
    return this.startOrchestration(name, instanceId, input);
  }

  /** Same as {@linkcode OrchestrationContext.continueAsNew}. */
  continueAsNewTyped(input?: unknown): ContinueAsNewTask {
    return this.continueAsNew(input);
  }

  /** Same as {@linkcode OrchestrationContext.all}. */
  allTyped(tasks: readonly ScheduledTask[]): JoinTask {
    return this.all(tasks);
  }

  /** Same as {@linkcode OrchestrationContext.race}. */
  raceTyped(...tasks: ScheduledTask[]): SelectTask {
    return this.race(...tasks);
  }

  // --- replay state ---------------------------------------------------------------------------

  /** Whether the code is re-executing recorded history (side effects should be skipped). */
  isReplaying(): boolean {
    return this.#host.isReplaying();
  }

  // --- custom status (no yield) ---------------------------------------------------------------

  /** Sets the custom status clients see. */
  setCustomStatus(status: string): void {
    this.#host.setCustomStatus(status);
  }

  /** Clears the custom status. */
  resetCustomStatus(): void {
    this.#host.setCustomStatus(null);
  }

  /** The custom status as of this point of the code. */
  getCustomStatus(): string | null {
    return this.#host.getCustomStatus();
  }

  // --- KV (no yield) --------------------------------------------------------------------------

  /** Stores a value under `key` (instance-scoped, survives continue-as-new). */
  setValue(key: string, value: string): void {
    this.#host.setValue(key, value);
  }

  /** The value under `key`, or `null`. */
  getValue(key: string): string | null {
    return this.#host.kvEntries().get(key)?.value ?? null;
  }

  /** Deletes `key`. */
  clearValue(key: string): void {
    this.#host.clearValue(key);
  }

  /** Deletes every key. */
  clearAllValues(): void {
    this.#host.clearAllValues();
  }

  /** Every key and value. */
  getKvAllValues(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, e] of this.#host.kvEntries()) out[k] = e.value;
    return out;
  }

  /** Every key. */
  getKvAllKeys(): string[] {
    return [...this.#host.kvEntries().keys()];
  }

  /** How many keys are stored. */
  getKvLength(): number {
    return this.#host.kvEntries().size;
  }

  /** Deletes the keys last written before `cutoffMs`; returns how many. */
  pruneKvValuesUpdatedBefore(cutoffMs: number): number {
    const stale = [...this.#host.kvEntries()].filter(([, e]) => e.lastUpdatedAtMs < cutoffMs);
    for (const [key] of stale) this.#host.clearValue(key);
    return stale.length;
  }

  // --- tracing (no yield; suppressed while replaying) ----------------------------------------

  /** Logs at info level. */
  traceInfo(message: string): void {
    this.#host.trace("info", message);
  }

  /** Logs at warn level. */
  traceWarn(message: string): void {
    this.#host.trace("warn", message);
  }

  /** Logs at error level. */
  traceError(message: string): void {
    this.#host.trace("error", message);
  }

  /** Logs at debug level. */
  traceDebug(message: string): void {
    this.#host.trace("debug", message);
  }
}

function subOrch(
  name: string,
  input: unknown,
  instanceId: string | null,
  version: string | null,
): SubOrchestrationTask {
  return { type: "subOrchestration", name, input: encodePayload(input), instanceId, version };
}
