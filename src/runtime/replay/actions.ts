/**
 * Actions: the schedule-type events an orchestration emits. Replay matches each emitted action
 * against the next recorded one by kind and key fields (timers and custom status by kind only).
 *
 * @module
 */

import type { Event, EventKind } from "../../types.ts";

const ACTION_TYPES: ReadonlySet<string> = new Set([
  "ActivityScheduled",
  "TimerCreated",
  "ExternalSubscribed",
  "QueueSubscribed",
  "SubOrchestrationScheduled",
  "OrchestrationChained",
  "CustomStatusUpdated",
  "KeyValueSet",
  "KeyValueCleared",
  "KeyValuesCleared",
  "ActivityCancelRequested",
  "SubOrchestrationCancelRequested",
  "ExternalSubscribedCancelled",
  "QueueSubscriptionCancelled",
]);

/**
 * Whether a history event records a decision of the orchestration code (replay must re-emit it).
 *
 * @example
 * ```ts ignore
 * isActionEvent(timerCreatedEvent); // true
 * ```
 */
export function isActionEvent(e: Event): boolean {
  return ACTION_TYPES.has(e.type);
}

/**
 * Whether the recorded action `rec` is the same decision as `kind` (with `sourceEventId`).
 *
 * @example
 * ```ts ignore
 * actionMatches(recorded, { type: "TimerCreated", fireAtMs: 0 }, null); // any timer matches
 * ```
 */
export function actionMatches(rec: Event, kind: EventKind, sourceEventId: number | null): boolean {
  if (rec.type !== kind.type) return false;
  switch (kind.type) {
    case "ActivityScheduled": {
      const r = rec as Event & { type: "ActivityScheduled" };
      return r.name === kind.name && r.input === kind.input &&
        (r.sessionId ?? null) === (kind.sessionId ?? null) &&
        (r.tag ?? null) === (kind.tag ?? null);
    }
    case "ExternalSubscribed":
    case "QueueSubscribed":
      return (rec as { name: string }).name === kind.name;
    case "SubOrchestrationScheduled": {
      const r = rec as Event & { type: "SubOrchestrationScheduled" };
      return r.name === kind.name && r.input === kind.input;
    }
    case "OrchestrationChained": {
      const r = rec as Event & { type: "OrchestrationChained" };
      return r.name === kind.name && r.instance === kind.instance && r.input === kind.input;
    }
    case "KeyValueSet": {
      const r = rec as Event & { type: "KeyValueSet" };
      return r.key === kind.key && r.value === kind.value;
    }
    case "KeyValueCleared":
      return (rec as { key: string }).key === kind.key;
    case "ActivityCancelRequested":
    case "SubOrchestrationCancelRequested":
    case "ExternalSubscribedCancelled":
    case "QueueSubscriptionCancelled":
      return rec.sourceEventId === sourceEventId;
    default:
      return true; // TimerCreated, CustomStatusUpdated, KeyValuesCleared: kind only
  }
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A short description of an action for nondeterminism messages.
 *
 * @example
 * ```ts
 * import { describeAction } from "./actions.ts";
 * const text = describeAction({ type: "ActivityScheduled", name: "A", input: "1" }, null);
 * console.assert(text === 'ActivityScheduled(name="A", input=1)');
 * ```
 */
export function describeAction(kind: EventKind, sourceEventId: number | null): string {
  switch (kind.type) {
    case "ActivityScheduled":
      return `ActivityScheduled(name="${kind.name}", input=${clip(kind.input)}` +
        `${kind.sessionId !== undefined ? `, session="${kind.sessionId}"` : ""}` +
        `${kind.tag !== undefined ? `, tag="${kind.tag}"` : ""})`;
    case "ExternalSubscribed":
    case "QueueSubscribed":
      return `${kind.type}(name="${kind.name}")`;
    case "SubOrchestrationScheduled":
      return `SubOrchestrationScheduled(name="${kind.name}", input=${clip(kind.input)})`;
    case "OrchestrationChained":
      return `OrchestrationChained(name="${kind.name}", instance="${kind.instance}")`;
    case "KeyValueSet":
      return `KeyValueSet(key="${kind.key}", value=${clip(JSON.stringify(kind.value))})`;
    case "KeyValueCleared":
      return `KeyValueCleared(key="${kind.key}")`;
    case "ActivityCancelRequested":
    case "SubOrchestrationCancelRequested":
    case "ExternalSubscribedCancelled":
    case "QueueSubscriptionCancelled":
      return `${kind.type}(source=${sourceEventId})`;
    default:
      return kind.type;
  }
}

/**
 * The kind-specific part of an event (drops the common fields).
 *
 * @example
 * ```ts ignore
 * eventKind(event).type === event.type;
 * ```
 */
export function eventKind(e: Event): EventKind {
  const {
    eventId: _id,
    sourceEventId: _src,
    instanceId: _inst,
    executionId: _exec,
    timestampMs: _ts,
    duroxideVersion: _v,
    ...kind
  } = e;
  return kind as EventKind;
}
