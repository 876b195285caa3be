/**
 * The history of one turn and the decisions recorded in it. The persisted events and this
 * batch's completions form the working history; each action the code emits is matched, in
 * order, against the next recorded action, and an action beyond them becomes a new event with
 * the next event id.
 *
 * @module
 */

import type { Event, EventKind } from "../../types.ts";
import { actionMatches, describeAction, isActionEvent } from "./actions.ts";

/** What every new event of the turn shares. */
export interface EventStamp {
  /** The instance. */
  instance: string;
  /** The execution. */
  executionId: number;
  /** The turn's time, epoch ms. */
  nowMs: number;
  /** The `duroxideVersion` of new events. */
  duroxideVersion: string;
}

/**
 * Working history, new events (the delta) and action matching of one turn.
 *
 * @example
 * ```ts
 * import { ActionLog } from "./action_log.ts";
 * const stamp = { instance: "i", executionId: 1, nowMs: 0, duroxideVersion: "0.1.26" };
 * const log = new ActionLog([], stamp, (m) => { throw new Error(m); });
 * log.append({ type: "OrchestrationStarted", name: "F", version: "1.0.0", input: "null",
 *   parentInstance: null, parentId: null }, null);
 * log.seal();
 * const { event, isNew } = log.bind({ type: "TimerCreated", fireAtMs: 5 });
 * console.assert(isNew && event.eventId === 2 && log.delta.length === 2);
 * ```
 */
export class ActionLog {
  /** Persisted events, then the events appended this turn (completions, new actions are not). */
  readonly history: Event[];
  /** The events this turn adds, in id order. */
  readonly delta: Event[] = [];
  /** How many events were persisted before the turn. */
  readonly baselineLength: number;
  readonly #stamp: EventStamp;
  readonly #mismatch: (message: string) => never;
  #actions: Event[] = [];
  #next = 0;
  readonly #bound = new Set<number>();
  #nextId: number;

  /** Starts from the persisted history; `mismatch` reports nondeterminism (and throws). */
  constructor(
    persisted: readonly Event[],
    stamp: EventStamp,
    mismatch: (message: string) => never,
  ) {
    this.history = [...persisted];
    this.baselineLength = persisted.length;
    this.#stamp = stamp;
    this.#mismatch = mismatch;
    this.#nextId = (persisted.at(-1)?.eventId ?? 0) + 1;
  }

  /** A new event with the next id (not added anywhere). */
  newEvent(kind: EventKind, sourceEventId: number | null): Event {
    return {
      eventId: this.#nextId++,
      sourceEventId,
      instanceId: this.#stamp.instance,
      executionId: this.#stamp.executionId,
      timestampMs: this.#stamp.nowMs,
      duroxideVersion: this.#stamp.duroxideVersion,
      ...kind,
    } as Event;
  }

  /** Appends an event to the working history and the delta (before {@linkcode seal}). */
  append(kind: EventKind, sourceEventId: number | null): Event {
    const event = this.newEvent(kind, sourceEventId);
    this.history.push(event);
    this.delta.push(event);
    return event;
  }

  /** Fixes the recorded actions once the working history is complete. */
  seal(): void {
    this.#actions = this.history.filter(isActionEvent);
  }

  /** Matches an action against the next recorded one, or records it as a new event. */
  bind(kind: EventKind, sourceEventId: number | null = null): { event: Event; isNew: boolean } {
    const rec = this.#actions[this.#next];
    if (rec) {
      if (!actionMatches(rec, kind, sourceEventId)) {
        this.#mismatch(
          `history has ${describeAction(rec, rec.sourceEventId)} at event ${rec.eventId}, ` +
            `but the orchestration now ${describeAction(kind, sourceEventId)}`,
        );
      }
      this.#next++;
      this.#bound.add(rec.eventId);
      return { event: rec, isNew: false };
    }
    const event = this.newEvent(kind, sourceEventId);
    this.delta.push(event);
    return { event, isNew: true };
  }

  /** Whether the code has re-emitted this recorded action. */
  isBound(eventId: number): boolean {
    return this.#bound.has(eventId);
  }

  /** The first recorded action the code has not re-emitted, if any. */
  nextUnmatched(): Event | undefined {
    return this.#actions[this.#next];
  }
}
