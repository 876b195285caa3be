/**
 * The data model shared by the provider, the validation suite and the runtime.
 *
 * Terminology:
 * - **instance**: one orchestration, named by a caller-chosen id.
 * - **execution**: one run of an instance; `continueAsNew` starts execution n+1.
 * - **turn**: one fetch → replay → ack cycle of the orchestration dispatcher.
 * - **work item**: a message on the orchestrator queue or the worker queue.
 * - **lock token**: the proof of a peek-lock; valid while its lease has not expired.
 * - **lease**: the time (epoch ms) until which a lock token is valid.
 * - **poison**: a message fetched more often than the runtime allows.
 *
 * Field names are camelCase here; `src/codec.ts` maps them to Duroxide's JSON wire format
 * (snake_case, externally tagged work items, flat events with `type`).
 *
 * @module
 */

/** A semantic version, as pinned on an execution by the runtime that started it. */
export interface SemVer {
  /** Major version. */
  major: number;
  /** Minor version (below 1000 for capability filtering). */
  minor: number;
  /** Patch version (below 1000 for capability filtering). */
  patch: number;
}

/** An inclusive range of runtime versions. */
export interface SemverRange {
  /** Lowest compatible version, inclusive. */
  min: SemVer;
  /** Highest compatible version, inclusive. */
  max: SemVer;
}

/**
 * Restricts orchestration fetches to executions pinned to a compatible runtime version.
 * Only the first range is honoured; an empty list matches nothing.
 */
export interface DispatcherCapabilityFilter {
  /** Version ranges this dispatcher can replay. */
  supportedDuroxideVersions: SemverRange[];
}

/** Which tagged activities a worker fetch may return. */
export type TagFilter =
  | { type: "DefaultOnly" }
  | { type: "Tags"; tags: string[] }
  | { type: "DefaultAnd"; tags: string[] }
  | { type: "Any" }
  | { type: "None" };

/** Session affinity settings for a worker fetch. */
export interface SessionFetchConfig {
  /** The worker identity that owns claimed sessions. */
  ownerId: string;
  /** How long a claimed session stays owned without renewal, in ms. */
  lockTimeoutMs: number;
}

/** Why an application-level failure happened. */
export type AppErrorKind =
  | "ActivityFailed"
  | "OrchestrationFailed"
  | "Panicked"
  | { type: "Cancelled"; reason: string };

/** Which message was poisoned. */
export type PoisonMessageType =
  | { type: "Orchestration"; instance: string; executionId: number }
  | {
    type: "Activity";
    instance: string;
    executionId: number;
    activityName: string;
    activityId: number;
  }
  | { type: "FailedDeserialization"; instance: string; executionId: number; error: string };

/** The payload of every failure event and failure work item. */
export type ErrorDetails =
  | { type: "Infrastructure"; operation: string; message: string; retryable: boolean }
  | { type: "Configuration"; kind: "Nondeterminism"; resource: string; message: string | null }
  | { type: "Application"; kind: AppErrorKind; message: string; retryable: boolean }
  | {
    type: "Poison";
    attemptCount: number;
    maxAttempts: number;
    messageType: PoisonMessageType;
    message: string;
  };

/** A message on the orchestrator queue or (for `ActivityExecute`) the worker queue. */
export type WorkItem =
  | {
    type: "StartOrchestration";
    instance: string;
    orchestration: string;
    input: string;
    version: string | null;
    parentInstance: string | null;
    parentId: number | null;
    executionId: number;
  }
  | {
    type: "ActivityExecute";
    instance: string;
    executionId: number;
    id: number;
    name: string;
    input: string;
    sessionId?: string;
    tag?: string;
  }
  | { type: "ActivityCompleted"; instance: string; executionId: number; id: number; result: string }
  | {
    type: "ActivityFailed";
    instance: string;
    executionId: number;
    id: number;
    details: ErrorDetails;
  }
  | { type: "TimerFired"; instance: string; executionId: number; id: number; fireAtMs: number }
  | { type: "ExternalRaised"; instance: string; name: string; data: string }
  | {
    type: "SubOrchCompleted";
    parentInstance: string;
    parentExecutionId: number;
    parentId: number;
    result: string;
  }
  | {
    type: "SubOrchFailed";
    parentInstance: string;
    parentExecutionId: number;
    parentId: number;
    details: ErrorDetails;
  }
  | { type: "CancelInstance"; instance: string; reason: string }
  | {
    type: "ContinueAsNew";
    instance: string;
    orchestration: string;
    input: string;
    version: string | null;
    carryForwardEvents: [string, string][];
    initialCustomStatus?: string;
  }
  | { type: "QueueMessage"; instance: string; name: string; data: string };

/** The variant names of {@linkcode WorkItem}. */
export type WorkItemType = WorkItem["type"];

/** The kind-specific part of a history {@linkcode Event}. */
export type EventKind =
  | {
    type: "OrchestrationStarted";
    name: string;
    version: string;
    input: string;
    parentInstance: string | null;
    parentId: number | null;
    carryForwardEvents?: [string, string][];
    initialCustomStatus?: string;
  }
  | { type: "OrchestrationCompleted"; output: string }
  | { type: "OrchestrationFailed"; details: ErrorDetails }
  | { type: "ActivityScheduled"; name: string; input: string; sessionId?: string; tag?: string }
  | { type: "ActivityCompleted"; result: string }
  | { type: "ActivityFailed"; details: ErrorDetails }
  | { type: "ActivityCancelRequested"; reason: string }
  | { type: "TimerCreated"; fireAtMs: number }
  | { type: "TimerFired"; fireAtMs: number }
  | { type: "ExternalSubscribed"; name: string }
  | { type: "ExternalEvent"; name: string; data: string }
  | { type: "OrchestrationChained"; name: string; instance: string; input: string }
  | { type: "SubOrchestrationScheduled"; name: string; instance: string; input: string }
  | { type: "SubOrchestrationCompleted"; result: string }
  | { type: "SubOrchestrationFailed"; details: ErrorDetails }
  | { type: "SubOrchestrationCancelRequested"; reason: string }
  | { type: "OrchestrationContinuedAsNew"; input: string }
  | { type: "OrchestrationCancelRequested"; reason: string }
  | { type: "ExternalSubscribedCancelled"; reason: string }
  /** Wire name `ExternalSubscribedPersistent`. */
  | { type: "QueueSubscribed"; name: string }
  /** Wire name `ExternalEventPersistent`. */
  | { type: "QueueEventDelivered"; name: string; data: string }
  /** Wire name `ExternalSubscribedPersistentCancelled`. */
  | { type: "QueueSubscriptionCancelled"; reason: string }
  | { type: "CustomStatusUpdated"; status: string | null }
  | { type: "KeyValueSet"; key: string; value: string; lastUpdatedAtMs: number }
  | { type: "KeyValueCleared"; key: string }
  | { type: "KeyValuesCleared" };

/** Fields every history event carries. */
export interface EventCommon {
  /** Position in the execution's history, assigned by the runtime (1, 2, 3…). */
  eventId: number;
  /** For completions: the event id of the scheduling event; otherwise `null`. */
  sourceEventId: number | null;
  /** The instance the runtime wrote; the provider stores under the locked instance instead. */
  instanceId: string;
  /** The execution this event belongs to. */
  executionId: number;
  /** Wall-clock time the runtime recorded, epoch ms. */
  timestampMs: number;
  /** Semver of the runtime that wrote the event. */
  duroxideVersion: string;
}

/** One entry of an orchestration's append-only history. */
export type Event = EventCommon & EventKind;

/** The variant names of {@linkcode EventKind} (Rust names, not the renamed wire names). */
export type EventType = EventKind["type"];

/** What the runtime tells the provider about an execution when it acks a turn. */
export interface ExecutionMetadata {
  /** `"Completed" | "Failed" | "ContinuedAsNew"` (or `"Running"`) to set the execution status. */
  status?: string | null;
  /** Output or error text stored with a terminal status. */
  output?: string | null;
  /** Orchestration name; with `orchestrationVersion`, creates or updates the instance row. */
  orchestrationName?: string | null;
  /** Orchestration version; with `orchestrationName`, creates or updates the instance row. */
  orchestrationVersion?: string | null;
  /** Parent instance of a sub-orchestration; set once, when the instance row is created. */
  parentInstanceId?: string | null;
  /** Runtime version this execution is pinned to (sent on its first turn). */
  pinnedDuroxideVersion?: SemVer | null;
}

/** A key-value entry as seen by a turn: the value and when it was last written. */
export interface KvEntry {
  /** The stored value. */
  value: string;
  /** When the value was written, epoch ms. */
  lastUpdatedAtMs: number;
}

/** Everything a turn needs: the instance's identity, history, new messages and KV snapshot. */
export interface OrchestrationItem {
  /** The locked instance. */
  instance: string;
  /** Orchestration name (from the instance row, the history, or the start message). */
  orchestrationName: string;
  /** The current execution id. */
  executionId: number;
  /** Orchestration version; `"unknown"` when none was recorded. */
  version: string;
  /** The current execution's history, ordered by event id; empty when `historyError` is set. */
  history: Event[];
  /** The locked batch of messages, in enqueue order. */
  messages: WorkItem[];
  /** Set when stored history (or a message) could not be decoded; the lock is still held. */
  historyError: string | null;
  /** KV values of completed executions (not the current execution's writes). */
  kvSnapshot: Record<string, KvEntry>;
}

/** The result of a successful orchestration fetch. */
export interface FetchedOrchestrationItem {
  /** The locked turn. */
  item: OrchestrationItem;
  /** Token to ack, abandon or renew the instance lock with. */
  lockToken: string;
  /** The highest fetch count across the batch (1 on the first fetch). */
  attemptCount: number;
}

/** The result of a successful worker fetch. */
export interface FetchedWorkItem {
  /** The locked `ActivityExecute` item. */
  item: WorkItem;
  /** Token to ack, abandon or renew the item's lock with. */
  lockToken: string;
  /** How often this item has been fetched, including this fetch. */
  attemptCount: number;
}

/** Identifies an activity to cancel by deleting its worker-queue row. */
export interface ScheduledActivityIdentifier {
  /** The instance that scheduled it. */
  instance: string;
  /** The execution that scheduled it. */
  executionId: number;
  /** The event id of its `ActivityScheduled` event. */
  activityId: number;
}

/** Storage figures for one instance's current execution. */
export interface SystemStats {
  /** Events in the current execution's history. */
  historyEventCount: number;
  /** Bytes of event JSON in the current execution's history. */
  historySizeBytes: number;
  /** Carried-forward queue events waiting in the current execution. */
  queuePendingCount: number;
  /** Distinct live KV keys (completed executions and current writes). */
  kvUserKeyCount: number;
  /** Bytes of KV values across both KV tables. */
  kvTotalValueBytes: number;
}

/** A custom status value and its change counter. */
export interface CustomStatus {
  /** The status text, or `null` when cleared. */
  status: string | null;
  /** Incremented by every turn that sets or clears the status. */
  version: number;
}
