/**
 * Turns a batch's completion messages into history events (Duroxide's §6.4 rules): drops
 * completions of other executions and duplicates, rejects completions without a matching
 * schedule, and spots failures that must abort the turn (non-application details).
 *
 * @module
 */

import type { ErrorDetails, Event, EventKind, WorkItem } from "../../types.ts";

/** A history event to append, without its common fields. */
export interface NewEvent {
  /** The event's kind and fields. */
  kind: EventKind;
  /** The scheduling event it completes, if any. */
  sourceEventId: number | null;
}

/** What a batch of messages adds to history. */
export interface ConvertedMessages {
  /** Events to append, in message order. */
  events: NewEvent[];
  /** Failure details that fail the orchestration at once (infrastructure, poison, …). */
  abort: ErrorDetails | null;
  /** A nondeterminism message, when a completion matches no schedule of its kind. */
  nondeterminism: string | null;
}

type CompletionType =
  | "ActivityCompleted"
  | "ActivityFailed"
  | "TimerFired"
  | "SubOrchestrationCompleted"
  | "SubOrchestrationFailed";

const SCHEDULE_OF: Record<CompletionType, string> = {
  ActivityCompleted: "ActivityScheduled",
  ActivityFailed: "ActivityScheduled",
  TimerFired: "TimerCreated",
  SubOrchestrationCompleted: "SubOrchestrationScheduled",
  SubOrchestrationFailed: "SubOrchestrationScheduled",
};

/** Completion kinds that settle the same schedule (a second one is a duplicate). */
function completionFamily(type: string): string {
  return type.startsWith("Activity")
    ? "activity"
    : type.startsWith("Timer")
    ? "timer"
    : type.startsWith("SubOrchestration")
    ? "suborch"
    : type;
}

/**
 * Converts completion messages (not start messages) against `history` of `executionId`.
 *
 * @example
 * ```ts ignore
 * const { events } = convertMessages(history, [{ type: "ExternalRaised", instance: "i",
 *   name: "Go", data: "1" }], 1);
 * ```
 */
export function convertMessages(
  history: readonly Event[],
  messages: readonly WorkItem[],
  executionId: number,
): ConvertedMessages {
  const scheduleById = new Map<number, string>();
  const settled = new Set<string>();
  let cancelRequested = false;
  for (const e of history) {
    if (e.type === "OrchestrationCancelRequested") cancelRequested = true;
    if (e.sourceEventId !== null && e.type in SCHEDULE_OF) {
      settled.add(`${completionFamily(e.type)}:${e.sourceEventId}`);
    } else {
      scheduleById.set(e.eventId, e.type);
    }
  }
  const out: ConvertedMessages = { events: [], abort: null, nondeterminism: null };
  const complete = (type: CompletionType, id: number, kind: EventKind): void => {
    if (scheduleById.get(id) !== SCHEDULE_OF[type]) {
      out.nondeterminism ??= `no matching schedule for completion ${type} id=${id}` +
        ` (history has ${scheduleById.get(id) ?? "nothing"} there)`;
      return;
    }
    const key = `${completionFamily(type)}:${id}`;
    if (settled.has(key)) return;
    settled.add(key);
    out.events.push({ kind, sourceEventId: id });
    if (
      (kind.type === "ActivityFailed" || kind.type === "SubOrchestrationFailed") &&
      kind.details.type !== "Application"
    ) {
      out.abort ??= kind.details;
    }
  };
  for (const m of messages) {
    switch (m.type) {
      case "ActivityCompleted":
        if (m.executionId !== executionId) break;
        complete("ActivityCompleted", m.id, { type: "ActivityCompleted", result: m.result });
        break;
      case "ActivityFailed":
        if (m.executionId !== executionId) break;
        complete("ActivityFailed", m.id, { type: "ActivityFailed", details: m.details });
        break;
      case "TimerFired":
        if (m.executionId !== executionId) break;
        complete("TimerFired", m.id, { type: "TimerFired", fireAtMs: m.fireAtMs });
        break;
      case "SubOrchCompleted":
        if (m.parentExecutionId !== executionId) break;
        complete("SubOrchestrationCompleted", m.parentId, {
          type: "SubOrchestrationCompleted",
          result: m.result,
        });
        break;
      case "SubOrchFailed":
        if (m.parentExecutionId !== executionId) break;
        complete("SubOrchestrationFailed", m.parentId, {
          type: "SubOrchestrationFailed",
          details: m.details,
        });
        break;
      case "ExternalRaised":
        out.events.push({
          kind: { type: "ExternalEvent", name: m.name, data: m.data },
          sourceEventId: null,
        });
        break;
      case "QueueMessage":
        out.events.push({
          kind: { type: "QueueEventDelivered", name: m.name, data: m.data },
          sourceEventId: null,
        });
        break;
      case "CancelInstance":
        if (cancelRequested) break;
        cancelRequested = true;
        out.events.push({
          kind: { type: "OrchestrationCancelRequested", reason: m.reason },
          sourceEventId: null,
        });
        break;
      default:
        break; // start messages are handled by the dispatcher
    }
  }
  return out;
}
