/**
 * Security: the provider runs with a least-privilege role (server only: roles on PGlite are not
 * worth testing), every operation is a `security definer` function with a pinned search path
 * that `PUBLIC` cannot execute (both backends), and hostile strings are stored and returned
 * exactly, never executed (both backends).
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { ProviderError } from "../src/errors.ts";
import { PostgresProvider } from "../src/postgres_provider.ts";
import { grantRuntimeRole, revokeRuntimeRole } from "../src/security/grant.ts";
import type { Event, WorkItem } from "../src/types.ts";
import {
  expectProviderError,
  makeEvent,
  startedEvent,
  testMetadata,
} from "../sim/validation/helpers.ts";
import { type BackendContext, backendTest } from "./_support/backends.ts";
import {
  databaseUrl,
  serverTestsIgnored,
  sharedPgliteDb,
  sharedServerSql,
  uniqueSchema,
} from "./_support/factories.ts";

const LOCK_MS = 30_000;
const ANY_TAG = { type: "Any" } as const;

/** The SQLSTATE of a provider error's database cause. */
function sqlstateOf(err: unknown): string | undefined {
  return ((err as ProviderError).cause as { code?: string } | undefined)?.code;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

// --- least privilege (server) ------------------------------------------------------------------

/** The provider's whole life cycle and its management reads, through `provider`. */
async function exerciseProvider(provider: PostgresProvider): Promise<void> {
  const instance = "lp-1";
  await provider.enqueueForOrchestrator({
    type: "StartOrchestration",
    instance,
    orchestration: "TestOrch",
    input: "{}",
    version: "1.0.0",
    parentInstance: null,
    parentId: null,
    executionId: 1,
  }, null);
  const first = await provider.fetchOrchestrationItem(LOCK_MS, 0);
  assert.equal(first?.item.instance, instance);
  await provider.renewOrchestrationItemLock(first.lockToken, LOCK_MS);
  const schedule: WorkItem = {
    type: "ActivityExecute",
    instance,
    executionId: 1,
    id: 2,
    name: "A",
    input: "1",
  };
  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [
      startedEvent(instance),
      makeEvent(instance, 1, 2, { type: "ActivityScheduled", name: "A", input: "1" }),
      makeEvent(instance, 1, 3, { type: "CustomStatusUpdated", status: "working" }),
      makeEvent(instance, 1, 4, { type: "KeyValueSet", key: "k", value: "v", lastUpdatedAtMs: 1 }),
    ],
    [schedule],
    [],
    testMetadata(),
    [],
  );
  const work = await provider.fetchWorkItem(LOCK_MS, 0, null, ANY_TAG);
  assert.ok(work);
  await provider.renewWorkItemLock(work.lockToken, LOCK_MS);
  await provider.ackWorkItem(work.lockToken, {
    type: "ActivityCompleted",
    instance,
    executionId: 1,
    id: 2,
    result: "2",
  });
  const second = await provider.fetchOrchestrationItem(LOCK_MS, 0);
  assert.equal(second?.item.messages[0].type, "ActivityCompleted");
  await provider.ackOrchestrationItem(
    second.lockToken,
    1,
    [
      makeEvent(instance, 1, 5, { type: "ActivityCompleted", result: "2" }, 2),
      makeEvent(instance, 1, 6, { type: "OrchestrationCompleted", output: "done" }),
    ],
    [],
    [],
    testMetadata({ status: "Completed", output: "done" }),
    [],
  );
  assert.equal((await provider.read(instance)).length, 6);
  assert.equal((await provider.getCustomStatus(instance, 0))?.status, "working");
  assert.equal(await provider.getKvValue(instance, "k"), "v");
  assert.equal((await provider.getInstanceStats(instance))?.historyEventCount, 6);
  const admin = provider.asManagementCapability();
  assert.deepEqual(await admin.listInstances(), [instance]);
  assert.equal((await admin.getInstanceInfo(instance)).status, "Completed");
  assert.equal((await admin.getExecutionInfo(instance, 1)).output, "done");
  assert.equal((await admin.getSystemMetrics()).totalInstances, 1);
  assert.equal((await admin.getQueueDepths()).orchestratorQueue, 0);
  assert.equal((await admin.deleteInstance(instance, false)).instancesDeleted, 1);
}

Deno.test({
  name: "server least privilege: a runtime role with USAGE and EXECUTE only runs the provider",
  ignore: serverTestsIgnored(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const admin = sharedServerSql();
    const id = crypto.randomUUID().slice(0, 8);
    const migrator = `dx_mig_${id}`;
    // A hostile role name: grantRuntimeRole must quote it.
    const runtime = `dx rt"; drop role x; --${id}`;
    const outsider = `dx_out_${id}`;
    const roles = [migrator, runtime, outsider].map(quoteIdent).join(", ");
    const schema = uniqueSchema("sec");
    const [{ db }] = await admin.unsafe<{ db: string }[]>("select current_database() as db");
    await admin.unsafe(
      `create role ${quoteIdent(migrator)} login; create role ${quoteIdent(runtime)} login;
       create role ${quoteIdent(outsider)} login;
       grant create on database ${quoteIdent(db)} to ${quoteIdent(migrator)};`,
    );
    const connect = (user: string) =>
      postgres(databaseUrl()!, { user, max: 3, onnotice: () => {} });
    const asMigrator = connect(migrator);
    const asRuntime = connect(runtime);
    const asOutsider = connect(outsider);
    const q = quoteIdent(schema);
    try {
      // Migrations run as the owner.
      await (await PostgresProvider.fromPostgresJs(asMigrator, { schema })).close();
      const verify = { schema, migrations: "verify" as const };

      const before = await PostgresProvider.fromPostgresJs(asRuntime, verify).catch((e) => e);
      assert.ok(before instanceof ProviderError, "without grants the runtime role cannot start");

      await grantRuntimeRole(asMigrator, schema, runtime);
      await grantRuntimeRole(asMigrator, schema, runtime); // idempotent
      {
        await using provider = await PostgresProvider.fromPostgresJs(asRuntime, verify);
        assert.ok(provider.longPollHealthy, "LISTEN and the refresh work for the runtime role");
        await exerciseProvider(provider);
      }

      // Exactly USAGE + EXECUTE (+ reading the tracking table, which verify mode needs).
      const [privileges] = await admin.unsafe<{ create: boolean; tables: string[] }[]>(
        `select has_schema_privilege($1, $2, 'CREATE') as create,
                array(select c.relname::text from pg_class c
                       where c.relnamespace = $3::regnamespace and c.relkind = 'r'
                         and has_table_privilege($1, c.oid,
                               'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                       order by 1) as tables`,
        [runtime, schema, q],
      );
      assert.deepEqual(privileges, { create: false, tables: ["_duroxide_migrations"] });

      // Direct table access, DDL, and the helpers (which run as the caller) are all refused.
      const denied = async (sql: postgres.Sql, statement: string) => {
        const err = await sql.unsafe(statement).then(() => null, (e) => e);
        assert.equal(err?.code, "42501", `${statement} should be refused`);
      };
      for (const table of ["instances", "history", "orchestrator_queue", "worker_queue"]) {
        await denied(asRuntime, `select * from ${q}.${table}`);
      }
      await denied(asRuntime, `delete from ${q}.instance_locks`);
      await denied(asRuntime, `insert into ${q}.kv_store values ('i', 'k', 'v', 1, 1)`);
      await denied(asRuntime, `update ${q}.executions set status = 'Completed'`);
      await denied(asRuntime, `create table ${q}.evil (x int)`);
      await denied(asRuntime, `select ${q}.instance_started('i', 0)`);
      await denied(asRuntime, `select ${q}.secure_operations(array['read_history'])`);
      // A role that merely sees the schema cannot call the operations: PUBLIC has no EXECUTE.
      await denied(asOutsider, `select ${q}.get_system_metrics()`);
      await admin.unsafe(`grant usage on schema ${q} to ${quoteIdent(outsider)}`);
      await denied(asOutsider, `select ${q}.get_system_metrics()`);
      await denied(asOutsider, `select ${q}.read_history('i', null)`);

      // Revoked, the runtime role is back to nothing.
      await revokeRuntimeRole(asMigrator, schema, runtime);
      const after = await PostgresProvider.fromPostgresJs(asRuntime, verify).catch((e) => e);
      assert.ok(after instanceof ProviderError);
      await denied(asRuntime, `select ${q}.get_system_metrics()`);
    } finally {
      await Promise.all([asMigrator, asRuntime, asOutsider].map((sql) => sql.end({ timeout: 5 })));
      await admin.unsafe(`drop schema if exists ${q} cascade`);
      await admin.unsafe(`drop owned by ${roles}; drop role ${roles};`);
    }
  },
});

backendTest(
  "grantRuntimeRole refuses bad names and an unmigrated schema with typed errors",
  async (t) => {
    for (const role of ["", "public", "pg_monitor", "x".repeat(64), "nul\0role"]) {
      await assert.rejects(grantRuntimeRole(t.driver, t.schema, role), TypeError, role);
    }
    await assert.rejects(grantRuntimeRole(t.driver, 'x"; drop', "r"), TypeError);
    const err = await expectProviderError(grantRuntimeRole(t.driver, t.schema, "r"), "no schema");
    assert.equal(err.code, "SCHEMA_NOT_READY");
  },
);

// --- the operations' attributes (both backends) ------------------------------------------------

backendTest(
  "every operation is security definer with a pinned search path, not PUBLIC's",
  async (t) => {
    await t.createProvider({ longPoll: { enabled: false } });
    const rows = await t.sql<
      { name: string; result: string; definer: boolean; config: string[] | null; public: boolean }
    >(
      `select p.proname as name, pg_get_function_result(p.oid) as result, p.prosecdef as definer,
            p.proconfig as config,
            exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                     where a.grantee = 0 and a.privilege_type = 'EXECUTE') as public
       from pg_proc p
      where p.pronamespace = $1::text::regnamespace
      order by 1`,
      [`"${t.schema}"`],
    );
    const operations = rows.filter((r) => r.result === "jsonb");
    assert.ok(operations.length >= 30, `only ${operations.length} operations found`);
    const pinned = [`search_path=${t.schema}, pg_temp`];
    for (const op of operations) {
      const config = op.config?.map((c) => c.replaceAll('"', ""));
      assert.deepEqual(
        { definer: op.definer, config, public: op.public },
        { definer: true, config: pinned, public: false },
        `${op.name}: every migration that creates or replaces an operation must end with ` +
          `select @SCHEMA@.secure_operations(array['${op.name}'])`,
      );
    }
    // Helpers stay invoker without settings, so the planner can still inline them.
    for (const helper of rows.filter((r) => r.result !== "jsonb")) {
      assert.equal(helper.definer, false, helper.name);
      assert.equal(helper.config, null, helper.name);
    }
  },
);

backendTest("secure_operations refuses a name that matches no function", async (t) => {
  await t.createProvider({ longPoll: { enabled: false } });
  const err = await t.sql(`select "${t.schema}".secure_operations(array['no_such_operation'])`)
    .catch((e) => e);
  assert.equal((err as { code?: string }).code, "DX010");
});

// --- hostile input (both backends) -------------------------------------------------------------

/** Deterministic pseudo-random text of exactly `bytes` UTF-8 bytes (1-, 2- and 3-byte chars). */
function randomText(bytes: number, seed: number): string {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32;
  let text = "";
  let size = 0;
  while (size < bytes) {
    const r = next();
    const [code, width] = r < 0.5
      ? [0x21 + Math.floor(next() * 94), 1]
      : r < 0.75
      ? [0x400 + Math.floor(next() * 256), 2]
      : [0x4e00 + Math.floor(next() * 0x5000), 3];
    if (size + width > bytes) continue;
    text += String.fromCharCode(code);
    size += width;
  }
  return text;
}

/** Strings that must never be executed, interpreted or altered. */
function hostileStrings(schema: string): string[] {
  return [
    `'; drop table "${schema}".history; --`,
    `"); drop schema "${schema}" cascade; --`,
    `x') or ('1'='1`,
    `$$; select pg_sleep(60); $$`,
    `$tag$ select 1 $tag$`,
    String.raw`back\slash \\ \' \" \x00 \u0000 \n`,
    "semi;colon;;",
    "%s %d %I %L {0} ${x} $1 :name ?",
    "line\nbreak\r\ncarriage\ttab",
    "unicode ✓ 𝄞 😀 עברית \u200b\ufeff \ufffd",
    "  leading and trailing  ",
    "NULL",
    `{"json":"looking","n":[1]}`,
  ];
}

/** The strings one {@linkcode roundTrip} carries. */
interface Strings {
  /** The instance id. */
  instance: string;
  /** Names (orchestration, activity, event), the tag, the custom status and the KV value. */
  text: string;
  /** The KV key. */
  key: string;
  /** Inputs, event data and the activity result (they travel inside JSON text). */
  data: string;
}

/** Runs a whole orchestration with these strings in every field, and checks every read. */
async function roundTrip(provider: PostgresProvider, s: Strings) {
  const { instance, text, key, data } = s;
  const output = JSON.stringify(data); // the output is JSON text, as the runtime writes it
  const start: WorkItem = {
    type: "StartOrchestration",
    instance,
    orchestration: text,
    input: data,
    version: "1.0.0",
    parentInstance: null,
    parentId: null,
    executionId: 1,
  };
  await provider.enqueueForOrchestrator(start, null);
  const first = await provider.fetchOrchestrationItem(LOCK_MS, 0);
  assert.ok(first);
  assert.equal(first.item.instance, instance);
  assert.equal(first.item.orchestrationName, text);
  assert.deepEqual(first.item.messages, [start]);

  const activity: WorkItem = {
    type: "ActivityExecute",
    instance,
    executionId: 1,
    id: 2,
    name: text,
    input: data,
    tag: text,
  };
  const raised: WorkItem = { type: "ExternalRaised", instance, name: text, data };
  const events: Event[] = [
    makeEvent(instance, 1, 1, {
      type: "OrchestrationStarted",
      name: text,
      version: "1.0.0",
      input: data,
      parentInstance: null,
      parentId: null,
    }),
    makeEvent(instance, 1, 2, { type: "ActivityScheduled", name: text, input: data, tag: text }),
    makeEvent(instance, 1, 3, { type: "ExternalSubscribed", name: text }),
    makeEvent(instance, 1, 4, { type: "CustomStatusUpdated", status: text }),
    makeEvent(instance, 1, 5, { type: "KeyValueSet", key, value: text, lastUpdatedAtMs: 5 }),
  ];
  const metadata = { orchestrationName: text, orchestrationVersion: "1.0.0" };
  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    events,
    [activity],
    [raised],
    metadata,
    [],
  );

  const work = await provider.fetchWorkItem(LOCK_MS, 0, null, ANY_TAG);
  assert.deepEqual(work?.item, activity);
  const done: WorkItem = {
    type: "ActivityCompleted",
    instance,
    executionId: 1,
    id: 2,
    result: data,
  };
  await provider.ackWorkItem(work.lockToken, done);

  const second = await provider.fetchOrchestrationItem(LOCK_MS, 0);
  assert.ok(second);
  assert.deepEqual(second.item.messages, [raised, done]);
  assert.deepEqual(second.item.history, events);
  const final = [
    makeEvent(instance, 1, 6, { type: "ExternalEvent", name: text, data }),
    makeEvent(instance, 1, 7, { type: "ActivityCompleted", result: data }, 2),
    makeEvent(instance, 1, 8, { type: "OrchestrationCompleted", output }),
  ];
  const completed = { ...metadata, status: "Completed", output };
  await provider.ackOrchestrationItem(second.lockToken, 1, final, [], [], completed, []);

  assert.deepEqual(await provider.read(instance), [...events, ...final]);
  assert.equal((await provider.getCustomStatus(instance, 0))?.status, text);
  assert.equal(await provider.getKvValue(instance, key), text);
  assert.deepEqual(await provider.getKvAllValues(instance), { [key]: text });
  const admin = provider.asManagementCapability();
  const info = await admin.getInstanceInfo(instance);
  assert.deepEqual(
    [info.instanceId, info.orchestrationName, info.status, info.output],
    [instance, text, "Completed", output],
  );
  assert.equal((await admin.getExecutionInfo(instance, 1)).output, output);
}

async function tablesOf(t: BackendContext): Promise<string[]> {
  const rows = await t.sql<{ name: string }>(
    `select c.relname::text as name from pg_class c
      where c.relnamespace = $1::text::regnamespace and c.relkind = 'r' order by 1`,
    [`"${t.schema}"`],
  );
  return rows.map((r) => r.name);
}

backendTest(
  "hostile ids, names, events and payloads are stored and returned exactly",
  async (t) => {
    const provider = await t.createProvider({ longPoll: { enabled: false } });
    const tables = await tablesOf(t);
    const values = hostileStrings(t.schema);
    for (const [i, value] of values.entries()) {
      // As the instance id itself, and as every other field of another instance.
      const strings = { instance: value, text: value, key: value, data: value };
      await roundTrip(provider, strings);
      await roundTrip(provider, { ...strings, instance: `other-${i}` });
    }
    assert.deepEqual(await tablesOf(t), tables, "no table was dropped or created");
    const ids = await provider.asManagementCapability().listInstances();
    assert.equal(ids.length, values.length * 2);
    for (const value of values) assert.ok(ids.includes(value), JSON.stringify(value));
    // Deleting one hostile id deletes exactly that instance.
    await provider.asManagementCapability().deleteInstance(values[0], false);
    assert.equal((await provider.asManagementCapability().listInstances()).length, ids.length - 1);
    assert.equal((await provider.read(values[1])).length, 8);
  },
);

backendTest("payloads may carry NUL and lone surrogates: they travel as JSON text", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  const data = "nul \0 here, lone \ud800 and \udc00 there";
  await roundTrip(provider, { instance: "json-text", text: "plain", key: "k", data });
});

backendTest("long strings up to the documented limits are stored exactly", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  // Index keys (instance id, KV key): 1,024 UTF-8 bytes each of text that does not compress.
  const instance = randomText(1_024, 1);
  const key = randomText(1_024, 2);
  assert.equal(new TextEncoder().encode(instance).length, 1_024);
  // Everything else has no limit of the provider's own: 100 KB names, a 1 MB payload.
  const text = randomText(100_000, 3);
  const data = randomText(1_000_000, 4);
  await roundTrip(provider, { instance, text, key, data });
});

backendTest(
  "keys past the limits and ids PostgreSQL cannot store fail typed, storing nothing",
  async (t) => {
    const provider = await t.createProvider({ longPoll: { enabled: false } });
    const tooLong = randomText(8_192, 5);
    const start = (instance: string) => startOf(instance);
    const long = await expectProviderError(
      provider.enqueueForOrchestrator(start(tooLong), null),
      "8 KB id",
    );
    assert.equal(long.code, "INVALID_ARGUMENT");
    assert.equal(long.retryable, false);
    assert.equal(sqlstateOf(long), "54000"); // index row size exceeds the maximum
    const nul = await expectProviderError(
      provider.enqueueForOrchestrator(start("a\0b"), null),
      "NUL",
    );
    assert.equal(nul.code, "INVALID_ARGUMENT");
    assert.equal(nul.retryable, false); // refused before any round trip
    const [queued] = await t.sql<{ n: number }>(
      `select count(*)::int as n from "${t.schema}".orchestrator_queue`,
    );
    assert.equal(queued.n, 0);
  },
);

// Text PostgreSQL cannot store exactly (NUL, lone surrogates) is refused before any round trip.

/** Runs `fn` with a provider on a fresh schema of the shared PGlite. */
async function onPglite(fn: (provider: PostgresProvider) => Promise<void>): Promise<void> {
  const db = await sharedPgliteDb();
  const schema = uniqueSchema("pgl");
  const provider = await PostgresProvider.fromPGlite(db, { schema, longPoll: { enabled: false } });
  try {
    await fn(provider);
  } finally {
    await provider.close();
    await db.exec(`drop schema if exists "${schema}" cascade`);
  }
}

function startOf(instance: string, orchestration = "O"): WorkItem {
  return {
    type: "StartOrchestration",
    instance,
    orchestration,
    input: "{}",
    version: "1.0.0",
    parentInstance: null,
    parentId: null,
    executionId: 1,
  };
}

Deno.test({
  name: "an instance id with a lone surrogate is refused, not stored altered",
  async fn() {
    await onPglite(async (provider) => {
      // Today it is stored as "a\ufffd", so "a\ud800" and "a\udbff" become one instance.
      const err = await provider.enqueueForOrchestrator(startOf("a\ud800"), null).catch((e) => e);
      assert.ok(err instanceof TypeError || err instanceof ProviderError, "refused");
    });
  },
});

Deno.test({
  name: "an orchestration name jsonb cannot hold is refused up front, not left un-ackable",
  async fn() {
    await onPglite(async (provider) => {
      for (const [i, name] of ["nul \0", "lone \udc00"].entries()) {
        const instance = `i${i}`;
        const refused = await provider.enqueueForOrchestrator(startOf(instance, name), null)
          .then(() => false, () => true);
        if (refused) continue;
        // Accepted, its turn must be ackable. Today every ack (the poison ack included) fails
        // with 22P05 / 22P02, so the message can never be disposed of.
        const turn = await provider.fetchOrchestrationItem(LOCK_MS, 0);
        assert.ok(turn);
        await provider.ackOrchestrationItem(
          turn.lockToken,
          1,
          [startedEvent(instance)],
          [],
          [],
          { orchestrationName: name, orchestrationVersion: "1.0.0", status: "Failed", output: "x" },
          [],
        );
      }
    });
  },
});
