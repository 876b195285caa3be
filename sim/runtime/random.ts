/**
 * The seeded random source of the runtime simulation: every choice (which node acts next, which
 * fault strikes, when the clock jumps, the workload itself) comes from one of these, so a seed
 * replays a run exactly.
 *
 * @module
 */

/**
 * A deterministic pseudo-random source (mulberry32).
 *
 * @example
 * ```ts
 * import { createSimRandom } from "@duroxide/pg/sim";
 *
 * const a = createSimRandom(7);
 * const b = createSimRandom(7);
 * console.assert(a.int(1_000) === b.int(1_000) && a.pick(["x", "y"]) === b.pick(["x", "y"]));
 * ```
 */
export interface SimRandom {
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
  /** `true` with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A new source derived from this one (its own stream). */
  fork(): SimRandom;
}

/**
 * Creates a {@linkcode SimRandom} from a 32-bit seed.
 *
 * @example
 * ```ts
 * import { createSimRandom } from "@duroxide/pg/sim";
 *
 * const r = createSimRandom(1);
 * const x = r.between(5, 9);
 * console.assert(x >= 5 && x <= 9);
 * ```
 */
export function createSimRandom(seed: number): SimRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const random: SimRandom = {
    next,
    int: (n) => Math.floor(next() * n),
    between: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
      return items[Math.floor(next() * items.length)];
    },
    fork: () => createSimRandom(Math.floor(next() * 4294967296)),
  };
  return random;
}
