/** Behaviour this provider promises beyond the validation suite. */

import assert from "node:assert/strict";
import { backendTest } from "./_support/backends.ts";
import { serverTestsIgnored, sharedServerSql, uniqueSchema } from "./_support/factories.ts";
import { PostgresProvider } from "../src/postgres_provider.ts";
import { activityItem, createInstance, startItem } from "../sim/validation/helpers.ts";

backendTest(
  "messages for an instance that never started do not block other instances",
  async (t) => {
    const provider = await t.createProvider();
    // Oldest first: an event and a cancellation for an instance nobody started, plus a queue
    // message for another unstarted instance.
    await provider.enqueueForOrchestrator(
      { type: "ExternalRaised", instance: "ghost", name: "e", data: "1" },
      null,
    );
    await provider.enqueueForOrchestrator({
      type: "CancelInstance",
      instance: "ghost",
      reason: "r",
    }, null);
    await provider.enqueueForOrchestrator({
      type: "QueueMessage",
      instance: "ghost2",
      name: "q",
      data: "d",
    }, null);
    await provider.enqueueForOrchestrator(startItem("real"), null);

    const turn = await provider.fetchOrchestrationItem(30_000, 0);
    assert.equal(turn?.item.instance, "real");
    assert.equal(await provider.fetchOrchestrationItem(30_000, 0), null);
    // The queue message for the unstarted instance was dropped; the other kinds wait for a start.
    const kinds = await t.sql<{ instance_id: string; kind: string }>(
      `select instance_id, kind from "${t.schema}".orchestrator_queue order by id`,
    );
    assert.deepEqual(kinds, [
      { instance_id: "ghost", kind: "ExternalRaised" },
      { instance_id: "ghost", kind: "CancelInstance" },
      { instance_id: "real", kind: "StartOrchestration" },
    ]);
    // Once the instance starts, its waiting messages are delivered with the start.
    await provider.enqueueForOrchestrator(startItem("ghost"), null);
    const ghost = await provider.fetchOrchestrationItem(30_000, 0);
    assert.deepEqual(ghost?.item.messages.map((m) => m.type), [
      "ExternalRaised",
      "CancelInstance",
      "StartOrchestration",
    ]);
  },
);

backendTest("an abandoned activity keeps its place in the queue", async (t) => {
  let now = 1_800_000_000_000;
  const provider = await t.createProvider({ clock: () => now });
  for (const id of [1, 2, 3]) {
    await provider.enqueueForWorker(activityItem("i", 1, id));
    now += 10;
  }
  const first = await provider.fetchWorkItem(30_000, 0, null, { type: "Any" });
  assert.ok(first?.item.type === "ActivityExecute" && first.item.id === 1);
  await provider.abandonWorkItem(first.lockToken, null, false);
  const again = await provider.fetchWorkItem(30_000, 0, null, { type: "Any" });
  assert.ok(again?.item.type === "ActivityExecute" && again.item.id === 1);
  assert.equal(again.attemptCount, 2);
});

backendTest("a timer enqueued by an ack fires at its fire time, by the app clock", async (t) => {
  let now = 1_800_000_000_000;
  const provider = await t.createProvider({ clock: () => now });
  await createInstance(provider, "i");
  await provider.enqueueForOrchestrator(
    { type: "ExternalRaised", instance: "i", name: "go", data: "" },
    null,
  );
  const turn = await provider.fetchOrchestrationItem(30_000, 0);
  assert.ok(turn);
  await provider.ackOrchestrationItem(
    turn.lockToken,
    1,
    [],
    [],
    [{
      type: "TimerFired",
      instance: "i",
      executionId: 1,
      id: 2,
      fireAtMs: now + 60_000,
    }],
    {},
    [],
  );
  now += 59_999;
  assert.equal(await provider.fetchOrchestrationItem(30_000, 0), null);
  now += 1;
  assert.equal(
    (await provider.fetchOrchestrationItem(30_000, 0))?.item.messages[0].type,
    "TimerFired",
  );
});

Deno.test({
  name: "server a fetch skips an instance another transaction is claiming instead of waiting",
  ignore: serverTestsIgnored(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sql = sharedServerSql();
    const schema = uniqueSchema("srv");
    const provider = await PostgresProvider.fromPostgresJs(sql, { schema });
    try {
      await provider.enqueueForOrchestrator(startItem("contended"), null);
      await provider.enqueueForOrchestrator(startItem("free"), null);
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked: () => void = () => {};
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const claimer = sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtextextended(${`"${schema}".instance:contended`}, 0))`;
        locked();
        await held;
      });
      await isLocked;
      const started = performance.now();
      const turn = await provider.fetchOrchestrationItem(30_000, 0);
      const elapsed = performance.now() - started;
      release();
      await claimer;
      assert.equal(turn?.item.instance, "free");
      assert.ok(elapsed < 5000, `the fetch waited ${elapsed} ms`);
    } finally {
      await provider.cleanupSchema();
    }
  },
});

backendTest("cleanupSchema() in public drops only the provider's own objects", async (t) => {
  const suffix = t.schema.toLowerCase();
  await t.driver.exec(
    `create table if not exists public.keep_${suffix} (x int);
     create or replace function public.keep_fn_${suffix}() returns int language sql as 'select 1';`,
  );
  try {
    const provider = await PostgresProvider.fromDriver(t.driver, { schema: "public" });
    await provider.cleanupSchema();
    const left = await t.sql<{ name: string }>(
      `select c.relname::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r'
          and c.relname in ('instances', 'history', 'worker_queue', '_duroxide_migrations', $1)
       union all
       select p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.proname in ('fetch_orchestration_item', $2)`,
      [`keep_${suffix}`, `keep_fn_${suffix}`],
    );
    assert.deepEqual(
      left.map((r) => r.name).sort(),
      [`keep_${suffix}`, `keep_fn_${suffix}`].sort(),
    );
  } finally {
    await t.driver.exec(
      `drop table if exists public.keep_${suffix}; drop function if exists public.keep_fn_${suffix}();`,
    );
  }
});
