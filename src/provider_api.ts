/**
 * The storage contract a Duroxide runtime drives: {@linkcode Provider}, and the optional
 * management capability {@linkcode ProviderAdmin}.
 *
 * Returning `null` from a fetch means "no work", never an error. Failures throw
 * `ProviderError` (see `src/errors.ts`); a fetch that returns an item leaves the caller holding
 * its lock, a fetch that throws leaves no lock held.
 *
 * @module
 */

import type {
  CustomStatus,
  DispatcherCapabilityFilter,
  Event,
  ExecutionMetadata,
  FetchedOrchestrationItem,
  FetchedWorkItem,
  ScheduledActivityIdentifier,
  SessionFetchConfig,
  SystemStats,
  TagFilter,
  WorkItem,
} from "./types.ts";

/** Durable storage for orchestration history and the two peek-lock queues. */
export interface Provider {
  /** A short name of the implementation. */
  name(): string;
  /** The implementation's version. */
  version(): string;

  /**
   * Locks the instance with the oldest visible message and returns its whole turn. A
   * long-polling provider may wait up to `pollTimeoutMs`; `signal` ends such a wait early
   * (with `null`), e.g. at shutdown.
   */
  fetchOrchestrationItem(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    filter?: DispatcherCapabilityFilter | null,
    signal?: AbortSignal,
  ): Promise<FetchedOrchestrationItem | null>;
  /** Commits a turn atomically: history, metadata, new messages, cancellations, lock release. */
  ackOrchestrationItem(
    lockToken: string,
    executionId: number,
    historyDelta: Event[],
    workerItems: WorkItem[],
    orchestratorItems: WorkItem[],
    metadata: ExecutionMetadata,
    cancelledActivities: ScheduledActivityIdentifier[],
  ): Promise<void>;
  /** Releases an instance lock without committing, optionally delaying the messages. */
  abandonOrchestrationItem(
    lockToken: string,
    delayMs: number | null,
    ignoreAttempt: boolean,
  ): Promise<void>;
  /** Extends a live instance lock. */
  renewOrchestrationItemLock(lockToken: string, extendForMs: number): Promise<void>;

  /** The latest execution's history. */
  read(instance: string): Promise<Event[]>;
  /** One execution's history. */
  readWithExecution(instance: string, executionId: number): Promise<Event[]>;
  /** Appends events as they are (tests and fault injection). */
  appendWithExecution(instance: string, executionId: number, events: Event[]): Promise<void>;

  /** Puts an `ActivityExecute` item on the worker queue. */
  enqueueForWorker(item: WorkItem): Promise<void>;
  /** Locks the oldest eligible activity; `signal` ends a long-poll wait early (with `null`). */
  fetchWorkItem(
    lockTimeoutMs: number,
    pollTimeoutMs: number,
    session: SessionFetchConfig | null,
    tagFilter: TagFilter,
    signal?: AbortSignal,
  ): Promise<FetchedWorkItem | null>;
  /** Deletes a locked activity and enqueues its completion, atomically. */
  ackWorkItem(lockToken: string, completion: WorkItem | null): Promise<void>;
  /** Extends a live activity lock; fails once the activity was cancelled. */
  renewWorkItemLock(lockToken: string, extendForMs: number): Promise<void>;
  /** Releases an activity lock, optionally delaying the item. */
  abandonWorkItem(lockToken: string, delayMs: number | null, ignoreAttempt: boolean): Promise<void>;

  /** Extends the live, recently active sessions of these owners; returns how many. */
  renewSessionLock(ownerIds: string[], extendForMs: number, idleTimeoutMs: number): Promise<number>;
  /** Deletes expired sessions that have no queued work; returns how many. */
  cleanupOrphanedSessions(idleTimeoutMs: number): Promise<number>;

  /** Puts a message on the orchestrator queue, visible after `delayMs`. */
  enqueueForOrchestrator(item: WorkItem, delayMs: number | null): Promise<void>;

  /** The management capability, or `null` when the provider has none. */
  asManagementCapability(): ProviderAdmin | null;

  /** The custom status if its version is newer than `lastSeenVersion`. */
  getCustomStatus(instance: string, lastSeenVersion: number): Promise<CustomStatus | null>;
  /** One KV value (current execution's writes first, then completed executions). */
  getKvValue(instance: string, key: string): Promise<string | null>;
  /** All live KV values of an instance. */
  getKvAllValues(instance: string): Promise<Record<string, string>>;
  /** Storage figures of an instance's current execution, or `null` for an unknown instance. */
  getInstanceStats(instance: string): Promise<SystemStats | null>;
}

/** An instance as listed by the management API. */
export interface InstanceInfo {
  /** Instance id. */
  instanceId: string;
  /** Orchestration name. */
  orchestrationName: string;
  /** Orchestration version, `"unknown"` when not recorded. */
  orchestrationVersion: string;
  /** Current execution id. */
  currentExecutionId: number;
  /** Status of the current execution. */
  status: string;
  /** Output of the current execution. */
  output: string | null;
  /** Creation time, epoch ms. */
  createdAt: number;
  /** Last update time, epoch ms. */
  updatedAt: number;
  /** Parent instance of a sub-orchestration. */
  parentInstanceId: string | null;
}

/** One execution as seen by the management API. */
export interface ExecutionInfo {
  /** Execution id. */
  executionId: number;
  /** `"Running" | "Completed" | "Failed" | "ContinuedAsNew"`. */
  status: string;
  /** Output or error text. */
  output: string | null;
  /** Start time, epoch ms. */
  startedAt: number;
  /** Completion time, epoch ms, for terminal executions. */
  completedAt: number | null;
  /** Number of history events. */
  eventCount: number;
}

/** Totals over the whole store. */
export interface SystemMetrics {
  /** Instances. */
  totalInstances: number;
  /** Executions. */
  totalExecutions: number;
  /** Instances whose current execution is running. */
  runningInstances: number;
  /** Instances whose current execution completed. */
  completedInstances: number;
  /** Instances whose current execution failed. */
  failedInstances: number;
  /** History events. */
  totalEvents: number;
}

/** Unlocked, visible queue rows. */
export interface QueueDepths {
  /** Orchestrator queue rows. */
  orchestratorQueue: number;
  /** Worker queue rows. */
  workerQueue: number;
  /** Always 0: timers live on the orchestrator queue. */
  timerQueue: number;
}

/** Selects instances for bulk deletion or pruning; the filters are ANDed. */
export interface InstanceFilter {
  /** Only these ids (an empty list selects nothing). */
  instanceIds?: string[] | null;
  /** Only instances completed before this time, epoch ms. */
  completedBefore?: number | null;
  /** At most this many instances. @default {1000} */
  limit?: number | null;
}

/** Which executions to prune; the current and running executions are always kept. */
export interface PruneOptions {
  /** Keep the newest N executions. */
  keepLast?: number | null;
  /** Only executions completed before this time, epoch ms. */
  completedBefore?: number | null;
}

/** What a delete removed. */
export interface DeleteInstanceResult {
  /** Instances removed. */
  instancesDeleted: number;
  /** Executions removed. */
  executionsDeleted: number;
  /** History events removed. */
  eventsDeleted: number;
  /** Queue rows removed (both queues). */
  queueMessagesDeleted: number;
}

/** What a prune removed. */
export interface PruneResult {
  /** Instances examined. */
  instancesProcessed: number;
  /** Executions removed. */
  executionsDeleted: number;
  /** History events removed. */
  eventsDeleted: number;
}

/** A root instance and every descendant. */
export interface InstanceTree {
  /** The root's id. */
  rootId: string;
  /** The root and all descendants. */
  allIds: string[];
}

/** Management operations: listing, inspection, deletion and pruning. */
export interface ProviderAdmin {
  /** All instance ids. */
  listInstances(): Promise<string[]>;
  /** Instance ids whose current execution has this status. */
  listInstancesByStatus(status: string): Promise<string[]>;
  /** Execution ids of an instance, ascending. */
  listExecutions(instance: string): Promise<number[]>;
  /** One execution's history. */
  readHistoryWithExecutionId(instance: string, executionId: number): Promise<Event[]>;
  /** The latest execution's history. */
  readHistory(instance: string): Promise<Event[]>;
  /** The highest execution id, or 1 when there is none. */
  latestExecutionId(instance: string): Promise<number>;
  /** An instance with its current execution's status. */
  getInstanceInfo(instance: string): Promise<InstanceInfo>;
  /** One execution. */
  getExecutionInfo(instance: string, executionId: number): Promise<ExecutionInfo>;
  /** Totals over the store. */
  getSystemMetrics(): Promise<SystemMetrics>;
  /** Queue depths. */
  getQueueDepths(): Promise<QueueDepths>;
  /** Direct children of an instance. */
  listChildren(instance: string): Promise<string[]>;
  /** The parent of an instance, or `null` for a root. */
  getParentId(instance: string): Promise<string | null>;
  /** Deletes these instances in one transaction. */
  deleteInstancesAtomic(ids: string[], force: boolean): Promise<DeleteInstanceResult>;
  /** The instance and all of its descendants. */
  getInstanceTree(instance: string): Promise<InstanceTree>;
  /** Deletes a root instance with its whole tree. */
  deleteInstance(instance: string, force: boolean): Promise<DeleteInstanceResult>;
  /** Deletes terminal root instances (with their trees) matching the filter. */
  deleteInstanceBulk(filter: InstanceFilter): Promise<DeleteInstanceResult>;
  /** Deletes old executions of an instance. */
  pruneExecutions(instance: string, options: PruneOptions): Promise<PruneResult>;
  /** Deletes old executions of every instance matching the filter. */
  pruneExecutionsBulk(filter: InstanceFilter, options: PruneOptions): Promise<PruneResult>;
}
