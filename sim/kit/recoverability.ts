/**
 * Recoverability, the "no livelock" invariant: whatever state a run reaches, once every lease
 * has lapsed all work must be fetchable again. The probe runs the real fetch procedures far in
 * the future and rolls them back, so it changes nothing (see `observers.ts`).
 *
 * @module
 */

import type { SqlExecutor } from "../../src/driver/driver.ts";
import { instanceStarted, type StoreView } from "./model_state.ts";

/** What {@linkcode probeRecoverable} found. */
export interface RecoverabilityProbe {
  /** Instances a fetch far in the future would lock, in order. */
  instances: string[];
  /** Activities (labels) a fetch far in the future would lock. */
  activities: number;
}

/**
 * Recoverability: fetches at `atMs` (past every lease) until nothing is left, and reports what
 * it could fetch; the fetches are rolled back, so nothing changes. Every instance with messages
 * that has started, and every activity, must come back: no lease or leftover state may block
 * work for good. One call of the `sim_probe` function that `installSimObservers` installs.
 *
 * @example
 * ```ts ignore
 * const probe = await probeRecoverable(harness.db, harness.quotedSchema, far);
 * ```
 */
export async function probeRecoverable(
  db: SqlExecutor,
  quotedSchema: string,
  atMs: number,
): Promise<RecoverabilityProbe> {
  const rows = await db.query<{ p: string }>(
    `select ${quotedSchema}.sim_probe($1::bigint) as p`,
    [atMs],
  );
  return JSON.parse(rows[0].p) as RecoverabilityProbe;
}

/**
 * The instances and activity count {@linkcode probeRecoverable} must find in `view` at `atMs`:
 * every instance with messages that has started (or whose visible messages include a start),
 * and every activity.
 *
 * @example
 * ```ts
 * import { emptyStore, expectedRecoverable } from "@duroxide/pg/sim";
 *
 * console.assert(expectedRecoverable(emptyStore(), 0).instances.length === 0);
 * ```
 */
export function expectedRecoverable(view: StoreView, atMs: number): RecoverabilityProbe {
  const instances = new Set<string>();
  for (const m of view.orchestratorQueue) {
    if (m.visibleAt <= atMs && instanceStarted(view, m.instance, atMs)) instances.add(m.instance);
  }
  return {
    instances: [...instances].sort(),
    activities: view.workerQueue.filter((w) => w.visibleAt <= atMs).length,
  };
}
