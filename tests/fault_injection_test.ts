/**
 * The fault-injection kit (`sim/faults/`): each fault has its documented effect on a real
 * provider, on both backends, and the provider recovers from it. The kit's own rules
 * (validation, `times`, `when`, rule order) are checked without a database.
 */

import assert from "node:assert/strict";
import type { SqlDriver } from "../src/driver/driver.ts";
import { ProviderError } from "../src/errors.ts";
import { PostgresProvider, type PostgresProviderOptions } from "../src/postgres_provider.ts";
import { MAX_ATTEMPTS } from "../src/stored_procedures.ts";
import {
  listenerFaults,
  procedureFaults,
  SimulatedConnectionError,
  SimulatedDatabaseError,
  skewedClock,
  withFaults,
} from "../sim/mod.ts";
import {
  activityItem,
  expectProviderError,
  fetchWork,
  sleep,
  startedEvent,
  startItem,
  testMetadata,
} from "../sim/validation/helpers.ts";
import { type BackendContext, backendTest } from "./_support/backends.ts";

const LOCK_MS = 30_000;
// A single fetch, ack or enqueue may go through the batch procedure of the same operation.
const ORCH_FETCH = ["fetch_orchestration_item", "fetch_orchestration_items"];
const ORCH_ACK = ["ack_orchestration_item", "ack_orchestration_items"];
const WORK_FETCH = ["fetch_work_item", "fetch_work_items"];
const WORK_ACK = ["ack_work_item", "ack_work_items"];
const WORK_ENQUEUE = ["enqueue_worker_item", "enqueue_worker_items"];
const NO_LONG_POLL: PostgresProviderOptions = { longPoll: { enabled: false } };

/** A provider on `driver` in the test's schema, closed by `await using`. */
function open(t: BackendContext, driver: SqlDriver, options: PostgresProviderOptions = {}) {
  return PostgresProvider.fromDriver(driver, { schema: t.schema, ...options });
}

/** Waits until `condition` holds (checked every 20 ms), failing after 20 s. */
async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

async function lockedUntil(t: BackendContext, table: string, token: string): Promise<number> {
  const rows = await t.sql<{ until: string }>(
    `select locked_until::text as until from "${t.schema}".${table} where lock_token = $1`,
    [token],
  );
  assert.equal(rows.length, 1, `no ${table} row holds token ${token}`);
  return Number(rows[0].until);
}

// --- clock skew --------------------------------------------------------------------------------

backendTest(
  "clock skew: a node behind does not see due work; a node ahead takes over leases",
  async (t) => {
    const now = 1_800_000_000_000;
    const clockA = skewedClock(0, () => now);
    const clockB = skewedClock(-60_000, () => now);
    await using a = await open(t, t.driver, { ...NO_LONG_POLL, clock: clockA });
    await using b = await open(t, t.driver, { ...NO_LONG_POLL, clock: clockB });
    await a.enqueueForOrchestrator(startItem("i"), null);
    assert.equal(await b.fetchOrchestrationItem(LOCK_MS, 0), null, "visible only from A's now");
    const turnA = await a.fetchOrchestrationItem(LOCK_MS, 0);
    assert.ok(turnA);

    // B's clock jumps past A's lease: in B's view the lease ran out, so B takes the instance.
    clockB.skewMs = LOCK_MS + 1;
    const turnB = await b.fetchOrchestrationItem(LOCK_MS, 0);
    assert.equal(turnB?.item.instance, "i");
    assert.equal(turnB.attemptCount, 2);
    const lost = await expectProviderError(
      a.ackOrchestrationItem(turnA.lockToken, 1, [startedEvent("i")], [], [], testMetadata(), []),
      "an ack through the lease B took over",
    );
    assert.equal(lost.code, "INVALID_LOCK_TOKEN");
    await b.ackOrchestrationItem(
      turnB.lockToken,
      1,
      [startedEvent("i")],
      [],
      [],
      testMetadata(),
      [],
    );
    const [row] = await t.sql<{ at: string }>(
      `select created_at_ms::text as at from "${t.schema}".history where instance_id = 'i'`,
    );
    assert.equal(Number(row.at), now + LOCK_MS + 1, "B's clock stamped what B wrote");
  },
);

Deno.test("skewedClock: signed, adjustable, validated", () => {
  const clock = skewedClock(-5, () => 100);
  assert.equal(clock(), 95);
  clock.skewMs = 7;
  assert.equal(clock(), 107);
  assert.equal(clock.skewMs, 7);
  assert.throws(() => (clock.skewMs = 0.5), RangeError);
  assert.throws(() => skewedClock(Number.NaN), RangeError);
  assert.ok(Math.abs(skewedClock(1_000)() - (Date.now() + 1_000)) < 1_000, "Date.now by default");
});

// --- procedure faults --------------------------------------------------------------------------

backendTest(
  "a failure injected before an ack changes nothing; after it, the ack is durable",
  async (t) => {
    const faults = procedureFaults(t.driver);
    await using provider = await open(t, faults.driver, NO_LONG_POLL);
    await provider.enqueueForOrchestrator(startItem("i"), null);
    const turn = await provider.fetchOrchestrationItem(LOCK_MS, 0);
    assert.ok(turn);
    const ack = () =>
      provider.ackOrchestrationItem(
        turn.lockToken,
        1,
        [startedEvent("i")],
        [],
        [],
        testMetadata(),
        [],
      );

    const before = faults.inject(ORCH_ACK, { fail: "before", times: 1 });
    const lost = await expectProviderError(ack(), "an ack struck before it ran");
    assert.equal(lost.code, "CONNECTION");
    assert.ok(lost.retryable);
    assert.ok(lost.cause instanceof SimulatedConnectionError);
    assert.equal(before.hits, 1);
    assert.ok(before.retired);
    assert.deepEqual(await provider.read("i"), [], "nothing was written");
    assert.equal(await provider.fetchOrchestrationItem(LOCK_MS, 0), null, "the lock is still held");

    faults.inject(ORCH_ACK, { fail: "after", times: 1 });
    const unknown = await expectProviderError(ack(), "an ack struck after it committed");
    assert.equal(unknown.code, "CONNECTION");
    const after = faults.injected.at(-1)!;
    assert.equal(after.point, "after");
    assert.equal(after.error, null, "the database accepted the ack");
    assert.equal((await provider.read("i")).length, 1, "the turn was committed");
    assert.equal(await provider.fetchOrchestrationItem(LOCK_MS, 0), null, "the message is gone");
    // The caller's retry learns that the turn it thought lost had committed.
    assert.equal((await expectProviderError(ack(), "a retried ack")).code, "INVALID_LOCK_TOKEN");
  },
);

backendTest(
  "a failure injected after an activity ack: its completion is enqueued once",
  async (t) => {
    const faults = procedureFaults(t.driver);
    await using provider = await open(t, faults.driver, NO_LONG_POLL);
    await provider.enqueueForWorker(activityItem("i", 1, 1));
    const work = await fetchWork(provider, LOCK_MS);
    assert.ok(work);
    faults.inject(WORK_ACK, { fail: "after", times: 1 });
    const completion = {
      type: "ActivityCompleted" as const,
      instance: "i",
      executionId: 1,
      id: 1,
      result: "1",
    };
    const err = await expectProviderError(provider.ackWorkItem(work.lockToken, completion), "ack");
    assert.equal(err.code, "CONNECTION");
    assert.equal(await fetchWork(provider, LOCK_MS), null, "the activity is gone");
    const rows = await t.sql<{ n: number }>(
      `select count(*)::int as n from "${t.schema}".orchestrator_queue where kind = 'ActivityCompleted'`,
    );
    assert.equal(rows[0].n, 1);
    const retry = await expectProviderError(
      provider.ackWorkItem(work.lockToken, completion),
      "retry",
    );
    assert.equal(retry.code, "INVALID_LOCK_TOKEN");
  },
);

backendTest(
  "an injected SQLSTATE is classified like the real error; a rolled-back one is retried",
  async (t) => {
    const faults = procedureFaults(t.driver);
    await using provider = await open(t, faults.driver, NO_LONG_POLL);

    // 40001 promises a rollback: the provider retries, and the item is enqueued exactly once.
    const once = faults.inject(WORK_ENQUEUE, {
      fail: "before",
      times: 1,
      error: () => new SimulatedDatabaseError("40001", "could not serialize access"),
    });
    await provider.enqueueForWorker(activityItem("i", 1, 1));
    assert.equal(once.hits, 1);
    const work = await fetchWork(provider, LOCK_MS);
    assert.ok(work);
    assert.equal(await fetchWork(provider, LOCK_MS), null, "one row, not two");

    // A deadlock on every attempt: retried MAX_ATTEMPTS times, then reported as CONFLICT.
    const always = faults.inject("renew_work_item_lock", {
      fail: "before",
      error: () => new SimulatedDatabaseError("40P01", "deadlock detected"),
    });
    const conflict = await expectProviderError(
      provider.renewWorkItemLock(work.lockToken, 1_000),
      "renew",
    );
    assert.equal(conflict.code, "CONFLICT");
    assert.ok(conflict.retryable);
    assert.equal(always.hits, MAX_ATTEMPTS);
    always.remove();
    await provider.renewWorkItemLock(work.lockToken, 1_000);

    // A project code maps to its typed error and is not retried.
    const invalid = faults.inject(WORK_ACK, {
      fail: "before",
      error: () => new SimulatedDatabaseError("DX001"),
    });
    const err = await expectProviderError(provider.ackWorkItem(work.lockToken, null), "ack");
    assert.equal(err.code, "INVALID_LOCK_TOKEN");
    assert.equal(err.retryable, false);
    assert.equal(invalid.hits, 1);
    faults.clear();
    await provider.ackWorkItem(work.lockToken, null);
  },
);

backendTest("a delay before a call shortens its lease; a stall inside it does not", async (t) => {
  const now = 1_800_000_000_000;
  const faults = procedureFaults(t.driver);
  await using provider = await open(t, faults.driver, { ...NO_LONG_POLL, clock: () => now });
  for (const id of [1, 2]) await provider.enqueueForWorker(activityItem("i", 1, id));

  // The clock was read before the delay, and the server never saw it.
  faults.inject(WORK_FETCH, { delayMs: 150, times: 1 });
  const delayed = await fetchWork(provider, 10_000);
  assert.ok(delayed);
  assert.equal(await lockedUntil(t, "worker_queue", delayed.lockToken), now + 10_000);

  // A wait inside the statement is measured by the procedure and added to the lease.
  faults.inject(WORK_FETCH, { stallMs: 150, times: 1 });
  const stalled = await fetchWork(provider, 10_000);
  assert.ok(stalled);
  assert.ok(await lockedUntil(t, "worker_queue", stalled.lockToken) >= now + 150 + 10_000);

  // `when` picks calls by their parameters: only the renewal of the first token fails.
  faults.inject("renew_work_item_lock", {
    fail: "before",
    when: (call) => call.params[0] === delayed.lockToken,
  });
  await expectProviderError(provider.renewWorkItemLock(delayed.lockToken, 1_000), "renew");
  await provider.renewWorkItemLock(stalled.lockToken, 1_000);
});

// --- listener faults ---------------------------------------------------------------------------

backendTest(
  "a disabled notifier: fetches fall back to one query each; enabling recovers",
  async (t) => {
    const procedures = procedureFaults(t.driver);
    const listener = listenerFaults(procedures.driver);
    await listener.disable();
    await using provider = await open(t, listener.driver, { longPoll: { refreshIntervalMs: 50 } });
    await using writer = await open(t, t.driver, NO_LONG_POLL);
    assert.equal(provider.longPollHealthy, false);
    assert.equal(listener.subscriptions, 0);

    const fetches = procedures.inject(ORCH_FETCH); // counts only
    assert.equal(await provider.fetchOrchestrationItem(LOCK_MS, 60_000), null);
    assert.equal(fetches.hits, 1, "one query, no wait for a notification that cannot come");
    await writer.enqueueForOrchestrator(startItem("a"), null);
    assert.equal((await provider.fetchOrchestrationItem(LOCK_MS, 60_000))?.item.instance, "a");

    listener.enable();
    await until("the notifier re-subscribed", () => provider.longPollHealthy);
    assert.equal(listener.subscriptions, 3);
    const waiting = provider.fetchOrchestrationItem(LOCK_MS, 60_000);
    await writer.enqueueForOrchestrator(startItem("b"), null);
    assert.equal((await waiting)?.item.instance, "b");
  },
);

backendTest(
  "a crashed listener: a waiting fetch still gets work, and the listener comes back",
  async (t) => {
    const listener = listenerFaults(t.driver);
    await using provider = await open(t, listener.driver, { longPoll: { refreshIntervalMs: 100 } });
    await using writer = await open(t, t.driver, NO_LONG_POLL);
    assert.ok(provider.longPollHealthy);
    await listener.crash();
    assert.equal(listener.subscriptions, 0);

    // No notification can arrive: the refresh query finds the work and wakes the fetch.
    const waiting = provider.fetchOrchestrationItem(LOCK_MS, 60_000);
    await writer.enqueueForOrchestrator(startItem("a"), null);
    assert.equal((await waiting)?.item.instance, "a");
    // The refresh's ping never came back, so the notifier subscribed again.
    await until("the notifier re-subscribed", () => listener.subscriptions === 3);
    await until("the notifier is healthy", () => provider.longPollHealthy);
  },
);

backendTest(
  "a forced reconnect: lost notifications are made up for, and wakes work again",
  async (t) => {
    const listener = listenerFaults(t.driver);
    // Refreshes are a minute apart, so only notifications and the reconnect can wake a fetch.
    await using provider = await open(t, listener.driver, {
      longPoll: { refreshIntervalMs: 60_000 },
    });
    await using writer = await open(t, t.driver, NO_LONG_POLL);
    assert.ok(provider.longPollHealthy);
    assert.equal(await provider.fetchOrchestrationItem(LOCK_MS, 10), null);

    const waiting = provider.fetchOrchestrationItem(LOCK_MS, 60_000);
    listener.disconnect();
    await writer.enqueueForOrchestrator(startItem("a"), null);
    await until("the notification was dropped", () => listener.dropped >= 1);
    listener.reconnect();
    assert.equal((await waiting)?.item.instance, "a", "the reconnect woke the fetch");

    assert.equal(await provider.fetchOrchestrationItem(LOCK_MS, 10), null);
    const next = provider.fetchOrchestrationItem(LOCK_MS, 60_000);
    await writer.enqueueForOrchestrator(startItem("b"), null);
    assert.equal((await next)?.item.instance, "b", "a notification woke the fetch");

    listener.forceReconnect();
    assert.ok(provider.longPollHealthy);
    assert.equal(listener.subscriptions, 3);
  },
);

// --- the kit itself ----------------------------------------------------------------------------

/** A driver that records statements and answers every query with one row. */
function recordingDriver() {
  const statements: string[] = [];
  const driver = {
    query: (sql: string) => (statements.push(sql), Promise.resolve([{ r: null }])),
    exec: () => Promise.resolve(),
    transaction: () => Promise.reject(new Error("unused")),
    listen: () => Promise.reject(new Error("unused")),
    close: () => Promise.resolve(),
  } as unknown as SqlDriver;
  return { driver, statements };
}

const CALL = 'select "s".fetch_work_item($1::bigint) as r';

Deno.test("procedureFaults: rules are validated, retire after `times`, and the oldest wins", async () => {
  const { driver, statements } = recordingDriver();
  const faults = procedureFaults(driver);
  assert.throws(() => faults.inject("", {}), TypeError);
  assert.throws(() => faults.inject([], {}), TypeError);
  assert.throws(() => faults.inject("x", { delayMs: -1 }), RangeError);
  assert.throws(() => faults.inject("x", { stallMs: Number.NaN }), RangeError);
  assert.throws(() => faults.inject("x", { times: 1.5 }), RangeError);

  const first = faults.inject(WORK_FETCH, { fail: "before", times: 2 });
  const second = faults.inject("*", { fail: "after" });
  for (let i = 0; i < 3; i++) {
    await assert.rejects(faults.driver.query(CALL), SimulatedConnectionError);
  }
  assert.equal(first.hits, 2);
  assert.equal(second.hits, 1);
  assert.equal(statements.length, 1, "only the call struck after it was sent");
  await faults.driver.query("select 1"); // not a procedure call: never struck
  faults.clear();
  await faults.driver.query(CALL);
  assert.equal(second.hits, 1);
  assert.deepEqual(faults.injected.map((f) => f.point), ["before", "before", "after"]);
});

Deno.test("withFaults: a stall wraps the call in a server-side wait; other statements refuse it", async () => {
  const { driver, statements } = recordingDriver();
  const faulty = withFaults(driver, { decide: () => ({ stallMs: 250 }) });
  await faulty.query(CALL);
  assert.match(statements[0], /^with dx_fault_stall as materialized \(select pg_sleep\(0\.25\)\)/);
  assert.match(statements[0], /as r\nfrom dx_fault_stall$/);
  await assert.rejects(faulty.query("select x from t"), TypeError);
  const unwrapped = withFaults(driver, { decide: () => null });
  await unwrapped.query(CALL);
  assert.equal(statements.at(-1), CALL, "no action, no change");
});

Deno.test("listenerFaults: refuse, crash, drop and reconnect", async () => {
  const delivered: string[] = [];
  let reconnects = 0;
  const callbacks: ((payload: string) => void)[] = [];
  let unlistened = 0;
  const inner = {
    listen(_channel: string, onPayload: (payload: string) => void) {
      callbacks.push(onPayload);
      return Promise.resolve(() => (unlistened++, Promise.resolve()));
    },
  } as unknown as SqlDriver;
  const listener = listenerFaults(inner);
  const subscribe = () => listener.driver.listen("c", (p) => delivered.push(p), () => reconnects++);

  await subscribe();
  callbacks[0]("1");
  listener.disconnect();
  callbacks[0]("2");
  listener.reconnect();
  callbacks[0]("3");
  assert.deepEqual(delivered, ["1", "3"]);
  assert.equal(listener.dropped, 1);
  assert.equal(reconnects, 1);

  await listener.crash();
  callbacks[0]("4");
  assert.deepEqual(delivered, ["1", "3"], "a crashed subscription delivers nothing");
  assert.equal(unlistened, 1);
  assert.equal(listener.subscriptions, 0);

  await listener.disable();
  const refused = await subscribe().catch((e) => e);
  assert.ok(refused instanceof SimulatedConnectionError && refused.code === "08006");
  listener.enable();
  const unlisten = await subscribe();
  assert.equal(listener.subscriptions, 1);
  listener.forceReconnect();
  assert.equal(reconnects, 2);
  await unlisten();
  assert.equal(listener.subscriptions, 0);
});

Deno.test("SimulatedDatabaseError carries a SQLSTATE the provider classifies", () => {
  assert.equal(new SimulatedDatabaseError("57P01").code, "57P01");
  assert.throws(() => new SimulatedDatabaseError("bad"), RangeError);
  assert.ok(!(new SimulatedDatabaseError("40001") instanceof ProviderError));
});
