/** The migration runner: apply, idempotency, concurrency, refusal of unknown or edited history. */

import assert from "node:assert/strict";
import { ProviderError } from "../src/errors.ts";
import { migrate } from "../src/migrations/runner.ts";
import { EMBEDDED_MIGRATIONS } from "../src/migrations/_embedded.ts";
import { PostgresProvider } from "../src/postgres_provider.ts";
import { backendTest } from "./_support/backends.ts";
import { startItem } from "../sim/validation/helpers.ts";

const LATEST = EMBEDDED_MIGRATIONS.at(-1)!.version;

async function schemaExists(sql: (t: string, p?: unknown[]) => Promise<unknown[]>, name: string) {
  return (await sql(`select 1 from pg_namespace where nspname = $1`, [name])).length === 1;
}

backendTest("migrate() applies every migration once and records it", async (t) => {
  const first = await migrate(t.driver, t.schema);
  assert.deepEqual(first.applied, EMBEDDED_MIGRATIONS.map((m) => m.version));
  assert.equal(first.currentVersion, LATEST);
  const second = await migrate(t.driver, t.schema);
  assert.deepEqual(second.applied, []);
  const rows = await t.sql<{ version: number; name: string; checksum: string }>(
    `select version, name, checksum from "${t.schema}"._duroxide_migrations order by version`,
  );
  assert.deepEqual(
    rows,
    EMBEDDED_MIGRATIONS.map(({ version, name, checksum }) => ({ version, name, checksum })),
  );
});

backendTest(
  "concurrent migrate() calls on one fresh schema all succeed, applying once",
  async (t) => {
    const reports = await Promise.all(
      Array.from({ length: 4 }, () => migrate(t.driver, t.schema)),
    );
    const applied = reports.flatMap((r) => r.applied).sort();
    assert.deepEqual(applied, EMBEDDED_MIGRATIONS.map((m) => m.version));
    const rows = await t.sql(`select version from "${t.schema}"._duroxide_migrations`);
    assert.equal(rows.length, EMBEDDED_MIGRATIONS.length);
  },
);

backendTest("a schema with an unknown newer migration is refused and left alone", async (t) => {
  const provider = await t.createProvider();
  await provider.enqueueForOrchestrator(startItem("i"), null);
  await t.sql(
    `insert into "${t.schema}"._duroxide_migrations values (9999, '9999_future', 'x', 0)`,
  );
  await assert.rejects(
    PostgresProvider.fromDriver(t.driver, { schema: t.schema }),
    (err) =>
      err instanceof ProviderError && err.code === "SCHEMA_TOO_NEW" && /9999/.test(err.message),
  );
  await assert.rejects(
    PostgresProvider.fromDriver(t.driver, { schema: t.schema, migrations: "verify" }),
    (err) => err instanceof ProviderError && err.code === "SCHEMA_TOO_NEW",
  );
  const queued = await t.sql(`select 1 from "${t.schema}".orchestrator_queue`);
  assert.equal(queued.length, 1);
});

backendTest("an applied migration whose text changed is refused", async (t) => {
  await migrate(t.driver, t.schema);
  await t.sql(
    `update "${t.schema}"._duroxide_migrations set checksum = 'edited' where version = 1`,
  );
  await assert.rejects(
    migrate(t.driver, t.schema),
    (err) => err instanceof ProviderError && err.code === "MIGRATION_CHANGED",
  );
});

backendTest("verify mode runs no DDL and reports a missing schema or migration", async (t) => {
  await assert.rejects(
    PostgresProvider.fromDriver(t.driver, { schema: t.schema, migrations: "verify" }),
    (err) => err instanceof ProviderError && err.code === "SCHEMA_NOT_READY",
  );
  assert.equal(await schemaExists(t.sql, t.schema), false);

  await migrate(t.driver, t.schema);
  await t.sql(`delete from "${t.schema}"._duroxide_migrations where version = $1`, [LATEST]);
  await assert.rejects(
    migrate(t.driver, t.schema, { mode: "verify" }),
    (err) =>
      err instanceof ProviderError && err.code === "SCHEMA_NOT_READY" &&
      err.message.includes(EMBEDDED_MIGRATIONS.at(-1)!.name),
  );
  const rows = await t.sql(`select 1 from "${t.schema}"._duroxide_migrations`);
  assert.equal(rows.length, EMBEDDED_MIGRATIONS.length - 1, "verify must not apply anything");
});

backendTest("verify mode accepts a current schema and the provider works", async (t) => {
  await migrate(t.driver, t.schema);
  const provider = await t.createProvider({ migrations: "verify" });
  await provider.enqueueForOrchestrator(startItem("i"), null);
  assert.equal((await provider.fetchOrchestrationItem(1000, 0))?.item.instance, "i");
});

backendTest("cleanupSchema() drops the provider's schema and nothing else", async (t) => {
  const provider = await t.createProvider();
  const other = `${t.schema}_other`;
  await t.driver.exec(`create schema "${other}"; create table "${other}".keep (x int)`);
  try {
    await provider.cleanupSchema();
    assert.equal(await schemaExists(t.sql, t.schema), false);
    assert.equal(await schemaExists(t.sql, other), true);
  } finally {
    await t.driver.exec(`drop schema if exists "${other}" cascade`);
  }
});
