/**
 * Upgrades: migrating step by step ends where migrating at once does; separate processes
 * migrating one schema apply each migration once; a schema ahead of the code is refused
 * before anything is applied; verify mode changes nothing; and running providers keep
 * working while a migration replaces their functions underneath them.
 */

import assert from "node:assert/strict";
import { catalogSnapshot } from "../scripts/migration_diff.ts";
import type { SqlDriver } from "../src/driver/driver.ts";
import { ProviderError } from "../src/errors.ts";
import { EMBEDDED_MIGRATIONS } from "../src/migrations/_embedded.ts";
import type { EmbeddedMigration } from "../src/migrations/migration.ts";
import { migrate, type MigrationReport } from "../src/migrations/runner.ts";
import type { PostgresProvider } from "../src/postgres_provider.ts";
import { type BackendContext, backendTest } from "./_support/backends.ts";
import { activityItem, startedEvent, startItem, testMetadata } from "../sim/validation/helpers.ts";

const LATEST = EMBEDDED_MIGRATIONS.at(-1)!.version;
const CHILD = new URL("./_support/migrate_process.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;

/** A synthetic migration after the shipped ones. */
function extraMigration(offset: number, sql: string): EmbeddedMigration {
  const version = LATEST + offset;
  return { version, name: `${version}_test_extra`, checksum: `test-extra-${offset}`, sql };
}

/** Migrations that each create a table, so applying one twice fails. */
function tableMigrations(count: number): EmbeddedMigration[] {
  return Array.from(
    { length: count },
    (_, i) => extraMigration(i + 1, `create table @SCHEMA@.extra_${i + 1} (id integer);`),
  );
}

async function trackedVersions(t: BackendContext, schema = t.schema): Promise<number[]> {
  const rows = await t.sql<{ version: number }>(
    `select version from "${schema}"._duroxide_migrations order by version`,
  );
  return rows.map((r) => r.version);
}

function isProviderError(code: string, pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof ProviderError && err.code === code && pattern.test(err.message);
}

backendTest(
  "migrating one step per run ends with the same catalog as migrating at once",
  async (t) => {
    const stepwise = `${t.schema}_steps`;
    try {
      await migrate(t.driver, t.schema);
      for (let k = 1; k <= EMBEDDED_MIGRATIONS.length; k++) {
        const report = await migrate(t.driver, stepwise, {
          migrations: EMBEDDED_MIGRATIONS.slice(0, k),
        });
        assert.deepEqual(report.applied, [EMBEDDED_MIGRATIONS[k - 1].version]);
      }
      const atOnce = await catalogSnapshot(t.driver, t.schema);
      assert.ok(Object.keys(atOnce.tables).length > 0 && Object.keys(atOnce.functions).length > 0);
      assert.deepEqual(await catalogSnapshot(t.driver, stepwise), atOnce);
      assert.deepEqual(await trackedVersions(t, stepwise), await trackedVersions(t));
    } finally {
      await t.driver.exec(`drop schema if exists "${stepwise}" cascade`);
    }
  },
);

/** Runs the child script on `schema`; resolves with its report or rejects with its stderr. */
async function migrateInProcess(schema: string, extraFile: string): Promise<MigrationReport> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, schema, extraFile],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  if (!output.success) throw new Error(`migrate_process.ts failed: ${decode(output.stderr)}`);
  return JSON.parse(decode(output.stdout)) as MigrationReport;
}

/** Writes `migrations` to a temporary JSON file for the child script; returns its path. */
async function extraFileOf(migrations: readonly EmbeddedMigration[]): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "extra_migrations_", suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(migrations));
  return path;
}

backendTest(
  "processes (server) or calls (PGlite) migrating one fresh schema at once apply each migration once",
  async (t) => {
    const extra = tableMigrations(2);
    const all = [...EMBEDDED_MIGRATIONS, ...extra].map((m) => m.version);
    let reports: MigrationReport[];
    if (t.backend === "server") {
      const file = await extraFileOf(extra);
      try {
        reports = await Promise.all(
          Array.from({ length: 4 }, () => migrateInProcess(t.schema, file)),
        );
      } finally {
        await Deno.remove(file);
      }
    } else {
      const migrations = [...EMBEDDED_MIGRATIONS, ...extra];
      reports = await Promise.all(
        Array.from({ length: 4 }, () => migrate(t.driver, t.schema, { migrations })),
      );
    }
    assert.deepEqual(reports.flatMap((r) => r.applied).sort((a, b) => a - b), all);
    assert.ok(reports.every((r) => r.currentVersion === all.at(-1)));
    assert.deepEqual(await trackedVersions(t), all);
  },
);

backendTest(
  "a known pending migration is not applied when the schema records an unknown newer one",
  async (t) => {
    await migrate(t.driver, t.schema);
    const [pending, unknown] = tableMigrations(2);
    await t.sql(
      `insert into "${t.schema}"._duroxide_migrations values ($1, $2, $3, 0)`,
      [unknown.version, unknown.name, unknown.checksum],
    );
    const before = await catalogSnapshot(t.driver, t.schema);
    await assert.rejects(
      migrate(t.driver, t.schema, { migrations: [...EMBEDDED_MIGRATIONS, pending] }),
      isProviderError("SCHEMA_TOO_NEW", new RegExp(`migration ${unknown.version} \\(`)),
    );
    assert.deepEqual(await catalogSnapshot(t.driver, t.schema), before);
    assert.deepEqual(
      await trackedVersions(t),
      [...EMBEDDED_MIGRATIONS.map((m) => m.version), unknown.version],
    );
  },
);

backendTest("verify mode reports a missing migration and creates nothing", async (t) => {
  await migrate(t.driver, t.schema);
  const missing = extraMigration(
    1,
    `create table @SCHEMA@.verify_extra (id integer);
     create function @SCHEMA@.verify_extra_fn() returns integer language sql as $$ select 1 $$;`,
  );
  const before = await catalogSnapshot(t.driver, t.schema);
  await assert.rejects(
    migrate(t.driver, t.schema, { mode: "verify", migrations: [...EMBEDDED_MIGRATIONS, missing] }),
    isProviderError("SCHEMA_NOT_READY", new RegExp(`missing migrations ${missing.name}`)),
  );
  assert.deepEqual(await catalogSnapshot(t.driver, t.schema), before);
  const created = await t.sql(
    `select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = 'verify_extra'
     union all
     select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1 and p.proname = 'verify_extra_fn'`,
    [t.schema],
  );
  assert.equal(created.length, 0, "verify must not create the missing migration's objects");
  assert.deepEqual(await trackedVersions(t), EMBEDDED_MIGRATIONS.map((m) => m.version));
});

// --- hot replacement --------------------------------------------------------------------------

/** Functions the provider loop calls: replaced in place, or dropped and created again. */
const REPLACED = ["fetch_orchestration_item", "ack_orchestration_item", "enqueue_worker_item"];
const RECREATED = ["fetch_work_item", "ack_work_item", "enqueue_orchestrator_item"];

/** Writes `schema` as `@SCHEMA@` again, quoted or not. */
function withPlaceholder(text: string, schema: string): string {
  return text.replaceAll(`"${schema}"`, "@SCHEMA@").replace(
    new RegExp(`\\b${schema}\\b`, "g"),
    "@SCHEMA@",
  );
}

/**
 * A migration that re-creates the provider's functions from their current definitions (same
 * signatures and return types), with a marker comment in each body: {@linkcode REPLACED} with
 * `create or replace`, {@linkcode RECREATED} with `drop function` first.
 */
async function replacingMigration(
  driver: SqlDriver,
  schema: string,
  offset: number,
): Promise<EmbeddedMigration> {
  const rows = await driver.query<{ name: string; signature: string; def: string }>(
    `select p.proname::text as name, p.oid::regprocedure::text as signature,
            pg_get_functiondef(p.oid) as def
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1 and p.proname = any($2::text[])
      order by p.proname`,
    [schema, [...REPLACED, ...RECREATED]],
  );
  assert.equal(rows.length, REPLACED.length + RECREATED.length);
  const statements = rows.map((row) => {
    const def = withPlaceholder(row.def, schema)
      .replace("AS $function$", `AS $function$\n-- hot replacement ${offset}`);
    const drop = RECREATED.includes(row.name)
      ? `drop function ${withPlaceholder(row.signature, schema)};\n`
      : "";
    return `${drop}${def};`;
  });
  return extraMigration(offset, statements.join("\n"));
}

/** Fetches one orchestration turn and completes its instance; false when none was visible. */
async function fetchAndAckTurn(provider: PostgresProvider): Promise<boolean> {
  const turn = await provider.fetchOrchestrationItem(30_000, 0);
  if (!turn) return false;
  await provider.ackOrchestrationItem(
    turn.lockToken,
    1,
    [startedEvent(turn.item.instance)],
    [],
    [],
    testMetadata({ status: "Completed", output: "done" }),
    [],
  );
  return true;
}

/** Enqueues, fetches and acks one orchestration turn and one activity, collecting errors. */
async function oneRound(provider: PostgresProvider, id: string, errors: unknown[]): Promise<void> {
  const attempt = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  };
  await attempt(() => provider.enqueueForOrchestrator(startItem(id), null));
  await attempt(async () => void await fetchAndAckTurn(provider));
  await attempt(() => provider.enqueueForWorker(activityItem(id, 1, 1)));
  await attempt(async () => {
    const work = await provider.fetchWorkItem(30_000, 0, null, { type: "Any" });
    if (work) await provider.ackWorkItem(work.lockToken, null);
  });
}

backendTest(
  "a provider keeps working while another process or call replaces its functions",
  async (t) => {
    const provider = await t.createProvider(); // before the schema records a version it does not know
    const extras: EmbeddedMigration[] = [];
    for (let k = 1; k <= 5; k++) extras.push(await replacingMigration(t.driver, t.schema, k));

    const errors: unknown[] = [];
    let migrating = true;
    let roundsAfter = 0;
    let rounds = 0;
    let roundsDuring = 0; // rounds that ended while the migration ran
    const loop = async (worker: number) => {
      const deadline = Date.now() + 60_000;
      while ((migrating || roundsAfter < 10) && Date.now() < deadline) {
        await oneRound(provider, `w${worker}-${rounds++}`, errors);
        if (migrating) roundsDuring++;
        else roundsAfter++;
        // PGlite answers through microtasks only: let timers and the migration run too.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    };
    const loops = [loop(1), loop(2), loop(3)];
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      let report: MigrationReport;
      if (t.backend === "server") {
        const file = await extraFileOf(extras);
        try {
          report = await migrateInProcess(t.schema, file);
        } finally {
          await Deno.remove(file);
        }
      } else {
        report = await migrate(t.driver, t.schema, {
          migrations: [...EMBEDDED_MIGRATIONS, ...extras],
        });
      }
      assert.deepEqual(report.applied, extras.map((m) => m.version));
    } finally {
      migrating = false;
      await Promise.all(loops);
    }
    assert.deepEqual(errors, [], "no provider call may fail while functions are replaced");
    assert.ok(
      roundsDuring > 0 && roundsAfter >= 10,
      `rounds: ${roundsDuring} during, ${roundsAfter} after`,
    );
    console.log(`${t.backend}: ${roundsDuring} rounds during the migration, ${roundsAfter} after`);
    const defs = await t.sql<{ def: string }>(
      `select pg_get_functiondef(p.oid) as def from pg_proc p join pg_namespace n
          on n.oid = p.pronamespace where n.nspname = $1 and p.proname = any($2::text[])`,
      [t.schema, [...REPLACED, ...RECREATED]],
    );
    assert.equal(defs.length, REPLACED.length + RECREATED.length);
    assert.ok(defs.every((d) => d.def.includes("-- hot replacement 5")));
    while (await fetchAndAckTurn(provider));
    const metrics = await provider.asManagementCapability().getSystemMetrics();
    assert.equal(metrics.completedInstances, rounds, "every round completed its instance");
  },
);
