/**
 * The orchestration role of a simulated node, mirroring `src/runtime/orchestration_dispatcher.ts`
 * step for step: fetch a turn, refuse an execution pinned to a newer Duroxide, plan the turn
 * with the runtime's own `planTurn` (the fenced replay engine), add the parent's completion for
 * a finished sub-orchestration, ack (retrying retryable failures up to 5 times), fall back to
 * an infrastructure-failure ack when the ack fails for good, and abandon when all else fails;
 * the instance lock is renewed while the turn waits. Each provider call is one scheduler step.
 *
 * Reimplemented here because the dispatcher's pieces are private and its loop runs on real
 * timers: `ackWithRetry`, `parentMessage`, `recordOutcome` and the version check.
 *
 * @module
 */

import { ProviderError } from "../../src/errors.ts";
import type { FetchedOrchestrationItem, WorkItem } from "../../src/types.ts";
import {
  type AckArgs,
  infrastructureFailureAck,
  type ParentNotice,
  planTurn,
} from "../../src/runtime/turn_plan.ts";
import {
  compareSemVer,
  DUROXIDE_SEMVER,
  parseSemVer,
  runtimeCapabilityFilter,
} from "../../src/runtime/version.ts";
import { plannerCore, type SimNodeState } from "./node_state.ts";
import type { SimActor, SimRenewal } from "./scheduler.ts";

function isRetryable(err: unknown): boolean {
  return err instanceof ProviderError ? err.retryable : true;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function codeOf(err: unknown): string {
  return err instanceof ProviderError ? err.code : errMessage(err);
}

function describeTurn(fetched: FetchedOrchestrationItem | null): string {
  if (!fetched) return "none";
  const { item, attemptCount } = fetched;
  return `${item.instance}#${item.executionId} [${
    item.messages.map((m) => m.type).join(" ")
  }] attempt ${attemptCount}`;
}

/**
 * Runs one orchestration slot of a node until the node crashes (forever otherwise).
 *
 * @example
 * ```ts ignore
 * scheduler.spawn("n1", "n1.1/orch0", (actor) => orchestrationSlot(actor, node));
 * ```
 */
export async function orchestrationSlot(actor: SimActor, node: SimNodeState): Promise<void> {
  const { provider, options } = node;
  const filter = runtimeCapabilityFilter();
  let idle = false;
  for (;;) {
    let fetched: FetchedOrchestrationItem | null;
    try {
      fetched = await actor.call(
        "fetchOrchestrationItem",
        () => provider.fetchOrchestrationItem(options.orchestratorLockMs, 0, filter),
        { faultable: true, idle, quiet: (r) => r === null, describe: describeTurn },
      );
    } catch {
      // The dispatcher backs off and fetches again; the scheduler decides when.
      idle = false;
      continue;
    }
    idle = fetched === null;
    if (fetched) await processItem(actor, node, fetched);
  }
}

async function processItem(
  actor: SimActor,
  node: SimNodeState,
  fetched: FetchedOrchestrationItem,
): Promise<void> {
  const { provider, options } = node;
  const { item, lockToken } = fetched;
  const started = item.history[0];
  if (started?.type === "OrchestrationStarted") {
    const pinned = parseSemVer(started.duroxideVersion);
    if (pinned && compareSemVer(pinned, DUROXIDE_SEMVER) > 0) {
      await actor.call(
        "abandonOrchestrationItem(newer version)",
        () => provider.abandonOrchestrationItem(lockToken, 1_000, false),
        { faultable: true },
      ).catch(() => {});
      return;
    }
  }
  // The renewal timer: renews until a renewal fails, then stops (the turn carries on).
  let renewing = true;
  const renewal: SimRenewal = {
    label: "renewOrchestrationItemLock",
    active: () => renewing,
    async run() {
      try {
        await provider.renewOrchestrationItemLock(lockToken, options.orchestratorLockMs);
        return "ok";
      } catch (err) {
        renewing = false;
        return codeOf(err);
      }
    },
  };
  try {
    await runPlan(actor, node, fetched, renewal);
  } catch {
    await actor.call(
      "abandonOrchestrationItem(turn failed)",
      () => provider.abandonOrchestrationItem(lockToken, 1_000, false),
      { faultable: true },
    ).catch(() => {});
  } finally {
    renewing = false;
  }
}

async function runPlan(
  actor: SimActor,
  node: SimNodeState,
  fetched: FetchedOrchestrationItem,
  renewal: SimRenewal,
): Promise<void> {
  const { provider } = node;
  const { item, lockToken, attemptCount } = fetched;
  const plan = planTurn(plannerCore(node), item, attemptCount);
  if (plan.kind === "abandon") {
    await actor.call(
      "abandonOrchestrationItem(plan)",
      () => provider.abandonOrchestrationItem(lockToken, plan.delayMs, false),
      { faultable: true, renewal },
    );
    return;
  }
  const ack = plan.ack;
  if (plan.notifyParent) {
    ack.orchestratorItems = [
      ...ack.orchestratorItems,
      await parentMessage(actor, node, item.instance, plan.notifyParent, renewal),
    ];
  }
  const acked = await ackWithRetry(actor, node, lockToken, ack, renewal);
  if (acked === true) {
    recordOutcome(node, ack);
    return;
  }
  if (acked === "retryable") {
    await actor.call(
      "abandonOrchestrationItem(retries exhausted)",
      () => provider.abandonOrchestrationItem(lockToken, 50, false),
      { faultable: true },
    ).catch(() => {});
    return;
  }
  const fallback = infrastructureFailureAck(
    item,
    ack,
    plan.baseHistory,
    node.options.clock(),
    "ack_orchestration_item",
    errMessage(acked.error),
  );
  if (plan.notifyParent) {
    fallback.orchestratorItems = [
      await parentMessage(actor, node, item.instance, {
        ...plan.notifyParent,
        result: {
          details: {
            type: "Infrastructure",
            operation: "ack_orchestration_item",
            message: errMessage(acked.error),
            retryable: false,
          },
        },
      }, renewal),
    ];
  }
  try {
    await actor.call(
      "ackOrchestrationItem(infrastructure failure)",
      () => ackTurn(node, lockToken, fallback),
      { faultable: true, renewal },
    );
    recordOutcome(node, fallback);
  } catch {
    await actor.call(
      "abandonOrchestrationItem(fallback failed)",
      () => provider.abandonOrchestrationItem(lockToken, 50, false),
      { faultable: true },
    ).catch(() => {});
  }
}

function ackTurn(node: SimNodeState, lockToken: string, ack: AckArgs): Promise<void> {
  return node.provider.ackOrchestrationItem(
    lockToken,
    ack.executionId,
    ack.delta,
    ack.workerItems,
    ack.orchestratorItems,
    ack.metadata,
    ack.cancelledActivities,
  );
}

/** Acks, retrying retryable failures 5 times; `true`, `"retryable"` (exhausted) or the error. */
async function ackWithRetry(
  actor: SimActor,
  node: SimNodeState,
  lockToken: string,
  ack: AckArgs,
  renewal: SimRenewal,
): Promise<true | "retryable" | { error: unknown }> {
  const status = ack.metadata.status ? ` ${ack.metadata.status}` : "";
  for (let k = 0;; k++) {
    try {
      await actor.call(
        `ackOrchestrationItem(exec ${ack.executionId}, ${ack.delta.length} events${status})`,
        () => ackTurn(node, lockToken, ack),
        { faultable: true, renewal },
      );
      return true;
    } catch (err) {
      if (!isRetryable(err)) return { error: err };
      if (k >= 5) return "retryable";
    }
  }
}

function recordOutcome(node: SimNodeState, ack: AckArgs): void {
  for (const w of ack.orchestratorItems) {
    if (w.type === "StartOrchestration" && w.parentInstance !== null) {
      if (node.childParents.size > 10_000) node.childParents.clear();
      node.childParents.set(w.instance, ack.executionId);
    }
  }
}

/**
 * The completion message for a parent. The parent's execution comes from this incarnation's
 * memory, else from the parent's history (its `SubOrchestrationScheduled` event), else 1.
 */
async function parentMessage(
  actor: SimActor,
  node: SimNodeState,
  child: string,
  n: ParentNotice,
  renewal: SimRenewal,
): Promise<WorkItem> {
  let parentExecutionId = node.childParents.get(child);
  if (parentExecutionId === undefined) {
    try {
      const history = await actor.call(
        `read(${n.parentInstance})`,
        () => node.provider.read(n.parentInstance),
        { faultable: true, renewal, quiet: () => true, describe: (h) => `${h.length} events` },
      );
      const scheduled = history.find((e) =>
        e.eventId === n.parentId && e.type === "SubOrchestrationScheduled" &&
        (e.instance === child || child.endsWith(`::${e.instance}`))
      );
      parentExecutionId = scheduled?.executionId;
    } catch {
      // fall back to 1, as Duroxide does
    }
  }
  node.childParents.delete(child);
  const base = {
    parentInstance: n.parentInstance,
    parentExecutionId: parentExecutionId ?? 1,
    parentId: n.parentId,
  };
  return "output" in n.result
    ? { type: "SubOrchCompleted", ...base, result: n.result.output }
    : { type: "SubOrchFailed", ...base, details: n.result.details };
}
