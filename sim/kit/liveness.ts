/**
 * Liveness, checked separately from safety: once faults stop (skews cleared) and the clock has
 * run past every lease, timer and delay, a fault-free worker must be able to drain all work.
 * What may remain is only what the contract leaves queued on purpose: messages of instances
 * that never started.
 *
 * @module
 */

import { DRAIN_WORKER } from "./harness.ts";
import { instanceStarted, type StoreView } from "./model_state.ts";
import { runStep, type SimContext, SimulationFailure } from "./step.ts";

/**
 * The latest time anything in `view` waits for (a visibility, lease or session end).
 *
 * @example
 * ```ts
 * import { emptyStore, latestDeadline } from "@duroxide/pg/sim";
 *
 * const view = emptyStore();
 * view.instanceLocks.push({ instance: "i1", lock: "lock#1", lockedUntil: 4_000 });
 * console.assert(latestDeadline(view) === 4_000);
 * ```
 */
export function latestDeadline(view: StoreView): number {
  return Math.max(
    Number.NEGATIVE_INFINITY,
    ...view.orchestratorQueue.map((m) => m.visibleAt),
    ...view.workerQueue.map((w) => Math.max(w.visibleAt, w.lockedUntil ?? 0)),
    ...view.instanceLocks.map((l) => l.lockedUntil),
    ...view.sessions.map((s) => s.lockedUntil),
  );
}

/**
 * Stops the faults, moves the clock past every deadline and drains all work with the drain
 * worker (each step still checked against the model and the invariants), then asserts that
 * nothing but messages of never-started instances is left.
 *
 * @throws {SimulationFailure} when work is stuck.
 *
 * @example
 * ```ts ignore
 * await checkLiveness(ctx);
 * ```
 */
export async function checkLiveness(ctx: SimContext): Promise<void> {
  for (const [worker, skew] of Object.entries(ctx.model.skews)) {
    if (skew !== 0) await runStep(ctx, { type: "skew", worker, ms: 0 });
  }
  const deadline = latestDeadline(ctx.view);
  if (deadline >= ctx.model.now) {
    await runStep(ctx, { type: "advance", ms: deadline - ctx.model.now + 1 });
  }
  const worker = DRAIN_WORKER;
  const problems: string[] = [];
  const orchestrationBudget = ctx.view.orchestratorQueue.length + 2;
  for (let i = 0;; i++) {
    if (i > orchestrationBudget) {
      problems.push(`orchestrations still fetchable after ${i} drain turns (livelock)`);
      break;
    }
    const r = await runStep(ctx, { type: "fetchOrch", worker, fault: null, lockMs: 60_000 });
    if (r.kind !== "turn") break;
    await runStep(ctx, {
      type: "ackOrch",
      worker,
      fault: null,
      handle: r.turn.handle,
      instance: r.turn.instance,
      executionId: r.turn.executionId,
      events: [],
      metadata: false,
      status: null,
      activities: [],
      messages: [],
      cancel: [],
    });
  }
  const activityBudget = ctx.view.workerQueue.length + 2;
  for (let i = 0;; i++) {
    if (i > activityBudget) {
      problems.push(`activities still fetchable after ${i} drain fetches (livelock)`);
      break;
    }
    const r = await runStep(ctx, {
      type: "fetchWork",
      worker,
      fault: null,
      lockMs: 60_000,
      session: true,
      sessionLockMs: 60_000,
      tagFilter: "Any",
    });
    if (r.kind !== "activity") break;
    await runStep(ctx, {
      type: "ackWork",
      worker,
      fault: null,
      handle: r.activity.handle,
      completion: null,
    });
  }
  const now = ctx.model.now;
  const view = ctx.view;
  const stuck = view.orchestratorQueue.filter((m) => instanceStarted(view, m.instance, now));
  if (stuck.length) {
    problems.push(
      `orchestrator messages left behind: ${
        stuck.map((m) => `${m.label}(${m.instance})`).join(" ")
      }`,
    );
  }
  if (view.workerQueue.length) {
    problems.push(`activities left behind: ${view.workerQueue.map((w) => w.label).join(" ")}`);
  }
  const live = view.instanceLocks.filter((l) => l.lockedUntil > now);
  if (live.length) {
    problems.push(`instance locks still live: ${live.map((l) => l.instance).join(" ")}`);
  }
  if (problems.length) {
    throw new SimulationFailure("liveness: drain after faults stopped", problems);
  }
}
