/**
 * The simulated clock: the only source of time for the providers under simulation. Time moves
 * only when the simulation says so ({@linkcode SimClock.advance}), and each logical worker can
 * run ahead of or behind the shared time by a skew.
 *
 * @module
 */

/** The epoch (ms) every simulation starts at: 2024-01-01T00:00:00Z. */
export const SIM_EPOCH_MS = 1_704_067_200_000;

/**
 * Simulated time, shared by every logical worker of a simulation.
 *
 * @example
 * ```ts
 * import { createSimClock } from "@duroxide/pg/sim";
 *
 * const clock = createSimClock(1_000);
 * const w1 = clock.clockFor("w1");
 * clock.setSkew("w1", 50);
 * clock.advance(200);
 * console.assert(clock.now() === 1_200 && w1() === 1_250);
 * ```
 */
export interface SimClock {
  /** The shared time, epoch ms. */
  now(): number;
  /** The time as `worker` sees it: the shared time plus the worker's skew. */
  nowOf(worker: string): number;
  /** Moves the shared time by `ms` (negative for a clock jump back). */
  advance(ms: number): void;
  /** Sets the shared time and clears every skew. */
  reset(startMs: number): void;
  /** Makes `worker` see the shared time plus `ms`. */
  setSkew(worker: string, ms: number): void;
  /** A clock function for one worker, as `PostgresProviderOptions.clock` expects. */
  clockFor(worker: string): () => number;
}

/**
 * Creates a {@linkcode SimClock} at `startMs`.
 *
 * @example
 * ```ts
 * import { createSimClock } from "@duroxide/pg/sim";
 *
 * const clock = createSimClock(0);
 * clock.advance(1_500);
 * console.assert(clock.now() === 1_500);
 * ```
 */
export function createSimClock(startMs: number = SIM_EPOCH_MS): SimClock {
  let now = startMs;
  const skews = new Map<string, number>();
  const clock: SimClock = {
    now: () => now,
    nowOf: (worker) => now + (skews.get(worker) ?? 0),
    advance(ms) {
      now += ms;
    },
    reset(start) {
      now = start;
      skews.clear();
    },
    setSkew(worker, ms) {
      skews.set(worker, ms);
    },
    clockFor: (worker) => () => clock.nowOf(worker),
  };
  return clock;
}
