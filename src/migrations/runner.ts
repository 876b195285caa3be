/**
 * Applies the embedded migrations to one schema, or verifies that they were applied.
 *
 * Each migration runs in its own transaction under a per-schema advisory lock, with
 * `search_path` pinned to the schema and `pg_temp`. The tracking table records version, name
 * and checksum; a database that records a migration this code does not know is refused, as
 * is an applied migration whose text has changed.
 *
 * @module
 */

import type { SqlDriver, SqlExecutor } from "../driver/driver.ts";
import { ProviderError } from "../errors.ts";
import { quoteSchemaName } from "../schema_name.ts";
import { toProviderError } from "../sqlstate.ts";
import { EMBEDDED_MIGRATIONS } from "./_embedded.ts";
import type { EmbeddedMigration } from "./migration.ts";

/** How the provider treats the schema at start-up. */
export type MigrationMode = "apply" | "verify";

/** What a migration run did. */
export interface MigrationReport {
  /** Versions applied by this run, ascending. */
  applied: number[];
  /** The schema's version after the run. */
  currentVersion: number;
}

interface TrackedRow {
  version: number;
  name: string;
  checksum: string;
}

const TRACKING_TABLE = "_duroxide_migrations";

function problem(code: "SCHEMA_TOO_NEW" | "SCHEMA_NOT_READY" | "MIGRATION_CHANGED", msg: string) {
  return new ProviderError(msg, { code, operation: "migrate", retryable: false });
}

/** Refuses recorded migrations that this code does not ship or whose text differs. */
function checkRecorded(
  schema: string,
  rows: TrackedRow[],
  migrations: readonly EmbeddedMigration[],
): void {
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const row of rows) {
    const shipped = known.get(row.version);
    if (!shipped) {
      throw problem(
        "SCHEMA_TOO_NEW",
        `Schema "${schema}" records migration ${row.version} (${row.name}), which this version of ` +
          `the module does not know: upgrade the module before using this schema`,
      );
    }
    if (shipped.checksum !== row.checksum) {
      throw problem(
        "MIGRATION_CHANGED",
        `Migration ${row.name} in schema "${schema}" was applied from different text: shipped ` +
          `migrations must never be edited (recorded ${row.checksum}, shipped ${shipped.checksum})`,
      );
    }
  }
}

async function readTracked(tx: SqlExecutor, quoted: string): Promise<TrackedRow[]> {
  return await tx.query<TrackedRow>(
    `select version::int as version, name, checksum from ${quoted}.${TRACKING_TABLE} order by version`,
  );
}

/** Applies the next pending migration; returns its version, or null when none is pending. */
async function applyNext(
  driver: SqlDriver,
  schema: string,
  nowMs: number,
  migrations: readonly EmbeddedMigration[],
): Promise<number | null> {
  const quoted = quoteSchemaName(schema);
  return await driver.transaction(async (tx) => {
    // Serialises every migrating process on this schema (the lock ends with the transaction).
    await tx.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [
      `duroxide_ts:migrations:${schema}`,
    ]);
    await tx.exec(
      `create schema if not exists ${quoted};
       set local search_path to ${quoted}, pg_temp;
       create table if not exists ${quoted}.${TRACKING_TABLE} (
         version integer primary key,
         name text not null,
         checksum text not null,
         applied_at_ms bigint not null
       );`,
    );
    const rows = await readTracked(tx, quoted);
    checkRecorded(schema, rows, migrations);
    const applied = new Set(rows.map((r) => r.version));
    const next = migrations.find((m) => !applied.has(m.version));
    if (!next) return null;
    await tx.exec(next.sql.replaceAll("@SCHEMA@", quoted));
    await tx.query(
      `insert into ${quoted}.${TRACKING_TABLE} (version, name, checksum, applied_at_ms)
       values ($1, $2, $3, $4)`,
      [next.version, next.name, next.checksum, nowMs],
    );
    return next.version;
  });
}

/** Checks, without any DDL, that every shipped migration was applied to the schema. */
async function verify(
  driver: SqlDriver,
  schema: string,
  migrations: readonly EmbeddedMigration[],
): Promise<MigrationReport> {
  const quoted = quoteSchemaName(schema);
  const [{ tracked }] = await driver.query<{ tracked: string | null }>(
    `select to_regclass($1)::text as tracked`,
    [`${quoted}.${TRACKING_TABLE}`],
  );
  if (tracked === null) {
    throw problem(
      "SCHEMA_NOT_READY",
      `Schema "${schema}" has no migrations applied: run the provider once with migrations ` +
        `enabled (mode "apply") by a role allowed to create objects`,
    );
  }
  const rows = await readTracked(driver, quoted);
  checkRecorded(schema, rows, migrations);
  const applied = new Set(rows.map((r) => r.version));
  const missing = migrations.filter((m) => !applied.has(m.version)).map((m) => m.name);
  if (missing.length > 0) {
    throw problem(
      "SCHEMA_NOT_READY",
      `Schema "${schema}" is missing migrations ${missing.join(", ")}: apply them first`,
    );
  }
  return { applied: [], currentVersion: Math.max(0, ...applied) };
}

/** Options of {@linkcode migrate}. */
export interface MigrateOptions {
  /** `"apply"` runs pending migrations; `"verify"` only checks. @default {"apply"} */
  mode?: MigrationMode;
  /** The application clock, epoch ms. @default {Date.now} */
  clock?: () => number;
  /** The migrations to use (tests only). @default {the shipped migrations} */
  migrations?: readonly EmbeddedMigration[];
}

/**
 * Brings `schema` up to date (or verifies it) and reports what was done.
 *
 * @throws {TypeError} for an invalid schema name.
 * @throws {ProviderError} `SCHEMA_TOO_NEW`, `MIGRATION_CHANGED`, `SCHEMA_NOT_READY` (verify
 * mode), or a classified database error.
 *
 * @example
 * ```ts ignore
 * import { migrate } from "./runner.ts";
 * const report = await migrate(driver, "duroxide");
 * console.log(report.applied); // [1] on a fresh schema, [] afterwards
 * ```
 */
export async function migrate(
  driver: SqlDriver,
  schema: string,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const { mode = "apply", clock = Date.now, migrations = EMBEDDED_MIGRATIONS } = options;
  quoteSchemaName(schema);
  try {
    if (mode === "verify") return await verify(driver, schema, migrations);
    const applied: number[] = [];
    for (;;) {
      const version = await applyNext(driver, schema, clock(), migrations);
      if (version === null) break;
      applied.push(version);
    }
    return { applied, currentVersion: migrations.at(-1)?.version ?? 0 };
  } catch (err) {
    throw toProviderError("migrate", err);
  }
}

/**
 * Names of the objects of one kind (`table`, `function`) the shipped migrations create.
 *
 * @example
 * ```ts ignore
 * const functions = shippedObjectNames("function", EMBEDDED_MIGRATIONS);
 * ```
 */
export function shippedObjectNames(
  kind: "table" | "function",
  migrations: readonly EmbeddedMigration[],
): string[] {
  const pattern = new RegExp(`create (?:or replace )?${kind} @SCHEMA@\\.(\\w+)`, "gi");
  const names = new Set<string>();
  for (const m of migrations) {
    for (const match of m.sql.matchAll(pattern)) names.add(match[1]);
  }
  return [...names];
}

/**
 * Drops the provider's objects from `schema`: the whole schema, or, for `public`, only the
 * provider's own tables and functions.
 */
export async function dropSchemaObjects(driver: SqlDriver, schema: string): Promise<void> {
  const quoted = quoteSchemaName(schema);
  try {
    if (schema !== "public") {
      await driver.exec(`drop schema if exists ${quoted} cascade`);
      return;
    }
    await driver.transaction(async (tx) => {
      const functions = await tx.query<{ signature: string }>(
        `select p.oid::regprocedure::text as signature
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname = $1
            and p.proname in (select jsonb_array_elements_text($2::text::jsonb))`,
        [schema, JSON.stringify(shippedObjectNames("function", EMBEDDED_MIGRATIONS))],
      );
      const tables = [...shippedObjectNames("table", EMBEDDED_MIGRATIONS), TRACKING_TABLE];
      const statements = tables.map((t) => `drop table if exists ${quoted}.${t};`);
      for (const f of functions) statements.push(`drop function if exists ${f.signature};`);
      await tx.exec(statements.join("\n"));
    });
  } catch (err) {
    throw toProviderError("cleanup_schema", err);
  }
}
