/**
 * Group commit for acks: while one ack call is in flight, the acks that arrive meanwhile wait
 * and go together in the next call. A lone ack is sent at once, so batching adds no latency
 * when the runtime is quiet and saves commits when it is busy.
 *
 * @module
 */

import type { AckOutcome } from "../batch_api.ts";
import { MAX_BATCH_ITEMS } from "../batch_api.ts";

interface Pending<A> {
  ack: A;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Collects acks and sends them in batches through `send`, one call at a time.
 *
 * @example
 * ```ts
 * import { AckBatcher } from "./ack_batcher.ts";
 * const calls: number[][] = [];
 * const batcher = new AckBatcher<number>(async (acks) => {
 *   calls.push(acks);
 *   return acks.map(() => null);
 * });
 * await Promise.all([batcher.ack(1), batcher.ack(2), batcher.ack(3)]);
 * console.assert(calls.length === 2); // [1], then [2, 3]
 * ```
 */
export class AckBatcher<A> {
  readonly #send: (acks: A[]) => Promise<AckOutcome[]>;
  #queue: Pending<A>[] = [];
  #sending = false;

  /** `send` commits a batch and returns one outcome per ack, in order. */
  constructor(send: (acks: A[]) => Promise<AckOutcome[]>) {
    this.#send = send;
  }

  /** Resolves once `ack` committed; rejects with its own error, or the batch call's. */
  ack(ack: A): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ack, resolve, reject });
      if (!this.#sending) this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#sending = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH_ITEMS);
      try {
        const outcomes = await this.#send(batch.map((p) => p.ack));
        batch.forEach((p, i) => {
          const outcome = outcomes[i];
          if (outcome) p.reject(outcome);
          else p.resolve();
        });
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.#sending = false;
  }
}
