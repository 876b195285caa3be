/**
 * Bad input gets a clear, typed error, and the failed call changes nothing that was stored.
 */

import assert from "node:assert/strict";
import { ProviderError } from "../src/errors.ts";
import { PostgresProvider } from "../src/postgres_provider.ts";
import type { ErrorCode } from "../src/errors.ts";
import { backendTest } from "./_support/backends.ts";
import {
  activityItem,
  createInstance,
  startedEvent,
  startItem,
  testMetadata,
} from "../sim/validation/helpers.ts";

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${err}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.retryable, false);
    return err;
  }
  assert.fail(`expected a ProviderError with code ${code}`);
}

backendTest("an invalid schema name is a TypeError and creates nothing", async (t) => {
  for (const schema of ["bad-name", "1starts_with_digit", 'x"; drop table y; --', "", "pg_mine"]) {
    await assert.rejects(PostgresProvider.fromDriver(t.driver, { schema }), TypeError, schema);
  }
  const rows = await t.sql<{ n: number }>(
    `select count(*)::int as n from pg_namespace where nspname in ('bad-name', 'pg_mine')`,
  );
  assert.equal(rows[0].n, 0);
});

backendTest(
  "unknown lock tokens are INVALID_LOCK_TOKEN and leave the real lock held",
  async (t) => {
    const provider = await t.createProvider();
    await provider.enqueueForOrchestrator(startItem("i"), null);
    const turn = await provider.fetchOrchestrationItem(30_000, 0);
    assert.ok(turn);
    const err = await rejectsWith(
      provider.ackOrchestrationItem("no-such-token", 1, [startedEvent("i")], [], [], {}, []),
      "INVALID_LOCK_TOKEN",
    );
    assert.match(err.message, /Invalid lock token/);
    await rejectsWith(
      provider.abandonOrchestrationItem("no-such-token", null, false),
      "INVALID_LOCK_TOKEN",
    );
    await rejectsWith(
      provider.renewOrchestrationItemLock("no-such-token", 1000),
      "INVALID_LOCK_TOKEN",
    );
    await rejectsWith(provider.ackWorkItem("no-such-token", null), "INVALID_LOCK_TOKEN");
    await rejectsWith(provider.renewWorkItemLock("no-such-token", 1000), "INVALID_LOCK_TOKEN");
    await rejectsWith(provider.abandonWorkItem("no-such-token", null, false), "INVALID_LOCK_TOKEN");
    // The real holder is unaffected: nobody else can fetch, and its ack still works.
    assert.equal(await provider.fetchOrchestrationItem(30_000, 0), null);
    await provider.ackOrchestrationItem(
      turn.lockToken,
      1,
      [startedEvent("i")],
      [],
      [],
      testMetadata(),
      [],
    );
    assert.equal((await provider.read("i")).length, 1);
  },
);

backendTest("an expired lease is LOCK_EXPIRED for renew and ack", async (t) => {
  let now = 1_800_000_000_000;
  const provider = await t.createProvider({ clock: () => now });
  await provider.enqueueForOrchestrator(startItem("i"), null);
  await provider.enqueueForWorker(activityItem("i", 1, 2));
  const turn = await provider.fetchOrchestrationItem(1000, 0);
  const work = await provider.fetchWorkItem(1000, 0, null, { type: "DefaultOnly" });
  assert.ok(turn && work);
  now += 1000; // the leases end exactly now
  await rejectsWith(provider.renewOrchestrationItemLock(turn.lockToken, 1000), "LOCK_EXPIRED");
  await rejectsWith(
    provider.ackOrchestrationItem(
      turn.lockToken,
      1,
      [startedEvent("i")],
      [],
      [],
      testMetadata(),
      [],
    ),
    "LOCK_EXPIRED",
  );
  await rejectsWith(provider.renewWorkItemLock(work.lockToken, 1000), "LOCK_EXPIRED");
  await rejectsWith(provider.ackWorkItem(work.lockToken, null), "LOCK_EXPIRED");
  assert.deepEqual(await provider.read("i"), []);
  // Both messages are still there and can be fetched again, one attempt later.
  const again = await provider.fetchOrchestrationItem(1000, 0);
  assert.equal(again?.attemptCount, 2);
  const workAgain = await provider.fetchWorkItem(1000, 0, null, { type: "DefaultOnly" });
  assert.equal(workAgain?.attemptCount, 2);
  // The old holders' tokens were taken over: abandoning with them is refused.
  await rejectsWith(
    provider.abandonOrchestrationItem(turn.lockToken, null, false),
    "INVALID_LOCK_TOKEN",
  );
  await rejectsWith(provider.abandonWorkItem(work.lockToken, null, false), "INVALID_LOCK_TOKEN");
});

backendTest("a lapsed lease that nobody took over can still be abandoned", async (t) => {
  let now = 1_800_000_000_000;
  const provider = await t.createProvider({ clock: () => now });
  await provider.enqueueForOrchestrator(startItem("i"), null);
  await provider.enqueueForWorker(activityItem("i", 1, 2));
  const turn = await provider.fetchOrchestrationItem(1000, 0);
  const work = await provider.fetchWorkItem(1000, 0, null, { type: "DefaultOnly" });
  assert.ok(turn && work);
  now += 5000;
  await provider.abandonOrchestrationItem(turn.lockToken, null, true);
  await provider.abandonWorkItem(work.lockToken, null, true);
  assert.equal((await provider.fetchOrchestrationItem(1000, 0))?.attemptCount, 1);
  assert.equal((await provider.fetchWorkItem(1000, 0, null, { type: "Any" }))?.attemptCount, 1);
});

backendTest(
  "a duplicate event id is DUPLICATE_EVENT and the whole ack is rolled back",
  async (t) => {
    const provider = await t.createProvider();
    await createInstance(provider, "i");
    await provider.enqueueForOrchestrator({
      type: "ExternalRaised",
      instance: "i",
      name: "e",
      data: "1",
    }, null);
    const turn = await provider.fetchOrchestrationItem(30_000, 0);
    assert.ok(turn);
    await rejectsWith(
      provider.ackOrchestrationItem(
        turn.lockToken,
        1,
        [startedEvent("i")], // event 1 exists already
        [activityItem("i", 1, 2)],
        [startItem("other")],
        testMetadata({ status: "Completed", output: "x" }),
        [],
      ),
      "DUPLICATE_EVENT",
    );
    assert.equal((await provider.read("i")).length, 1);
    assert.equal(await provider.fetchWorkItem(30_000, 0, null, { type: "Any" }), null);
    const info = await provider.asManagementCapability().getInstanceInfo("i");
    assert.equal(info.status, "Running");
    // The lock is still held; the message is still there for the next ack.
    assert.equal(await provider.fetchOrchestrationItem(30_000, 0), null);
    await provider.ackOrchestrationItem(turn.lockToken, 1, [], [], [], {}, []);
  },
);

backendTest(
  "an undecodable history row is CORRUPT_DATA on read and historyError on fetch",
  async (t) => {
    const provider = await t.createProvider();
    await createInstance(provider, "i");
    await t.sql(`update "${t.schema}".history set event_data = '{"broken' where instance_id = 'i'`);
    await rejectsWith(provider.read("i"), "CORRUPT_DATA");
    await rejectsWith(provider.readWithExecution("i", 1), "CORRUPT_DATA");
    await provider.enqueueForOrchestrator({
      type: "ExternalRaised",
      instance: "i",
      name: "e",
      data: "1",
    }, null);
    const turn = await provider.fetchOrchestrationItem(30_000, 0);
    assert.ok(turn);
    assert.match(turn.item.historyError ?? "", /could not be decoded/);
    assert.deepEqual(turn.item.history, []);
    assert.equal(turn.attemptCount, 1);
    // The lock is held and the stored row is untouched.
    assert.equal(await provider.fetchOrchestrationItem(30_000, 0), null);
    const rows = await t.sql<{ event_data: string }>(
      `select event_data from "${t.schema}".history where instance_id = 'i'`,
    );
    assert.deepEqual(rows.map((r) => r.event_data), ['{"broken']);
  },
);

backendTest(
  "a work item of the wrong type is INVALID_ARGUMENT and nothing is stored",
  async (t) => {
    const provider = await t.createProvider();
    await rejectsWith(provider.enqueueForWorker(startItem("i")), "INVALID_ARGUMENT");
    await rejectsWith(
      provider.enqueueForOrchestrator(activityItem("i", 1, 2), null),
      "INVALID_ARGUMENT",
    );
    assert.equal(await provider.fetchWorkItem(1000, 0, null, { type: "Any" }), null);
    assert.equal(await provider.fetchOrchestrationItem(1000, 0), null);

    await provider.enqueueForWorker(activityItem("i", 1, 2));
    const work = await provider.fetchWorkItem(30_000, 0, null, { type: "Any" });
    assert.ok(work);
    await rejectsWith(provider.ackWorkItem(work.lockToken, startItem("i")), "INVALID_ARGUMENT");
    // The item is still locked by its holder, who can complete it properly.
    await provider.ackWorkItem(work.lockToken, {
      type: "ActivityCompleted",
      instance: "i",
      executionId: 1,
      id: 2,
      result: "r",
    });

    await provider.enqueueForOrchestrator(startItem("j"), null);
    const turn = await provider.fetchOrchestrationItem(30_000, 0);
    assert.ok(turn?.item.instance === "i" || turn?.item.instance === "j");
    await rejectsWith(
      provider.ackOrchestrationItem(turn.lockToken, 1, [], [], [activityItem("i", 1, 3)], {}, []),
      "INVALID_ARGUMENT",
    );
    await rejectsWith(
      provider.ackOrchestrationItem(turn.lockToken, 1, [], [startItem("x")], [], {}, []),
      "INVALID_ARGUMENT",
    );
    await rejectsWith(
      provider.ackOrchestrationItem(
        turn.lockToken,
        1,
        [{ ...startedEvent("j"), eventId: 0 }],
        [],
        [],
        {},
        [],
      ),
      "INVALID_ARGUMENT",
    );
  },
);

backendTest("out-of-range arguments are RangeErrors", async (t) => {
  const provider = await t.createProvider();
  await assert.rejects(provider.fetchOrchestrationItem(-1, 0), RangeError);
  await assert.rejects(provider.fetchWorkItem(1.5, 0, null, { type: "Any" }), RangeError);
  await assert.rejects(provider.abandonWorkItem("t", -5, false), RangeError);
  await assert.rejects(provider.readWithExecution("i", 0), RangeError);
  await assert.rejects(provider.ackOrchestrationItem("t", 0, [], [], [], {}, []), RangeError);
});
