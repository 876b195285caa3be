/**
 * The operations of a simulation, as plain data: one provider call made by one logical worker
 * (with an optional injected fault), or a move of the world (time, skew, crash). Each prints as
 * one readable line, so a failing run reads like a script.
 *
 * Lock tokens are opaque: the simulation names each one by a handle in the order they were
 * issued (`lock#3` for an instance lock, `wlock#2` for an activity lock).
 *
 * @module
 */

import type { FaultPoint } from "./faults.ts";

/** Orchestrator-queue message kinds the simulation enqueues. */
export type SimMessageKind =
  | "StartOrchestration"
  | "ExternalRaised"
  | "QueueMessage"
  | "TimerFired"
  | "CancelInstance"
  | "ActivityCompleted";

/** Tag filters the simulation fetches with (`Tags`/`DefaultAnd` use the single tag `gpu`). */
export type SimTagFilter = "DefaultOnly" | "Any" | "Tags" | "DefaultAnd" | "None";

/** The tag `Tags` and `DefaultAnd` filters accept. */
export const SIM_FILTER_TAG = "gpu";

/** A history event of a simulated turn, identified by its label. */
export interface SimEvent {
  /** The event id the "runtime" assigns. */
  eventId: number;
  /** Unique payload label. */
  label: string;
  /** `ExternalEvent` (data = label) or `CustomStatusUpdated` (status = label). */
  kind: "ExternalEvent" | "CustomStatusUpdated";
}

/** An activity scheduled by a simulated turn or enqueued directly. */
export interface SimActivity {
  /** Unique payload label (the activity's input). */
  label: string;
  /** The instance that scheduled it. */
  instance: string;
  /** The execution that scheduled it. */
  executionId: number;
  /** Its activity id. */
  activityId: number;
  /** Its session, if any. */
  session: string | null;
  /** Its tag, if any. */
  tag: string | null;
}

/** A message a simulated turn sends to the orchestrator queue. */
export interface SimOrchestratorItem {
  /** The message kind. */
  kind: "TimerFired" | "StartOrchestration" | "ExternalRaised";
  /** The target instance. */
  instance: string;
  /** Unique payload label. */
  label: string;
  /** For a timer: when it fires (epoch ms); otherwise `null`. */
  fireAtMs: number | null;
}

/** Identifies an activity to cancel. */
export interface SimActivityRef {
  /** The instance. */
  instance: string;
  /** The execution. */
  executionId: number;
  /** The activity id. */
  activityId: number;
}

/** What every provider call has: who makes it and which fault strikes it. */
export interface SimCallBase {
  /** The logical worker making the call (its clock and memory). */
  worker: string;
  /** A fault injected into the call, if any. */
  fault: FaultPoint | null;
}

/** One step of a simulation, fully resolved (handles and labels filled in). */
export type SimOp =
  | SimCallBase & {
    type: "enqueueOrch";
    instance: string;
    kind: Exclude<SimMessageKind, "ActivityCompleted">;
    label: string;
    delayMs: number | null;
  }
  | SimCallBase & { type: "enqueueWork"; activity: SimActivity }
  | SimCallBase & { type: "fetchOrch"; lockMs: number }
  | SimCallBase & {
    type: "ackOrch";
    handle: string;
    instance: string;
    executionId: number;
    events: SimEvent[];
    metadata: boolean;
    status: string | null;
    activities: SimActivity[];
    messages: SimOrchestratorItem[];
    cancel: SimActivityRef[];
  }
  | SimCallBase & {
    type: "abandonOrch";
    handle: string;
    delayMs: number | null;
    ignoreAttempt: boolean;
  }
  | SimCallBase & { type: "renewOrch"; handle: string; extendMs: number }
  | SimCallBase & {
    type: "fetchWork";
    lockMs: number;
    session: boolean;
    sessionLockMs: number;
    tagFilter: SimTagFilter;
  }
  | SimCallBase & {
    type: "ackWork";
    handle: string;
    completion: { label: string; activity: SimActivityRef } | null;
  }
  | SimCallBase & { type: "renewWork"; handle: string; extendMs: number }
  | SimCallBase & {
    type: "abandonWork";
    handle: string;
    delayMs: number | null;
    ignoreAttempt: boolean;
  }
  | SimCallBase & { type: "renewSessions"; extendMs: number; idleMs: number }
  | SimCallBase & { type: "cleanupSessions" }
  | { type: "advance"; ms: number }
  | { type: "skew"; worker: string; ms: number }
  | { type: "crash"; worker: string };

/** The provider-call variants of {@linkcode SimOp}. */
export type SimCallOp = Extract<SimOp, SimCallBase>;

/** A fetched orchestration turn, as the simulation compares it. */
export interface SimTurn {
  /** The locked instance. */
  instance: string;
  /** The lock's handle. */
  handle: string;
  /** The reported attempt count (the batch maximum). */
  attempt: number;
  /** The current execution. */
  executionId: number;
  /** Labels of the batch, in enqueue order. */
  messages: string[];
  /** Event ids of the current execution's history. */
  history: number[];
}

/** A fetched activity, as the simulation compares it. */
export interface SimFetchedActivity {
  /** Its label. */
  label: string;
  /** The lock's handle. */
  handle: string;
  /** The reported attempt count. */
  attempt: number;
}

/** The outcome of a step as its caller sees it. */
export type SimResult =
  | { kind: "ok" }
  | { kind: "none" }
  | { kind: "count"; count: number }
  | { kind: "turn"; turn: SimTurn }
  | { kind: "activity"; activity: SimFetchedActivity }
  | { kind: "error"; code: string };

/** Whether `op` is a provider call (as opposed to a move of time or a crash). */
export function isCallOp(op: SimOp): op is SimCallOp {
  return "fault" in op;
}

function ms(value: number | null): string {
  return value === null ? "none" : `${value}ms`;
}

function signed(value: number): string {
  return value >= 0 ? `+${value}ms` : `${value}ms`;
}

function activityText(a: SimActivity): string {
  const extras = [a.session && `session ${a.session}`, a.tag && `tag ${a.tag}`].filter(Boolean);
  return `${a.label}=${a.instance}/${a.executionId}/${a.activityId}` +
    (extras.length ? `(${extras.join(", ")})` : "");
}

function refText(r: SimActivityRef): string {
  return `${r.instance}/${r.executionId}/${r.activityId}`;
}

function ackText(op: Extract<SimOp, { type: "ackOrch" }>): string {
  const parts = [`${op.handle} ${op.instance}/${op.executionId}`];
  if (op.events.length) {
    parts.push(`events [${op.events.map((e) => `${e.eventId}:${e.label}`).join(" ")}]`);
  }
  if (op.metadata) parts.push("metadata");
  if (op.status) parts.push(`status ${op.status}`);
  if (op.activities.length) parts.push(`schedule [${op.activities.map(activityText).join(" ")}]`);
  for (const m of op.messages) {
    parts.push(
      m.kind === "TimerFired"
        ? `timer ${m.label}@${m.fireAtMs}`
        : `${m.kind === "StartOrchestration" ? "start" : "raise"} ${m.label}->${m.instance}`,
    );
  }
  if (op.cancel.length) parts.push(`cancel [${op.cancel.map(refText).join(" ")}]`);
  return parts.join(", ");
}

/**
 * Prints an operation as one line, e.g. `w1 fetchOrch(lock 1000ms)` or
 * `w2 ackWork(wlock#3, complete m9) !after`.
 *
 * @example
 * ```ts
 * import { formatOp } from "@duroxide/pg/sim";
 *
 * console.assert(formatOp({ type: "advance", ms: 250 }) === "advance(+250ms)");
 * console.assert(
 *   formatOp({ type: "fetchOrch", worker: "w1", fault: "after", lockMs: 1000 }) ===
 *     "w1 fetchOrch(lock 1000ms) !after",
 * );
 * ```
 */
export function formatOp(op: SimOp): string {
  let text: string;
  switch (op.type) {
    case "advance":
      return `advance(${signed(op.ms)})`;
    case "skew":
      return `skew(${op.worker} ${signed(op.ms)})`;
    case "crash":
      return `crash(${op.worker})`;
    case "enqueueOrch":
      text = `enqueueOrch(${op.kind} ${op.label}->${op.instance}, delay ${ms(op.delayMs)})`;
      break;
    case "enqueueWork":
      text = `enqueueWork(${activityText(op.activity)})`;
      break;
    case "fetchOrch":
      text = `fetchOrch(lock ${op.lockMs}ms)`;
      break;
    case "ackOrch":
      text = `ackOrch(${ackText(op)})`;
      break;
    case "abandonOrch":
    case "abandonWork":
      text = `${op.type}(${op.handle}, delay ${ms(op.delayMs)}${
        op.ignoreAttempt ? ", ignore attempt" : ""
      })`;
      break;
    case "renewOrch":
    case "renewWork":
      text = `${op.type}(${op.handle}, +${op.extendMs}ms)`;
      break;
    case "fetchWork":
      text = `fetchWork(lock ${op.lockMs}ms, ${op.tagFilter}${
        op.session ? `, session owner ${op.worker} ${op.sessionLockMs}ms` : ""
      })`;
      break;
    case "ackWork":
      text = `ackWork(${op.handle}${
        op.completion ? `, complete ${op.completion.label}` : ", no completion"
      })`;
      break;
    case "renewSessions":
      text = `renewSessions(owner ${op.worker}, +${op.extendMs}ms, idle ${op.idleMs}ms)`;
      break;
    case "cleanupSessions":
      text = "cleanupSessions()";
      break;
  }
  return `${op.worker} ${text}${op.fault ? ` !${op.fault}` : ""}`;
}

/**
 * Prints a result, e.g. `i3@lock#2 attempt 1 exec 1 [m1 m4] history [1 2]` or `LOCK_EXPIRED`.
 *
 * @example
 * ```ts
 * import { formatResult } from "@duroxide/pg/sim";
 *
 * console.assert(formatResult({ kind: "error", code: "LOCK_EXPIRED" }) === "LOCK_EXPIRED");
 * ```
 */
export function formatResult(result: SimResult): string {
  switch (result.kind) {
    case "ok":
      return "ok";
    case "none":
      return "none";
    case "count":
      return String(result.count);
    case "error":
      return result.code;
    case "turn": {
      const t = result.turn;
      return `${t.instance}@${t.handle} attempt ${t.attempt} exec ${t.executionId} [${
        t.messages.join(" ")
      }] history [${t.history.join(" ")}]`;
    }
    case "activity": {
      const a = result.activity;
      return `${a.label}@${a.handle} attempt ${a.attempt}`;
    }
  }
}
