/**
 * Long polling on both backends: fetches wake on notifications, never miss work, and an idle
 * provider does not query.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import type { SqlDriver } from "../src/driver/driver.ts";
import { postgresJsDriver } from "../src/driver/postgres_js.ts";
import { PostgresProvider, type PostgresProviderOptions } from "../src/postgres_provider.ts";
import { type BackendContext, backendTest } from "./_support/backends.ts";
import { databaseUrl, serverTestsIgnored, uniqueSchema } from "./_support/factories.ts";
import type { WorkItem } from "../src/types.ts";
import {
  activityItem,
  createInstance,
  startedEvent,
  startItem,
  testMetadata,
} from "../sim/validation/helpers.ts";

const LONG_POLL_MS = 10_000;
const LOCK_MS = 30_000;

/** Wraps a driver, counting queries and optionally holding fetch results back. */
function instrumented(inner: SqlDriver) {
  const state = {
    queries: 0,
    /** When set, a fetch query's result is held until this promise resolves. */
    holdFetch: undefined as Promise<void> | undefined,
    driver: undefined as unknown as SqlDriver,
  };
  state.driver = {
    async query(text, params) {
      state.queries++;
      const rows = await inner.query(text, params);
      if (state.holdFetch && text.includes("fetch_orchestration_item")) await state.holdFetch;
      return rows;
    },
    exec: (script) => inner.exec(script),
    transaction: (fn) => inner.transaction(fn),
    listen: (channel, onPayload, onReconnect) => inner.listen(channel, onPayload, onReconnect),
    close: () => inner.close(),
  } as SqlDriver;
  return state;
}

/** Fetches like a dispatcher loop until something comes back (at most 30 s). */
async function fetchUntilFound<T>(fetch: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const found = await fetch();
    if (found) return found;
  }
  throw new Error("nothing was fetched within 30 s");
}

async function provider(t: BackendContext, options: PostgresProviderOptions = {}) {
  return await t.createProvider(options);
}

backendTest("a waiting orchestration fetch wakes when work is enqueued", async (t) => {
  const waiting = await provider(t);
  const writer = await provider(t);
  const started = performance.now();
  const fetch = waiting.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await writer.enqueueForOrchestrator(startItem("i"), null);
  const turn = await fetch;
  assert.equal(turn?.item.instance, "i");
  assert.ok(performance.now() - started < LONG_POLL_MS, "the fetch waited out its poll timeout");
});

backendTest("a waiting worker fetch wakes when an activity is enqueued or abandoned", async (t) => {
  const waiting = await provider(t);
  const writer = await provider(t);
  const fetch = waiting.fetchWorkItem(LOCK_MS, LONG_POLL_MS, null, { type: "Any" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await writer.enqueueForWorker(activityItem("i", 1, 1));
  const work = await fetch;
  assert.ok(work);
  // Abandoning releases the activity without an insert: the update notifies too.
  const again = waiting.fetchWorkItem(LOCK_MS, LONG_POLL_MS, null, { type: "Any" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = performance.now();
  await writer.abandonWorkItem(work.lockToken, null, false);
  assert.equal((await again)?.attemptCount, 2);
  assert.ok(performance.now() - started < LONG_POLL_MS);
});

backendTest("several waiting dispatchers each get work when a batch arrives", async (t) => {
  const waiting = await provider(t);
  const writer = await provider(t);
  await createInstance(writer, "parent");
  await writer.enqueueForOrchestrator(
    { type: "ExternalRaised", instance: "parent", name: "go", data: "" },
    null,
  );
  const turn = await writer.fetchOrchestrationItem(LOCK_MS, 0);
  assert.ok(turn);
  const fetches = Array.from(
    { length: 4 },
    () => fetchUntilFound(() => waiting.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS)),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = performance.now();
  // One ack inserting four children: one notification, passed on from fetcher to fetcher.
  const children = ["c0", "c1", "c2", "c3"].map((id) =>
    ({ ...startItem(id), parentInstance: "parent", parentId: 2 }) as WorkItem
  );
  await writer.ackOrchestrationItem(turn.lockToken, 1, [], [], children, {}, []);
  const turns = await Promise.all(fetches);
  assert.deepEqual(turns.map((turn) => turn.item.instance).sort(), ["c0", "c1", "c2", "c3"]);
  assert.ok(performance.now() - started < LONG_POLL_MS);
});

backendTest(
  "a released lock wakes a dispatcher for messages that arrived during the turn",
  async (t) => {
    const waiting = await provider(t);
    const worker = await provider(t);
    await createInstance(worker, "i");
    await worker.enqueueForOrchestrator({
      type: "ExternalRaised",
      instance: "i",
      name: "a",
      data: "",
    }, null);
    const turn = await worker.fetchOrchestrationItem(LOCK_MS, 0);
    assert.ok(turn);
    // A message arrives while the instance is locked: the waiting fetch finds nothing yet.
    // A wake for the still-locked instance makes one fetch return empty; a dispatcher then
    // simply fetches again.
    const fetch = fetchUntilFound(() => waiting.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS));
    await worker.enqueueForOrchestrator({
      type: "ExternalRaised",
      instance: "i",
      name: "b",
      data: "",
    }, null);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    await worker.ackOrchestrationItem(turn.lockToken, 1, [], [], [], {}, []);
    const next = await fetch;
    assert.deepEqual(next?.item.messages.map((m) => m.type === "ExternalRaised" && m.name), ["b"]);
    assert.ok(performance.now() - started < LONG_POLL_MS);
  },
);

backendTest("orchestration and worker wakes are separate", async (t) => {
  const waiting = await provider(t);
  const writer = await provider(t);
  const orch = waiting.fetchOrchestrationItem(LOCK_MS, 700);
  const work = waiting.fetchWorkItem(LOCK_MS, 700, null, { type: "Any" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await writer.enqueueForWorker(activityItem("i", 1, 1));
  assert.ok(await work);
  assert.equal(await orch, null);
});

backendTest("work queued before the provider starts is found by the first fetch", async (t) => {
  const writer = await provider(t);
  await writer.enqueueForOrchestrator(startItem("early"), null);
  await writer.enqueueForWorker(activityItem("early", 1, 1));
  const late = await provider(t);
  const started = performance.now();
  assert.equal((await late.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS))?.item.instance, "early");
  assert.ok(await late.fetchWorkItem(LOCK_MS, LONG_POLL_MS, null, { type: "Any" }));
  assert.ok(performance.now() - started < LONG_POLL_MS);
});

backendTest("a notification that arrives during a busy fetch is not lost", async (t) => {
  const state = instrumented(t.driver);
  const waiting = await PostgresProvider.fromDriver(state.driver, { schema: t.schema });
  const writer = await provider(t);
  try {
    let release: () => void = () => {};
    state.holdFetch = new Promise<void>((resolve) => (release = resolve));
    const started = performance.now();
    const fetch = waiting.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The fetch's query has returned empty but its result is held: the work and its
    // notification arrive in between.
    await writer.enqueueForOrchestrator(startItem("during"), null);
    await new Promise((resolve) => setTimeout(resolve, 100));
    state.holdFetch = undefined;
    release();
    assert.equal((await fetch)?.item.instance, "during");
    assert.ok(performance.now() - started < LONG_POLL_MS);
  } finally {
    await waiting.close();
  }
});

backendTest("the refresh finds work whose notification was lost", async (t) => {
  const waiting = await provider(t, { longPoll: { refreshIntervalMs: 300 } });
  assert.equal(await waiting.fetchOrchestrationItem(LOCK_MS, 0), null);
  const fetch = waiting.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Insert with triggers off, as if the notification had been lost.
  await t.driver.transaction(async (tx) => {
    await tx.exec(`set local session_replication_role = replica`);
    await tx.query(
      `insert into "${t.schema}".orchestrator_queue (instance_id, kind, work_item, visible_at,
         created_at_ms) values ('lost', 'StartOrchestration', $1, 0, 0)`,
      [JSON.stringify({
        StartOrchestration: {
          instance: "lost",
          orchestration: "O",
          input: "",
          version: null,
          parent_instance: null,
          parent_id: null,
          execution_id: 1,
        },
      })],
    );
  });
  const started = performance.now();
  assert.equal((await fetch)?.item.instance, "lost");
  assert.ok(performance.now() - started < LONG_POLL_MS);
});

backendTest("a crashed worker's expired lease is picked up by a waiting fetch", async (t) => {
  const waiting = await provider(t, { longPoll: { refreshIntervalMs: 200 } });
  const crashed = await provider(t);
  await crashed.enqueueForWorker(activityItem("i", 1, 1));
  assert.ok(await crashed.fetchWorkItem(400, 0, null, { type: "Any" })); // then "crashes"
  const started = performance.now();
  const work = await waiting.fetchWorkItem(LOCK_MS, LONG_POLL_MS, null, { type: "Any" });
  assert.equal(work?.attemptCount, 2);
  assert.ok(performance.now() - started < LONG_POLL_MS);
});

backendTest("timers fire at their time without polling, many at once", async (t) => {
  const waiting = await provider(t);
  const writer = await provider(t);
  const count = 60;
  for (let i = 0; i < count; i++) await createInstance(writer, `t${i}`);
  // Far enough ahead that no timer comes due while this setup still runs its own fetches.
  const base = Date.now() + 2_000 + count * 40;
  for (let i = 0; i < count; i++) {
    await writer.enqueueForOrchestrator({
      type: "ExternalRaised",
      instance: `t${i}`,
      name: "x",
      data: "",
    }, null);
    const turn = await writer.fetchOrchestrationItem(LOCK_MS, 0);
    assert.ok(turn);
    const fireAtMs = base + (i % 6) * 100;
    await writer.ackOrchestrationItem(
      turn.lockToken,
      1,
      [],
      [],
      [{
        type: "TimerFired",
        instance: turn.item.instance,
        executionId: 1,
        id: 2,
        fireAtMs,
      }],
      {},
      [],
    );
  }
  const lateness: number[] = [];
  const loops = Array.from({ length: 4 }, async () => {
    while (lateness.length < count) {
      const turn = await waiting.fetchOrchestrationItem(LOCK_MS, 3000);
      if (!turn) continue;
      const timer = turn.item.messages.find((m) => m.type === "TimerFired");
      assert.ok(timer?.type === "TimerFired");
      lateness.push(Date.now() - timer.fireAtMs);
      await waiting.ackOrchestrationItem(turn.lockToken, 1, [], [], [], {}, []);
    }
  });
  await Promise.all(loops);
  assert.equal(lateness.length, count);
  assert.ok(lateness.every((ms) => ms >= 0), "a timer fired early");
  // Without local timers they would wait for the 30 s refresh.
  assert.ok(Math.max(...lateness) < 5_000, `timers fired late: max ${Math.max(...lateness)} ms`);
});

backendTest("waitForInstanceChange() wakes on a status or custom status change", async (t) => {
  const watcher = await provider(t);
  const writer = await provider(t);
  await createInstance(writer, "i");
  // (The creation of "i" notified too, possibly still in flight: check quiet on another id.)
  assert.equal(await watcher.waitForInstanceChange("untouched", 200), false);
  const change = watcher.waitForInstanceChange("i", LONG_POLL_MS);
  await writer.enqueueForOrchestrator({
    type: "ExternalRaised",
    instance: "i",
    name: "x",
    data: "",
  }, null);
  const turn = await writer.fetchOrchestrationItem(LOCK_MS, 0);
  assert.ok(turn);
  const started = performance.now();
  await writer.ackOrchestrationItem(
    turn.lockToken,
    1,
    [],
    [],
    [],
    testMetadata({
      status: "Completed",
      output: "done",
    }),
    [],
  );
  assert.equal(await change, true);
  assert.ok(performance.now() - started < LONG_POLL_MS);
});

backendTest("idle dispatchers do not query while nothing changes", async (t) => {
  const state = instrumented(t.driver);
  const idle = await PostgresProvider.fromDriver(state.driver, {
    schema: t.schema,
    longPoll: { refreshIntervalMs: 60_000 },
  });
  try {
    const stop = AbortSignal.timeout(2_000);
    const loop = async (fetch: () => Promise<unknown>) => {
      while (!stop.aborted) await fetch();
    };
    const loops = [
      ...Array.from({ length: 4 }, () => loop(() => idle.fetchOrchestrationItem(LOCK_MS, 250))),
      ...Array.from(
        { length: 8 },
        () => loop(() => idle.fetchWorkItem(LOCK_MS, 250, null, { type: "DefaultOnly" })),
      ),
    ];
    await new Promise((resolve) => setTimeout(resolve, 500));
    const afterWarmUp = state.queries;
    await Promise.all(loops);
    // Each loop re-fetched about six times after the warm-up; none of them queried.
    assert.equal(state.queries - afterWarmUp, 0);
  } finally {
    await idle.close();
  }
});

backendTest(
  "with long polling disabled every fetch is one query and returns at once",
  async (t) => {
    const state = instrumented(t.driver);
    const plain = await PostgresProvider.fromDriver(state.driver, {
      schema: t.schema,
      longPoll: { enabled: false },
    });
    assert.equal(plain.longPollHealthy, false);
    const before = state.queries;
    const started = performance.now();
    assert.equal(await plain.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS), null);
    assert.equal(await plain.fetchWorkItem(LOCK_MS, LONG_POLL_MS, null, { type: "Any" }), null);
    assert.equal(state.queries - before, 2);
    assert.ok(performance.now() - started < LONG_POLL_MS);
    await plain.close();
  },
);

backendTest("a dead listener is detected and fetches fall back to querying", async (t) => {
  // Notifications never arrive on this driver: LISTEN "works" but delivers nothing.
  const deaf: SqlDriver = { ...t.driver, listen: () => Promise.resolve(() => Promise.resolve()) };
  const waiting = await PostgresProvider.fromDriver(deaf, {
    schema: t.schema,
    longPoll: { refreshIntervalMs: 100 },
  });
  const writer = await provider(t);
  try {
    for (let i = 0; i < 50 && waiting.longPollHealthy; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(waiting.longPollHealthy, false, "the missing ping was not noticed");
    await writer.enqueueForOrchestrator(startItem("i"), null);
    const started = performance.now();
    assert.equal((await waiting.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS))?.item.instance, "i");
    assert.ok(performance.now() - started < LONG_POLL_MS);
  } finally {
    await waiting.close();
  }
});

Deno.test({
  name: "server a killed listening connection reconnects, and no work is missed",
  ignore: serverTestsIgnored(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const appName = `dx-listen-${crypto.randomUUID().slice(0, 8)}`;
    const sql = postgres(databaseUrl()!, {
      max: 4,
      onnotice: () => {},
      connection: { application_name: appName },
    });
    const schema = uniqueSchema("srv");
    const waiting = await PostgresProvider.fromDriver(postgresJsDriver(sql, true), { schema });
    const writer = await PostgresProvider.fromDriver(
      postgresJsDriver(postgres(databaseUrl()!, { max: 2, onnotice: () => {} }), true),
      { schema },
    );
    try {
      const fetch = fetchUntilFound(() => waiting.fetchOrchestrationItem(LOCK_MS, 15_000));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const admin = postgres(databaseUrl()!, { max: 1, onnotice: () => {} });
      try {
        const rows = await admin`
          select pg_terminate_backend(pid) as ok from pg_stat_activity
           where application_name = ${appName} and query ilike 'listen%'`;
        assert.ok(rows.length >= 1, "no listening connection found");
        // Work arrives while the listener is gone: its notification is lost.
        await writer.enqueueForOrchestrator(startItem("after-kill"), null);
      } finally {
        await admin.end();
      }
      const started = performance.now();
      assert.equal((await fetch).item.instance, "after-kill");
      assert.ok(performance.now() - started < 15_000);
      // Notifications flow again after the reconnect.
      // (The reconnect wakes everyone once; a dispatcher loop just fetches again.)
      const next = fetchUntilFound(() => waiting.fetchOrchestrationItem(LOCK_MS, 15_000));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await writer.enqueueForOrchestrator(startItem("after-reconnect"), null);
      assert.equal((await next).item.instance, "after-reconnect");
    } finally {
      await waiting.cleanupSchema();
      await waiting.close();
      await writer.close();
    }
  },
});

backendTest("acked turns release new work to waiting dispatchers", async (t) => {
  // A full turn: the ack schedules an activity; a waiting worker gets it from the ack's insert.
  const runtime = await provider(t);
  const workerSide = await provider(t);
  await runtime.enqueueForOrchestrator(startItem("flow"), null);
  const turn = await runtime.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS);
  assert.ok(turn);
  const work = workerSide.fetchWorkItem(LOCK_MS, LONG_POLL_MS, null, { type: "Any" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await runtime.ackOrchestrationItem(
    turn.lockToken,
    1,
    [startedEvent("flow")],
    [
      activityItem("flow", 1, 2),
    ],
    [],
    testMetadata(),
    [],
  );
  const fetched = await work;
  assert.ok(fetched?.item.type === "ActivityExecute" && fetched.item.instance === "flow");
});

backendTest("an aborted long-poll fetch ends its wait with null", async (t) => {
  const waiting = await provider(t);
  const abort = new AbortController();
  const started = performance.now();
  const orch = waiting.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS, null, abort.signal);
  const work = waiting.fetchWorkItem(LOCK_MS, LONG_POLL_MS, null, { type: "Any" }, abort.signal);
  await new Promise((resolve) => setTimeout(resolve, 100));
  abort.abort();
  assert.equal(await orch, null);
  assert.equal(await work, null);
  assert.ok(performance.now() - started < LONG_POLL_MS);
  // Nothing is left waiting: a later enqueue goes to the next fetch.
  const writer = await provider(t);
  const next = waiting.fetchOrchestrationItem(LOCK_MS, LONG_POLL_MS);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await writer.enqueueForOrchestrator(startItem("after-abort"), null);
  assert.equal((await next)?.item.instance, "after-abort");
});
