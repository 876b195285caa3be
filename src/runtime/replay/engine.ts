/**
 * The replay engine: runs one orchestration turn deterministically.
 *
 * Each turn re-runs the generator from the start against the history (persisted events plus
 * this batch's completions). A cursor walks the history in order; whenever the code waits,
 * the cursor advances one event at a time and the wait is re-checked after each event, so the
 * outcome of `all`/`race` is decided by history order. Every action the code emits is matched
 * against the next recorded action (kind and key fields); past the end of history it becomes a
 * new event. Time comes from `TurnInput.nowMs`; nothing here reads clocks, randomness or I/O.
 *
 * @module
 */

import type { ErrorDetails, Event, EventKind, WorkItem } from "../../types.ts";
import { actionMatches, describeAction, isActionEvent } from "./actions.ts";
import { OrchestrationContext, type ReplayHost, type TraceLevel } from "./context.ts";
import { applicationError, errorText, nondeterminismError } from "./error_details.ts";
import { MAX_CUSTOM_STATUS_BYTES, MAX_KV_KEYS, MAX_KV_VALUE_BYTES } from "./limits.ts";
import { MAX_TAG_NAME_BYTES, utf8Length } from "./limits.ts";
import { convertMessages } from "./messages.ts";
import { retryLoop } from "./retry.ts";
import type { ScheduledTask } from "./tasks.ts";
import { finishTurn, type Outputs, type TerminalPlan } from "./finish.ts";
import { type BoundTask, TaskFailedError, taskFailure, taskValue } from "./bound_task.ts";
import { SYSCALL_GET_KV_VALUE, SYSCALL_NEW_GUID, SYSCALL_UTC_NOW_MS } from "./system_activities.ts";
import type { TurnInput, TurnResult } from "./turn.ts";

/** Unwinds user code when replay detects nondeterminism (the engine also records it). */
class NondeterminismSignal extends Error {
  override readonly name = "NondeterminismSignal";
}

type Waiter =
  | { mode: "value"; value: unknown }
  | { mode: "single"; task: BoundTask }
  | { mode: "all"; tasks: BoundTask[] }
  | { mode: "race"; tasks: BoundTask[] };

type Resume = { value: unknown } | { error: unknown };

type Step =
  | { kind: "yield"; task: unknown }
  | { kind: "return"; value: unknown }
  | { kind: "throw"; error: unknown };

/** The state of one turn; also the {@linkcode ReplayHost} behind the context. */
class TurnEngine implements ReplayHost {
  readonly #in: TurnInput;
  readonly #history: Event[];
  readonly #baselineLength: number;
  readonly #actions: Event[];
  #actionIndex = 0;
  readonly #bound = new Set<number>();
  #cursor = 0;
  #nextId: number;
  readonly #out: Outputs = {
    delta: [],
    workerItems: [],
    orchestratorItems: [],
    detached: [],
    cancelled: [],
  };
  readonly #tasks = new Map<number, BoundTask>();
  readonly #waitSubs: BoundTask[] = [];
  readonly #queueSubs: BoundTask[] = [];
  readonly #queueBuffer: { eventId: number; name: string; data: string }[] = [];
  readonly #consumed = new Set<number>();
  readonly #stack: Generator<unknown, unknown, unknown>[] = [];
  #customStatus: string | null = null;
  readonly #kv = new Map<string, { value: string; lastUpdatedAtMs: number }>();
  #fatal: ErrorDetails | null = null;
  #limit: string | null = null;
  #cancelReason: string | null = null;

  constructor(input: TurnInput) {
    this.#in = input;
    this.#history = [...input.history];
    this.#baselineLength = input.history.length;
    this.#nextId = (this.#history.at(-1)?.eventId ?? 0) + 1;
    if (input.started) this.#append(input.started, null);
    const converted = convertMessages(this.#history, input.messages, input.executionId);
    for (const e of converted.events) this.#append(e.kind, e.sourceEventId);
    if (converted.nondeterminism) this.#fatal = nondeterminismError(converted.nondeterminism);
    else if (converted.abort) this.#fatal = converted.abort;
    this.#actions = this.#history.filter(isActionEvent);
    for (const [key, entry] of Object.entries(input.kvSnapshot)) this.#kv.set(key, { ...entry });
  }

  /** Appends an event to both the working history and the delta. */
  #append(kind: EventKind, sourceEventId: number | null): Event {
    const event = this.#newEvent(kind, sourceEventId);
    this.#history.push(event);
    this.#out.delta.push(event);
    return event;
  }

  #newEvent(kind: EventKind, sourceEventId: number | null): Event {
    return {
      eventId: this.#nextId++,
      sourceEventId,
      instanceId: this.#in.instance,
      executionId: this.#in.executionId,
      timestampMs: this.#in.nowMs,
      duroxideVersion: this.#in.duroxideVersion,
      ...kind,
    } as Event;
  }

  run(): TurnResult {
    const started = this.#history[0];
    if (!started || started.type !== "OrchestrationStarted") {
      this.#fatal = nondeterminismError("history does not start with OrchestrationStarted");
      return this.#finish({ type: "failed", details: this.#fatal });
    }
    if (this.#fatal) return this.#finish({ type: "failed", details: this.#fatal });
    this.#customStatus = started.initialCustomStatus ?? null;
    const ctx = new OrchestrationContext({
      instanceId: this.#in.instance,
      executionId: this.#in.executionId,
      orchestrationName: started.name,
      orchestrationVersion: started.version,
    }, this);
    let gen: Generator<unknown, unknown, unknown>;
    try {
      gen = this.#in.handler(ctx, decodeInput(started.input));
      if (!gen || typeof gen.next !== "function") {
        throw new TypeError("the orchestration is not a generator function (function*)");
      }
    } catch (err) {
      return this.#finish(failed(errorText(err)));
    }
    this.#stack.push(gen);
    return this.#finish(this.#drive(this.#resume({ value: undefined })));
  }

  /** Runs the code until it suspends or ends. */
  #drive(first: Step): TerminalPlan {
    let step = first;
    for (;;) {
      if (this.#fatal) return { type: "failed", details: this.#fatal };
      if (step.kind === "return") return { type: "completed", output: encodeOutput(step.value) };
      if (step.kind === "throw") return failed(errorText(step.error));
      const task = step.task as ScheduledTask;
      if (task?.type === "continueAsNew") {
        return { type: "continuedAsNew", input: task.input, version: task.version };
      }
      if (task?.type === "activityWithRetry") {
        this.#stack.push(retryLoop(task));
        step = this.#resume({ value: undefined });
        continue;
      }
      let waiter: Waiter;
      try {
        waiter = this.#schedule(task);
      } catch (err) {
        if (this.#fatal) return { type: "failed", details: this.#fatal };
        step = this.#resume({ error: err });
        continue;
      }
      for (;;) {
        const resolved = this.#tryResolve(waiter);
        if (resolved) {
          try {
            this.#dropLosers(waiter);
          } catch {
            return { type: "failed", details: this.#fatal! };
          }
          step = this.#resume(resolved);
          break;
        }
        if (this.#cancelReason !== null) return { type: "cancelled", reason: this.#cancelReason };
        if (!this.#advance()) return { type: "running" };
        if (this.#fatal) return { type: "failed", details: this.#fatal };
      }
    }
  }

  /** Feeds a value or error to the innermost generator, unwinding finished nested ones. */
  #resume(input: Resume): Step {
    let pending = input;
    for (;;) {
      const gen = this.#stack[this.#stack.length - 1];
      let r: IteratorResult<unknown, unknown>;
      try {
        r = "error" in pending ? gen.throw(pending.error) : gen.next(pending.value);
      } catch (err) {
        this.#stack.pop();
        if (this.#stack.length === 0) return { kind: "throw", error: err };
        pending = { error: err };
        continue;
      }
      if (r.done) {
        this.#stack.pop();
        if (this.#stack.length === 0) return { kind: "return", value: r.value };
        pending = { value: r.value };
        continue;
      }
      return { kind: "yield", task: r.value };
    }
  }

  // --- actions ------------------------------------------------------------------------------

  /** Matches an action against history or records it as new; throws on nondeterminism. */
  #bind(kind: EventKind, sourceEventId: number | null = null): { event: Event; isNew: boolean } {
    if (this.#actionIndex < this.#actions.length) {
      const rec = this.#actions[this.#actionIndex];
      if (!actionMatches(rec, kind, sourceEventId)) {
        this.#nondeterminism(
          `history has ${describeAction(rec, rec.sourceEventId)} at event ${rec.eventId}, ` +
            `but the orchestration now ${describeAction(kind, sourceEventId)}`,
        );
      }
      this.#actionIndex++;
      this.#bound.add(rec.eventId);
      return { event: rec, isNew: false };
    }
    const event = this.#newEvent(kind, sourceEventId);
    this.#out.delta.push(event);
    return { event, isNew: true };
  }

  #nondeterminism(message: string): never {
    this.#fatal ??= nondeterminismError(message);
    throw new NondeterminismSignal(message);
  }

  #register(kind: BoundTask["kind"], event: Event, isNew: boolean, extra = {}): BoundTask {
    const task: BoundTask = { kind, eventId: event.eventId, isNew, status: "pending", ...extra };
    this.#tasks.set(event.eventId, task);
    return task;
  }

  #activity(
    name: string,
    input: string,
    kind: BoundTask["kind"],
    sessionId?: string,
    tag?: string,
  ): BoundTask {
    const ev: EventKind = { type: "ActivityScheduled", name, input };
    if (sessionId !== undefined) ev.sessionId = sessionId;
    if (tag !== undefined) ev.tag = tag;
    const { event, isNew } = this.#bind(ev);
    if (isNew) {
      if (tag !== undefined && utf8Length(tag) > MAX_TAG_NAME_BYTES) {
        this.#limit ??= `tag of activity ${name} exceeds ${MAX_TAG_NAME_BYTES} bytes`;
      }
      const item: WorkItem = {
        type: "ActivityExecute",
        instance: this.#in.instance,
        executionId: this.#in.executionId,
        id: event.eventId,
        name,
        input,
      };
      if (sessionId !== undefined) item.sessionId = sessionId;
      if (tag !== undefined) item.tag = tag;
      this.#out.workerItems.push(item);
    }
    return this.#register(kind, event, isNew);
  }

  /** Emits the actions of a single task and returns what to wait for. */
  #primitive(task: ScheduledTask): Waiter {
    switch (task?.type) {
      case "activity":
        return single(this.#activity(task.name, task.input, "activity", task.sessionId, task.tag));
      case "newGuid":
        return single(this.#activity(SYSCALL_NEW_GUID, "", "guid"));
      case "utcNow":
        return single(this.#activity(SYSCALL_UTC_NOW_MS, "", "now"));
      case "getValueFromInstance": {
        const input = JSON.stringify({ instance_id: task.instanceId, key: task.key });
        return single(this.#activity(SYSCALL_GET_KV_VALUE, input, "kvRead"));
      }
      case "timer": {
        const delay = Math.max(0, Math.floor(Number(task.delayMs) || 0));
        const { event, isNew } = this.#bind({
          type: "TimerCreated",
          fireAtMs: this.#in.nowMs + delay,
        });
        if (isNew) {
          this.#out.orchestratorItems.push({
            type: "TimerFired",
            instance: this.#in.instance,
            executionId: this.#in.executionId,
            id: event.eventId,
            fireAtMs: (event as Event & { type: "TimerCreated" }).fireAtMs,
          });
        }
        return single(this.#register("timer", event, isNew));
      }
      case "waitEvent": {
        const { event, isNew } = this.#bind({ type: "ExternalSubscribed", name: task.name });
        const t = this.#register("wait", event, isNew, { name: task.name });
        this.#waitSubs.push(t);
        return single(t);
      }
      case "dequeueEvent": {
        const { event, isNew } = this.#bind({ type: "QueueSubscribed", name: task.queueName });
        const t = this.#register("dequeue", event, isNew, { name: task.queueName });
        this.#queueSubs.push(t);
        this.#matchQueues();
        return single(t);
      }
      case "subOrchestration": {
        const { event, isNew } = this.#bind({
          type: "SubOrchestrationScheduled",
          name: task.name,
          instance: task.instanceId ?? "",
          input: task.input,
        });
        const shortId = task.instanceId ?? `sub::${event.eventId}`;
        const child = task.instanceId ?? `${this.#in.instance}::sub::${event.eventId}`;
        if (isNew) {
          (event as Event & { type: "SubOrchestrationScheduled" }).instance = shortId;
          this.#out.orchestratorItems.push({
            type: "StartOrchestration",
            instance: child,
            orchestration: task.name,
            input: task.input,
            version: task.version,
            parentInstance: this.#in.instance,
            parentId: event.eventId,
            executionId: 1,
          });
        }
        return single(this.#register("subOrch", event, isNew, { childInstance: child }));
      }
      case "orchestration": {
        const { isNew } = this.#bind({
          type: "OrchestrationChained",
          name: task.name,
          instance: task.instanceId,
          input: task.input,
        });
        if (isNew) {
          this.#out.detached.push({
            type: "StartOrchestration",
            instance: task.instanceId,
            orchestration: task.name,
            input: task.input,
            version: task.version,
            parentInstance: null,
            parentId: null,
            executionId: 1,
          });
        }
        return { mode: "value", value: null };
      }
      default:
        throw new TypeError(
          `Cannot yield ${describeYield(task)}: yield a task from the orchestration context`,
        );
    }
  }

  #schedule(task: ScheduledTask): Waiter {
    if (task?.type !== "join" && task?.type !== "select") return this.#primitive(task);
    const tasks = (task.tasks ?? []).map((t) => {
      const w = this.#primitive(composableTask(t, task.type));
      return w.mode === "single" ? w.task : resolvedTask(w);
    });
    if (task.type === "select" && tasks.length === 0) {
      throw new TypeError("Cannot race zero tasks");
    }
    return task.type === "join" ? { mode: "all", tasks } : { mode: "race", tasks };
  }

  #tryResolve(w: Waiter): Resume | null {
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

  /** Cancels the pending losers of a race (recorded, so replay re-checks them). */
  #dropLosers(w: Waiter): void {
    if (w.mode !== "race") return;
    for (const t of w.tasks) {
      if (t.status === "pending") this.#cancelTask(t, "dropped_future");
    }
  }

  #cancelTask(t: BoundTask, reason: string): void {
    t.status = "dropped";
    switch (t.kind) {
      case "timer":
        return;
      case "wait":
      case "dequeue": {
        const type = t.kind === "wait"
          ? "ExternalSubscribedCancelled"
          : "QueueSubscriptionCancelled";
        this.#bind({ type, reason }, t.eventId);
        return;
      }
      case "subOrch": {
        const { isNew } = this.#bind(
          { type: "SubOrchestrationCancelRequested", reason },
          t.eventId,
        );
        if (isNew) {
          this.#out.orchestratorItems.push({
            type: "CancelInstance",
            instance: t.childInstance!,
            reason: "parent dropped sub-orchestration future",
          });
        }
        return;
      }
      default: {
        const { isNew } = this.#bind({ type: "ActivityCancelRequested", reason }, t.eventId);
        if (isNew) {
          this.#out.cancelled.push({
            instance: this.#in.instance,
            executionId: this.#in.executionId,
            activityId: t.eventId,
          });
        }
      }
    }
  }

  // --- history cursor -----------------------------------------------------------------------

  /** Applies the next history event; `false` at the end of history. */
  #advance(): boolean {
    if (this.#cursor >= this.#history.length) return false;
    const e = this.#history[this.#cursor++];
    if (isActionEvent(e)) {
      if (!this.#bound.has(e.eventId)) {
        this.#fatal ??= nondeterminismError(
          `history has ${describeAction(e, e.sourceEventId)} at event ${e.eventId}, ` +
            `but the orchestration did not schedule it`,
        );
      }
      return true;
    }
    const t = e.sourceEventId === null ? undefined : this.#tasks.get(e.sourceEventId);
    switch (e.type) {
      case "ActivityCompleted":
      case "SubOrchestrationCompleted":
        if (t?.status === "pending") settle(t, "ok", e.result);
        break;
      case "TimerFired":
        if (t?.status === "pending") settle(t, "ok", "");
        break;
      case "ActivityFailed":
      case "SubOrchestrationFailed":
        if (t?.status === "pending") Object.assign(t, { status: "err", error: e.details });
        break;
      case "ExternalEvent": {
        const sub = this.#waitSubs.find((s) =>
          s.status === "pending" && s.name === e.name && s.eventId < e.eventId
        );
        if (sub) settle(sub, "ok", e.data);
        break;
      }
      case "QueueEventDelivered":
        this.#queueBuffer.push({ eventId: e.eventId, name: e.name, data: e.data });
        this.#matchQueues();
        break;
      case "OrchestrationCancelRequested":
        this.#cancelReason = e.reason;
        break;
      default:
        break;
    }
    return true;
  }

  /** Hands buffered queue messages to pending dequeues, oldest first. */
  #matchQueues(): void {
    for (const sub of this.#queueSubs) {
      if (sub.status !== "pending") continue;
      const msg = this.#queueBuffer.find((m) =>
        m.name === sub.name && !this.#consumed.has(m.eventId)
      );
      if (!msg) continue;
      this.#consumed.add(msg.eventId);
      settle(sub, "ok", msg.data);
    }
  }

  // --- ReplayHost ---------------------------------------------------------------------------

  isReplaying(): boolean {
    return this.#cursor < this.#baselineLength;
  }

  setCustomStatus(status: string | null): void {
    const { isNew } = this.#bind({ type: "CustomStatusUpdated", status });
    if (isNew && status !== null && utf8Length(status) > MAX_CUSTOM_STATUS_BYTES) {
      this.#limit ??= `custom status exceeds ${MAX_CUSTOM_STATUS_BYTES} bytes`;
    }
    this.#customStatus = status;
  }

  getCustomStatus(): string | null {
    return this.#customStatus;
  }

  setValue(key: string, value: string): void {
    const { event, isNew } = this.#bind({
      type: "KeyValueSet",
      key,
      value: String(value),
      lastUpdatedAtMs: this.#in.nowMs,
    });
    const at = (event as Event & { type: "KeyValueSet" }).lastUpdatedAtMs;
    this.#kv.set(key, { value: String(value), lastUpdatedAtMs: at });
    if (isNew && utf8Length(String(value)) > MAX_KV_VALUE_BYTES) {
      this.#limit ??= `KV value of key ${key} exceeds ${MAX_KV_VALUE_BYTES} bytes`;
    }
    if (isNew && this.#kv.size > MAX_KV_KEYS) {
      this.#limit ??= `KV store exceeds ${MAX_KV_KEYS} keys`;
    }
  }

  clearValue(key: string): void {
    this.#bind({ type: "KeyValueCleared", key });
    this.#kv.delete(key);
  }

  clearAllValues(): void {
    this.#bind({ type: "KeyValuesCleared" });
    this.#kv.clear();
  }

  kvEntries(): ReadonlyMap<string, { value: string; lastUpdatedAtMs: number }> {
    return this.#kv;
  }

  trace(level: TraceLevel, message: string): void {
    if (!this.isReplaying()) this.#in.trace(level, message);
  }

  // --- end of turn ----------------------------------------------------------------------------

  #finish(plan: TerminalPlan): TurnResult {
    if (
      (plan.type === "completed" || plan.type === "continuedAsNew" || plan.type === "failed") &&
      !this.#fatal && this.#actionIndex < this.#actions.length
    ) {
      const rec = this.#actions[this.#actionIndex];
      this.#fatal = nondeterminismError(
        `history has ${describeAction(rec, rec.sourceEventId)} at event ${rec.eventId}, ` +
          `but the orchestration ended without scheduling it`,
      );
    }
    if (this.#fatal && plan.type !== "failed") plan = { type: "failed", details: this.#fatal };
    if (this.#limit && plan.type !== "failed") {
      plan = failed(`limit exceeded: ${this.#limit}`);
    }
    const carryForward = this.#history
      .filter((e) => e.type === "QueueEventDelivered" && !this.#consumed.has(e.eventId))
      .map((e): [string, string] => {
        const q = e as Event & { type: "QueueEventDelivered" };
        return [q.name, q.data];
      });
    return finishTurn({
      input: this.#in,
      plan,
      outputs: this.#out,
      history: this.#history,
      tasks: [...this.#tasks.values()],
      customStatus: this.#customStatus,
      carryForward,
      discardNew: this.#fatal !== null || this.#limit !== null,
      newEvent: (kind, src) => this.#newEvent(kind, src),
    });
  }
}

function single(task: BoundTask): Waiter {
  return { mode: "single", task };
}

function resolvedTask(w: Waiter): BoundTask {
  const value = w.mode === "value" ? w.value : null;
  return { kind: "value", eventId: 0, isNew: false, status: "ok", value };
}

function settle(t: BoundTask, status: "ok", raw: string): void {
  t.status = status;
  t.raw = raw;
}

function composableTask(t: ScheduledTask, parent: string): ScheduledTask {
  const type = t?.type;
  if (
    type === "join" || type === "select" || type === "activityWithRetry" || type === "continueAsNew"
  ) {
    throw new TypeError(`Cannot use a ${type} task inside ${parent === "join" ? "all" : "race"}`);
  }
  return t;
}

function describeYield(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  const type = (value as { type?: unknown }).type;
  return type === undefined ? "a non-task object" : `an unknown task type ${String(type)}`;
}

function decodeInput(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function encodeOutput(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value) ?? "null";
}

function failed(message: string): TerminalPlan {
  return { type: "failed", details: applicationError("OrchestrationFailed", message) };
}

/**
 * Runs one turn of an orchestration and returns everything to ack.
 *
 * @example
 * ```ts ignore
 * const result = runTurn({ instance: "i", executionId: 1, history: [], started, messages: [],
 *   kvSnapshot: {}, handler, nowMs: 0, duroxideVersion: "0.1.26", trace: () => {} });
 * ```
 */
export function runTurn(input: TurnInput): TurnResult {
  return new TurnEngine(input).run();
}
