/**
 * The batch extension of the provider contract: several fetches, or several acks, in one
 * round trip and one commit. Every item keeps the single call's semantics; an ack batch
 * reports a result per item, and a failed item changes nothing while the others commit.
 *
 * @module
 */

import type { ProviderError } from "./errors.ts";
import type { Provider } from "./provider_api.ts";
import type {
  DispatcherCapabilityFilter,
  Event,
  ExecutionMetadata,
  FetchedOrchestrationItem,
  FetchedWorkItem,
  ScheduledActivityIdentifier,
  SessionFetchConfig,
  TagFilter,
  WorkItem,
} from "./types.ts";

/** The most items one batch call fetches or acks. */
export const MAX_BATCH_ITEMS = 1000;

/** One activity ack of a batch: the arguments of `ackWorkItem`. */
export interface WorkItemAck {
  /** The token the fetch returned. */
  lockToken: string;
  /** `ActivityCompleted` or `ActivityFailed`, or `null` to drop the item without a result. */
  completion: WorkItem | null;
}

/** One turn ack of a batch: the arguments of `ackOrchestrationItem`. */
export interface OrchestrationItemAck {
  /** The token the fetch returned. */
  lockToken: string;
  /** The execution the turn ran. */
  executionId: number;
  /** New history events. */
  historyDelta: Event[];
  /** Activities to schedule. */
  workerItems: WorkItem[];
  /** Messages for orchestrations (timers, sub-orchestrations, events, continue-as-new). */
  orchestratorItems: WorkItem[];
  /** The instance's status after the turn. */
  metadata: ExecutionMetadata;
  /** Activities whose rows are deleted (their workers lose the lock). */
  cancelledActivities: ScheduledActivityIdentifier[];
}

/** The outcome of one item of an ack batch: `null` when it committed, else why not. */
export type AckOutcome = ProviderError | null;

/**
 * A provider that also offers batched calls. The runtime uses them when present and falls
 * back to one call per item otherwise.
 *
 * @example
 * ```ts ignore
 * const turns = await provider.fetchOrchestrationItems(5_000, 30_000, 8);
 * ```
 */
export interface BatchProvider extends Provider {
  /**
   * Locks up to `maxItems` instances, each as `fetchOrchestrationItem` would, and returns
   * their turns (empty when none is visible; a long-polling provider may wait first).
   */
  fetchOrchestrationItems(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    maxItems: number,
    filter?: DispatcherCapabilityFilter | null,
    signal?: AbortSignal,
  ): Promise<FetchedOrchestrationItem[]>;
  /** Locks up to `maxItems` activities, each as `fetchWorkItem` would. */
  fetchWorkItems(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    maxItems: number,
    session: SessionFetchConfig | null,
    tagFilter: TagFilter,
    signal?: AbortSignal,
  ): Promise<FetchedWorkItem[]>;
  /** Commits several turns in one transaction; one outcome per ack, in order. */
  ackOrchestrationItems(acks: OrchestrationItemAck[]): Promise<AckOutcome[]>;
  /** Acks several activities in one transaction; one outcome per ack, in order. */
  ackWorkItems(acks: WorkItemAck[]): Promise<AckOutcome[]>;
  /**
   * Whether fetches long-poll right now: an empty fetch with a `pollTimeoutMs` already waited
   * for work, and a fetch made again at once queries only if work was announced meanwhile.
   * Dispatchers then fetch again without their minimum poll interval.
   */
  isLongPolling(): boolean;
}

/**
 * Whether `provider` offers the batch calls of {@linkcode BatchProvider}.
 *
 * @example
 * ```ts ignore
 * if (supportsBatches(provider)) await provider.ackWorkItems(acks);
 * ```
 */
export function supportsBatches(provider: Provider): provider is BatchProvider {
  const p = provider as Partial<BatchProvider>;
  return typeof p.fetchOrchestrationItems === "function" &&
    typeof p.fetchWorkItems === "function" &&
    typeof p.ackOrchestrationItems === "function" &&
    typeof p.ackWorkItems === "function" &&
    typeof p.isLongPolling === "function";
}
