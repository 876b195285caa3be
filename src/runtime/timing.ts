/**
 * Abortable delays and the "stop waiting at shutdown" helper of the dispatcher loops.
 *
 * @module
 */

/**
 * Resolves after `ms`, or at once when `signal` aborts.
 *
 * @example
 * ```ts
 * import { delay } from "./timing.ts";
 * const ac = new AbortController();
 * ac.abort();
 * await delay(60_000, ac.signal); // returns immediately
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Returned by {@linkcode untilAborted} when the signal won. */
export const ABORTED: unique symbol = Symbol("aborted");

/**
 * Waits for `promise` unless `signal` aborts first; then returns {@linkcode ABORTED} and hands
 * the late result to `onLate` (e.g. to release a lock that a fetch took after shutdown).
 *
 * @example
 * ```ts
 * import { ABORTED, untilAborted } from "./timing.ts";
 * const ac = new AbortController();
 * ac.abort();
 * const r = await untilAborted(new Promise<number>(() => {}), ac.signal, () => {});
 * console.assert(r === ABORTED);
 * ```
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  onLate: (value: T) => void,
): Promise<T | typeof ABORTED> {
  if (signal.aborted) {
    promise.then(onLate, () => {});
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      promise.then(onLate, () => {});
      resolve(ABORTED);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        if (signal.aborted) return;
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        if (signal.aborted) return;
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** A periodic task that can be stopped. */
export interface Periodic {
  /** Stops it; an iteration in progress finishes. */
  stop(): void;
}

/**
 * Runs `fn` every `intervalMs` until stopped or until `fn` returns `false`.
 *
 * @example
 * ```ts
 * import { every } from "./timing.ts";
 * const p = every(10, () => false);
 * p.stop();
 * ```
 */
export function every(intervalMs: number, fn: () => Promise<boolean> | boolean): Periodic {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async (): Promise<void> => {
    if (stopped) return;
    let again = false;
    try {
      again = await fn();
    } catch {
      again = false;
    }
    if (again && !stopped) timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Backoff after a failed provider call: retryable errors double from 200 ms up to 3 s,
 * permanent ones wait 100 ms.
 *
 * @example
 * ```ts
 * import { providerErrorBackoffMs } from "./timing.ts";
 * console.assert(providerErrorBackoffMs(true, 1) === 200);
 * console.assert(providerErrorBackoffMs(false, 7) === 100);
 * ```
 */
export function providerErrorBackoffMs(retryable: boolean, consecutive: number): number {
  return retryable ? Math.min(100 * 2 ** consecutive, 3_000) : 100;
}
