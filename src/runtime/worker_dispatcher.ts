/**
 * The worker dispatcher: one fetch loop that locks up to `workerConcurrency` activities per
 * call (long polling, sessions and tags), runs each with its lock renewed, and acks its result,
 * group-committed with the acks that finish meanwhile (Duroxide §6.3). A failed renewal
 * means the activity was cancelled (its row was deleted): the handler is told and its result
 * dropped.
 *
 * @module
 */

import { ProviderError } from "../errors.ts";
import type { FetchedWorkItem, SessionFetchConfig, WorkItem } from "../types.ts";
import { ActivityContext } from "./activity_context.ts";
import type { RuntimeCore } from "./core.ts";
import { renewalIntervalMs } from "./options.ts";
import { fetchLoop } from "./fetch_loop.ts";
import { errorText } from "./replay/error_details.ts";
import { decodePayload, encodePayload } from "./replay/payload.ts";
import { isSystemActivity } from "./replay/system_activities.ts";
import { systemHandler } from "./system_handlers.ts";
import { delay, every } from "./timing.ts";

type ActivityItem = Extract<WorkItem, { type: "ActivityExecute" }>;

/**
 * The worker identity of this runtime: the session owner of its activities and the
 * `workerId` its activities see. `workerNodeId` when set (stable across restarts), else one
 * per runtime.
 *
 * @example
 * ```ts ignore
 * const owner = workerIdOf(core); // "work-3f2a9c1e"
 * ```
 */
export function workerIdOf(core: RuntimeCore): string {
  return core.options.workerNodeId ?? `work-${core.runtimeId}`;
}

/**
 * Runs the worker dispatcher until the runtime stops: one fetch loop that locks up to as many
 * activities as there are free slots in one call (long polling when there are none), and runs
 * each concurrently.
 *
 * @example
 * ```ts ignore
 * const loop = workerDispatcher(core, track);
 * ```
 */
export function workerDispatcher(
  core: RuntimeCore,
  track: (work: Promise<void>) => Promise<void>,
): Promise<void> {
  const { provider, options } = core;
  const workerId = workerIdOf(core);
  return fetchLoop(core, track, {
    capacity: options.workerConcurrency,
    operation: "fetch_work_item",
    fetch: (maxItems) => {
      const atCap = core.sessions.size >= options.maxSessions;
      const session: SessionFetchConfig | null = atCap
        ? null
        : { ownerId: workerId, lockTimeoutMs: options.sessionLockMs };
      return core.calls.fetchActivities(
        options.workerLockMs,
        options.longPollTimeoutMs,
        maxItems,
        session,
        options.tagFilter,
        core.stopping,
      );
    },
    release: (item) => provider.abandonWorkItem(item.lockToken, null, true),
    run: (item) => executeWorkItem(core, item, workerId),
  });
}

function unregisteredDelay(core: RuntimeCore, attempt: number): number {
  const { unregisteredBaseMs, unregisteredMaxMs } = core.options;
  return Math.min(
    unregisteredBaseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 6),
    unregisteredMaxMs,
  );
}

/** Runs one fetched activity to its ack; never throws. */
async function executeWorkItem(
  core: RuntimeCore,
  fetched: FetchedWorkItem,
  workerId: string,
): Promise<void> {
  const { provider } = core;
  const { item, lockToken, attemptCount } = fetched;
  if (item.type !== "ActivityExecute") {
    core.log({ level: "error", message: `worker queue held a ${item.type}`, source: "runtime" });
    await provider.abandonWorkItem(lockToken, 1_000, false).catch(() => {});
    return;
  }
  const sessionId = item.sessionId ?? null;
  if (sessionId !== null && !core.sessions.has(sessionId)) {
    if (core.sessions.size >= core.options.maxSessions) {
      await provider.abandonWorkItem(lockToken, 100, true).catch(() => {});
      return;
    }
  }
  if (sessionId !== null) core.sessions.set(sessionId, (core.sessions.get(sessionId) ?? 0) + 1);
  try {
    await runActivity(core, item, lockToken, attemptCount, workerId);
  } catch (err) {
    core.log({
      level: "error",
      message: `activity ${item.name} failed unexpectedly: ${errorText(err)}`,
      source: "runtime",
      instanceId: item.instance,
    });
  } finally {
    if (sessionId !== null) {
      const n = (core.sessions.get(sessionId) ?? 1) - 1;
      if (n <= 0) core.sessions.delete(sessionId);
      else core.sessions.set(sessionId, n);
    }
  }
}

async function runActivity(
  core: RuntimeCore,
  item: ActivityItem,
  lockToken: string,
  attempt: number,
  workerId: string,
): Promise<void> {
  const { provider, options } = core;
  const base = { instance: item.instance, executionId: item.executionId, id: item.id };
  if (attempt > options.maxAttempts) {
    core.metrics.poisonMessages++;
    core.metrics.activitiesFailed++;
    await ackOrAbandon(core, lockToken, {
      type: "ActivityFailed",
      ...base,
      details: {
        type: "Poison",
        attemptCount: attempt,
        maxAttempts: options.maxAttempts,
        messageType: {
          type: "Activity",
          instance: item.instance,
          executionId: item.executionId,
          activityName: item.name,
          activityId: item.id,
        },
        message: JSON.stringify(item),
      },
    });
    return;
  }
  const system = systemHandler(item.name);
  const user = isSystemActivity(item.name) ? undefined : core.registry.activity(item.name);
  if (!system && !user) {
    core.log({
      level: "debug",
      message: `activity ${item.name} is not registered`,
      source: "runtime",
      instanceId: item.instance,
    });
    await provider.abandonWorkItem(lockToken, unregisteredDelay(core, attempt), false);
    return;
  }
  const ctx = new ActivityContext(
    {
      instanceId: item.instance,
      executionId: item.executionId,
      activityName: item.name,
      activityId: item.id,
      workerId,
      sessionId: item.sessionId ?? null,
      tag: item.tag ?? null,
    },
    core.log,
    provider,
  );
  const renewal = every(renewalIntervalMs(options.workerLockMs, 5_000), async () => {
    try {
      await provider.renewWorkItemLock(lockToken, options.workerLockMs);
      return true;
    } catch (err) {
      // A transient failure (connection, conflict) says nothing about the lock: keep the
      // activity and renew again. Only a lost lock (cancelled or expired) cancels it.
      if (err instanceof ProviderError && err.retryable) return true;
      ctx.cancel("the activity's lock was lost (cancelled or expired)");
      return false;
    }
  });
  const onHalt = (): void => ctx.cancel("the runtime shut down");
  core.halted.addEventListener("abort", onHalt, { once: true });
  try {
    const run: Promise<{ ok: string } | { err: string }> = (async () => {
      try {
        if (system) return { ok: await system(core, item.input) };
        return { ok: encodePayload(await user!(ctx, decodePayload(item.input))) };
      } catch (err) {
        return { err: errorText(err) };
      }
    })();
    const cancelled = new Promise<"cancelled">((resolve) => {
      if (ctx.signal.aborted) resolve("cancelled");
      ctx.signal.addEventListener("abort", () => resolve("cancelled"), { once: true });
    });
    const outcome = await Promise.race([run, cancelled]);
    if (outcome === "cancelled" || ctx.isCancelled()) {
      core.metrics.activitiesCancelled++;
      renewal.stop();
      if (!core.halted.aborted) {
        await Promise.race([run, delay(options.cancelGraceMs)]);
        await core.calls.ackActivity({ lockToken, completion: null }).catch(() => {});
      }
      return;
    }
    renewal.stop();
    if ("ok" in outcome) {
      core.metrics.activitiesCompleted++;
      await ackOrAbandon(core, lockToken, {
        type: "ActivityCompleted",
        ...base,
        result: outcome.ok,
      });
    } else {
      core.metrics.activitiesFailed++;
      await ackOrAbandon(core, lockToken, {
        type: "ActivityFailed",
        ...base,
        details: {
          type: "Application",
          kind: "ActivityFailed",
          message: outcome.err,
          retryable: false,
        },
      });
    }
  } finally {
    renewal.stop();
    core.halted.removeEventListener("abort", onHalt);
  }
}

async function ackOrAbandon(
  core: RuntimeCore,
  lockToken: string,
  completion: WorkItem,
): Promise<void> {
  try {
    await core.calls.ackActivity({ lockToken, completion });
  } catch (err) {
    core.metrics.providerErrors++;
    core.log({
      level: "debug",
      message: `ack_work_item failed (cancelled or lock lost?): ${errorText(err)}`,
      source: "runtime",
    });
    await core.provider.abandonWorkItem(lockToken, 100, false).catch(() => {});
  }
}
