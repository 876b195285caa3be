/**
 * The dispatchers' view of the provider: fetches of up to N items and group-committed acks
 * when the provider offers batch calls, one call per item otherwise.
 *
 * @module
 */

import type { AckOutcome, OrchestrationItemAck, WorkItemAck } from "../batch_api.ts";
import { ProviderError } from "../errors.ts";
import { supportsBatches } from "../batch_api.ts";
import type { Provider } from "../provider_api.ts";
import type {
  DispatcherCapabilityFilter,
  FetchedOrchestrationItem,
  FetchedWorkItem,
  SessionFetchConfig,
  TagFilter,
} from "../types.ts";
import { AckBatcher } from "./ack_batcher.ts";

function ackTurnSingly(provider: Provider, a: OrchestrationItemAck): Promise<void> {
  return provider.ackOrchestrationItem(
    a.lockToken,
    a.executionId,
    a.historyDelta,
    a.workerItems,
    a.orchestratorItems,
    a.metadata,
    a.cancelledActivities,
  );
}

/** Runs a single-item ack as a batch of one: its provider error becomes its outcome. */
async function single(call: () => Promise<void>): Promise<AckOutcome[]> {
  try {
    await call();
    return [null];
  } catch (err) {
    if (err instanceof ProviderError) return [err];
    throw err;
  }
}

/** Fetch and ack calls as the dispatchers make them. */
export interface DispatcherCalls {
  /** Locks up to `maxItems` instances' turns (long polling). */
  fetchTurns(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    maxItems: number,
    filter: DispatcherCapabilityFilter,
    signal: AbortSignal,
  ): Promise<FetchedOrchestrationItem[]>;
  /** Locks up to `maxItems` activities (long polling). */
  fetchActivities(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    maxItems: number,
    session: SessionFetchConfig | null,
    tagFilter: TagFilter,
    signal: AbortSignal,
  ): Promise<FetchedWorkItem[]>;
  /** Commits a turn (grouped with concurrent acks when the provider batches). */
  ackTurn(ack: OrchestrationItemAck): Promise<void>;
  /** Acks an activity (grouped with concurrent acks when the provider batches). */
  ackActivity(ack: WorkItemAck): Promise<void>;
  /** Whether an empty fetch already waited for work, so the next may follow at once. */
  longPolls(): boolean;
}

/**
 * Builds the dispatchers' calls over `provider`.
 *
 * @example
 * ```ts ignore
 * const calls = dispatcherCalls(provider);
 * const turns = await calls.fetchTurns(5_000, 30_000, 4, filter, signal);
 * ```
 */
export function dispatcherCalls(provider: Provider): DispatcherCalls {
  if (supportsBatches(provider)) {
    // A lone ack uses the single-item procedure: no subtransaction, same commit count.
    const turns = new AckBatcher((acks: OrchestrationItemAck[]) =>
      acks.length === 1
        ? single(() => ackTurnSingly(provider, acks[0]))
        : provider.ackOrchestrationItems(acks)
    );
    const activities = new AckBatcher((acks: WorkItemAck[]) =>
      acks.length === 1
        ? single(() => provider.ackWorkItem(acks[0].lockToken, acks[0].completion))
        : provider.ackWorkItems(acks)
    );
    return {
      fetchTurns: (lock, poll, max, filter, signal) =>
        provider.fetchOrchestrationItems(lock, poll, max, filter, signal),
      fetchActivities: (lock, poll, max, session, tags, signal) =>
        provider.fetchWorkItems(lock, poll, max, session, tags, signal),
      ackTurn: (ack) => turns.ack(ack),
      ackActivity: (ack) => activities.ack(ack),
      longPolls: () => provider.isLongPolling(),
    };
  }
  return {
    fetchTurns: async (lock, poll, _max, filter, signal) => {
      const item = await provider.fetchOrchestrationItem(lock, poll, filter, signal);
      return item ? [item] : [];
    },
    fetchActivities: async (lock, poll, _max, session, tags, signal) => {
      const item = await provider.fetchWorkItem(lock, poll, session, tags, signal);
      return item ? [item] : [];
    },
    ackTurn: (a) => ackTurnSingly(provider, a),
    ackActivity: (a) => provider.ackWorkItem(a.lockToken, a.completion),
    longPolls: () => false,
  };
}
