/**
 * The orchestration dispatcher: one fetch loop that locks up to `orchestrationConcurrency`
 * instances' turns per call (long polling), runs each turn with its instance lock renewed, and
 * acks it, group-committed with the acks that finish meanwhile (Duroxide §6.2).
 *
 * @module
 */

import type { OrchestrationItemAck } from "../batch_api.ts";
import { ProviderError } from "../errors.ts";
import type { FetchedOrchestrationItem, WorkItem } from "../types.ts";
import type { RuntimeCore } from "./core.ts";
import { renewalIntervalMs } from "./options.ts";
import { fetchLoop } from "./fetch_loop.ts";
import { infrastructureFailureAck, type ParentNotice, planTurn } from "./turn_plan.ts";
import { delay, every } from "./timing.ts";
import { compareSemVer, DUROXIDE_SEMVER, parseSemVer, runtimeCapabilityFilter } from "./version.ts";
import type { AckArgs } from "./turn_plan.ts";

function isRetryable(err: unknown): boolean {
  return err instanceof ProviderError ? err.retryable : true;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs the orchestration dispatcher until the runtime stops: one fetch loop that locks up to
 * as many turns as there are free slots in one call (long polling when there are none), and
 * runs each turn concurrently.
 *
 * @example
 * ```ts ignore
 * const loop = orchestrationDispatcher(core, track);
 * ```
 */
export function orchestrationDispatcher(
  core: RuntimeCore,
  track: (work: Promise<void>) => Promise<void>,
): Promise<void> {
  const { provider, options } = core;
  const filter = runtimeCapabilityFilter();
  return fetchLoop(core, track, {
    capacity: options.orchestrationConcurrency,
    operation: "fetch_orchestration_item",
    fetch: (maxItems) =>
      core.calls.fetchTurns(
        options.orchestratorLockMs,
        options.longPollTimeoutMs,
        maxItems,
        filter,
        core.stopping,
      ),
    release: (turn) => provider.abandonOrchestrationItem(turn.lockToken, null, true),
    run: (turn) => processItem(core, turn),
  });
}

/** Processes one fetched item with lock renewal; never throws. */
async function processItem(core: RuntimeCore, fetched: FetchedOrchestrationItem): Promise<void> {
  const { provider, options } = core;
  const { item, lockToken } = fetched;
  const started = item.history[0];
  if (started?.type === "OrchestrationStarted") {
    const pinned = parseSemVer(started.duroxideVersion);
    if (pinned && compareSemVer(pinned, DUROXIDE_SEMVER) > 0) {
      await provider.abandonOrchestrationItem(lockToken, 1_000, false).catch(() => {});
      return;
    }
  }
  const renewal = every(renewalIntervalMs(options.orchestratorLockMs, 2_000), async () => {
    await provider.renewOrchestrationItemLock(lockToken, options.orchestratorLockMs);
    return true;
  });
  try {
    await runPlan(core, fetched);
  } catch (err) {
    core.log({
      level: "error",
      message: `turn of ${item.instance} failed unexpectedly: ${errMessage(err)}`,
      source: "runtime",
      instanceId: item.instance,
    });
    await provider.abandonOrchestrationItem(lockToken, 1_000, false).catch(() => {});
  } finally {
    renewal.stop();
  }
}

async function runPlan(core: RuntimeCore, fetched: FetchedOrchestrationItem): Promise<void> {
  const { provider } = core;
  const { item, lockToken, attemptCount } = fetched;
  const plan = planTurn(core, item, attemptCount);
  if (plan.kind === "abandon") {
    core.log({
      level: "debug",
      message: plan.reason,
      source: "runtime",
      instanceId: item.instance,
    });
    await provider.abandonOrchestrationItem(lockToken, plan.delayMs, false);
    return;
  }
  if (plan.poison) core.metrics.poisonMessages++;
  const ack = plan.ack;
  if (plan.notifyParent) {
    ack.orchestratorItems = [
      ...ack.orchestratorItems,
      await parentMessage(core, item.instance, plan.notifyParent),
    ];
  }
  const acked = await ackWithRetry(core, lockToken, ack);
  if (acked === true) {
    recordOutcome(core, ack);
    return;
  }
  if (acked === "retryable") {
    await provider.abandonOrchestrationItem(lockToken, 50, false).catch(() => {});
    return;
  }
  const fallback = infrastructureFailureAck(
    item,
    ack,
    plan.baseHistory,
    core.options.clock(),
    "ack_orchestration_item",
    errMessage(acked.error),
  );
  if (plan.notifyParent) {
    fallback.orchestratorItems = [
      await parentMessage(core, item.instance, {
        ...plan.notifyParent,
        result: {
          details: {
            type: "Infrastructure",
            operation: "ack_orchestration_item",
            message: errMessage(acked.error),
            retryable: false,
          },
        },
      }),
    ];
  }
  try {
    await core.calls.ackTurn(turnAck(lockToken, fallback));
    recordOutcome(core, fallback);
  } catch {
    await provider.abandonOrchestrationItem(lockToken, 50, false).catch(() => {});
  }
}

/** Acks, retrying retryable failures 5 times; `true`, `"retryable"` (exhausted) or the error. */
async function ackWithRetry(
  core: RuntimeCore,
  lockToken: string,
  ack: AckArgs,
): Promise<true | "retryable" | { error: unknown }> {
  for (let k = 0;; k++) {
    try {
      await core.calls.ackTurn(turnAck(lockToken, ack));
      return true;
    } catch (err) {
      core.metrics.providerErrors++;
      core.log({
        level: "warn",
        message: `ack_orchestration_item failed: ${errMessage(err)}`,
        source: "runtime",
      });
      if (!isRetryable(err)) return { error: err };
      if (k >= 5) return "retryable";
      await delay(10 * 2 ** k);
    }
  }
}

function turnAck(lockToken: string, ack: AckArgs): OrchestrationItemAck {
  return {
    lockToken,
    executionId: ack.executionId,
    historyDelta: ack.delta,
    workerItems: ack.workerItems,
    orchestratorItems: ack.orchestratorItems,
    metadata: ack.metadata,
    cancelledActivities: ack.cancelledActivities,
  };
}

function recordOutcome(core: RuntimeCore, ack: AckArgs): void {
  core.metrics.orchestrationTurns++;
  const status = ack.metadata.status;
  if (status === "Completed") core.metrics.orchestrationsCompleted++;
  if (status === "Failed") core.metrics.orchestrationsFailed++;
  if (status === "ContinuedAsNew") core.metrics.orchestrationsContinuedAsNew++;
  for (const w of ack.orchestratorItems) {
    if (w.type === "StartOrchestration" && w.parentInstance !== null) {
      if (core.childParents.size > 10_000) core.childParents.clear();
      core.childParents.set(w.instance, ack.executionId);
    }
  }
}

/**
 * The completion message for a parent. The parent's execution comes from this runtime's
 * memory, else from the parent's history (its `SubOrchestrationScheduled` event), else 1.
 */
async function parentMessage(
  core: RuntimeCore,
  child: string,
  n: ParentNotice,
): Promise<WorkItem> {
  let parentExecutionId = core.childParents.get(child);
  if (parentExecutionId === undefined) {
    try {
      const history = await core.provider.read(n.parentInstance);
      const scheduled = history.find((e) =>
        e.eventId === n.parentId && e.type === "SubOrchestrationScheduled" &&
        (e.instance === child || child.endsWith(`::${e.instance}`))
      );
      parentExecutionId = scheduled?.executionId;
    } catch {
      // fall back to 1, as Duroxide does
    }
  }
  core.childParents.delete(child);
  const base = {
    parentInstance: n.parentInstance,
    parentExecutionId: parentExecutionId ?? 1,
    parentId: n.parentId,
  };
  return "output" in n.result
    ? { type: "SubOrchCompleted", ...base, result: n.result.output }
    : { type: "SubOrchFailed", ...base, details: n.result.details };
}
