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
 * The parts: `action_log.ts` (history and action matching), `scheduler.ts` (tasks and their
 * work), `waiters.ts` (when a `yield` resumes), `subscriptions.ts` (events and queues),
 * `durable_state.ts` (custom status and KV), `finish.ts` (the end of the turn).
 *
 * @module
 */

import type { ErrorDetails, KvEntry } from "../../types.ts";
import { ActionLog } from "./action_log.ts";
import { describeAction, isActionEvent } from "./actions.ts";
import { OrchestrationContext, type ReplayHost, type TraceLevel } from "./context.ts";
import { DurableState } from "./durable_state.ts";
import { applicationError, errorText, nondeterminismError } from "./error_details.ts";
import { finishTurn, type Outputs, type TerminalPlan } from "./finish.ts";
import { convertMessages } from "./messages.ts";
import { retryLoop } from "./retry.ts";
import { Scheduler } from "./scheduler.ts";
import { Subscriptions } from "./subscriptions.ts";
import type { ScheduledTask } from "./tasks.ts";
import type { TurnInput, TurnResult } from "./turn.ts";
import { type Resume, settle, tryResolve, type Waiter } from "./waiters.ts";

/** Unwinds user code when replay detects nondeterminism (the engine also records it). */
class NondeterminismSignal extends Error {
  override readonly name = "NondeterminismSignal";
}

type Step =
  | { kind: "yield"; task: unknown }
  | { kind: "return"; value: unknown }
  | { kind: "throw"; error: unknown };

/** The state of one turn; also the {@linkcode ReplayHost} behind the context. */
class TurnEngine implements ReplayHost {
  readonly #in: TurnInput;
  readonly #log: ActionLog;
  /** Events of the working history applied so far. */
  #cursor = 0;
  readonly #out: Outputs;
  readonly #scheduler: Scheduler;
  readonly #subscriptions = new Subscriptions();
  readonly #stack: Generator<unknown, unknown, unknown>[] = [];
  readonly #state: DurableState;
  #fatal: ErrorDetails | null = null;
  #limit: string | null = null;
  #cancelReason: string | null = null;

  constructor(input: TurnInput) {
    this.#in = input;
    const stamp = {
      instance: input.instance,
      executionId: input.executionId,
      nowMs: input.nowMs,
      duroxideVersion: input.duroxideVersion,
    };
    const log = new ActionLog(input.history, stamp, (message) => this.#nondeterminism(message));
    this.#log = log;
    this.#out = {
      delta: log.delta,
      workerItems: [],
      orchestratorItems: [],
      detached: [],
      cancelled: [],
    };
    const limit = (message: string): void => {
      this.#limit ??= message;
    };
    this.#scheduler = new Scheduler(log, this.#out, stamp, this.#subscriptions, limit);
    if (input.started) log.append(input.started, null);
    const converted = convertMessages(log.history, input.messages, input.executionId);
    for (const e of converted.events) log.append(e.kind, e.sourceEventId);
    if (converted.nondeterminism) this.#fatal = nondeterminismError(converted.nondeterminism);
    else if (converted.abort) this.#fatal = converted.abort;
    log.seal();
    const first = log.history[0];
    this.#state = new DurableState(
      {
        bind: (kind) => log.bind(kind),
        limit,
        nowMs: input.nowMs,
      },
      input.kvSnapshot,
      first?.type === "OrchestrationStarted" ? first.initialCustomStatus ?? null : null,
    );
  }

  run(): TurnResult {
    const started = this.#log.history[0];
    if (!started || started.type !== "OrchestrationStarted") {
      this.#fatal = nondeterminismError("history does not start with OrchestrationStarted");
      return this.#finish({ type: "failed", details: this.#fatal });
    }
    if (this.#fatal) return this.#finish({ type: "failed", details: this.#fatal });
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
        waiter = this.#scheduler.schedule(task);
      } catch (err) {
        if (this.#fatal) return { type: "failed", details: this.#fatal };
        step = this.#resume({ error: err });
        continue;
      }
      for (;;) {
        const resolved = tryResolve(waiter);
        if (resolved) {
          try {
            this.#scheduler.dropLosers(waiter);
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

  #nondeterminism(message: string): never {
    this.#fatal ??= nondeterminismError(message);
    throw new NondeterminismSignal(message);
  }

  // --- history cursor -----------------------------------------------------------------------

  /** Applies the next history event; `false` at the end of history. */
  #advance(): boolean {
    if (this.#cursor >= this.#log.history.length) return false;
    const e = this.#log.history[this.#cursor++];
    if (isActionEvent(e)) {
      if (!this.#log.isBound(e.eventId)) {
        this.#fatal ??= nondeterminismError(
          `history has ${describeAction(e, e.sourceEventId)} at event ${e.eventId}, ` +
            `but the orchestration did not schedule it`,
        );
      }
      return true;
    }
    const t = e.sourceEventId === null ? undefined : this.#scheduler.task(e.sourceEventId);
    switch (e.type) {
      case "ActivityCompleted":
      case "SubOrchestrationCompleted":
        if (t?.status === "pending") settle(t, e.result);
        break;
      case "TimerFired":
        if (t?.status === "pending") settle(t, "");
        break;
      case "ActivityFailed":
      case "SubOrchestrationFailed":
        if (t?.status === "pending") Object.assign(t, { status: "err", error: e.details });
        break;
      case "ExternalEvent":
        this.#subscriptions.deliverEvent(e.eventId, e.name, e.data);
        break;
      case "QueueEventDelivered":
        this.#subscriptions.deliverQueued(e.eventId, e.name, e.data);
        break;
      case "OrchestrationCancelRequested":
        this.#cancelReason = e.reason;
        break;
      default:
        break;
    }
    return true;
  }

  // --- ReplayHost ---------------------------------------------------------------------------

  isReplaying(): boolean {
    return this.#cursor < this.#log.baselineLength;
  }

  setCustomStatus(status: string | null): void {
    this.#state.setCustomStatus(status);
  }

  getCustomStatus(): string | null {
    return this.#state.getCustomStatus();
  }

  setValue(key: string, value: string): void {
    this.#state.setValue(key, String(value));
  }

  clearValue(key: string): void {
    this.#state.clearValue(key);
  }

  clearAllValues(): void {
    this.#state.clearAllValues();
  }

  kvEntries(): ReadonlyMap<string, KvEntry> {
    return this.#state.kvEntries();
  }

  trace(level: TraceLevel, message: string): void {
    if (!this.isReplaying()) this.#in.trace(level, message);
  }

  // --- end of turn ----------------------------------------------------------------------------

  #finish(plan: TerminalPlan): TurnResult {
    const rec = this.#log.nextUnmatched();
    if (
      (plan.type === "completed" || plan.type === "continuedAsNew" || plan.type === "failed") &&
      !this.#fatal && rec
    ) {
      this.#fatal = nondeterminismError(
        `history has ${describeAction(rec, rec.sourceEventId)} at event ${rec.eventId}, ` +
          `but the orchestration ended without scheduling it`,
      );
    }
    if (this.#fatal && plan.type !== "failed") plan = { type: "failed", details: this.#fatal };
    if (this.#limit && plan.type !== "failed") {
      plan = failed(`limit exceeded: ${this.#limit}`);
    }
    const carryForward = this.#subscriptions.unconsumed(this.#log.history);
    return finishTurn({
      input: this.#in,
      plan,
      outputs: this.#out,
      history: this.#log.history,
      tasks: this.#scheduler.tasks(),
      customStatus: this.#state.getCustomStatus(),
      carryForward,
      discardNew: this.#fatal !== null || this.#limit !== null,
      newEvent: (kind, src) => this.#log.newEvent(kind, src),
    });
  }
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
