/**
 * How the simulation reads the database: SQL functions installed into the simulation's schema
 * (next to the provider's, prefixed `sim_`), so that what a step changed comes back with the
 * step's own call, and the recoverability probe is one call, with cached plans.
 *
 * - `sim_fingerprint()`: per table, its row count and its newest row version (`xmin`): an
 *   insert or update writes a row version newer than all others and a delete alone lowers the
 *   count, so any change to a table changes its fingerprint;
 * - `sim_snapshot()`: every table, as one JSON text;
 * - `sim_probe(at)`: the recoverability probe: the real fetch procedures called at `at` (past
 *   every lease) until they find nothing, inside a block whose changes are rolled back;
 * - `sim_observe(since)`: the new fingerprint and the tables whose fingerprint differs from
 *   `since`; `sim_observe_after(result, since)` runs it inside a provider call's own statement
 *   (see {@linkcode fuseObservation}), so a step reads what it changed without a round trip of
 *   its own.
 *
 * Reading the whole state after every step, and probing it in a transaction of separate
 * fetches, was most of a step's cost; on PGlite a statement's fixed cost is about that of a
 * small procedure. Reading only what changed, in the call's own statement, keeps every check:
 * a table whose fingerprint did not change holds what it held at the last read. (Change-flag
 * triggers were tried first: a PL/pgSQL trigger per row cost more than reading every table.)
 *
 * @module
 */

import type { SqlExecutor } from "../../src/driver/driver.ts";
import type { StoreView } from "./model_state.ts";
import { type RawSnapshot, storeTablesOf, storeViewOf, type TokenRegistry } from "./snapshot.ts";

/** The SQLSTATE the probe raises to roll its fetches back (caught inside the function). */
const PROBE_ROLLBACK = "DXSIM";

/** Most fetches of one kind the probe makes (a livelocked fetch must not loop forever). */
const PROBE_LIMIT = 1_000;

/** How each table is read: its name, the JSON fields of a row, and the row order. */
const TABLES: Record<keyof RawSnapshot, { table: string; fields: string; order: string }> = {
  orchestratorQueue: {
    table: "orchestrator_queue",
    fields: `'kind', kind, 'instance', instance_id, 'item', work_item, 'visibleAt', visible_at,
       'token', lock_token, 'attempts', attempt_count`,
    order: "id",
  },
  workerQueue: {
    table: "worker_queue",
    fields: `'instance', instance_id, 'executionId', execution_id, 'activityId', activity_id,
       'session', session_id, 'tag', tag, 'item', work_item, 'visibleAt', visible_at,
       'token', lock_token, 'lockedUntil', locked_until, 'attempts', attempt_count,
       'createdAt', created_at_ms`,
    order: "id",
  },
  instanceLocks: {
    table: "instance_locks",
    fields: `'instance', instance_id, 'token', lock_token, 'lockedUntil', locked_until`,
    order: "instance_id",
  },
  sessions: {
    table: "sessions",
    fields: `'session', session_id, 'owner', worker_id, 'lockedUntil', locked_until,
       'lastActivity', last_activity_at`,
    order: "session_id",
  },
  history: {
    table: "history",
    fields: `'instance', instance_id, 'executionId', execution_id, 'eventId', event_id,
       'data', event_data`,
    order: "instance_id, execution_id, event_id",
  },
  executions: {
    table: "executions",
    fields: `'instance', instance_id, 'executionId', execution_id, 'status', status`,
    order: "instance_id, execution_id",
  },
  instances: {
    table: "instances",
    fields: `'instance', instance_id, 'name', orchestration_name, 'version', orchestration_version,
       'current', current_execution_id, 'customStatus', custom_status,
       'customStatusVersion', custom_status_version`,
    order: "instance_id",
  },
};

const KEYS = Object.keys(TABLES) as (keyof RawSnapshot)[];

function tableJson(s: string, key: keyof RawSnapshot): string {
  const { table, fields, order } = TABLES[key];
  return `(select coalesce(json_agg(json_build_object(${fields}) order by ${order}), '[]'::json)
        from ${s}.${table})`;
}

function observersSql(s: string): string {
  // A table's fingerprint: its row count and the newest row version (xmin). An insert or an
  // update writes a row version newer than every other, a delete alone lowers the count, so
  // any change of a table changes its fingerprint (without triggers, which cost more than a
  // whole read).
  const fingerprints = KEYS.map((key, i) =>
    `(select count(*) || ':' || coalesce(max(xmin::text::bigint), 0) from ${s}.${
      TABLES[key].table
    }) as f${i + 1}`
  ).join(",\n           ");
  const joined = KEYS.map((_, i) => `f.f${i + 1}`).join(" || ';' || ");
  const reads = KEYS.map((key, i) =>
    `'${key}', case when f.f${i + 1} is distinct from p[${i + 1}] then ${tableJson(s, key)} end`
  ).join(",\n      ");
  const all = KEYS.map((key) => `'${key}', ${tableJson(s, key)}`).join(",\n    ");
  return `
-- One statement (one cached plan): a table's rows are read only when its fingerprint changed.
-- Volatile, so that it takes a snapshot of its own: inside a provider call's statement it must
-- see what the call just did.
create or replace function ${s}.sim_observe(p_since text) returns text
language plpgsql volatile as $sim$
begin
  return (
    select json_build_object(
      'fingerprint', ${joined},
      'tables', json_build_object(
      ${reads}))::text
      from (select ${fingerprints}) f,
           (select string_to_array(coalesce(p_since, ''), ';') as p) prev);
end
$sim$;

-- The observation fused into a provider call: its argument (the call's result) makes it run
-- after the call, in the call's own statement.
create or replace function ${s}.sim_observe_after(p_result jsonb, p_since text) returns text
language sql volatile as $sim$ select ${s}.sim_observe(p_since) $sim$;

create or replace function ${s}.sim_snapshot() returns text
language sql stable as $sim$ select json_build_object(
    ${all})::text $sim$;

create or replace function ${s}.sim_probe(p_at bigint) returns text
language plpgsql volatile as $sim$
declare
  v_found jsonb;
  v_instances text[] := '{}';
  v_activities integer := 0;
begin
  begin
    loop
      v_found := ${s}.fetch_orchestration_item(p_at, 60000, null, null);
      exit when v_found is null or cardinality(v_instances) >= ${PROBE_LIMIT};
      v_instances := v_instances || (v_found ->> 'instance_id');
    end loop;
    loop
      v_found := ${s}.fetch_work_item(p_at, 60000, 'sim-probe', 60000, 'any', '[]'::jsonb);
      exit when v_found is null or v_activities >= ${PROBE_LIMIT};
      v_activities := v_activities + 1;
    end loop;
    -- Undo the fetches: an exception rolls the block back; the variables keep their values.
    raise exception 'sim probe rollback' using errcode = '${PROBE_ROLLBACK}';
  exception when sqlstate '${PROBE_ROLLBACK}' then
    null;
  end;
  return json_build_object('instances', to_json(v_instances), 'activities', v_activities)::text;
end
$sim$;

`;
}

/**
 * Installs the observer functions into `quotedSchema` (which must hold the provider's tables
 * and procedures). `openSimHarness` does this; call it yourself to observe a schema of your
 * own with {@linkcode readStoreView} or {@linkcode observeStore}.
 *
 * @example
 * ```ts ignore
 * await installSimObservers(driver, '"my_schema"');
 * const view = await readStoreView(driver, '"my_schema"', createTokenRegistry());
 * ```
 */
export async function installSimObservers(db: SqlExecutor, quotedSchema: string): Promise<void> {
  await db.exec(observersSql(quotedSchema));
}

/** What {@linkcode observeStore} read. */
export interface StoreObservation {
  /** The tables that changed since `since`, read again (canonical). */
  changed: Partial<StoreView>;
  /** The fingerprint of the tables now (pass it as `since` next time). */
  fingerprint: string;
}

/** The fingerprint of empty tables: what `since` is for a freshly reset schema. */
export const EMPTY_FINGERPRINT: string = Array(7).fill("0:0").join(";");

/**
 * Turns the text `sim_observe` returned into a {@linkcode StoreObservation}.
 *
 * @example
 * ```ts
 * import { createTokenRegistry, EMPTY_FINGERPRINT, observationOf } from "@duroxide/pg/sim";
 *
 * const o = observationOf(
 *   `{"fingerprint":"${EMPTY_FINGERPRINT}","tables":{"history":null}}`,
 *   createTokenRegistry(),
 * );
 * console.assert(o.fingerprint === EMPTY_FINGERPRINT && Object.keys(o.changed).length === 0);
 * ```
 */
export function observationOf(text: string, tokens: TokenRegistry): StoreObservation {
  const parsed = JSON.parse(text) as {
    fingerprint: string;
    tables: Partial<Record<keyof RawSnapshot, unknown>>;
  };
  // Unchanged tables come back as null.
  const changed = Object.fromEntries(
    Object.entries(parsed.tables).filter(([, rows]) => rows !== null),
  ) as Partial<RawSnapshot>;
  return { changed: storeTablesOf(changed, tokens), fingerprint: parsed.fingerprint };
}

/**
 * Reads the tables whose fingerprint changed since `since` (a fingerprint an earlier
 * observation returned), in one call.
 *
 * @example
 * ```ts ignore
 * const { changed, fingerprint } = await observeStore(harness.db, harness.quotedSchema, tokens, since);
 * const after = { ...before, ...changed };
 * ```
 */
export async function observeStore(
  db: SqlExecutor,
  quotedSchema: string,
  tokens: TokenRegistry,
  since: string,
): Promise<StoreObservation> {
  const rows = await db.query<{ o: string }>(
    `select ${quotedSchema}.sim_observe($1::text) as o`,
    [since],
  );
  return observationOf(rows[0].o, tokens);
}

/** The provider's statement shape: one procedure call, its result named `r`. */
const PROVIDER_CALL_REGEXP = /^select [\s\S]+ as r$/;

/**
 * A provider statement with the observation fused in: the call runs as a subquery, then
 * `sim_observe_after` reads what it changed in the same statement, so a step costs one round
 * trip instead of two. The observation comes back as the extra column `sim_observation`.
 * Returns `null` for a statement of another shape (it then runs as it is).
 *
 * @example
 * ```ts
 * import { fuseObservation } from "@duroxide/pg/sim";
 *
 * const fused = fuseObservation('"s"', 'select "s".ack_work_item($1::text) as r', ["t"], "0:0");
 * console.assert(fused?.params.length === 2 && fused.sql.includes("sim_observe_after"));
 * ```
 */
export function fuseObservation(
  quotedSchema: string,
  sql: string,
  params: readonly unknown[],
  since: string,
): { sql: string; params: unknown[] } | null {
  if (!PROVIDER_CALL_REGEXP.test(sql)) return null;
  return {
    sql: `select q.r, ${quotedSchema}.sim_observe_after(q.r, $${
      params.length + 1
    }::text) as sim_observation from (${sql} offset 0) q`,
    params: [...params, since],
  };
}

/**
 * Reads the provider's tables in `quotedSchema` as a canonical {@linkcode StoreView}, naming
 * lock tokens with `tokens` (one call of the installed `sim_snapshot()`).
 *
 * @example
 * ```ts ignore
 * const view = await readStoreView(driver, '"sim_1"', createTokenRegistry());
 * console.log(view.orchestratorQueue.map((m) => m.label));
 * ```
 */
export async function readStoreView(
  db: SqlExecutor,
  quotedSchema: string,
  tokens: TokenRegistry,
): Promise<StoreView> {
  const rows = await db.query<{ s: string }>(`select ${quotedSchema}.sim_snapshot() as s`);
  return storeViewOf(JSON.parse(rows[0].s) as RawSnapshot, tokens);
}
