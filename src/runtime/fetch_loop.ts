/**
 * The fetch loop both dispatchers run: lock up to as many items as there are free slots in one
 * call (long polling when there are none), run each concurrently, back off after failed
 * fetches, and wait the minimum poll interval after an empty fetch unless the provider already
 * waited.
 *
 * @module
 */

import { ProviderError } from "../errors.ts";
import type { RuntimeCore } from "./core.ts";
import { errorText } from "./replay/error_details.ts";
import { Slots } from "./slots.ts";
import { ABORTED, delay, providerErrorBackoffMs, untilAborted } from "./timing.ts";

/** What one dispatcher fetches and how it runs it. */
export interface FetchLoopSpec<T> {
  /** Items held at once. */
  capacity: number;
  /** The fetch named in warnings, e.g. `"fetch_work_item"`. */
  operation: string;
  /** Locks up to `maxItems` items (long polling until `core.stopping`). */
  fetch(maxItems: number): Promise<T[]>;
  /** Releases an item whose fetch returned after shutdown began. */
  release(item: T): Promise<void>;
  /** Runs one item to its ack; never throws. */
  run(item: T): Promise<void>;
}

/**
 * Runs `spec` until the runtime stops; each run is handed to `track` (shutdown waits for it).
 *
 * @example
 * ```ts ignore
 * await fetchLoop(core, track, { capacity: 8, operation: "fetch_work_item", fetch, release, run });
 * ```
 */
export async function fetchLoop<T>(
  core: RuntimeCore,
  track: (work: Promise<void>) => Promise<void>,
  spec: FetchLoopSpec<T>,
): Promise<void> {
  const slots = new Slots(spec.capacity);
  let consecutiveErrors = 0;
  while (!core.stopping.aborted) {
    await slots.waitFree(core.stopping);
    if (core.stopping.aborted) break;
    const t0 = Date.now();
    let fetched: T[] | typeof ABORTED;
    try {
      fetched = await untilAborted(spec.fetch(slots.free), core.stopping, (late) => {
        for (const item of late) spec.release(item).catch(() => {});
      });
    } catch (err) {
      core.metrics.providerErrors++;
      consecutiveErrors++;
      core.log({
        level: "warn",
        message: `${spec.operation} failed: ${errorText(err)}`,
        source: "runtime",
      });
      const retryable = err instanceof ProviderError ? err.retryable : true;
      await delay(providerErrorBackoffMs(retryable, consecutiveErrors), core.stopping);
      continue;
    }
    if (fetched === ABORTED) break;
    consecutiveErrors = 0;
    for (const item of fetched) {
      slots.take();
      track(spec.run(item).finally(() => slots.release()));
    }
    if (fetched.length === 0 && !core.calls.longPolls()) {
      await delay(Math.max(0, core.options.pollIntervalMs - (Date.now() - t0)), core.stopping);
    }
  }
}
