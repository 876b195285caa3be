/**
 * The reference model of the worker queue and sessions: what each activity operation of the
 * provider returns and how it changes the store. A worker row's `visibleAt` doubles as its
 * lease end while it is locked, so an expired lease makes the row fetchable again.
 *
 * @module
 */

import type { SimActivity, SimOp, SimResult, SimTagFilter } from "./ops.ts";
import { SIM_FILTER_TAG } from "./ops.ts";
import type { ModelState, StoreView, ViewActivity } from "./model_state.ts";

function error(code: string): SimResult {
  return { kind: "error", code };
}

/** The row locked by `handle` and whether its lease is live, or the error to report. */
function leasedRow(store: StoreView, handle: string, now: number): ViewActivity | SimResult {
  const row = store.workerQueue.find((w) => w.lock === handle);
  if (!row) return error("INVALID_LOCK_TOKEN");
  if (row.lockedUntil === null || row.lockedUntil <= now) return error("LOCK_EXPIRED");
  return row;
}

function isRow(value: ViewActivity | SimResult): value is ViewActivity {
  return "label" in value;
}

/** Marks the row's session active, if the session is still held. */
function touchSession(store: StoreView, session: string | null, now: number): void {
  if (session === null) return;
  const s = store.sessions.find((x) => x.session === session);
  if (s && s.lockedUntil > now) s.lastActivity = now;
}

/**
 * Whether a row with this tag passes a tag filter.
 *
 * @example
 * ```ts
 * import { tagFilterAccepts } from "@duroxide/pg/sim";
 *
 * console.assert(tagFilterAccepts("DefaultAnd", null) && tagFilterAccepts("DefaultAnd", "gpu"));
 * console.assert(!tagFilterAccepts("DefaultOnly", "gpu") && !tagFilterAccepts("None", null));
 * ```
 */
export function tagFilterAccepts(filter: SimTagFilter, tag: string | null): boolean {
  switch (filter) {
    case "Any":
      return true;
    case "DefaultOnly":
      return tag === null;
    case "Tags":
      return tag === SIM_FILTER_TAG;
    case "DefaultAnd":
      return tag === null || tag === SIM_FILTER_TAG;
    case "None":
      return false;
  }
}

/**
 * `enqueueForWorker`: the activity is visible at once.
 *
 * @example
 * ```ts
 * import { createModelState, modelEnqueueWork } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * modelEnqueueWork(model, { label: "a1", instance: "i1", executionId: 1, activityId: 1, session: null, tag: null }, 0);
 * console.assert(model.store.workerQueue.length === 1);
 * ```
 */
export function modelEnqueueWork(state: ModelState, activity: SimActivity, now: number): SimResult {
  state.store.workerQueue.push({
    ...activity,
    visibleAt: now,
    lock: null,
    lockedUntil: null,
    attempts: 0,
    createdAt: now,
  });
  return { kind: "ok" };
}

/**
 * `fetchWorkItem`: locks the oldest visible row the tag filter and session rules allow (rows of
 * a session another owner holds are skipped; a fetch with a session claims or refreshes the
 * row's session for the caller).
 *
 * @example
 * ```ts
 * import { createModelState, modelEnqueueWork, modelFetchWork } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * modelEnqueueWork(model, { label: "a1", instance: "i1", executionId: 1, activityId: 1, session: "s1", tag: null }, 0);
 * const none = modelFetchWork(model, { type: "fetchWork", worker: "w1", fault: null, lockMs: 1_000, session: false, sessionLockMs: 0, tagFilter: "Any" }, 0);
 * console.assert(none.kind === "none");
 * ```
 */
export function modelFetchWork(
  state: ModelState,
  op: Extract<SimOp, { type: "fetchWork" }>,
  now: number,
): SimResult {
  const store = state.store;
  if (op.tagFilter === "None") return { kind: "none" };
  const owner = op.session ? op.worker : null;
  let row: ViewActivity | undefined;
  for (const w of store.workerQueue) {
    if (w.visibleAt > now || !tagFilterAccepts(op.tagFilter, w.tag)) continue;
    if (w.session !== null) {
      if (owner === null) continue;
      const held = store.sessions.some((s) =>
        s.session === w.session && s.lockedUntil > now && s.owner !== owner
      );
      if (held) continue;
    }
    if (!row || w.visibleAt < row.visibleAt) row = w;
  }
  if (!row) return { kind: "none" };
  if (row.session !== null && owner !== null) {
    store.sessions = store.sessions.filter((s) => s.session !== row.session);
    store.sessions.push({
      session: row.session,
      owner,
      lockedUntil: now + op.sessionLockMs,
      lastActivity: now,
    });
  }
  const handle = `wlock#${++state.issuedWorkLocks}`;
  row.lock = handle;
  row.lockedUntil = now + op.lockMs;
  row.visibleAt = now + op.lockMs;
  row.attempts += 1;
  return { kind: "activity", activity: { label: row.label, handle, attempt: row.attempts } };
}

/**
 * `ackWorkItem`: deletes the row if its lease is live and enqueues the completion.
 *
 * @example
 * ```ts
 * import { createModelState, modelAckWork } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * const result = modelAckWork(model, { type: "ackWork", worker: "w1", fault: null, handle: "wlock#1", completion: null }, 0);
 * console.assert(result.kind === "error" && result.code === "INVALID_LOCK_TOKEN");
 * ```
 */
export function modelAckWork(
  state: ModelState,
  op: Extract<SimOp, { type: "ackWork" }>,
  now: number,
): SimResult {
  const store = state.store;
  const row = leasedRow(store, op.handle, now);
  if (!isRow(row)) return row;
  store.workerQueue = store.workerQueue.filter((w) => w !== row);
  touchSession(store, row.session, now);
  if (op.completion) {
    store.orchestratorQueue.push({
      label: op.completion.label,
      instance: op.completion.activity.instance,
      kind: "ActivityCompleted",
      visibleAt: now,
      lock: null,
      attempts: 0,
    });
  }
  return { kind: "ok" };
}

/**
 * `renewWorkItemLock`: a live lease is extended to at least `now + extend`.
 *
 * @example
 * ```ts
 * import { createModelState, modelRenewWork } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * const result = modelRenewWork(model, { type: "renewWork", worker: "w1", fault: null, handle: "wlock#1", extendMs: 10 }, 0);
 * console.assert(result.kind === "error");
 * ```
 */
export function modelRenewWork(
  state: ModelState,
  op: Extract<SimOp, { type: "renewWork" }>,
  now: number,
): SimResult {
  const row = leasedRow(state.store, op.handle, now);
  if (!isRow(row)) return row;
  row.lockedUntil = Math.max(row.lockedUntil!, now + op.extendMs);
  row.visibleAt = row.lockedUntil;
  touchSession(state.store, row.session, now);
  return { kind: "ok" };
}

/**
 * `abandonWorkItem`: releases the lease, even a lapsed one nobody took over; without a delay the row regains its original
 * queue position (visible from when it was enqueued), with one it becomes visible later.
 *
 * @example
 * ```ts
 * import { createModelState, modelAbandonWork } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * const result = modelAbandonWork(model, { type: "abandonWork", worker: "w1", fault: null, handle: "wlock#1", delayMs: null, ignoreAttempt: true }, 0);
 * console.assert(result.kind === "error");
 * ```
 */
export function modelAbandonWork(
  state: ModelState,
  op: Extract<SimOp, { type: "abandonWork" }>,
  now: number,
): SimResult {
  const row = state.store.workerQueue.find((w) => w.lock === op.handle);
  if (!row) return error("INVALID_LOCK_TOKEN");
  row.lock = null;
  row.lockedUntil = null;
  row.visibleAt = (op.delayMs ?? 0) > 0 ? now + op.delayMs! : Math.min(row.createdAt, now);
  if (op.ignoreAttempt) row.attempts = Math.max(0, row.attempts - 1);
  return { kind: "ok" };
}

/**
 * `renewSessionLock([worker])`: extends the caller's live, recently active sessions.
 *
 * @example
 * ```ts
 * import { createModelState, modelRenewSessions } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * model.store.sessions.push({ session: "s1", owner: "w1", lockedUntil: 100, lastActivity: 0 });
 * const result = modelRenewSessions(model, { type: "renewSessions", worker: "w1", fault: null, extendMs: 1_000, idleMs: 500 }, 50);
 * console.assert(result.kind === "count" && result.count === 1);
 * ```
 */
export function modelRenewSessions(
  state: ModelState,
  op: Extract<SimOp, { type: "renewSessions" }>,
  now: number,
): SimResult {
  let count = 0;
  for (const s of state.store.sessions) {
    if (s.owner === op.worker && s.lockedUntil > now && s.lastActivity > now - op.idleMs) {
      s.lockedUntil = now + op.extendMs;
      count += 1;
    }
  }
  return { kind: "count", count };
}

/**
 * `cleanupOrphanedSessions`: deletes expired sessions no queued activity refers to.
 *
 * @example
 * ```ts
 * import { createModelState, modelCleanupSessions } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * model.store.sessions.push({ session: "s1", owner: "w1", lockedUntil: 100, lastActivity: 0 });
 * const result = modelCleanupSessions(model, 100);
 * console.assert(result.kind === "count" && result.count === 1);
 * ```
 */
export function modelCleanupSessions(state: ModelState, now: number): SimResult {
  const store = state.store;
  const before = store.sessions.length;
  store.sessions = store.sessions.filter((s) =>
    s.lockedUntil > now || store.workerQueue.some((w) => w.session === s.session)
  );
  return { kind: "count", count: before - store.sessions.length };
}
