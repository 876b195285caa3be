/**
 * The capacity of a dispatcher: how many items it may hold at once, and a wait for a free slot.
 *
 * @module
 */

/**
 * Counts free slots; `waitFree` resolves when at least one is free.
 *
 * @example
 * ```ts
 * import { Slots } from "./slots.ts";
 * const slots = new Slots(1);
 * slots.take();
 * const freed = slots.waitFree();
 * slots.release();
 * await freed;
 * console.assert(slots.free === 1);
 * ```
 */
export class Slots {
  #free: number;
  #waiters: (() => void)[] = [];

  /** `capacity` slots, all free. */
  constructor(capacity: number) {
    this.#free = capacity;
  }

  /** Slots free now. */
  get free(): number {
    return this.#free;
  }

  /** Occupies one slot (the caller checked that one is free). */
  take(): void {
    this.#free--;
  }

  /** Frees one slot and wakes whoever waits for one. */
  release(): void {
    this.#free++;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when a slot is free, or when `signal` aborts. */
  waitFree(signal?: AbortSignal): Promise<void> {
    if (this.#free > 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      signal?.addEventListener("abort", done, { once: true });
      this.#waiters.push(done);
    });
  }
}
