/**
 * A wake-up signal for the fetchers of one queue, with a generation count: every wake bumps
 * the generation, so a fetcher that found nothing at generation g knows nothing new has been
 * announced while the generation is still g, and can wait instead of querying again.
 *
 * @module
 */

interface Waiter {
  resolve(woken: boolean): void;
}

/** Wakes waiting fetchers of one queue, one at a time or all at once. */
export class WakeSignal {
  #generation = 0;
  #waiters: Waiter[] = [];

  /** Incremented by every wake. */
  get generation(): number {
    return this.#generation;
  }

  /** How many fetchers are waiting. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Wakes the longest-waiting fetcher (an orchestration message goes to one dispatcher). */
  wakeOne(): void {
    this.#generation++;
    this.#waiters.shift()?.resolve(true);
  }

  /** Wakes every waiting fetcher (any worker slot may be the right one for an activity). */
  wakeAll(): void {
    this.#generation++;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve(true);
  }

  /**
   * Resolves `true` when woken, or at once if a wake happened after generation `since`;
   * resolves `false` after `timeoutMs` or when `abort` fires.
   */
  wait(since: number, timeoutMs: number, abort?: AbortSignal): Promise<boolean> {
    if (this.#generation !== since) return Promise.resolve(true);
    if (abort?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        abort?.removeEventListener("abort", onAbort);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(woken);
      };
      const waiter: Waiter = { resolve: finish };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      abort?.addEventListener("abort", onAbort);
      this.#waiters.push(waiter);
    });
  }
}
