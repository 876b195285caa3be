/**
 * What a runtime simulation run ended with, read from the database once nothing can happen any
 * more: every instance's final status and output, how often each scheduled activity's
 * completion was recorded in history, and any work left queued. Two runs of one workload (the
 * fault-free reference and the chaotic one) are compared on these.
 *
 * @module
 */

import { Client } from "../../src/client/client.ts";
import { decodeEvent } from "../../src/codec.ts";
import { DRAIN_WORKER, type SimHarness } from "../kit/harness.ts";

/** An instance's final state. */
export interface InstanceOutcome {
  /** `"Completed"`, `"Failed"`, `"Running"` or `"NotFound"`. */
  status: string;
  /** The output of a completed instance. */
  output?: unknown;
  /** The error of a failed instance. */
  error?: string;
}

/** What a run ended with. */
export interface RunOutcome {
  /** Every instance's final state, by id. */
  instances: Record<string, InstanceOutcome>;
  /**
   * How often a completion (`ActivityCompleted` or `ActivityFailed`) was recorded for each
   * scheduled activity, by `instance#execution/activityId` (0 when none was).
   */
  completions: Record<string, number>;
  /** Work still queued: messages of started instances and activities. */
  leftovers: string[];
}

/**
 * Reads the outcome of the run in `harness` (with the fault-free drain provider).
 *
 * @example
 * ```ts ignore
 * const outcome = await readRunOutcome(harness);
 * console.log(outcome.instances["order-1"]);
 * ```
 */
export async function readRunOutcome(harness: SimHarness): Promise<RunOutcome> {
  const s = harness.quotedSchema;
  const client = new Client(harness.provider(DRAIN_WORKER));
  const ids = await harness.db.query<{ id: string }>(
    `select instance_id as id from ${s}.instances order by instance_id`,
  );
  const instances: Record<string, InstanceOutcome> = {};
  for (const { id } of ids) {
    const st = await client.getStatus(id);
    const outcome: InstanceOutcome = { status: st.status };
    if (st.status === "Completed") outcome.output = st.output;
    if (st.status === "Failed") outcome.error = st.error;
    instances[id] = outcome;
  }
  const rows = await harness.db.query<{ data: string }>(
    `select event_data as data from ${s}.history order by instance_id, execution_id, event_id`,
  );
  const completions: Record<string, number> = {};
  for (const { data } of rows) {
    const e = decodeEvent(data);
    if (e.type === "ActivityScheduled") {
      completions[`${e.instanceId}#${e.executionId}/${e.eventId}`] ??= 0;
    } else if (
      (e.type === "ActivityCompleted" || e.type === "ActivityFailed") && e.sourceEventId !== null
    ) {
      const key = `${e.instanceId}#${e.executionId}/${e.sourceEventId}`;
      completions[key] = (completions[key] ?? 0) + 1;
    }
  }
  const left = await harness.db.query<{ what: string }>(
    `select 'message ' || q.kind || ' for ' || q.instance_id as what
       from ${s}.orchestrator_queue q
      where exists (select 1 from ${s}.instances i where i.instance_id = q.instance_id)
         or exists (select 1 from ${s}.history h where h.instance_id = q.instance_id)
     union all
     select 'activity ' || w.instance_id || '#' || w.execution_id || '/' || w.activity_id
       from ${s}.worker_queue w
     order by 1`,
  );
  return { instances, completions, leftovers: left.map((r) => r.what) };
}

function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  );
}

/**
 * Compares a run with the fault-free reference run of the same workload; returns the
 * differences (empty when the run is correct): every instance must end as in the reference,
 * every scheduled activity's completion must be recorded at most once and exactly as often as
 * in the reference, and no work may be left queued.
 *
 * @example
 * ```ts
 * import { compareRunOutcomes } from "@duroxide/pg/sim";
 *
 * const reference = {
 *   instances: { a: { status: "Completed", output: 2 } },
 *   completions: { "a#1/2": 1 },
 *   leftovers: [],
 * };
 * const run = { ...reference, completions: { "a#1/2": 2 } };
 * console.assert(compareRunOutcomes(reference, run).length === 2);
 * ```
 */
export function compareRunOutcomes(reference: RunOutcome, run: RunOutcome): string[] {
  const problems: string[] = [];
  const ids = [...new Set([...Object.keys(reference.instances), ...Object.keys(run.instances)])]
    .sort();
  for (const id of ids) {
    const want = reference.instances[id];
    const got = run.instances[id];
    if (!want) problems.push(`instance ${id} exists, but not in the fault-free run`);
    else if (!got) problems.push(`instance ${id} is missing (fault-free: ${canonical(want)})`);
    else if (canonical(want) !== canonical(got)) {
      problems.push(
        `instance ${id} ended ${canonical(got)}, the fault-free run ${canonical(want)}`,
      );
    }
  }
  const keys = [
    ...new Set([...Object.keys(reference.completions), ...Object.keys(run.completions)]),
  ]
    .sort();
  for (const key of keys) {
    if (!(key in run.completions) || !(key in reference.completions)) {
      problems.push(
        `activity ${key} was scheduled only in ${
          key in run.completions ? "this run" : "the fault-free run"
        }`,
      );
    }
    const got = run.completions[key] ?? 0;
    const want = reference.completions[key] ?? 0;
    if (got > 1) problems.push(`activity ${key}: its completion was recorded ${got} times`);
    if (got !== want) {
      problems.push(
        `activity ${key}: completion recorded ${got} time(s), in the fault-free run ${want}`,
      );
    }
  }
  for (const what of run.leftovers) problems.push(`work left queued: ${what}`);
  return problems;
}
