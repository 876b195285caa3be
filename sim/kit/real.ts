/**
 * Runs a simulation step against the real provider: builds the work items and events the op
 * describes, makes the one provider call through the worker's provider (with the op's fault
 * armed), and reduces what came back to a {@linkcode SimResult}. For a fault after the call, it
 * also reduces what the database returned (hidden from the caller) so it can be checked too.
 *
 * @module
 */

import { decodeEvent, decodeWorkItem } from "../../src/codec.ts";
import { ProviderError } from "../../src/errors.ts";
import { toProviderError } from "../../src/sqlstate.ts";
import type {
  Event,
  FetchedOrchestrationItem,
  FetchedWorkItem,
  WorkItem,
} from "../../src/types.ts";
import type { InjectedFault } from "./faults.ts";
import type { SimHarness } from "./harness.ts";
import { SIM_ORCHESTRATION } from "./model_state.ts";
import { answersWithoutDatabase } from "./model.ts";
import type { SimActivity, SimCallOp, SimOp, SimResult, SimTagFilter } from "./ops.ts";
import { SIM_FILTER_TAG } from "./ops.ts";
import { labelOfWorkItem, type TokenRegistry } from "./snapshot.ts";

/** What a step did to the real system. */
export interface RealOutcome {
  /** What the caller saw. */
  result: SimResult;
  /** What the database did: `null` when the call never reached it (or there was no call). */
  database: SimResult | null;
}

/** Runtime version written into simulated events. */
const SIM_DUROXIDE_VERSION = "0.1.26";

function activityItem(a: SimActivity): WorkItem {
  const item: WorkItem = {
    type: "ActivityExecute",
    instance: a.instance,
    executionId: a.executionId,
    id: a.activityId,
    name: "SimActivity",
    input: a.label,
  };
  if (a.session !== null) item.sessionId = a.session;
  if (a.tag !== null) item.tag = a.tag;
  return item;
}

function labelNumber(label: string): number {
  return Number(label.slice(1));
}

function orchestratorItem(
  kind: string,
  instance: string,
  label: string,
  fireAtMs: number,
): WorkItem {
  switch (kind) {
    case "StartOrchestration":
      return {
        type: "StartOrchestration",
        instance,
        orchestration: SIM_ORCHESTRATION.name,
        input: label,
        version: SIM_ORCHESTRATION.version,
        parentInstance: null,
        parentId: null,
        executionId: 1,
      };
    case "ExternalRaised":
      return { type: "ExternalRaised", instance, name: "sim", data: label };
    case "QueueMessage":
      return { type: "QueueMessage", instance, name: "sim", data: label };
    case "TimerFired":
      return { type: "TimerFired", instance, executionId: 1, id: labelNumber(label), fireAtMs };
    case "CancelInstance":
      return { type: "CancelInstance", instance, reason: label };
    default:
      throw new TypeError(`not an orchestrator message kind: ${kind}`);
  }
}

function tagFilter(filter: SimTagFilter) {
  switch (filter) {
    case "Tags":
      return { type: "Tags" as const, tags: [SIM_FILTER_TAG] };
    case "DefaultAnd":
      return { type: "DefaultAnd" as const, tags: [SIM_FILTER_TAG] };
    default:
      return { type: filter };
  }
}

function errorCode(err: unknown): string {
  if (err instanceof ProviderError) return err.code;
  return `THROWN ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
}

function turnResult(
  fetched: FetchedOrchestrationItem | null,
  tokens: TokenRegistry,
): SimResult {
  if (!fetched) return { kind: "none" };
  return {
    kind: "turn",
    turn: {
      instance: fetched.item.instance,
      handle: tokens.learn(fetched.lockToken, "lock"),
      attempt: fetched.attemptCount,
      executionId: fetched.item.executionId,
      messages: fetched.item.messages.map(labelOfWorkItem),
      history: fetched.item.history.map((e) => e.eventId),
    },
  };
}

function activityResult(fetched: FetchedWorkItem | null, tokens: TokenRegistry): SimResult {
  if (!fetched) return { kind: "none" };
  return {
    kind: "activity",
    activity: {
      label: labelOfWorkItem(fetched.item),
      handle: tokens.learn(fetched.lockToken, "wlock"),
      attempt: fetched.attemptCount,
    },
  };
}

/** Reduces what a provider returned (a fault at the provider boundary hid it). */
function providerResult(op: SimCallOp, value: unknown, tokens: TokenRegistry): SimResult {
  switch (op.type) {
    case "fetchOrch":
      return turnResult(value as FetchedOrchestrationItem | null, tokens);
    case "fetchWork":
      return activityResult(value as FetchedWorkItem | null, tokens);
    case "renewSessions":
    case "cleanupSessions":
      return { kind: "count", count: Number(value ?? 0) };
    default:
      return { kind: "ok" };
  }
}

/** Reduces what the database returned to a call whose result the caller never saw. */
function hiddenResult(op: SimCallOp, fault: InjectedFault, tokens: TokenRegistry): SimResult {
  if (fault.error !== null) {
    return { kind: "error", code: toProviderError(op.type, fault.error).code };
  }
  const row = fault.rows?.[0] as { r?: unknown; providerValue?: unknown } | undefined;
  if (row && "providerValue" in row) return providerResult(op, row.providerValue, tokens);
  const returned = row?.r ?? null;
  // A single fetch may be served by the batch procedure (an array of at most one item).
  const r = (op.type === "fetchOrch" || op.type === "fetchWork") && Array.isArray(returned)
    ? returned[0] ?? null
    : returned;
  switch (op.type) {
    case "fetchOrch": {
      if (r === null) return { kind: "none" };
      const row = r as {
        instance_id: string;
        lock_token: string;
        attempt_count: number;
        execution_id: number | null;
        messages: string[];
        history: string[];
      };
      return {
        kind: "turn",
        turn: {
          instance: row.instance_id,
          handle: tokens.learn(row.lock_token, "lock"),
          attempt: row.attempt_count,
          executionId: row.execution_id ?? 1,
          messages: row.messages.map((m) => labelOfWorkItem(decodeWorkItem(m))),
          history: row.history.map((h) => decodeEvent(h).eventId),
        },
      };
    }
    case "fetchWork": {
      if (r === null) return { kind: "none" };
      const row = r as { work_item: string; lock_token: string; attempt_count: number };
      return {
        kind: "activity",
        activity: {
          label: labelOfWorkItem(decodeWorkItem(row.work_item)),
          handle: tokens.learn(row.lock_token, "wlock"),
          attempt: row.attempt_count,
        },
      };
    }
    case "renewSessions":
    case "cleanupSessions":
      return { kind: "count", count: Number(r ?? 0) };
    default:
      return { kind: "ok" };
  }
}

function historyEvents(op: Extract<SimOp, { type: "ackOrch" }>, now: number): Event[] {
  return op.events.map((e) => {
    const common = {
      eventId: e.eventId,
      sourceEventId: null,
      instanceId: op.instance,
      executionId: op.executionId,
      timestampMs: now,
      duroxideVersion: SIM_DUROXIDE_VERSION,
    };
    return e.kind === "CustomStatusUpdated"
      ? { ...common, type: "CustomStatusUpdated", status: e.label }
      : { ...common, type: "ExternalEvent", name: "sim", data: e.label };
  });
}

async function call(h: SimHarness, op: SimCallOp, tokens: TokenRegistry): Promise<SimResult> {
  const p = h.provider(op.worker);
  const now = h.clock.nowOf(op.worker);
  switch (op.type) {
    case "enqueueOrch":
      await p.enqueueForOrchestrator(
        orchestratorItem(op.kind, op.instance, op.label, now + (op.delayMs ?? 0)),
        op.delayMs,
      );
      return { kind: "ok" };
    case "enqueueWork":
      await p.enqueueForWorker(activityItem(op.activity));
      return { kind: "ok" };
    case "fetchOrch":
      return turnResult(await p.fetchOrchestrationItem(op.lockMs, 0), tokens);
    case "ackOrch":
      await p.ackOrchestrationItem(
        tokens.tokenOf(op.handle),
        op.executionId,
        historyEvents(op, now),
        op.activities.map(activityItem),
        op.messages.map((m) => orchestratorItem(m.kind, m.instance, m.label, m.fireAtMs ?? now)),
        op.metadata
          ? {
            orchestrationName: SIM_ORCHESTRATION.name,
            orchestrationVersion: SIM_ORCHESTRATION.version,
            status: op.status,
          }
          : { status: op.status },
        op.cancel,
      );
      return { kind: "ok" };
    case "abandonOrch":
      await p.abandonOrchestrationItem(tokens.tokenOf(op.handle), op.delayMs, op.ignoreAttempt);
      return { kind: "ok" };
    case "renewOrch":
      await p.renewOrchestrationItemLock(tokens.tokenOf(op.handle), op.extendMs);
      return { kind: "ok" };
    case "fetchWork":
      return activityResult(
        await p.fetchWorkItem(
          op.lockMs,
          0,
          op.session ? { ownerId: op.worker, lockTimeoutMs: op.sessionLockMs } : null,
          tagFilter(op.tagFilter),
        ),
        tokens,
      );
    case "ackWork":
      await p.ackWorkItem(
        tokens.tokenOf(op.handle),
        op.completion
          ? {
            type: "ActivityCompleted",
            instance: op.completion.activity.instance,
            executionId: op.completion.activity.executionId,
            id: op.completion.activity.activityId,
            result: op.completion.label,
          }
          : null,
      );
      return { kind: "ok" };
    case "renewWork":
      await p.renewWorkItemLock(tokens.tokenOf(op.handle), op.extendMs);
      return { kind: "ok" };
    case "abandonWork":
      await p.abandonWorkItem(tokens.tokenOf(op.handle), op.delayMs, op.ignoreAttempt);
      return { kind: "ok" };
    case "renewSessions":
      return {
        kind: "count",
        count: await p.renewSessionLock([op.worker], op.extendMs, op.idleMs),
      };
    case "cleanupSessions":
      return { kind: "count", count: await p.cleanupOrphanedSessions(0) };
  }
}

/**
 * Performs `op` on the real system.
 *
 * @example
 * ```ts ignore
 * const outcome = await applyRealOp(harness, tokens, { type: "fetchOrch", worker: "w1", fault: null, lockMs: 1_000 });
 * ```
 */
export async function applyRealOp(
  h: SimHarness,
  tokens: TokenRegistry,
  op: SimOp,
): Promise<RealOutcome> {
  switch (op.type) {
    case "advance":
      h.clock.advance(op.ms);
      return { result: { kind: "ok" }, database: null };
    case "skew":
      h.clock.setSkew(op.worker, op.ms);
      return { result: { kind: "ok" }, database: null };
    case "crash":
      return { result: { kind: "ok" }, database: null };
  }
  h.faults.arm(op.fault);
  let result: SimResult;
  try {
    result = await call(h, op, tokens);
  } catch (err) {
    result = { kind: "error", code: errorCode(err) };
  }
  const fault = h.faults.take();
  if (fault === null) {
    return { result, database: answersWithoutDatabase(op) ? null : result };
  }
  if (fault.point === "before") return { result, database: null };
  return { result, database: hiddenResult(op, fault, tokens) };
}
