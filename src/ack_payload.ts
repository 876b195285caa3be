/**
 * Turns the arguments of an orchestration ack into the JSON parameters of
 * `ack_orchestration_item`: the provider reads only what the contract lets it read from
 * events and work items (routing keys, timer fire times, custom status and KV events).
 *
 * @module
 */

import { encodeEvent, encodeWorkItem, eventWireType } from "./codec.ts";
import { ProviderError } from "./errors.ts";
import type { Event, ExecutionMetadata, ScheduledActivityIdentifier, WorkItem } from "./types.ts";

/** The JSON text of each `ack_orchestration_item` parameter after the first three. */
export interface AckPayload {
  history: string;
  worker: string;
  orchestrator: string;
  metadata: string;
  customStatus: string | null;
  kv: string;
  cancelled: string;
}

function invalid(operation: string, detail: string): ProviderError {
  return new ProviderError(detail, { code: "INVALID_ARGUMENT", operation, retryable: false });
}

/** The orchestrator-queue key of a work item (sub-orchestration results go to the parent). */
export function orchestratorInstanceOf(item: WorkItem, operation: string): string {
  switch (item.type) {
    case "SubOrchCompleted":
    case "SubOrchFailed":
      return item.parentInstance;
    case "ActivityExecute":
      throw invalid(
        operation,
        `Invalid work item type: ActivityExecute belongs on the worker queue, not the orchestrator queue`,
      );
    default:
      return item.instance;
  }
}

/** History rows as stored: id, the wire type tag, and the exact JSON text. */
export function historyRows(events: Event[], operation: string): string {
  return JSON.stringify(events.map((event) => {
    if (!Number.isSafeInteger(event.eventId) || event.eventId <= 0) {
      throw invalid(
        operation,
        `event_id must be set by the runtime (a positive integer), got ${event.eventId} for a ${event.type} event`,
      );
    }
    return {
      event_id: event.eventId,
      event_type: eventWireType(event.type),
      event_data: encodeEvent(event),
    };
  }));
}

/** The worker-queue row of an `ActivityExecute` item. */
export function workerRow(item: WorkItem, operation: string) {
  if (item.type !== "ActivityExecute") {
    throw invalid(
      operation,
      `Invalid work item type: only ActivityExecute goes on the worker queue, got ${item.type}`,
    );
  }
  return {
    work_item: encodeWorkItem(item),
    instance_id: item.instance,
    execution_id: item.executionId,
    activity_id: item.id,
    session_id: item.sessionId ?? null,
    tag: item.tag ?? null,
  };
}

/** The custom status change of a turn: the last `CustomStatusUpdated` wins. */
function customStatusChange(events: Event[]): string | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i];
    if (event.type === "CustomStatusUpdated") return JSON.stringify({ value: event.status });
  }
  return null;
}

/** The KV mutations of a turn, in history order. */
function kvOperations(events: Event[]): unknown[] {
  const ops: unknown[] = [];
  for (const event of events) {
    if (event.type === "KeyValueSet") {
      ops.push({
        op: "set",
        key: event.key,
        value: event.value,
        last_updated_at_ms: event.lastUpdatedAtMs,
      });
    } else if (event.type === "KeyValueCleared") {
      ops.push({ op: "clear", key: event.key });
    } else if (event.type === "KeyValuesCleared") {
      ops.push({ op: "clear_all" });
    }
  }
  return ops;
}

/** Builds every JSON parameter of `ack_orchestration_item`, validating as it goes. */
export function buildAckPayload(
  operation: string,
  historyDelta: Event[],
  workerItems: WorkItem[],
  orchestratorItems: WorkItem[],
  metadata: ExecutionMetadata,
  cancelledActivities: ScheduledActivityIdentifier[],
): AckPayload {
  const pinned = metadata.pinnedDuroxideVersion ?? null;
  return {
    history: historyRows(historyDelta, operation),
    worker: JSON.stringify(workerItems.map((item) => workerRow(item, operation))),
    orchestrator: JSON.stringify(orchestratorItems.map((item) => ({
      instance_id: orchestratorInstanceOf(item, operation),
      kind: item.type,
      work_item: encodeWorkItem(item),
      // Timers become visible at their fire time; everything else at once.
      visible_at: item.type === "TimerFired" ? item.fireAtMs : null,
    }))),
    metadata: JSON.stringify({
      orchestration_name: metadata.orchestrationName ?? null,
      orchestration_version: metadata.orchestrationVersion ?? null,
      parent_instance_id: metadata.parentInstanceId ?? null,
      status: metadata.status ?? null,
      output: metadata.output ?? null,
      pinned: pinned && { major: pinned.major, minor: pinned.minor, patch: pinned.patch },
    }),
    customStatus: customStatusChange(historyDelta),
    kv: JSON.stringify(kvOperations(historyDelta)),
    cancelled: JSON.stringify(cancelledActivities.map((a) => ({
      instance: a.instance,
      execution_id: a.executionId,
      activity_id: a.activityId,
    }))),
  };
}
