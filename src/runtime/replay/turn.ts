/**
 * The input and output of one orchestration turn, and the shape of orchestration functions.
 *
 * @module
 */

import type {
  ErrorDetails,
  Event,
  EventKind,
  KvEntry,
  ScheduledActivityIdentifier,
  WorkItem,
} from "../../types.ts";
import type { OrchestrationContext, TraceLevel } from "./context.ts";

/**
 * An orchestration: a generator function that yields task descriptors and returns its output.
 *
 * @example
 * ```ts ignore
 * const flow: OrchestrationFunction = function* (ctx, input) {
 *   return yield ctx.scheduleActivity("Echo", input);
 * };
 * ```
 */
export type OrchestrationFunction = (
  ctx: OrchestrationContext,
  input: unknown,
) => Generator<unknown, unknown, unknown>;

/** The `OrchestrationStarted` fields of a new execution. */
export type StartedKind = Extract<EventKind, { type: "OrchestrationStarted" }>;

/** Everything one turn needs. */
export interface TurnInput {
  /** The instance. */
  instance: string;
  /** The execution this turn runs. */
  executionId: number;
  /** Persisted history of that execution (empty for a new execution). */
  history: readonly Event[];
  /** For a new execution: its `OrchestrationStarted`, appended as event 1. */
  started: StartedKind | null;
  /** Completion messages of the batch, in order (carried-forward queue messages first). */
  messages: readonly WorkItem[];
  /** KV values of completed executions. */
  kvSnapshot: Readonly<Record<string, KvEntry>>;
  /** The orchestration code. */
  handler: OrchestrationFunction;
  /** Wall-clock time of this turn, epoch ms (timer deadlines, event timestamps). */
  nowMs: number;
  /** The `duroxideVersion` written on new events. */
  duroxideVersion: string;
  /** Receives traces of code that is not replaying. */
  trace: (level: TraceLevel, message: string) => void;
}

/** How a turn left the execution. */
export type TurnOutcome =
  | { status: "Running" }
  | { status: "Completed"; output: string }
  | { status: "Failed"; details: ErrorDetails }
  | { status: "ContinuedAsNew"; input: string };

/** What to ack for one turn. */
export interface TurnResult {
  /** New history events with consecutive ids. */
  delta: Event[];
  /** Activities to enqueue. */
  workerItems: WorkItem[];
  /** Orchestrator messages to enqueue (timers, child starts, cancellations, continue-as-new). */
  orchestratorItems: WorkItem[];
  /** Activities whose queued work must be deleted (lock stealing). */
  cancelledActivities: ScheduledActivityIdentifier[];
  /** The execution's state after the turn. */
  outcome: TurnOutcome;
}
