/**
 * "Sometimes" assertions: counters of the interesting situations the simulation reached (each
 * step's kind and outcome, faults, takeovers of lapsed leases, cancellations of held
 * activities…). A property that passes proves little if the paths it guards were never taken,
 * so the tests assert that every entry of {@linkcode SIM_SOMETIMES} was reached at least once.
 *
 * @module
 */

import type { InvariantLedger } from "./invariants.ts";
import type { StoreView } from "./model_state.ts";
import { isCallOp, type SimOp, type SimResult } from "./ops.ts";

/** Situations a healthy default simulation must reach at least once. */
export const SIM_SOMETIMES: readonly string[] = [
  "fetchOrch -> turn",
  "fetchOrch -> none",
  "ackOrch -> ok",
  "ackOrch -> LOCK_EXPIRED",
  "ackOrch -> INVALID_LOCK_TOKEN",
  "ackOrch -> DUPLICATE_EVENT",
  "abandonOrch -> ok",
  "renewOrch -> ok",
  "renewOrch -> LOCK_EXPIRED",
  "fetchWork -> activity",
  "ackWork -> ok",
  "ackWork -> LOCK_EXPIRED",
  "ackWork -> INVALID_LOCK_TOKEN",
  "renewWork -> ok",
  "abandonWork -> ok",
  "renewSessions -> count",
  "fault before",
  "fault after",
  "orchestration lock taken over after its lease lapsed",
  "activity lease taken over after it lapsed",
  "held activity cancelled",
  "cancelled activity's holder refused",
  "session taken over",
  "queue messages of a not-started instance dropped",
  "call with a skewed clock",
];

function outcome(result: SimResult): string {
  return result.kind === "error" ? result.code : result.kind;
}

/**
 * The situations one step reached.
 *
 * @example
 * ```ts
 * import { createInvariantLedger, emptyStore, stepCoverage } from "@duroxide/pg/sim";
 *
 * const keys = stepCoverage(
 *   { type: "fetchOrch", worker: "w1", fault: "after", lockMs: 1_000 },
 *   0, { kind: "error", code: "CONNECTION" }, { kind: "none" }, emptyStore(), emptyStore(),
 *   createInvariantLedger(),
 * );
 * console.assert(keys.includes("fault after") && keys.includes("fetchOrch -> none"));
 * ```
 */
export function stepCoverage(
  op: SimOp,
  skew: number,
  result: SimResult,
  database: SimResult | null,
  before: StoreView,
  after: StoreView,
  ledger: InvariantLedger,
): string[] {
  if (!isCallOp(op)) return [op.type];
  const keys: string[] = [];
  if (op.fault) keys.push(`fault ${op.fault}`);
  if (skew !== 0) keys.push("call with a skewed clock");
  if (database) keys.push(`${op.type} -> ${outcome(database)}`);
  else keys.push(`${op.type} -> ${outcome(result)} (no call)`);
  if (database?.kind === "turn") {
    const lock = before.instanceLocks.find((l) => l.instance === database.turn.instance);
    if (lock) keys.push("orchestration lock taken over after its lease lapsed");
  }
  if (database?.kind === "activity") {
    const row = before.workerQueue.find((w) => w.label === database.activity.label);
    if (row?.lock) keys.push("activity lease taken over after it lapsed");
  }
  if (op.type === "fetchWork" && database?.kind === "activity" && op.session) {
    const taken = before.sessions.some((s) =>
      s.owner !== op.worker &&
      after.sessions.some((t) => t.session === s.session && t.owner === op.worker)
    );
    if (taken) keys.push("session taken over");
  }
  if (op.type === "ackOrch" && database?.kind === "ok") {
    const held = before.workerQueue.some((w) =>
      w.lock !== null &&
      op.cancel.some((c) =>
        c.instance === w.instance && c.executionId === w.executionId &&
        c.activityId === w.activityId
      )
    );
    if (held) keys.push("held activity cancelled");
  }
  if (
    (op.type === "ackWork" || op.type === "renewWork" || op.type === "abandonWork") &&
    ledger.cancelled.has(op.handle) && database?.kind === "error"
  ) {
    keys.push("cancelled activity's holder refused");
  }
  if (
    op.type === "fetchOrch" &&
    before.orchestratorQueue.some((m) =>
      m.kind === "QueueMessage" && !after.orchestratorQueue.some((x) => x.label === m.label)
    )
  ) {
    keys.push("queue messages of a not-started instance dropped");
  }
  return keys;
}

/**
 * The entries of {@linkcode SIM_SOMETIMES} that `coverage` never reached.
 *
 * @example
 * ```ts
 * import { missingCoverage, SIM_SOMETIMES } from "@duroxide/pg/sim";
 *
 * console.assert(missingCoverage({}).length === SIM_SOMETIMES.length);
 * ```
 */
export function missingCoverage(coverage: Readonly<Record<string, number>>): string[] {
  return SIM_SOMETIMES.filter((key) => !coverage[key]);
}
