/**
 * External-event waits and event-queue dequeues of one turn: events are matched to waits by
 * position (a wait only sees events that arrived after it was subscribed), queue messages are
 * buffered and handed to dequeues oldest first.
 *
 * @module
 */

import type { Event } from "../../types.ts";
import type { BoundTask } from "./bound_task.ts";
import { settle } from "./waiters.ts";

/**
 * The subscriptions of one turn.
 *
 * @example
 * ```ts
 * import { Subscriptions } from "./subscriptions.ts";
 * const subs = new Subscriptions();
 * const wait = { kind: "dequeue" as const, eventId: 2, isNew: true, status: "pending" as const,
 *   name: "inbox" };
 * subs.deliverQueued(3, "inbox", '"hi"');
 * subs.addDequeue(wait);
 * console.assert((wait as { raw?: string }).raw === '"hi"');
 * ```
 */
export class Subscriptions {
  readonly #waits: BoundTask[] = [];
  readonly #dequeues: BoundTask[] = [];
  readonly #buffer: { eventId: number; name: string; data: string }[] = [];
  readonly #consumed = new Set<number>();

  /** Adds a `waitForEvent` subscription. */
  addWait(task: BoundTask): void {
    this.#waits.push(task);
  }

  /** Adds a `dequeueEvent` subscription; a buffered message may settle it at once. */
  addDequeue(task: BoundTask): void {
    this.#dequeues.push(task);
    this.#match();
  }

  /** Delivers an external event to the oldest pending wait subscribed before it. */
  deliverEvent(eventId: number, name: string, data: string): void {
    const sub = this.#waits.find((s) =>
      s.status === "pending" && s.name === name && s.eventId < eventId
    );
    if (sub) settle(sub, data);
  }

  /** Buffers a queue message and hands buffered messages to pending dequeues. */
  deliverQueued(eventId: number, name: string, data: string): void {
    this.#buffer.push({ eventId, name, data });
    this.#match();
  }

  /** Queue messages of `history` no dequeue consumed, oldest first, as `[queue, data]`. */
  unconsumed(history: readonly Event[]): [string, string][] {
    return history
      .filter((e): e is Event & { type: "QueueEventDelivered" } =>
        e.type === "QueueEventDelivered" && !this.#consumed.has(e.eventId)
      )
      .map((e) => [e.name, e.data]);
  }

  #match(): void {
    for (const sub of this.#dequeues) {
      if (sub.status !== "pending") continue;
      const msg = this.#buffer.find((m) => m.name === sub.name && !this.#consumed.has(m.eventId));
      if (!msg) continue;
      this.#consumed.add(msg.eventId);
      settle(sub, msg.data);
    }
  }
}
