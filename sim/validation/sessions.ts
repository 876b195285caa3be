/**
 * Session routing validation tests: activities with the same `sessionId` are pinned to the
 * worker that owns the session; non-session items go to any worker. The second half of the
 * category (ownership races, expiry and renewal edge cases) lives in `sessions_locks.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { fetchWork, sleep } from "./helpers.ts";
import {
  asActivity,
  expectSome,
  plainActivity,
  sessionActivity,
  sessionConfig,
  sessionOf,
} from "./_partC_util.ts";
import { sessionLocksTests } from "./sessions_locks.ts";

// ---------------------------------------------------------------------------
// Basic session routing
// ---------------------------------------------------------------------------

async function testNonSessionItemsFetchableByAnyWorker(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(plainActivity("inst-1", 1));

  const result = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(result !== null, "Non-session item should be fetchable by any worker");
}

async function testSessionItemClaimableWhenNoSession(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));

  const result = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(result !== null, "Unclaimed session item should be fetchable");

  // The item carries its session id.
  assert.equal(sessionOf(asActivity(result.item)), "session-1");
}

async function testSessionAffinitySameWorker(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // First session item: fetching it claims the session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "first session item should be fetchable",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Second item of the same session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "session-1"));

  // The same worker still gets it.
  const result = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(result !== null, "Owned session item should be fetchable by owning worker");
}

async function testSessionAffinityBlocksOtherWorker(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims session-1.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "first session item should be fetchable",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Another item of the same session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "session-1"));

  // worker-B must not get it while worker-A owns the session.
  const result = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.equal(result, null, "Non-owning worker should not fetch owned session items");
}

async function testDifferentSessionsDifferentWorkers(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims session-1.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const a = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(a.lockToken, null);

  // worker-B claims session-2.
  await provider.enqueueForWorker(sessionActivity("inst-2", 1, "session-2"));
  const b = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-B")),
    "worker-B should claim session-2",
  );
  await provider.ackWorkItem(b.lockToken, null);

  // More items for each session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "session-1"));
  await provider.enqueueForWorker(sessionActivity("inst-2", 2, "session-2"));

  // worker-A gets the session-1 item.
  const resultA = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(resultA !== null, "Worker-A should fetch session-1 item");
  if (resultA.item.type === "ActivityExecute") {
    assert.equal(sessionOf(resultA.item), "session-1");
  }

  // worker-B gets the session-2 item.
  const resultB = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.ok(resultB !== null, "Worker-B should fetch session-2 item");
  if (resultB.item.type === "ActivityExecute") {
    assert.equal(sessionOf(resultB.item), "session-2");
  }
}

async function testMixedSessionAndNonSessionItems(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A owns session-1.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // A session item and a plain item.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "session-1"));
  await provider.enqueueForWorker(plainActivity("inst-2", 1));

  // worker-B gets the plain item (it cannot get session-1's).
  const result = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.ok(result !== null, "Worker-B should get the plain item");
  if (result.item.type === "ActivityExecute") {
    assert.equal(sessionOf(result.item), null, "Worker-B should get a non-session item");
  }
}

// ---------------------------------------------------------------------------
// Session lock / expiration
// ---------------------------------------------------------------------------

async function testSessionClaimableAfterLockExpiry(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims the session with a very short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 50)),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Let the session lock expire.
  await sleep(100);

  // Another session-1 item.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "session-1"));

  // worker-B can now claim session-1.
  const result = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.ok(result !== null, "Worker-B should claim expired session");
}

async function testNoneSessionSkipsSessionItems(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // A session item and a plain item.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  await provider.enqueueForWorker(plainActivity("inst-2", 2));

  // session = null: only the plain item is eligible.
  const result = await fetchWork(provider, 5_000, null);
  assert.ok(result !== null, "Should fetch a non-session item with session=None");
  if (result.item.type === "ActivityExecute") {
    assert.equal(sessionOf(result.item), null, "Should be a non-session item");
    assert.equal(result.item.id, 2, "Should get the plain activity");
    await provider.ackWorkItem(result.lockToken, null);
  }

  // No more non-session items.
  const result2 = await fetchWork(provider, 5_000, null);
  assert.equal(result2, null, "Session item should be invisible to None fetch");

  // With a session config the session item is returned.
  const result3 = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(result3 !== null, "Session item should be visible with Some config");
  if (result3.item.type === "ActivityExecute") {
    assert.equal(sessionOf(result3.item), "session-1");
  }
}

async function testSomeSessionReturnsAllItems(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Items of three different sessions plus one plain item.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "sess-A"));
  await provider.enqueueForWorker(sessionActivity("inst-2", 2, "sess-B"));
  await provider.enqueueForWorker(sessionActivity("inst-3", 3, "sess-C"));
  await provider.enqueueForWorker(plainActivity("inst-4", 4));

  // All four are claimable by one owner (the provider has no capacity limit).
  const fetchedIds: number[] = [];
  for (let i = 0; i < 4; i++) {
    const fetched = expectSome(
      await fetchWork(provider, 5_000, sessionConfig("shared-proc")),
      "Should fetch item",
    );
    if (fetched.item.type === "ActivityExecute") fetchedIds.push(fetched.item.id);
    await provider.ackWorkItem(fetched.lockToken, null);
  }
  assert.deepEqual(fetchedIds, [1, 2, 3, 4], "All items should be fetched in FIFO order");

  // Nothing left.
  const result = await fetchWork(provider, 5_000, sessionConfig("shared-proc"));
  assert.equal(result, null, "Queue should be empty");
}

// ---------------------------------------------------------------------------
// Session renewal
// ---------------------------------------------------------------------------

async function testRenewSessionLockActive(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims a session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 5_000)),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Renew (idle timeout 300 s, so the session counts as active).
  const count = await provider.renewSessionLock(["worker-A"], 30_000, 300_000);
  assert.equal(count, 1, "Should renew 1 active session");

  // worker-A claims a second session.
  await provider.enqueueForWorker(sessionActivity("inst-2", 1, "session-2"));
  const second = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "worker-A should claim session-2",
  );
  await provider.ackWorkItem(second.lockToken, null);

  // Both sessions are renewed now.
  const count2 = await provider.renewSessionLock(["worker-A"], 30_000, 300_000);
  assert.equal(count2, 2, "Should renew 2 active sessions");
}

async function testRenewSessionLockSkipsIdle(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims a session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Idle timeout 0: every session is idle.
  const count = await provider.renewSessionLock(["worker-A"], 30_000, 0);
  assert.equal(count, 0, "Should skip idle session");
}

async function testRenewSessionLockNoSessions(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const count = await provider.renewSessionLock(["worker-A"], 30_000, 300_000);
  assert.equal(count, 0, "Worker with no sessions should renew 0");
}

// ---------------------------------------------------------------------------
// Session cleanup
// ---------------------------------------------------------------------------

async function testCleanupRemovesExpiredNoItems(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims a session with a short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 50)),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Let the session lock expire.
  await sleep(100);

  // The expired session has no pending items, so cleanup removes it.
  const count = await provider.cleanupOrphanedSessions(300_000);
  assert.equal(count, 1, "Should clean up 1 expired session");
}

async function testCleanupKeepsSessionsWithPendingItems(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims a session with a short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 50)),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // A pending item for the same session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "session-1"));

  // Let the session lock expire.
  await sleep(100);

  // The session still has a pending item, so cleanup keeps it.
  const count = await provider.cleanupOrphanedSessions(300_000);
  assert.equal(count, 0, "Should not clean up session with pending items");
}

async function testCleanupKeepsActiveSessions(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims a session with a long session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 300_000)),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // The session is still locked, so cleanup keeps it.
  const count = await provider.cleanupOrphanedSessions(300_000);
  assert.equal(count, 0, "Should not clean up active session");
}

// ---------------------------------------------------------------------------
// Session activity piggybacking
// ---------------------------------------------------------------------------

async function testAckUpdatesSessionLastActivity(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const idleWindowMs = 200;

  // Fetch a session-bound item.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const fetched = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "session item should be fetchable",
  );

  // Wait past the idle window so the fetch timestamp is stale.
  await sleep(idleWindowMs + 50);

  // The ack must bump last_activity_at to now.
  await provider.ackWorkItem(fetched.lockToken, {
    type: "ActivityCompleted",
    instance: "inst-1",
    executionId: 1,
    id: 1,
    result: "ok",
  });

  // Only renewed if the ack refreshed last_activity_at within the idle window.
  const count = await provider.renewSessionLock(["worker-A"], 30_000, idleWindowMs);
  assert.equal(count, 1, "Session should be active — ack must have updated last_activity_at");
}

async function testRenewWorkItemUpdatesSessionLastActivity(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const idleWindowMs = 200;

  // Fetch a session-bound item.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const fetched = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "session item should be fetchable",
  );

  // Wait past the idle window so the fetch timestamp is stale.
  await sleep(idleWindowMs + 50);

  // Renewing the work item lock must bump last_activity_at.
  await provider.renewWorkItemLock(fetched.lockToken, 30_000);

  // Only renewed if the work item renewal refreshed last_activity_at.
  const count = await provider.renewSessionLock(["worker-A"], 30_000, idleWindowMs);
  assert.equal(
    count,
    1,
    "Session should be active — work item lock renewal must have updated last_activity_at",
  );
}

// ---------------------------------------------------------------------------
// Edge cases
// ---------------------------------------------------------------------------

async function testSessionItemsProcessedInOrder(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Three items of one session.
  for (let id = 1; id <= 3; id++) {
    await provider.enqueueForWorker(sessionActivity("inst-1", id, "session-1"));
  }

  // The same worker fetches them in order.
  for (let expectedId = 1; expectedId <= 3; expectedId++) {
    const fetched = expectSome(
      await fetchWork(provider, 5_000, sessionConfig("worker-A")),
      `Should fetch session item ${expectedId}`,
    );
    if (fetched.item.type === "ActivityExecute") {
      assert.equal(fetched.item.id, expectedId, "Items should be fetched in FIFO order");
    }
    await provider.ackWorkItem(fetched.lockToken, null);
  }
}

async function testNonSessionItemsReturnedWithSessionConfig(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  // Own a session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "session-1"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "worker-A should claim session-1",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // A plain item.
  await provider.enqueueForWorker(plainActivity("inst-2", 1));

  // A session config still returns non-session items.
  const result = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(result !== null, "Non-session items should be returned with session config");
  if (result.item.type === "ActivityExecute") {
    assert.equal(sessionOf(result.item), null, "Should be a non-session item");
  }
}

function test(name: string, run: (factory: ProviderFactory) => Promise<void>): ValidationTest {
  return { category: "sessions", name, run };
}

/**
 * The `sessions` validation tests (33, as in Duroxide): session claiming and affinity,
 * session-less fetches, session lock renewal and expiry, orphaned-session cleanup,
 * `last_activity_at` piggybacking, ordering, ownership races and takeover.
 */
export const sessionsTests: ValidationTest[] = [
  test("test_non_session_items_fetchable_by_any_worker", testNonSessionItemsFetchableByAnyWorker),
  test("test_session_item_claimable_when_no_session", testSessionItemClaimableWhenNoSession),
  test("test_session_affinity_same_worker", testSessionAffinitySameWorker),
  test("test_session_affinity_blocks_other_worker", testSessionAffinityBlocksOtherWorker),
  test("test_different_sessions_different_workers", testDifferentSessionsDifferentWorkers),
  test("test_mixed_session_and_non_session_items", testMixedSessionAndNonSessionItems),
  test("test_session_claimable_after_lock_expiry", testSessionClaimableAfterLockExpiry),
  test("test_none_session_skips_session_items", testNoneSessionSkipsSessionItems),
  test("test_some_session_returns_all_items", testSomeSessionReturnsAllItems),
  test("test_renew_session_lock_active", testRenewSessionLockActive),
  test("test_renew_session_lock_skips_idle", testRenewSessionLockSkipsIdle),
  test("test_renew_session_lock_no_sessions", testRenewSessionLockNoSessions),
  test("test_cleanup_removes_expired_no_items", testCleanupRemovesExpiredNoItems),
  test(
    "test_cleanup_keeps_sessions_with_pending_items",
    testCleanupKeepsSessionsWithPendingItems,
  ),
  test("test_cleanup_keeps_active_sessions", testCleanupKeepsActiveSessions),
  test("test_ack_updates_session_last_activity", testAckUpdatesSessionLastActivity),
  test(
    "test_renew_work_item_updates_session_last_activity",
    testRenewWorkItemUpdatesSessionLastActivity,
  ),
  test("test_session_items_processed_in_order", testSessionItemsProcessedInOrder),
  test(
    "test_non_session_items_returned_with_session_config",
    testNonSessionItemsReturnedWithSessionConfig,
  ),
  ...sessionLocksTests,
];
