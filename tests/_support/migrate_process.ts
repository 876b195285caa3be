/**
 * A separate OS process for `tests/migration_upgrade_test.ts`: migrates one schema on the
 * server at `DATABASE_URL` and prints the {@linkcode MigrationReport} as JSON.
 *
 * Usage: `deno run -A tests/_support/migrate_process.ts SCHEMA [EXTRA_JSON_FILE]`, where the
 * optional file holds an array of extra migrations appended to the shipped ones. Exits 1
 * with the error on stderr when the migration fails.
 *
 * @module
 */

import postgres from "postgres";
import { postgresJsDriver } from "../../src/driver/postgres_js.ts";
import { EMBEDDED_MIGRATIONS } from "../../src/migrations/_embedded.ts";
import type { EmbeddedMigration } from "../../src/migrations/migration.ts";
import { migrate, type MigrationReport } from "../../src/migrations/runner.ts";

/** Migrates `schema` with the shipped migrations plus `extra`, over a pool of its own. */
export async function migrateInOwnPool(
  url: string,
  schema: string,
  extra: readonly EmbeddedMigration[],
): Promise<MigrationReport> {
  const driver = postgresJsDriver(postgres(url, { max: 1, onnotice: () => {} }), true);
  try {
    return await migrate(driver, schema, { migrations: [...EMBEDDED_MIGRATIONS, ...extra] });
  } finally {
    await driver.close();
  }
}

if (import.meta.main) {
  const [schema, extraFile] = Deno.args;
  const url = Deno.env.get("DATABASE_URL");
  try {
    if (!schema || !url) throw new Error("usage: DATABASE_URL=… migrate_process.ts SCHEMA [FILE]");
    const extra: EmbeddedMigration[] = extraFile
      ? JSON.parse(await Deno.readTextFile(extraFile))
      : [];
    console.log(JSON.stringify(await migrateInOwnPool(url, schema, extra)));
  } catch (err) {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    Deno.exit(1);
  }
}
