/**
 * The pure in-memory reference model: {@linkcode applyModelOp} predicts the result of every
 * simulation step and the database contents after it, including injected faults (a fault
 * "before" changes nothing; a fault "after" changes what the call would have changed, yet the
 * caller sees a `CONNECTION` error and learns nothing) and what each worker remembers.
 *
 * @module
 */

import type { SimOp, SimResult } from "./ops.ts";
import { MEMORY_DEPTH, modelNowOf, type ModelState } from "./model_state.ts";
import {
  modelAbandonOrchestration,
  modelAckOrchestration,
  modelEnqueueOrchestrator,
  modelFetchOrchestration,
  modelRenewOrchestration,
} from "./model_orchestration.ts";
import {
  modelAbandonWork,
  modelAckWork,
  modelCleanupSessions,
  modelEnqueueWork,
  modelFetchWork,
  modelRenewSessions,
  modelRenewWork,
} from "./model_worker.ts";

/** The model's prediction for one step. */
export interface ModelOutcome {
  /** What the caller sees. */
  result: SimResult;
  /** What the database did: `null` when the call never reached it (or there was no call). */
  database: SimResult | null;
}

/** Whether the provider answers `op` without calling the database at all. */
export function answersWithoutDatabase(op: SimOp): boolean {
  return op.type === "fetchWork" && op.tagFilter === "None";
}

function applyCall(state: ModelState, op: SimOp, now: number): SimResult {
  switch (op.type) {
    case "enqueueOrch":
      return modelEnqueueOrchestrator(state, op, now);
    case "enqueueWork":
      return modelEnqueueWork(state, op.activity, now);
    case "fetchOrch":
      return modelFetchOrchestration(state, op.lockMs, now);
    case "ackOrch":
      return modelAckOrchestration(state, op, now);
    case "abandonOrch":
      return modelAbandonOrchestration(state, op, now);
    case "renewOrch":
      return modelRenewOrchestration(state, op, now);
    case "fetchWork":
      return modelFetchWork(state, op, now);
    case "ackWork":
      return modelAckWork(state, op, now);
    case "renewWork":
      return modelRenewWork(state, op, now);
    case "abandonWork":
      return modelAbandonWork(state, op, now);
    case "renewSessions":
      return modelRenewSessions(state, op, now);
    case "cleanupSessions":
      return modelCleanupSessions(state, now);
    default:
      throw new TypeError(`not a provider call: ${op.type}`);
  }
}

/** Remembers a lock the caller received. */
function remember(state: ModelState, op: SimOp, result: SimResult): void {
  if (!("worker" in op)) return;
  const memory = state.memory[op.worker];
  if (!memory) return;
  if (result.kind === "turn") {
    const { handle, instance, executionId } = result.turn;
    memory.turns = [{ handle, instance, executionId }, ...memory.turns].slice(0, MEMORY_DEPTH);
  } else if (result.kind === "activity" && op.type === "fetchWork") {
    const row = state.store.workerQueue.find((w) => w.lock === result.activity.handle)!;
    memory.activities = [{
      handle: result.activity.handle,
      label: row.label,
      activity: {
        instance: row.instance,
        executionId: row.executionId,
        activityId: row.activityId,
      },
    }, ...memory.activities].slice(0, MEMORY_DEPTH);
  }
}

/**
 * Applies one step to the model and returns the predicted outcome.
 *
 * @example A fault after the call: the enqueue happened, the caller saw an error
 * ```ts
 * import { applyModelOp, createModelState } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1"]);
 * const outcome = applyModelOp(model, {
 *   type: "enqueueOrch", worker: "w1", fault: "after", instance: "i1",
 *   kind: "StartOrchestration", label: "m1", delayMs: null,
 * });
 * console.assert(outcome.result.kind === "error" && outcome.database?.kind === "ok");
 * console.assert(model.store.orchestratorQueue.length === 1);
 * ```
 */
export function applyModelOp(state: ModelState, op: SimOp): ModelOutcome {
  switch (op.type) {
    case "advance":
      state.now += op.ms;
      return { result: { kind: "ok" }, database: null };
    case "skew":
      state.skews[op.worker] = op.ms;
      return { result: { kind: "ok" }, database: null };
    case "crash":
      state.memory[op.worker] = { turns: [], activities: [] };
      return { result: { kind: "ok" }, database: null };
  }
  const now = modelNowOf(state, op.worker);
  if (answersWithoutDatabase(op)) return { result: { kind: "none" }, database: null };
  if (op.fault === "before") {
    return { result: { kind: "error", code: "CONNECTION" }, database: null };
  }
  const database = applyCall(state, op, now);
  if (op.fault === "after") return { result: { kind: "error", code: "CONNECTION" }, database };
  remember(state, op, database);
  return { result: database, database };
}
