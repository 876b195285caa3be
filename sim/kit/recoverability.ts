/**
 * Recoverability, the "no livelock" invariant: whatever state a run reaches, once every lease
 * has lapsed all work must be fetchable again. The probe runs the real fetch procedures far in
 * the future inside a transaction that is rolled back, so it changes nothing.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";
import { instanceStarted, type StoreView } from "./model_state.ts";

/** What {@linkcode probeRecoverable} found. */
export interface RecoverabilityProbe {
  /** Instances a fetch far in the future would lock, in order. */
  instances: string[];
  /** Activities (labels) a fetch far in the future would lock. */
  activities: number;
}

/**
 * Recoverability: in a transaction that is rolled back, fetches at `atMs` (past every lease)
 * until nothing is left, and reports what it could fetch. Every instance with messages that
 * has started, and every activity, must come back: no lease or leftover state may block work
 * for good.
 *
 * @example
 * ```ts ignore
 * const probe = await probeRecoverable(harness.db, harness.quotedSchema, far);
 * ```
 */
export async function probeRecoverable(
  db: SqlDriver,
  quotedSchema: string,
  atMs: number,
): Promise<RecoverabilityProbe> {
  const rollback = new Error("probe rollback");
  let found: RecoverabilityProbe = { instances: [], activities: 0 };
  try {
    await db.transaction(async (tx) => {
      const probe: RecoverabilityProbe = { instances: [], activities: 0 };
      for (let i = 0; i < 1_000; i++) {
        const rows = await tx.query<{ r: { instance_id: string } | null }>(
          `select ${quotedSchema}.fetch_orchestration_item($1::bigint, 60000::bigint, null, null) as r`,
          [atMs],
        );
        if (!rows[0].r) break;
        probe.instances.push(rows[0].r.instance_id);
      }
      for (let i = 0; i < 1_000; i++) {
        const rows = await tx.query<{ r: unknown }>(
          `select ${quotedSchema}.fetch_work_item($1::bigint, 60000::bigint, 'sim-probe', 60000::bigint, 'any', '[]'::jsonb) as r`,
          [atMs],
        );
        if (!rows[0].r) break;
        probe.activities += 1;
      }
      found = probe;
      throw rollback;
    });
  } catch (err) {
    if (err !== rollback) throw err;
  }
  return found;
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
