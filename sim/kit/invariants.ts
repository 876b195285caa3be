/**
 * Safety invariants, checked after every step directly on what the database stores (two
 * consecutive {@linkcode StoreView}s read with SQL) and on what the callers were told,
 * independently of the reference model:
 *
 * - at most one lock row per instance, every tagged message with its lock's instance, lock
 *   tokens never reused;
 * - a message is delivered to at most one holder at a time: a fetch only takes messages
 *   whose lease has expired (at the fetcher's clock);
 * - a message is deleted only by the ack of the batch it was fetched in (or, for queue
 *   messages of an instance that never started, dropped by a fetch); an activity only by its
 *   holder's ack or a cancellation;
 * - a failed call changes nothing (an ack is all-or-nothing);
 * - nothing is lost or duplicated: labels appear only through the step's own inserts, once;
 * - attempt counts rise by one per delivery, fall only by an ignore-attempt abandon, and
 *   never go below zero;
 * - history is append-only: event ids increase per execution and are never overwritten;
 * - a cancelled activity's holder can no longer renew, ack or abandon it.
 *
 * Recoverability (no livelock) is checked separately, in `recoverability.ts`.
 *
 * @module
 */

import { instanceStarted, type StoreView, type ViewActivity } from "./model_state.ts";
import type { SimOp, SimResult } from "./ops.ts";

/** Facts the invariants remember across steps. */
export interface InvariantLedger {
  /** The labels each orchestration fetch delivered, by lock handle. */
  batches: Map<string, string[]>;
  /** Handles of activity locks whose activity was cancelled. */
  cancelled: Set<string>;
}

/** One step, as the invariants see it. */
export interface StepFacts {
  /** The step. */
  op: SimOp;
  /** The caller's clock at the step (the shared clock for non-calls). */
  now: number;
  /** The database before the step. */
  before: StoreView;
  /** The database after the step. */
  after: StoreView;
  /** What the database did (`null` when the call never reached it). */
  database: SimResult | null;
}

/**
 * A new, empty ledger.
 *
 * @example
 * ```ts
 * import { createInvariantLedger } from "@duroxide/pg/sim";
 *
 * console.assert(createInvariantLedger().batches.size === 0);
 * ```
 */
export function createInvariantLedger(): InvariantLedger {
  return { batches: new Map(), cancelled: new Set() };
}

function labels<T extends { label: string }>(rows: T[]): Set<string> {
  return new Set(rows.map((r) => r.label));
}

function minus(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).sort();
}

function sameSet(a: Iterable<string>, b: Iterable<string>): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return JSON.stringify(x) === JSON.stringify(y);
}

function list(xs: Iterable<string>): string {
  return `[${[...xs].join(" ")}]`;
}

/** Structural checks on one view. */
function checkShape(view: StoreView, problems: string[]): void {
  const all = [...view.orchestratorQueue, ...view.workerQueue].map((r) => r.label);
  const dup = all.filter((l, i) => all.indexOf(l) !== i);
  if (dup.length) problems.push(`duplicated message(s) ${list(dup)}`);
  for (const r of [...view.orchestratorQueue, ...view.workerQueue]) {
    if (r.attempts < 0) problems.push(`${r.label} has a negative attempt count ${r.attempts}`);
    if (r.lock?.startsWith("?")) problems.push(`${r.label} carries a token never issued to anyone`);
  }
  const locked = view.instanceLocks.map((l) => l.instance);
  const twice = locked.filter((x, i) => locked.indexOf(x) !== i);
  if (twice.length) problems.push(`instance(s) ${list(twice)} have more than one lock`);
  const handles = view.instanceLocks.map((l) => l.lock);
  if (new Set(handles).size !== handles.length) problems.push("two instance locks share a token");
  for (const l of view.instanceLocks) {
    if (l.lock.startsWith("?")) problems.push(`the lock of ${l.instance} has a token never issued`);
  }
  for (const m of view.orchestratorQueue) {
    const lock = view.instanceLocks.find((l) => l.lock === m.lock);
    if (lock && lock.instance !== m.instance) {
      problems.push(`${m.label} of ${m.instance} is tagged with the lock of ${lock.instance}`);
    }
  }
}

function intendedInserts(
  op: SimOp,
): { orchestrator: string[]; worker: string[]; cancelled: string[] } {
  switch (op.type) {
    case "enqueueOrch":
      return { orchestrator: [op.label], worker: [], cancelled: [] };
    case "enqueueWork":
      return { orchestrator: [], worker: [op.activity.label], cancelled: [] };
    case "ackOrch":
      return {
        orchestrator: op.messages.map((m) => m.label),
        worker: op.activities.map((a) => a.label),
        cancelled: op.activities.filter((a) =>
          op.cancel.some((c) =>
            c.instance === a.instance && c.executionId === a.executionId &&
            c.activityId === a.activityId
          )
        ).map((a) => a.label),
      };
    case "ackWork":
      return {
        orchestrator: op.completion ? [op.completion.label] : [],
        worker: [],
        cancelled: [],
      };
    default:
      return { orchestrator: [], worker: [], cancelled: [] };
  }
}

function checkDeletions(
  f: StepFacts,
  committed: boolean,
  ledger: InvariantLedger,
  problems: string[],
): void {
  const { op, before, after, now } = f;
  const goneOrch = minus(labels(before.orchestratorQueue), labels(after.orchestratorQueue));
  const goneWork = minus(labels(before.workerQueue), labels(after.workerQueue));
  if (op.type === "ackOrch" && committed) {
    const tagged = before.orchestratorQueue.filter((m) => m.lock === op.handle).map((m) => m.label);
    if (!sameSet(goneOrch, tagged)) {
      problems.push(
        `ack of ${op.handle} deleted ${list(goneOrch)} instead of its batch ${list(tagged)}`,
      );
    }
    const batch = new Set(ledger.batches.get(op.handle) ?? []);
    const foreign = goneOrch.filter((l) => !batch.has(l));
    if (foreign.length) {
      problems.push(`ack of ${op.handle} deleted ${list(foreign)}, never delivered in its batch`);
    }
    const matching = (w: ViewActivity) =>
      op.cancel.some((c) =>
        c.instance === w.instance && c.executionId === w.executionId &&
        c.activityId === w.activityId
      );
    const cancelled = before.workerQueue.filter(matching).map((w) => w.label);
    if (!sameSet(goneWork, cancelled)) {
      problems.push(
        `ack of ${op.handle} removed activities ${list(goneWork)}, cancelled ${list(cancelled)}`,
      );
    }
    for (const w of before.workerQueue) {
      if (matching(w) && w.lock !== null) ledger.cancelled.add(w.lock);
    }
    return;
  }
  if (op.type === "fetchOrch" && committed) {
    for (const label of goneOrch) {
      const m = before.orchestratorQueue.find((x) => x.label === label)!;
      const visible = before.orchestratorQueue.filter((x) =>
        x.instance === m.instance && x.visibleAt <= now
      );
      if (
        m.kind !== "QueueMessage" || m.visibleAt > now || instanceStarted(before, m.instance, now)
      ) {
        problems.push(`fetch deleted ${label} (${m.kind} of ${m.instance})`);
      } else if (visible.some((x) => x.kind !== "QueueMessage")) {
        problems.push(
          `fetch dropped queue message ${label} of not-started ${m.instance} although its visible ` +
            `batch ${list(visible.map((x) => `${x.label}:${x.kind}`))} is not only queue messages`,
        );
      }
    }
  } else if (goneOrch.length) {
    problems.push(`${op.type} deleted orchestrator message(s) ${list(goneOrch)}`);
  }
  if (op.type === "ackWork" && committed) {
    const row = before.workerQueue.find((w) => w.lock === op.handle);
    if (!row || !sameSet(goneWork, [row.label])) {
      problems.push(
        `ack of ${op.handle} removed ${list(goneWork)} instead of ${row?.label ?? "its row"}`,
      );
    } else if (row.lockedUntil === null || row.lockedUntil <= now) {
      problems.push(`ack of ${op.handle} succeeded on an expired lease`);
    }
  } else if (goneWork.length) {
    problems.push(`${op.type} deleted activities ${list(goneWork)}`);
  }
}

function checkInserts(f: StepFacts, committed: boolean, problems: string[]): void {
  const { op, before, after } = f;
  const intended = intendedInserts(op);
  const newOrch = minus(labels(after.orchestratorQueue), labels(before.orchestratorQueue));
  const newWork = minus(labels(after.workerQueue), labels(before.workerQueue));
  const expectOrch = committed ? intended.orchestrator : [];
  const expectWork = committed
    ? intended.worker.filter((l) => !intended.cancelled.includes(l))
    : [];
  if (!sameSet(newOrch, expectOrch)) {
    problems.push(`orchestrator queue gained ${list(newOrch)}, expected ${list(expectOrch)}`);
  }
  if (!sameSet(newWork, expectWork)) {
    problems.push(`worker queue gained ${list(newWork)}, expected ${list(expectWork)}`);
  }
}

function checkAttempts(f: StepFacts, committed: boolean, problems: string[]): void {
  const { op, before, after, database } = f;
  const delivered = new Set<string>();
  const refunded = new Set<string>();
  if (committed && database?.kind === "turn") {
    database.turn.messages.forEach((l) => delivered.add(l));
  }
  if (committed && database?.kind === "activity") delivered.add(database.activity.label);
  if (committed && op.type === "abandonOrch" && op.ignoreAttempt) {
    before.orchestratorQueue.filter((m) => m.lock === op.handle).forEach((m) =>
      refunded.add(m.label)
    );
  }
  if (committed && op.type === "abandonWork" && op.ignoreAttempt) {
    before.workerQueue.filter((w) => w.lock === op.handle).forEach((w) => refunded.add(w.label));
  }
  const previous = new Map(
    [...before.orchestratorQueue, ...before.workerQueue].map((r) => [r.label, r.attempts]),
  );
  for (const r of [...after.orchestratorQueue, ...after.workerQueue]) {
    const was = previous.get(r.label);
    if (was === undefined) {
      if (r.attempts !== 0) problems.push(`new message ${r.label} starts at attempt ${r.attempts}`);
      continue;
    }
    const expected = delivered.has(r.label)
      ? was + 1
      : refunded.has(r.label)
      ? Math.max(0, was - 1)
      : was;
    if (r.attempts !== expected) {
      problems.push(`${r.label} attempt count went ${was} -> ${r.attempts}, expected ${expected}`);
    }
  }
}

function checkDelivery(
  f: StepFacts,
  committed: boolean,
  ledger: InvariantLedger,
  problems: string[],
): void {
  const { before, now, database } = f;
  if (!committed) return;
  if (database?.kind === "turn") {
    const t = database.turn;
    const lock = before.instanceLocks.find((l) => l.instance === t.instance);
    if (lock && lock.lockedUntil > now) {
      problems.push(
        `${t.instance} was fetched while ${lock.lock} held it until ${lock.lockedUntil}`,
      );
    }
    const visible = before.orchestratorQueue.filter((m) =>
      m.instance === t.instance && m.visibleAt <= now
    ).map((m) => m.label);
    if (!sameSet(visible, t.messages)) {
      problems.push(
        `fetch of ${t.instance} delivered ${list(t.messages)}, visible were ${list(visible)}`,
      );
    }
    ledger.batches.set(t.handle, t.messages);
  }
  if (database?.kind === "activity") {
    const a = database.activity;
    const row = before.workerQueue.find((w) => w.label === a.label);
    if (!row) problems.push(`fetch delivered unknown activity ${a.label}`);
    else if (row.visibleAt > now || (row.lockedUntil !== null && row.lockedUntil > now)) {
      problems.push(`${a.label} was fetched while ${row.lock} held it until ${row.lockedUntil}`);
    }
  }
}

function checkHistory(f: StepFacts, committed: boolean, problems: string[]): void {
  const { op, before, after } = f;
  const key = (h: { instance: string; executionId: number; eventId: number }) =>
    `${h.instance}/${h.executionId}/${h.eventId}`;
  const now = new Map(after.history.map((h) => [key(h), h.label]));
  for (const h of before.history) {
    const label = now.get(key(h));
    if (label === undefined) problems.push(`history event ${key(h)} disappeared`);
    else if (label !== h.label) problems.push(`history event ${key(h)} was overwritten`);
  }
  const old = new Set(before.history.map(key));
  const added = after.history.filter((h) => !old.has(key(h)));
  if (!added.length) return;
  if (op.type !== "ackOrch" || !committed) {
    problems.push(`${op.type} appended history ${list(added.map(key))}`);
    return;
  }
  const lock = before.instanceLocks.find((l) => l.lock === op.handle);
  const max = Math.max(
    0,
    ...before.history
      .filter((h) => h.instance === lock?.instance && h.executionId === op.executionId)
      .map((h) => h.eventId),
  );
  let last = max;
  for (const h of added.sort((a, b) => a.eventId - b.eventId)) {
    if (h.instance !== lock?.instance || h.executionId !== op.executionId) {
      problems.push(`ack of ${op.handle} appended ${key(h)} outside its execution`);
    } else if (h.eventId <= last) {
      problems.push(`event ids of ${h.instance}/${h.executionId} do not increase at ${h.eventId}`);
    }
    last = h.eventId;
  }
}

function checkCancelledHolders(
  f: StepFacts,
  committed: boolean,
  ledger: InvariantLedger,
  problems: string[],
): void {
  const { op } = f;
  if (!committed) return;
  if (
    (op.type === "ackWork" || op.type === "renewWork" || op.type === "abandonWork") &&
    ledger.cancelled.has(op.handle)
  ) {
    problems.push(`${op.type} of ${op.handle} succeeded after its activity was cancelled`);
  }
}

/**
 * Checks one step; returns the violated invariants (empty when all hold).
 *
 * @example A failed call must leave the database unchanged
 * ```ts
 * import { checkStepInvariants, createInvariantLedger, emptyStore } from "@duroxide/pg/sim";
 *
 * const after = emptyStore();
 * after.sessions.push({ session: "s1", owner: "w1", lockedUntil: 5, lastActivity: 0 });
 * const problems = checkStepInvariants({
 *   op: { type: "renewOrch", worker: "w1", fault: null, handle: "lock#1", extendMs: 100 },
 *   now: 0, before: emptyStore(), after, database: { kind: "error", code: "LOCK_EXPIRED" },
 * }, createInvariantLedger());
 * console.assert(problems.length === 1);
 * ```
 */
export function checkStepInvariants(
  facts: StepFacts,
  ledger: InvariantLedger,
): string[] {
  const problems: string[] = [];
  const committed = facts.database !== null && facts.database.kind !== "error";
  checkShape(facts.after, problems);
  if (!committed && JSON.stringify(facts.before) !== JSON.stringify(facts.after)) {
    problems.push(`${facts.op.type} did not take effect, yet the database changed`);
  }
  checkDeletions(facts, committed, ledger, problems);
  checkInserts(facts, committed, problems);
  checkAttempts(facts, committed, problems);
  checkDelivery(facts, committed, ledger, problems);
  checkHistory(facts, committed, problems);
  checkCancelledHolders(facts, committed, ledger, problems);
  return problems;
}
