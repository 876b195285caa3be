/**
 * The commands of the simulation. fast-check generates a sequence of *intents* from the seed
 * (which worker does what, with which fault, and how the clock moves; see `generators.ts`);
 * each intent is resolved against the model when it runs (which lock it uses, which labels its
 * payloads get) and then performed by {@linkcode runStep}. The sequence is the interleaving:
 * logical workers take turns at the granularity of whole stored-procedure calls. Commands print
 * their intent, so a counterexample reads like a script; the run's trace shows each resolved
 * step with its result.
 *
 * @module
 */

import type { ModelState } from "./model_state.ts";
import { modelNowOf } from "./model_state.ts";
import type { FaultPoint } from "./faults.ts";
import type {
  SimActivity,
  SimActivityRef,
  SimEvent,
  SimMessageKind,
  SimOp,
  SimOrchestratorItem,
  SimTagFilter,
} from "./ops.ts";
import { runStep, type SimContext } from "./step.ts";

/** Fields of every intent that makes a provider call. */
export interface SimIntentCall {
  /** The worker. */
  worker: string;
  /** The injected fault. */
  fault: FaultPoint | null;
}

/** A generated step before it is resolved against the model. */
export type SimIntent =
  | SimIntentCall & {
    type: "enqueueOrch";
    instance: string;
    kind: Exclude<SimMessageKind, "ActivityCompleted">;
    delayMs: number | null;
  }
  | SimIntentCall & {
    type: "enqueueWork";
    instance: string;
    session: string | null;
    tag: string | null;
  }
  | SimIntentCall & { type: "fetchOrch"; lockMs: number }
  | SimIntentCall & {
    type: "ackOrch";
    pick: number;
    events: number;
    duplicate: boolean;
    customStatus: boolean;
    metadata: boolean;
    status: string | null;
    nextExecution: boolean;
    activities: { session: string | null; tag: string | null }[];
    /** Messages to send; `target` is an instance id or `"self"`; timers always go to self. */
    messages: { kind: SimOrchestratorItem["kind"]; target: string; delayMs: number }[];
    /** Picks among the instance's activities (held ones first), or a non-existent one. */
    cancel: number[];
    /** Cancel every queued activity of the instance, as a terminal turn does. */
    cancelOutstanding: boolean;
  }
  | SimIntentCall & {
    type: "abandonOrch";
    pick: number;
    delayMs: number | null;
    ignoreAttempt: boolean;
  }
  | SimIntentCall & { type: "renewOrch"; pick: number; extendMs: number }
  | SimIntentCall & { type: "fetchWork"; lockMs: number; session: boolean; tagFilter: SimTagFilter }
  | SimIntentCall & { type: "ackWork"; pick: number; complete: boolean }
  | SimIntentCall & { type: "renewWork"; pick: number; extendMs: number }
  | SimIntentCall & {
    type: "abandonWork";
    pick: number;
    delayMs: number | null;
    ignoreAttempt: boolean;
  }
  | SimIntentCall & { type: "renewSessions"; extendMs: number; idleMs: number }
  | SimIntentCall & { type: "cleanupSessions" }
  | { type: "advance"; ms: number }
  | { type: "skew"; worker: string; ms: number }
  | { type: "crash"; worker: string };

/** The target of a message a turn sends to its own instance. */
export const SELF_TARGET = "self";

/** Activity id used to cancel an activity that does not exist. */
const GHOST_ACTIVITY_ID = 999_999;

/** Session lock timeout of session fetches, ms. */
const SESSION_LOCK_MS = 1_500;

/**
 * Whether an intent can run in this model state: a lock-using intent needs a worker that
 * remembers a lock of that kind (the named one, else the next one that does).
 *
 * @example
 * ```ts
 * import { canRunIntent, createModelState } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * console.assert(!canRunIntent({ type: "renewOrch", worker: "w1", fault: null, pick: 0, extendMs: 100 }, model));
 * ```
 */
export function canRunIntent(intent: SimIntent, model: Readonly<ModelState>): boolean {
  switch (intent.type) {
    case "ackOrch":
    case "abandonOrch":
    case "renewOrch":
      return holderOf(model, intent.worker, "turns") !== null;
    case "ackWork":
    case "renewWork":
    case "abandonWork":
      return holderOf(model, intent.worker, "activities") !== null;
    default:
      return true;
  }
}

/**
 * The worker a lock-using intent runs on: the named worker if it remembers a lock of that
 * kind, else the next worker (in order, wrapping around) that does; `null` when none does.
 * Without this, most lock-using intents would name a worker that holds nothing and be skipped.
 */
function holderOf(
  model: Readonly<ModelState>,
  worker: string,
  kind: "turns" | "activities",
): string | null {
  const workers = Object.keys(model.memory);
  const start = Math.max(0, workers.indexOf(worker));
  for (let i = 0; i < workers.length; i++) {
    const w = workers[(start + i) % workers.length];
    if (model.memory[w][kind].length > 0) return w;
  }
  return null;
}

function nextLabel(model: ModelState, prefix: string): string {
  return `${prefix}${++model.issuedLabels}`;
}

function resolveAck(intent: Extract<SimIntent, { type: "ackOrch" }>, model: ModelState): SimOp {
  const worker = holderOf(model, intent.worker, "turns")!;
  const memory = model.memory[worker].turns;
  const held = memory[intent.pick % memory.length];
  const now = modelNowOf(model, worker);
  const executionId = held.executionId + (intent.nextExecution ? 1 : 0);
  const max = Math.max(
    0,
    ...model.store.history
      .filter((h) => h.instance === held.instance && h.executionId === executionId)
      .map((h) => h.eventId),
  );
  const count = intent.duplicate && max === 0 ? Math.max(2, intent.events) : intent.events;
  const events: SimEvent[] = [];
  for (let i = 0; i < count; i++) {
    let eventId = max + 1 + i;
    if (intent.duplicate && i === 0 && max > 0) eventId = max;
    if (intent.duplicate && i === 1 && max === 0) eventId = events[0].eventId;
    const kind = intent.customStatus && i === count - 1 ? "CustomStatusUpdated" : "ExternalEvent";
    events.push({ eventId, label: nextLabel(model, "e"), kind });
  }
  const activities: SimActivity[] = intent.activities.map((a) => {
    const label = nextLabel(model, "a");
    return {
      label,
      instance: held.instance,
      executionId,
      activityId: Number(label.slice(1)),
      session: a.session,
      tag: a.tag,
    };
  });
  const messages: SimOrchestratorItem[] = intent.messages.map((m) => {
    const label = nextLabel(model, "m");
    return m.kind === "TimerFired"
      ? { kind: m.kind, instance: held.instance, label, fireAtMs: now + m.delayMs }
      : {
        kind: m.kind,
        instance: m.target === SELF_TARGET ? held.instance : m.target,
        label,
        fireAtMs: null,
      };
  });
  // Activities someone holds come first: cancelling a held activity is the interesting case.
  const queued = model.store.workerQueue.filter((w) => w.instance === held.instance);
  const candidates: SimActivityRef[] = [
    ...queued.filter((w) => w.lock !== null),
    ...queued.filter((w) => w.lock === null),
    ...activities,
  ].map((w) => ({ instance: w.instance, executionId: w.executionId, activityId: w.activityId }));
  const cancel = intent.cancel.map((p) =>
    candidates[p % (candidates.length + 1)] ??
      { instance: held.instance, executionId, activityId: GHOST_ACTIVITY_ID }
  );
  if (intent.cancelOutstanding) {
    cancel.push(...queued.map((w) => ({
      instance: w.instance,
      executionId: w.executionId,
      activityId: w.activityId,
    })));
  }
  return {
    type: "ackOrch",
    worker,
    fault: intent.fault,
    handle: held.handle,
    instance: held.instance,
    executionId,
    events,
    metadata: intent.metadata,
    status: intent.status,
    activities,
    messages,
    cancel,
  };
}

/**
 * Resolves an intent against the model: picks the worker and lock a lock-using intent uses
 * and labels the payloads.
 * Call only when {@linkcode canRunIntent} holds.
 *
 * @example
 * ```ts
 * import { createModelState, resolveIntent } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * const op = resolveIntent({ type: "enqueueOrch", worker: "w1", fault: null, instance: "i1", kind: "StartOrchestration", delayMs: null }, model);
 * console.assert(op.type === "enqueueOrch" && op.label === "m1");
 * ```
 */
export function resolveIntent(intent: SimIntent, model: ModelState): SimOp {
  switch (intent.type) {
    case "enqueueOrch":
      return { ...intent, label: nextLabel(model, "m") };
    case "enqueueWork": {
      const label = nextLabel(model, "a");
      return {
        type: "enqueueWork",
        worker: intent.worker,
        fault: intent.fault,
        activity: {
          label,
          instance: intent.instance,
          executionId: 1,
          activityId: Number(label.slice(1)),
          session: intent.session,
          tag: intent.tag,
        },
      };
    }
    case "ackOrch":
      return resolveAck(intent, model);
    case "abandonOrch":
    case "renewOrch": {
      const { pick, ...rest } = intent;
      const worker = holderOf(model, intent.worker, "turns")!;
      const turns = model.memory[worker].turns;
      return { ...rest, worker, handle: turns[pick % turns.length].handle };
    }
    case "fetchWork":
      return { ...intent, sessionLockMs: SESSION_LOCK_MS };
    case "ackWork": {
      const worker = holderOf(model, intent.worker, "activities")!;
      const activities = model.memory[worker].activities;
      const held = activities[intent.pick % activities.length];
      return {
        type: "ackWork",
        worker,
        fault: intent.fault,
        handle: held.handle,
        completion: intent.complete
          ? { label: nextLabel(model, "m"), activity: held.activity }
          : null,
      };
    }
    case "renewWork":
    case "abandonWork": {
      const { pick, ...rest } = intent;
      const worker = holderOf(model, intent.worker, "activities")!;
      const activities = model.memory[worker].activities;
      return { ...rest, worker, handle: activities[pick % activities.length].handle };
    }
    default:
      return intent;
  }
}

function signed(ms: number): string {
  return ms >= 0 ? `+${ms}ms` : `${ms}ms`;
}

/**
 * Prints an intent, e.g. `w1 ackOrch(held 0, 2 events, metadata) !after`.
 *
 * @example
 * ```ts
 * import { formatIntent } from "@duroxide/pg/sim";
 *
 * console.assert(formatIntent({ type: "crash", worker: "w2" }) === "crash(w2)");
 * ```
 */
export function formatIntent(intent: SimIntent): string {
  let text: string;
  switch (intent.type) {
    case "advance":
      return `advance(${signed(intent.ms)})`;
    case "skew":
      return `skew(${intent.worker} ${signed(intent.ms)})`;
    case "crash":
      return `crash(${intent.worker})`;
    case "enqueueOrch":
      text = `enqueueOrch(${intent.kind}->${intent.instance}${
        intent.delayMs === null ? "" : `, delay ${intent.delayMs}ms`
      })`;
      break;
    case "enqueueWork":
      text = `enqueueWork(${intent.instance}${intent.session ? `, session ${intent.session}` : ""}${
        intent.tag ? `, tag ${intent.tag}` : ""
      })`;
      break;
    case "fetchOrch":
      text = `fetchOrch(lock ${intent.lockMs}ms)`;
      break;
    case "ackOrch": {
      const parts = [`held ${intent.pick}`];
      if (intent.events) parts.push(`${intent.events} events`);
      if (intent.duplicate) parts.push("duplicate event id");
      if (intent.customStatus) parts.push("custom status");
      if (intent.metadata) parts.push("metadata");
      if (intent.status) parts.push(`status ${intent.status}`);
      if (intent.nextExecution) parts.push("next execution");
      if (intent.activities.length) parts.push(`schedule ${intent.activities.length}`);
      for (const m of intent.messages) {
        parts.push(
          m.kind === "TimerFired" ? `timer +${m.delayMs}ms` : `${m.kind}->${m.target}`,
        );
      }
      if (intent.cancel.length) parts.push(`cancel [${intent.cancel.join(" ")}]`);
      if (intent.cancelOutstanding) parts.push("cancel outstanding");
      text = `ackOrch(${parts.join(", ")})`;
      break;
    }
    case "abandonOrch":
    case "abandonWork":
      text = `${intent.type}(held ${intent.pick}${
        intent.delayMs === null ? "" : `, delay ${intent.delayMs}ms`
      }${intent.ignoreAttempt ? ", ignore attempt" : ""})`;
      break;
    case "renewOrch":
    case "renewWork":
      text = `${intent.type}(held ${intent.pick}, +${intent.extendMs}ms)`;
      break;
    case "fetchWork":
      text = `fetchWork(lock ${intent.lockMs}ms, ${intent.tagFilter}${
        intent.session ? ", session" : ""
      })`;
      break;
    case "ackWork":
      text = `ackWork(held ${intent.pick}${intent.complete ? ", complete" : ""})`;
      break;
    case "renewSessions":
      text = `renewSessions(+${intent.extendMs}ms, idle ${intent.idleMs}ms)`;
      break;
    case "cleanupSessions":
      text = "cleanupSessions()";
      break;
  }
  return `${intent.worker} ${text}${intent.fault ? ` !${intent.fault}` : ""}`;
}

/**
 * A simulation command, as `fc.commands` runs it (structurally a fast-check `AsyncCommand` over
 * a {@linkcode SimContext} as both model and real system).
 *
 * @example
 * ```ts
 * import { simCommand, type SimCommand } from "@duroxide/pg/sim";
 *
 * const command: SimCommand = simCommand({ type: "crash", worker: "w1" });
 * console.assert(command.toString() === "crash(w1)");
 * ```
 */
export interface SimCommand {
  /** The precondition: whether the command can run now (it must not change anything). */
  check(ctx: Readonly<SimContext>): boolean;
  /** Resolves the intent and runs the step. */
  run(ctx: SimContext, real: SimContext): Promise<void>;
  /** The intent, printed. */
  toString(): string;
}

/**
 * Wraps an intent as a fast-check command: `check` is the precondition, `run` resolves the
 * intent and performs the step, `toString` prints the intent.
 *
 * @example
 * ```ts
 * import { simCommand } from "@duroxide/pg/sim";
 *
 * console.assert(String(simCommand({ type: "advance", ms: 5 })) === "advance(+5ms)");
 * ```
 */
export function simCommand(intent: SimIntent): SimCommand {
  return {
    check: (ctx) => canRunIntent(intent, ctx.model),
    run: async (ctx) => {
      ctx.script.push(formatIntent(intent));
      await runStep(ctx, resolveIntent(intent, ctx.model));
    },
    toString: () => formatIntent(intent),
  };
}
