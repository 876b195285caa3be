/**
 * The end of a turn: for a terminal outcome, the breadcrumbs and the terminal event, the
 * cancellation of unfinished activities (lock stealing), and which outgoing items survive
 * (a final turn sends out only detached starts and the cancellations of children a race
 * dropped).
 *
 * @module
 */

import type {
  ErrorDetails,
  Event,
  EventKind,
  ScheduledActivityIdentifier,
  WorkItem,
} from "../../types.ts";
import type { BoundTask } from "./bound_task.ts";
import { MAX_CARRY_FORWARD_EVENTS } from "./limits.ts";
import type { TurnInput, TurnResult } from "./turn.ts";

/** How the code left the turn. */
export type TerminalPlan =
  | { type: "running" }
  | { type: "completed"; output: string }
  | { type: "failed"; details: ErrorDetails }
  | { type: "cancelled"; reason: string }
  | { type: "continuedAsNew"; input: string; version: string | null };

/** What the turn produced so far. */
export interface Outputs {
  /** New events. */
  delta: Event[];
  /** New activities. */
  workerItems: WorkItem[];
  /** New timers, child starts and child cancellations. */
  orchestratorItems: WorkItem[];
  /** New detached starts (dispatched even by a final turn). */
  detached: WorkItem[];
  /** Activities cancelled by a race (lock stealing). */
  cancelled: ScheduledActivityIdentifier[];
}

/** Inputs of {@linkcode finishTurn}. */
export interface FinishArgs {
  /** The turn's input. */
  input: TurnInput;
  /** The outcome. */
  plan: TerminalPlan;
  /** What the turn produced. */
  outputs: Outputs;
  /** The working history (persisted events and this batch's completions). */
  history: readonly Event[];
  /** Every bound task. */
  tasks: readonly BoundTask[];
  /** Custom status at the end of the turn. */
  customStatus: string | null;
  /** Unconsumed queue messages, oldest first. */
  carryForward: [string, string][];
  /** Drop outgoing items (nondeterminism or a broken limit). */
  discardNew: boolean;
  /** Creates an event with the next id (not yet in the delta). */
  newEvent: (kind: EventKind, sourceEventId: number | null) => Event;
}

const SUFFIX: Record<string, string> = {
  completed: "completed",
  failed: "failed",
  cancelled: "failed",
  continuedAsNew: "continued_as_new",
};

function terminalKind(plan: Exclude<TerminalPlan, { type: "running" }>): EventKind {
  switch (plan.type) {
    case "completed":
      return { type: "OrchestrationCompleted", output: plan.output };
    case "failed":
      return { type: "OrchestrationFailed", details: plan.details };
    case "cancelled":
      return {
        type: "OrchestrationFailed",
        details: {
          type: "Application",
          kind: { type: "Cancelled", reason: plan.reason },
          message: "",
          retryable: false,
        },
      };
    case "continuedAsNew":
      return { type: "OrchestrationContinuedAsNew", input: plan.input };
  }
}

/** Activities scheduled but neither settled nor already asked to cancel. */
function unfinishedActivities(events: readonly Event[]): number[] {
  const settled = new Set<number>();
  for (const e of events) {
    if (
      e.sourceEventId !== null &&
      (e.type === "ActivityCompleted" || e.type === "ActivityFailed" ||
        e.type === "ActivityCancelRequested")
    ) settled.add(e.sourceEventId);
  }
  return events.filter((e) => e.type === "ActivityScheduled" && !settled.has(e.eventId))
    .map((e) => e.eventId);
}

/**
 * Builds the {@linkcode TurnResult} of a turn.
 *
 * @example
 * ```ts ignore
 * const result = finishTurn({ input, plan: { type: "running" }, outputs, ... });
 * ```
 */
export function finishTurn(a: FinishArgs): TurnResult {
  const { input, plan, outputs } = a;
  const delta = outputs.delta;
  if (plan.type === "running") {
    const discard = a.discardNew;
    return {
      delta,
      workerItems: discard ? [] : outputs.workerItems,
      orchestratorItems: discard ? [] : [...outputs.orchestratorItems, ...outputs.detached],
      cancelledActivities: outputs.cancelled,
      outcome: { status: "Running" },
    };
  }
  const suffix = SUFFIX[plan.type];
  const push = (kind: EventKind, src: number | null): void => {
    delta.push(a.newEvent(kind, src));
  };
  for (const t of a.tasks) {
    if (t.status !== "pending") continue;
    const reason = `orchestration_terminal_${suffix}`;
    if (t.kind === "wait") push({ type: "ExternalSubscribedCancelled", reason }, t.eventId);
    if (t.kind === "dequeue") push({ type: "QueueSubscriptionCancelled", reason }, t.eventId);
  }
  push(terminalKind(plan), null);
  const byId = new Map<number, Event>();
  for (const e of [...a.history, ...delta]) byId.set(e.eventId, e);
  const cancelled = [...outputs.cancelled];
  for (const id of unfinishedActivities([...byId.values()])) {
    push({ type: "ActivityCancelRequested", reason: `orchestration_terminal_${suffix}` }, id);
    cancelled.push({ instance: input.instance, executionId: input.executionId, activityId: id });
  }
  const orchestratorItems: WorkItem[] = a.discardNew ? [] : [...outputs.detached];
  // Children a race dropped are still cancelled (unless they were to start in this very turn).
  const startedNow = new Set(
    outputs.orchestratorItems.filter((w) => w.type === "StartOrchestration").map((w) => w.instance),
  );
  for (const w of a.discardNew ? [] : outputs.orchestratorItems) {
    if (w.type === "CancelInstance" && !startedNow.has(w.instance)) orchestratorItems.push(w);
  }
  if (plan.type === "cancelled") {
    for (const t of a.tasks) {
      if (t.kind === "subOrch" && t.status === "pending" && t.childInstance) {
        orchestratorItems.push({
          type: "CancelInstance",
          instance: t.childInstance,
          reason: "parent canceled",
        });
      }
    }
  }
  if (plan.type === "continuedAsNew") {
    const started = a.history[0] as Event & { type: "OrchestrationStarted" };
    const item: WorkItem = {
      type: "ContinueAsNew",
      instance: input.instance,
      orchestration: started.name,
      input: plan.input,
      version: plan.version,
      carryForwardEvents: a.carryForward.slice(0, MAX_CARRY_FORWARD_EVENTS),
    };
    if (a.customStatus !== null) item.initialCustomStatus = a.customStatus;
    orchestratorItems.push(item);
  }
  const outcome = plan.type === "completed"
    ? { status: "Completed" as const, output: plan.output }
    : plan.type === "continuedAsNew"
    ? { status: "ContinuedAsNew" as const, input: plan.input }
    : {
      status: "Failed" as const,
      details: (terminalKind(plan) as { details: ErrorDetails }).details,
    };
  return { delta, workerItems: [], orchestratorItems, cancelledActivities: cancelled, outcome };
}
