/**
 * Clock skew for one provider: a clock function that runs a signed offset ahead of (or
 * behind) a base clock, adjustable while the provider runs. Pass it as the provider's `clock`
 * option; every lease, visibility time and timestamp the provider writes follows it.
 *
 * @module
 */

/** A clock with an adjustable skew; call it for the time. See {@linkcode skewedClock}. */
export interface SkewedClock {
  /** The skewed time, epoch ms: the base clock plus {@linkcode SkewedClock.skewMs}. */
  (): number;
  /**
   * The offset in ms: positive runs ahead, negative behind. Setting it takes effect at the
   * next reading.
   *
   * @throws {RangeError} on assignment of anything but a safe integer.
   */
  skewMs: number;
}

function checkSkew(ms: unknown): number {
  if (typeof ms !== "number" || !Number.isSafeInteger(ms)) {
    throw new RangeError(`Invalid skewMs: expected a safe integer, got ${String(ms)}`);
  }
  return ms;
}

/**
 * Creates a clock `skewMs` ahead of `base` (behind, when negative).
 *
 * @throws {RangeError} unless `skewMs` is a safe integer.
 *
 * @example Two nodes on one schema, one of them a minute behind
 * ```ts
 * import { skewedClock } from "@duroxide/pg/sim";
 *
 * const base = () => 1_000_000;
 * const lagging = skewedClock(-60_000, base);
 * console.assert(lagging() === 940_000);
 * lagging.skewMs = 5_000; // now five seconds ahead
 * console.assert(lagging() === 1_005_000);
 * // e.g. PostgresProvider.fromPGlite(db, { schema: "s", clock: lagging })
 * ```
 */
export function skewedClock(skewMs = 0, base: () => number = Date.now): SkewedClock {
  let skew = checkSkew(skewMs);
  const clock = (() => base() + skew) as SkewedClock;
  Object.defineProperty(clock, "skewMs", {
    enumerable: true,
    get: () => skew,
    set: (ms: unknown) => {
      skew = checkSkew(ms);
    },
  });
  return clock;
}
