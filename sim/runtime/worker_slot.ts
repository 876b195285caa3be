/**
 * The worker role of a simulated node, mirroring `src/runtime/worker_dispatcher.ts`: fetch an
 * activity (with the node's session owner id and tag filter), refuse a session beyond the
 * node's limit, poison an activity fetched too often, abandon one nobody registered, run the
 * handler, and ack its result (abandoning when the ack fails). While the ack waits, the lock is
 * renewed; a failed renewal means the activity was cancelled (or its lease lost): its result is
 * dropped and the lock released with an ack without completion.
 *
 * The activity runs at once when fetched (it takes no simulated time); user activities must be
 * deterministic. The system activities are reimplemented so that `newGuid` is deterministic
 * within a run (the runtime's uses `crypto.randomUUID`).
 *
 * @module
 */

import { ProviderError } from "../../src/errors.ts";
import type { Provider } from "../../src/provider_api.ts";
import type { FetchedWorkItem, SessionFetchConfig, WorkItem } from "../../src/types.ts";
import { ActivityContext } from "../../src/runtime/activity_context.ts";
import { errorText } from "../../src/runtime/replay/error_details.ts";
import { decodePayload, encodePayload } from "../../src/runtime/replay/payload.ts";
import {
  isSystemActivity,
  SYSCALL_GET_KV_VALUE,
  SYSCALL_NEW_GUID,
  SYSCALL_UTC_NOW_MS,
} from "../../src/runtime/replay/system_activities.ts";
import type { SimNodeState } from "./node_state.ts";
import type { SimActor, SimRenewal } from "./scheduler.ts";
import { gatedProvider } from "./app_provider.ts";

type ActivityItem = Extract<WorkItem, { type: "ActivityExecute" }>;

function codeOf(err: unknown): string {
  return err instanceof ProviderError ? err.code : errorText(err);
}

function describeActivity(fetched: FetchedWorkItem | null): string {
  if (!fetched) return "none";
  const item = fetched.item;
  return item.type === "ActivityExecute"
    ? `${item.name} ${item.instance}#${item.executionId}/${item.id} attempt ${fetched.attemptCount}`
    : item.type;
}

/**
 * Runs one worker slot of a node until the node crashes (forever otherwise).
 *
 * @example
 * ```ts ignore
 * scheduler.spawn("n1", "n1.1/work0", (actor) => workerSlot(actor, node, "n1.1/work0"));
 * ```
 */
export async function workerSlot(
  actor: SimActor,
  node: SimNodeState,
  workerId: string,
): Promise<void> {
  const { provider, options } = node;
  let idle = false;
  for (;;) {
    const atCap = node.sessions.size >= options.maxSessions;
    const session: SessionFetchConfig | null = atCap
      ? null
      : { ownerId: options.workerNodeId ?? node.ownerId, lockTimeoutMs: options.sessionLockMs };
    let fetched: FetchedWorkItem | null;
    try {
      fetched = await actor.call(
        "fetchWorkItem",
        () => provider.fetchWorkItem(options.workerLockMs, 0, session, options.tagFilter),
        { faultable: true, idle, quiet: (r) => r === null, describe: describeActivity },
      );
    } catch {
      idle = false;
      continue;
    }
    idle = fetched === null;
    if (fetched) await executeWorkItem(actor, node, fetched, workerId);
  }
}

function unregisteredDelay(node: SimNodeState, attempt: number): number {
  const { unregisteredBaseMs, unregisteredMaxMs } = node.options;
  return Math.min(
    unregisteredBaseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 6),
    unregisteredMaxMs,
  );
}

async function executeWorkItem(
  actor: SimActor,
  node: SimNodeState,
  fetched: FetchedWorkItem,
  workerId: string,
): Promise<void> {
  const { provider } = node;
  const { item, lockToken, attemptCount } = fetched;
  if (item.type !== "ActivityExecute") {
    await actor.call(
      "abandonWorkItem(not an activity)",
      () => provider.abandonWorkItem(lockToken, 1_000, false),
      { faultable: true },
    ).catch(() => {});
    return;
  }
  const sessionId = item.sessionId ?? null;
  if (sessionId !== null && !node.sessions.has(sessionId)) {
    if (node.sessions.size >= node.options.maxSessions) {
      await actor.call(
        "abandonWorkItem(session limit)",
        () => provider.abandonWorkItem(lockToken, 100, true),
        { faultable: true },
      ).catch(() => {});
      return;
    }
  }
  if (sessionId !== null) node.sessions.set(sessionId, (node.sessions.get(sessionId) ?? 0) + 1);
  try {
    await runActivity(actor, node, item, lockToken, attemptCount, workerId);
  } catch {
    // the dispatcher logs it; the lock lapses
  } finally {
    if (sessionId !== null) {
      const n = (node.sessions.get(sessionId) ?? 1) - 1;
      if (n <= 0) node.sessions.delete(sessionId);
      else node.sessions.set(sessionId, n);
    }
  }
}

async function systemActivity(
  node: SimNodeState,
  app: Provider,
  name: string,
  input: string,
): Promise<string> {
  switch (name) {
    case SYSCALL_NEW_GUID:
      return node.newGuid();
    case SYSCALL_UTC_NOW_MS:
      return String(node.options.clock());
    case SYSCALL_GET_KV_VALUE: {
      const { instance_id: instance, key } = JSON.parse(input) as {
        instance_id: string;
        key: string;
      };
      return JSON.stringify(await app.getKvValue(instance, key));
    }
    default:
      throw new Error(`unknown system activity ${name}`);
  }
}

const SYSTEM_ACTIVITIES = new Set([SYSCALL_NEW_GUID, SYSCALL_UTC_NOW_MS, SYSCALL_GET_KV_VALUE]);

async function runActivity(
  actor: SimActor,
  node: SimNodeState,
  item: ActivityItem,
  lockToken: string,
  attempt: number,
  workerId: string,
): Promise<void> {
  const { provider, options } = node;
  const base = { instance: item.instance, executionId: item.executionId, id: item.id };
  if (attempt > options.maxAttempts) {
    await ackOrAbandon(actor, node, lockToken, {
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
    }, null);
    return;
  }
  const system = SYSTEM_ACTIVITIES.has(item.name);
  const user = isSystemActivity(item.name) ? undefined : node.registry.activity(item.name);
  if (!system && !user) {
    await actor.call(
      `abandonWorkItem(${item.name} not registered)`,
      () => provider.abandonWorkItem(lockToken, unregisteredDelay(node, attempt), false),
      { faultable: true },
    );
    return;
  }
  const app = gatedProvider(actor, provider);
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
    () => {},
    app,
  );
  // The renewal timer (every renewalIntervalMs while the activity runs): a failure means the
  // activity's row is gone or its lease lost, so the activity counts as cancelled.
  let renewing = true;
  const renewal: SimRenewal = {
    label: "renewWorkItemLock",
    active: () => renewing,
    async run() {
      try {
        await provider.renewWorkItemLock(lockToken, options.workerLockMs);
        return "ok";
      } catch (err) {
        renewing = false;
        ctx.cancel("the activity's lock was lost (cancelled or expired)");
        return `${codeOf(err)} (cancelled)`;
      }
    },
  };
  let outcome: { ok: string } | { err: string };
  try {
    outcome = system
      ? { ok: await systemActivity(node, app, item.name, item.input) }
      : { ok: encodePayload(await user!(ctx, decodePayload(item.input))) };
  } catch (err) {
    outcome = { err: errorText(err) };
  }
  if ("ok" in outcome) {
    await ackOrAbandon(
      actor,
      node,
      lockToken,
      {
        type: "ActivityCompleted",
        ...base,
        result: outcome.ok,
      },
      renewal,
      () => ctx.isCancelled(),
    );
  } else {
    await ackOrAbandon(
      actor,
      node,
      lockToken,
      {
        type: "ActivityFailed",
        ...base,
        details: {
          type: "Application",
          kind: "ActivityFailed",
          message: outcome.err,
          retryable: false,
        },
      },
      renewal,
      () => ctx.isCancelled(),
    );
  }
  renewing = false;
}

/**
 * Acks the completion; when the activity was cancelled meanwhile (a renewal failed), acks
 * without a completion instead (dropping the result), as the dispatcher does.
 */
async function ackOrAbandon(
  actor: SimActor,
  node: SimNodeState,
  lockToken: string,
  completion: WorkItem,
  renewal: SimRenewal | null,
  cancelled: () => boolean = () => false,
): Promise<void> {
  const { provider } = node;
  // While parked here the activity is "running": the scheduler may renew its lock first.
  let dropped = false;
  try {
    await actor.call(
      `ackWorkItem(${completion.type})`,
      () => {
        if (cancelled()) {
          dropped = true;
          return provider.ackWorkItem(lockToken, null);
        }
        return provider.ackWorkItem(lockToken, completion);
      },
      {
        faultable: true,
        renewal,
        describe: () => (dropped ? "ok (cancelled, result dropped)" : "ok"),
      },
    );
  } catch {
    if (dropped) return; // the runtime ignores a failed ack of a cancelled activity
    await actor.call(
      "abandonWorkItem(ack failed)",
      () => provider.abandonWorkItem(lockToken, 100, false),
      { faultable: true },
    ).catch(() => {});
  }
}
