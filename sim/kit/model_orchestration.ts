/**
 * The reference model of the orchestrator queue and instance locks: what each orchestration
 * operation of the provider returns and how it changes the store, stated as plain code over a
 * {@linkcode StoreView}. Each function validates first and changes nothing when it fails, as
 * the stored procedure's transaction does.
 *
 * @module
 */

import type { SimOp, SimResult } from "./ops.ts";
import {
  currentExecution,
  instanceStarted,
  type ModelState,
  SIM_ORCHESTRATION,
  type StoreView,
  type ViewInstanceLock,
} from "./model_state.ts";

/** Message kinds that start an instance. */
const START_KINDS = new Set(["StartOrchestration", "ContinueAsNew"]);

/**
 * Whether a visible message may be fetched (the stored procedure's `message_fetchable`): its
 * instance has started or it starts it, or it is a queue message of an instance whose visible
 * messages are all queue messages (those are then dropped).
 */
function messageFetchable(
  store: StoreView,
  m: StoreView["orchestratorQueue"][number],
  now: number,
): boolean {
  if (START_KINDS.has(m.kind) || instanceStarted(store, m.instance, now)) return true;
  return m.kind === "QueueMessage" &&
    !store.orchestratorQueue.some((x) =>
      x.instance === m.instance && x.visibleAt <= now && x.kind !== "QueueMessage"
    );
}

/** How many candidates one orchestration fetch examines (as the stored procedure). */
const FETCH_ITERATIONS = 64;

function error(code: string): SimResult {
  return { kind: "error", code };
}

function lockOfHandle(store: StoreView, handle: string): ViewInstanceLock | undefined {
  return store.instanceLocks.find((l) => l.lock === handle);
}

/** The error an operation on `handle` fails with at `now`, or `null` when its lease is live. */
function leaseError(store: StoreView, handle: string, now: number): SimResult | null {
  const lock = lockOfHandle(store, handle);
  if (!lock) return error("INVALID_LOCK_TOKEN");
  if (lock.lockedUntil <= now) return error("LOCK_EXPIRED");
  return null;
}

function liveLock(store: StoreView, instance: string, now: number): boolean {
  return store.instanceLocks.some((l) => l.instance === instance && l.lockedUntil > now);
}

/**
 * `enqueueForOrchestrator`: the message becomes visible after its delay.
 *
 * @example
 * ```ts
 * import { createModelState, modelEnqueueOrchestrator } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * modelEnqueueOrchestrator(model, {
 *   type: "enqueueOrch", worker: "w1", fault: null, instance: "i1",
 *   kind: "StartOrchestration", label: "m1", delayMs: 500,
 * }, 0);
 * console.assert(model.store.orchestratorQueue[0].visibleAt === 500);
 * ```
 */
export function modelEnqueueOrchestrator(
  state: ModelState,
  op: Extract<SimOp, { type: "enqueueOrch" }>,
  now: number,
): SimResult {
  state.store.orchestratorQueue.push({
    label: op.label,
    instance: op.instance,
    kind: op.kind,
    visibleAt: now + (op.delayMs ?? 0),
    lock: null,
    attempts: 0,
  });
  return { kind: "ok" };
}

/**
 * `fetchOrchestrationItem`: locks the instance of the oldest eligible visible message, tags
 * every visible message of that instance and counts the attempt. Queue messages of an instance
 * that has not started, and has nothing else visible, are dropped on the way.
 *
 * @example
 * ```ts
 * import { createModelState, modelEnqueueOrchestrator, modelFetchOrchestration } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * modelEnqueueOrchestrator(model, {
 *   type: "enqueueOrch", worker: "w1", fault: null, instance: "i1",
 *   kind: "StartOrchestration", label: "m1", delayMs: null,
 * }, 0);
 * const result = modelFetchOrchestration(model, 1_000, 0);
 * console.assert(result.kind === "turn" && result.turn.handle === "lock#1");
 * ```
 */
export function modelFetchOrchestration(state: ModelState, lockMs: number, now: number): SimResult {
  const store = state.store;
  const skipped = new Set<string>();
  for (let i = 0; i < FETCH_ITERATIONS; i++) {
    let candidate: StoreView["orchestratorQueue"][number] | undefined;
    for (const m of store.orchestratorQueue) {
      if (m.visibleAt > now || skipped.has(m.instance) || liveLock(store, m.instance, now)) {
        continue;
      }
      if (!messageFetchable(store, m, now)) continue;
      if (!candidate || m.visibleAt < candidate.visibleAt) candidate = m;
    }
    if (!candidate) return { kind: "none" };
    const instance = candidate.instance;
    if (candidate.kind === "QueueMessage" && !instanceStarted(store, instance, now)) {
      store.orchestratorQueue = store.orchestratorQueue.filter((m) =>
        !(m.instance === instance && m.kind === "QueueMessage" && m.visibleAt <= now)
      );
      skipped.add(instance);
      continue;
    }
    const handle = `lock#${++state.issuedLocks}`;
    store.instanceLocks = store.instanceLocks.filter((l) => l.instance !== instance);
    store.instanceLocks.push({ instance, lock: handle, lockedUntil: now + lockMs });
    const batch = store.orchestratorQueue.filter((m) =>
      m.instance === instance && m.visibleAt <= now
    );
    for (const m of batch) {
      m.lock = handle;
      m.attempts += 1;
    }
    const executionId = currentExecution(store, instance);
    return {
      kind: "turn",
      turn: {
        instance,
        handle,
        attempt: Math.max(...batch.map((m) => m.attempts)),
        executionId,
        messages: batch.map((m) => m.label),
        history: store.history
          .filter((h) => h.instance === instance && h.executionId === executionId)
          .map((h) => h.eventId)
          .sort((a, b) => a - b),
      },
    };
  }
  return { kind: "none" };
}

/**
 * `ackOrchestrationItem`: all or nothing. Fails on a lost or expired lease, or a duplicate
 * event id; otherwise deletes the batch, records the execution, appends history, enqueues the
 * new activities (then deletes the cancelled ones) and messages, and releases the lock.
 *
 * @example
 * ```ts
 * import { createModelState, modelAckOrchestration } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * const result = modelAckOrchestration(model, {
 *   type: "ackOrch", worker: "w1", fault: null, handle: "lock#9", instance: "i1",
 *   executionId: 1, events: [], metadata: false, status: null, activities: [], messages: [],
 *   cancel: [],
 * }, 0);
 * console.assert(result.kind === "error" && result.code === "INVALID_LOCK_TOKEN");
 * ```
 */
export function modelAckOrchestration(
  state: ModelState,
  op: Extract<SimOp, { type: "ackOrch" }>,
  now: number,
): SimResult {
  const store = state.store;
  const failure = leaseError(store, op.handle, now);
  if (failure) return failure;
  const instance = lockOfHandle(store, op.handle)!.instance;
  const executionId = op.executionId;
  const ids = store.history
    .filter((h) => h.instance === instance && h.executionId === executionId)
    .map((h) => h.eventId);
  for (const e of op.events) {
    if (ids.includes(e.eventId)) return error("DUPLICATE_EVENT");
    ids.push(e.eventId);
  }

  store.orchestratorQueue = store.orchestratorQueue.filter((m) => m.lock !== op.handle);
  let row = store.instances.find((i) => i.instance === instance);
  if (op.metadata && !row) {
    row = {
      instance,
      name: SIM_ORCHESTRATION.name,
      version: SIM_ORCHESTRATION.version,
      currentExecutionId: executionId,
      customStatus: null,
      customStatusVersion: 0,
    };
    store.instances.push(row);
  }
  if (!store.executions.some((e) => e.instance === instance && e.executionId === executionId)) {
    store.executions.push({ instance, executionId, status: "Running" });
  }
  if (row) {
    row.currentExecutionId = Math.max(row.currentExecutionId, executionId);
    const status = op.events.findLast((e) => e.kind === "CustomStatusUpdated");
    if (status) {
      row.customStatus = status.label;
      row.customStatusVersion += 1;
    }
  }
  for (const e of op.events) {
    store.history.push({ instance, executionId, eventId: e.eventId, label: e.label });
  }
  if (op.status !== null) {
    store.executions.find((e) => e.instance === instance && e.executionId === executionId)!
      .status = op.status;
  }
  for (const a of op.activities) {
    store.workerQueue.push({
      label: a.label,
      instance: a.instance,
      executionId: a.executionId,
      activityId: a.activityId,
      session: a.session,
      tag: a.tag,
      visibleAt: now,
      lock: null,
      lockedUntil: null,
      attempts: 0,
      createdAt: now,
    });
  }
  store.workerQueue = store.workerQueue.filter((w) =>
    !op.cancel.some((c) =>
      c.instance === w.instance && c.executionId === w.executionId && c.activityId === w.activityId
    )
  );
  for (const m of op.messages) {
    store.orchestratorQueue.push({
      label: m.label,
      instance: m.instance,
      kind: m.kind,
      visibleAt: m.kind === "TimerFired" && m.fireAtMs !== null ? m.fireAtMs : now,
      lock: null,
      attempts: 0,
    });
  }
  store.instanceLocks = store.instanceLocks.filter((l) => l.instance !== instance);
  return { kind: "ok" };
}

/**
 * `abandonOrchestrationItem`: releases the lock, even one whose lease lapsed as long as nobody
 * took it over (as Duroxide does); with ignore-attempt the batch's attempt
 * counts go down by one (not below zero); with a delay the instance's visible messages move
 * into the future.
 *
 * @example
 * ```ts
 * import { createModelState, modelAbandonOrchestration } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * const result = modelAbandonOrchestration(model, {
 *   type: "abandonOrch", worker: "w1", fault: null, handle: "lock#1", delayMs: null,
 *   ignoreAttempt: false,
 * }, 0);
 * console.assert(result.kind === "error");
 * ```
 */
export function modelAbandonOrchestration(
  state: ModelState,
  op: Extract<SimOp, { type: "abandonOrch" }>,
  now: number,
): SimResult {
  const store = state.store;
  const lock = lockOfHandle(store, op.handle);
  if (!lock) return error("INVALID_LOCK_TOKEN");
  const instance = lock.instance;
  for (const m of store.orchestratorQueue) {
    if (op.ignoreAttempt && m.lock === op.handle) m.attempts = Math.max(0, m.attempts - 1);
  }
  if ((op.delayMs ?? 0) > 0) {
    for (const m of store.orchestratorQueue) {
      if (m.instance === instance && m.visibleAt <= now) m.visibleAt = now + op.delayMs!;
    }
  }
  store.instanceLocks = store.instanceLocks.filter((l) => l.instance !== instance);
  return { kind: "ok" };
}

/**
 * `renewOrchestrationItemLock`: a live lease is extended to at least `now + extend`.
 *
 * @example
 * ```ts
 * import { createModelState, modelRenewOrchestration } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * model.store.instanceLocks.push({ instance: "i1", lock: "lock#1", lockedUntil: 1_000 });
 * modelRenewOrchestration(model, {
 *   type: "renewOrch", worker: "w1", fault: null, handle: "lock#1", extendMs: 5_000,
 * }, 500);
 * console.assert(model.store.instanceLocks[0].lockedUntil === 5_500);
 * ```
 */
export function modelRenewOrchestration(
  state: ModelState,
  op: Extract<SimOp, { type: "renewOrch" }>,
  now: number,
): SimResult {
  const failure = leaseError(state.store, op.handle, now);
  if (failure) return failure;
  const lock = lockOfHandle(state.store, op.handle)!;
  lock.lockedUntil = Math.max(lock.lockedUntil, now + op.extendMs);
  return { kind: "ok" };
}
