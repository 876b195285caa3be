/**
 * What to do with a fetched orchestration item (Duroxide `process_orchestration_item` steps
 * 1–9): poison it, abandon it, drop its messages, or run a turn and ack the result.
 * Pure apart from the injected clock: the dispatcher does the I/O.
 *
 * @module
 */

import type {
  ErrorDetails,
  Event,
  ExecutionMetadata,
  OrchestrationItem,
  ScheduledActivityIdentifier,
  WorkItem,
} from "../types.ts";
import type { RuntimeCore } from "./core.ts";
import { displayMessage } from "./replay/error_details.ts";
import { runTurn } from "./replay/engine.ts";
import type { StartedKind, TurnOutcome } from "./replay/turn.ts";
import { DUROXIDE_SEMVER, DUROXIDE_VERSION } from "./version.ts";

/** The arguments of one `ackOrchestrationItem` call (besides the token). */
export interface AckArgs {
  /** Execution the delta belongs to. */
  executionId: number;
  /** New history events. */
  delta: Event[];
  /** Activities to enqueue. */
  workerItems: WorkItem[];
  /** Orchestrator messages to enqueue. */
  orchestratorItems: WorkItem[];
  /** Execution metadata. */
  metadata: ExecutionMetadata;
  /** Activities to cancel by lock stealing. */
  cancelledActivities: ScheduledActivityIdentifier[];
}

/** A child's terminal result, to be sent to its parent once the parent execution is known. */
export interface ParentNotice {
  /** The parent instance. */
  parentInstance: string;
  /** The parent's `SubOrchestrationScheduled` event id. */
  parentId: number;
  /** Output of the child, or its failure. */
  result: { output: string } | { details: ErrorDetails };
}

/** The decision for one fetched item. */
export type TurnPlan =
  | { kind: "abandon"; delayMs: number; reason: string }
  | {
    kind: "ack";
    ack: AckArgs;
    outcome: TurnOutcome;
    notifyParent: ParentNotice | null;
    /** The history the delta extends (for the infrastructure-failure fallback). */
    baseHistory: Event[];
    poison: boolean;
  };

function startedOf(history: readonly Event[]): (Event & StartedKind) | null {
  const first = history[0];
  return first?.type === "OrchestrationStarted" ? first : null;
}

function isTerminal(e: Event | undefined): boolean {
  return e?.type === "OrchestrationCompleted" || e?.type === "OrchestrationFailed" ||
    e?.type === "OrchestrationContinuedAsNew";
}

function startedEvent(
  item: OrchestrationItem,
  executionId: number,
  nowMs: number,
  kind: StartedKind,
): Event & StartedKind {
  return {
    eventId: 1,
    sourceEventId: null,
    instanceId: item.instance,
    executionId,
    timestampMs: nowMs,
    duroxideVersion: DUROXIDE_VERSION,
    ...kind,
  };
}

function failedEvent(
  item: OrchestrationItem,
  executionId: number,
  eventId: number,
  nowMs: number,
  details: ErrorDetails,
): Event {
  return {
    eventId,
    sourceEventId: null,
    instanceId: item.instance,
    executionId,
    timestampMs: nowMs,
    duroxideVersion: DUROXIDE_VERSION,
    type: "OrchestrationFailed",
    details,
  };
}

/** Metadata of a turn: identity on its first turn, status and output at the end. */
export function metadataFor(delta: readonly Event[], outcome: TurnOutcome): ExecutionMetadata {
  const md: ExecutionMetadata = {};
  const started = delta.find((e) => e.type === "OrchestrationStarted") as
    | (Event & StartedKind)
    | undefined;
  if (started) {
    md.orchestrationName = started.name;
    md.orchestrationVersion = started.version;
    md.parentInstanceId = started.parentInstance;
    md.pinnedDuroxideVersion = DUROXIDE_SEMVER;
  }
  if (outcome.status === "Completed") {
    md.status = "Completed";
    md.output = outcome.output;
  } else if (outcome.status === "Failed") {
    md.status = "Failed";
    md.output = displayMessage(outcome.details);
  } else if (outcome.status === "ContinuedAsNew") {
    md.status = "ContinuedAsNew";
    md.output = outcome.input;
  }
  return md;
}

function notice(started: StartedKind | null, outcome: TurnOutcome): ParentNotice | null {
  if (!started?.parentInstance || started.parentId === null) return null;
  if (outcome.status === "Completed") {
    return {
      parentInstance: started.parentInstance,
      parentId: started.parentId,
      result: { output: outcome.output },
    };
  }
  if (outcome.status === "Failed") {
    return {
      parentInstance: started.parentInstance,
      parentId: started.parentId,
      result: { details: outcome.details },
    };
  }
  return null;
}

function unregisteredDelay(core: RuntimeCore, attempt: number): number {
  const { unregisteredBaseMs, unregisteredMaxMs } = core.options;
  return Math.min(
    unregisteredBaseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 6),
    unregisteredMaxMs,
  );
}

type StartMessage = Extract<WorkItem, { type: "StartOrchestration" | "ContinueAsNew" }>;

function startedFromMessage(
  start: StartMessage,
  version: string,
  previous: StartedKind | null,
): StartedKind {
  const kind: StartedKind = {
    type: "OrchestrationStarted",
    name: start.orchestration,
    version,
    input: start.input,
    parentInstance: start.type === "StartOrchestration"
      ? start.parentInstance
      : previous?.parentInstance ?? null,
    parentId: start.type === "StartOrchestration" ? start.parentId : previous?.parentId ?? null,
  };
  if (start.type === "ContinueAsNew") {
    if (start.carryForwardEvents.length > 0) kind.carryForwardEvents = start.carryForwardEvents;
    if (start.initialCustomStatus !== undefined) {
      kind.initialCustomStatus = start.initialCustomStatus;
    }
  }
  return kind;
}

function poisonPlan(
  core: RuntimeCore,
  item: OrchestrationItem,
  attempt: number,
  nowMs: number,
): TurnPlan {
  const maxAttempts = core.options.maxAttempts;
  if (item.historyError !== null) {
    const details: ErrorDetails = {
      type: "Poison",
      attemptCount: attempt,
      maxAttempts,
      messageType: {
        type: "FailedDeserialization",
        instance: item.instance,
        executionId: item.executionId,
        error: item.historyError,
      },
      message: item.historyError,
    };
    const outcome: TurnOutcome = { status: "Failed", details };
    return {
      kind: "ack",
      ack: {
        executionId: item.executionId,
        delta: [failedEvent(item, item.executionId, 99999, nowMs, details)],
        workerItems: [],
        orchestratorItems: [],
        metadata: { status: "Failed", output: displayMessage(details) },
        cancelledActivities: [],
      },
      outcome,
      notifyParent: null,
      baseHistory: [],
      poison: true,
    };
  }
  const delta: Event[] = [];
  let started = startedOf(item.history);
  if (!started) {
    const start = item.messages.find((m): m is StartMessage =>
      m.type === "StartOrchestration" || m.type === "ContinueAsNew"
    );
    if (start) {
      const kind = startedFromMessage(start, start.version ?? item.version, null);
      const ev = startedEvent(item, item.executionId, nowMs, kind);
      started = ev;
      delta.push(ev);
    }
  }
  const details: ErrorDetails = {
    type: "Poison",
    attemptCount: attempt,
    maxAttempts,
    messageType: { type: "Orchestration", instance: item.instance, executionId: item.executionId },
    message: JSON.stringify(item.messages.map((m) => m.type)),
  };
  const lastId = (delta.at(-1) ?? item.history.at(-1))?.eventId ?? 0;
  delta.push(failedEvent(item, item.executionId, lastId + 1, nowMs, details));
  const outcome: TurnOutcome = { status: "Failed", details };
  return {
    kind: "ack",
    ack: {
      executionId: item.executionId,
      delta,
      workerItems: [],
      orchestratorItems: [],
      metadata: metadataFor(delta, outcome),
      cancelledActivities: [],
    },
    outcome,
    notifyParent: notice(started, outcome),
    baseHistory: item.history,
    poison: true,
  };
}

function dropMessages(item: OrchestrationItem): TurnPlan {
  return {
    kind: "ack",
    ack: {
      executionId: item.executionId,
      delta: [],
      workerItems: [],
      orchestratorItems: [],
      metadata: {},
      cancelledActivities: [],
    },
    outcome: { status: "Running" },
    notifyParent: null,
    baseHistory: item.history,
    poison: false,
  };
}

/**
 * Decides what to do with a fetched item and, if a turn runs, computes its ack.
 *
 * @example
 * ```ts ignore
 * const plan = planTurn(core, fetched.item, fetched.attemptCount);
 * ```
 */
export function planTurn(core: RuntimeCore, item: OrchestrationItem, attempt: number): TurnPlan {
  const nowMs = core.options.clock();
  if (attempt > core.options.maxAttempts) return poisonPlan(core, item, attempt, nowMs);
  if (item.historyError !== null) {
    return { kind: "abandon", delayMs: 1_000, reason: `history error: ${item.historyError}` };
  }
  let start: StartMessage | null = null;
  const completions: WorkItem[] = [];
  for (const m of item.messages) {
    if (m.type === "StartOrchestration" || m.type === "ContinueAsNew") start ??= m;
    else completions.push(m);
  }
  const last = item.history.at(-1);
  const isCan = start?.type === "ContinueAsNew";
  if (last?.type === "OrchestrationContinuedAsNew" ? !isCan : isTerminal(last)) {
    return dropMessages(item);
  }
  if (isCan && last?.type !== "OrchestrationContinuedAsNew") return dropMessages(item);
  const executionId = isCan ? item.executionId + 1 : item.executionId;
  const history = isCan ? [] : item.history;
  if (history.length === 0 && !start) return dropMessages(item);

  const previous = startedOf(item.history);
  const pinnedVersion = history.length > 0 ? startedOf(history)?.version ?? null : null;
  const name = start && history.length === 0 ? start.orchestration : item.orchestrationName;
  const wanted = pinnedVersion ?? (history.length === 0 ? start?.version ?? null : null);
  const resolved = core.registry.resolveOrchestration(name, wanted);
  if (!resolved) {
    return {
      kind: "abandon",
      delayMs: unregisteredDelay(core, attempt),
      reason: `orchestration ${name}${wanted ? `@${wanted}` : ""} is not registered`,
    };
  }
  const started = history.length === 0 && start
    ? startedFromMessage(start, resolved.version, previous)
    : null;
  const messages = start?.type === "ContinueAsNew"
    ? [
      ...start.carryForwardEvents.map(([qName, data]): WorkItem => ({
        type: "QueueMessage",
        instance: item.instance,
        name: qName,
        data,
      })),
      ...completions,
    ]
    : completions;
  const result = runTurn({
    instance: item.instance,
    executionId,
    history,
    started,
    messages,
    kvSnapshot: item.kvSnapshot,
    handler: resolved.handler,
    nowMs,
    duroxideVersion: DUROXIDE_VERSION,
    trace: (level, message) =>
      core.log({ level, message, source: "orchestration", instanceId: item.instance, executionId }),
  });
  return {
    kind: "ack",
    ack: {
      executionId,
      delta: result.delta,
      workerItems: result.workerItems,
      orchestratorItems: result.orchestratorItems,
      metadata: metadataFor(result.delta, result.outcome),
      cancelledActivities: result.cancelledActivities,
    },
    outcome: result.outcome,
    notifyParent: notice(started ?? startedOf(history), result.outcome),
    baseHistory: history,
    poison: false,
  };
}

/**
 * The fallback ack when the real one failed permanently: the base history plus an
 * infrastructure failure.
 *
 * @example
 * ```ts ignore
 * const ack = infrastructureFailureAck(item, plan, err);
 * ```
 */
export function infrastructureFailureAck(
  item: OrchestrationItem,
  ack: AckArgs,
  baseHistory: readonly Event[],
  nowMs: number,
  operation: string,
  message: string,
): AckArgs {
  const details: ErrorDetails = { type: "Infrastructure", operation, message, retryable: false };
  const delta: Event[] = ack.delta.filter((e) => e.type === "OrchestrationStarted");
  const lastId = (delta.at(-1) ?? baseHistory.at(-1))?.eventId ?? 0;
  delta.push(failedEvent(item, ack.executionId, lastId + 1, nowMs, details));
  const outcome: TurnOutcome = { status: "Failed", details };
  return {
    executionId: ack.executionId,
    delta,
    workerItems: [],
    orchestratorItems: [],
    metadata: metadataFor(delta, outcome),
    cancelledActivities: [],
  };
}
