/**
 * Session validation tests, second half: shared owner identities, ownership races, takeover
 * after expiry, re-creation after cleanup, abandon/retry of session items, and the interplay
 * of session locks with activity locks (Duroxide's G3–G9 cases). Registered under the
 * `sessions` category through `sessionsTests` in `sessions.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { fetchWork, sleep } from "./helpers.ts";
import { expectSome, sessionActivity, sessionConfig, sessionOf } from "./_partC_util.ts";

// ---------------------------------------------------------------------------
// Process-level session identity
// ---------------------------------------------------------------------------

async function testSharedWorkerIdAnyCallerCanFetchOwnedSession(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  // Two items of one session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "shared-sess"));
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "shared-sess"));

  // The first fetch claims the session for "process-1" (any slot of that process).
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("process-1")),
    "process-1 should claim shared-sess",
  );
  if (first.item.type === "ActivityExecute") assert.equal(first.item.id, 1);
  await provider.ackWorkItem(first.lockToken, null);

  // Another caller with the same owner id gets the second item.
  const second = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("process-1")),
    "same owner id should fetch the second item",
  );
  if (second.item.type === "ActivityExecute") assert.equal(second.item.id, 2);
  await provider.ackWorkItem(second.lockToken, null);

  // A different owner cannot fetch items of the owned session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 3, "shared-sess"));
  const other = await fetchWork(provider, 5_000, sessionConfig("process-2"));
  assert.equal(other, null, "Different process should not get items for an owned session");
}

// ---------------------------------------------------------------------------
// Races and takeover
// ---------------------------------------------------------------------------

async function testConcurrentSessionClaimOnlyOneWins(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Two items of one unclaimed session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "contested-sess"));
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "contested-sess"));

  // worker-A claims first and keeps its item unacked (it holds the session lock).
  const resultA = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(resultA !== null, "Worker-A should claim the session");

  // worker-B tries to get the second item of the same session.
  const resultB = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.equal(
    resultB,
    null,
    "Worker-B should NOT get session items while A holds the session lock",
  );

  // worker-A acks its item.
  await provider.ackWorkItem(resultA.lockToken, null);
}

async function testSessionTakeoverAfterLockExpiry(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims the session with a very short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "takeover-sess"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 50)),
    "worker-A should claim takeover-sess",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Another item of the same session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "takeover-sess"));

  // Let the session lock expire.
  await sleep(100);

  // worker-B takes the session over.
  const resultB = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.ok(resultB !== null, "Worker-B should take over session after A's lock expired");
  if (resultB.item.type === "ActivityExecute") {
    assert.equal(sessionOf(resultB.item), "takeover-sess");
  }
}

async function testCleanupThenNewItemRecreatesSession(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims the session with a very short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "ephemeral-sess"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 50)),
    "worker-A should claim ephemeral-sess",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Let the session lock expire.
  await sleep(100);

  // Cleanup removes the expired session (no pending items).
  const cleaned = await provider.cleanupOrphanedSessions(300_000);
  assert.equal(cleaned, 1, "Should clean up the expired session");

  // A new item for the same session id.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "ephemeral-sess"));

  // Any worker can claim the session afresh.
  const result = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.ok(result !== null, "Session should be re-creatable after cleanup");
  if (result.item.type === "ActivityExecute") {
    assert.equal(sessionOf(result.item), "ephemeral-sess");
    assert.equal(result.item.id, 2);
  }
}

async function testAbandonedSessionItemRetryable(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // A session-bound item.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "retry-sess"));

  // worker-A fetches it.
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "worker-A should fetch the session item",
  );
  assert.equal(first.attemptCount, 1);
  if (first.item.type === "ActivityExecute") assert.equal(first.item.id, 1);

  // Abandon without completing (ack failure / crash).
  await provider.abandonWorkItem(first.lockToken, null, false);

  // The same worker re-fetches it with attempt count 2.
  const second = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "abandoned item should be fetchable again",
  );
  assert.equal(second.attemptCount, 2, "Retry should increment attempt count");
  if (second.item.type === "ActivityExecute") {
    assert.equal(second.item.id, 1, "Should be the same item");
  }

  // This time the ack succeeds.
  await provider.ackWorkItem(second.lockToken, null);

  // Nothing left.
  const result = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.equal(result, null, "No items should remain after successful ack");
}

async function testAbandonedSessionItemIgnoreAttempt(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // A session-bound item.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "ignore-sess"));

  // First fetch: attempt count 1.
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "worker-A should fetch the session item",
  );
  assert.equal(first.attemptCount, 1);

  // Abandon with ignoreAttempt (e.g. a session capacity race).
  await provider.abandonWorkItem(first.lockToken, 1, true);

  // Wait for the 1 ms delay.
  await sleep(10);

  // Re-fetch: decremented then incremented again, so still 1.
  const second = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A")),
    "abandoned item should be fetchable again",
  );
  assert.equal(second.attemptCount, 1, "ignore_attempt should not inflate attempt count");
  await provider.ackWorkItem(second.lockToken, null);
}

// ---------------------------------------------------------------------------
// Session lock vs. activity lock (G3–G9)
// ---------------------------------------------------------------------------

async function testRenewSessionLockAfterExpiryReturnsZero(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  // Claim a session with a very short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "expired-sess"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 50)),
    "worker-A should claim expired-sess",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Let the session lock expire.
  await sleep(100);

  // A lapsed session is not renewed.
  const count = await provider.renewSessionLock(["worker-A"], 30_000, 300_000);
  assert.equal(count, 0, "renew_session_lock should return 0 for expired session");
}

async function testOriginalWorkerReclaimsExpiredSession(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A claims the session with a short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "reclaim-sess"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", 50)),
    "worker-A should claim reclaim-sess",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Another item of the same session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "reclaim-sess"));

  // Let the session lock expire.
  await sleep(100);

  // worker-A re-claims its expired session.
  const result = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(result !== null, "Original worker should re-claim expired session");
  if (result.item.type === "ActivityExecute") {
    assert.equal(result.item.id, 2);
    assert.equal(sessionOf(result.item), "reclaim-sess");
  }
}

async function testActivityLockExpiresSessionLockValidSameWorkerRefetches(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A fetches with a short work item lock and the default 30 s session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "sticky-sess"));
  const shortWorkLockMs = 500;
  expectSome(
    await fetchWork(provider, shortWorkLockMs, sessionConfig("worker-A")),
    "worker-A should claim sticky-sess",
  );

  // No ack: let the work item lock expire.
  await sleep(shortWorkLockMs + 100);

  // worker-B must not get it: worker-A still owns the session.
  const resultB = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.equal(
    resultB,
    null,
    "Worker-B should not get session-bound item — session still owned by A",
  );

  // worker-A gets the redelivered item.
  const resultA = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(resultA !== null, "Worker-A should reclaim the redelivered item via session affinity");
  if (resultA.item.type === "ActivityExecute") {
    assert.equal(resultA.item.id, 1, "Should be the same item");
    assert.equal(resultA.attemptCount, 2, "Attempt count should have incremented");
    await provider.ackWorkItem(resultA.lockToken, null);
  }
}

async function testSessionLockExpiresNewOwnerGetsRedelivery(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A: short session lock, long activity lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "takeover2-sess"));
  const shortSessionMs = 200;
  const longActivityMs = 5_000;
  const fetchedA = expectSome(
    await fetchWork(provider, longActivityMs, sessionConfig("worker-A", shortSessionMs)),
    "worker-A should claim takeover2-sess",
  );

  // Let the session lock expire; the activity lock is still valid.
  await sleep(shortSessionMs + 100);

  // A new item of the same session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "takeover2-sess"));

  // worker-B claims the expired session and gets the new item.
  const cfgB = sessionConfig("worker-B");
  const resultB = await fetchWork(provider, 5_000, cfgB);
  assert.ok(resultB !== null, "Worker-B should claim the expired session and get item 2");
  if (resultB.item.type === "ActivityExecute") {
    assert.equal(resultB.item.id, 2, "Worker-B should get the NEW item");
    assert.equal(sessionOf(resultB.item), "takeover2-sess");
    await provider.ackWorkItem(resultB.lockToken, null);
  }

  // Abandon worker-A's item (as if its activity timed out) so it is fetchable again;
  // the outcome of the abandon itself is not part of the contract under test.
  await provider.abandonWorkItem(fetchedA.lockToken, null, false).catch(() => {});

  // worker-B, the new owner, gets the redelivered item 1.
  const resultB2 = await fetchWork(provider, 5_000, cfgB);
  assert.ok(resultB2 !== null, "Worker-B should get redelivered item 1 as new session owner");
  if (resultB2.item.type === "ActivityExecute") {
    assert.equal(resultB2.item.id, 1, "Should be the original item");
    assert.equal(resultB2.attemptCount, 2, "Attempt count should have incremented");
    await provider.ackWorkItem(resultB2.lockToken, null);
  }
}

async function testSessionLockExpiresSameWorkerReacquires(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A: short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "reacq-sess"));
  const shortSessionMs = 200;
  const cfgA = sessionConfig("worker-A", shortSessionMs);
  const first = expectSome(
    await fetchWork(provider, 5_000, cfgA),
    "worker-A should claim reacq-sess",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // Let the session lock expire.
  await sleep(shortSessionMs + 100);

  // A new item of the same session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "reacq-sess"));

  // worker-A reacquires its own expired session.
  const resultA = await fetchWork(provider, 5_000, cfgA);
  assert.ok(resultA !== null, "Worker-A should reacquire its own expired session");
  if (resultA.item.type === "ActivityExecute") {
    assert.equal(resultA.item.id, 2);
    assert.equal(sessionOf(resultA.item), "reacq-sess");
    await provider.ackWorkItem(resultA.lockToken, null);
  }
}

async function testBothLocksExpireDifferentWorkerClaims(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A fetches with a short work item lock and a short session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "both-expire-sess"));
  const shortLockMs = 200;
  expectSome(
    await fetchWork(provider, shortLockMs, sessionConfig("worker-A", shortLockMs)),
    "worker-A should claim both-expire-sess",
  );

  // No ack: let both locks expire.
  await sleep(shortLockMs + 200);

  // worker-B claims both the item and the session.
  const resultB = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.ok(resultB !== null, "Worker-B should claim item after both locks expired");
  if (resultB.item.type === "ActivityExecute") {
    assert.equal(resultB.item.id, 1, "Should be the same item");
    assert.equal(sessionOf(resultB.item), "both-expire-sess");
    assert.equal(resultB.attemptCount, 2, "Attempt count should have incremented");
    await provider.ackWorkItem(resultB.lockToken, null);
  }
}

async function testSessionLockExpiresActivityLockValidAckSucceeds(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  // worker-A fetches with a short session lock but a long (30 s) work item lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "sess-expires"));
  const shortSessionLockMs = 200;
  const fetched = expectSome(
    await fetchWork(provider, 30_000, sessionConfig("worker-A", shortSessionLockMs)),
    "worker-A should claim sess-expires",
  );

  // Let the session lock expire; the activity lock is still valid.
  await sleep(shortSessionLockMs + 100);

  // The ack succeeds: activity locks are independent of session locks.
  let ackError: unknown = null;
  try {
    await provider.ackWorkItem(fetched.lockToken, {
      type: "ActivityCompleted",
      instance: "inst-1",
      executionId: 1,
      id: 1,
      result: "done",
    });
  } catch (err) {
    ackError = err;
  }
  assert.equal(
    ackError,
    null,
    "Ack must succeed — activity lock is still valid even though session lock expired",
  );
}

async function testSessionLockRenewalExtendsPastOriginalTimeout(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  const sessionLockMs = 1_000;

  // worker-A claims the session with a 1 s session lock.
  await provider.enqueueForWorker(sessionActivity("inst-1", 1, "renew-ext-sess"));
  const first = expectSome(
    await fetchWork(provider, 5_000, sessionConfig("worker-A", sessionLockMs)),
    "worker-A should claim renew-ext-sess",
  );
  await provider.ackWorkItem(first.lockToken, null);

  // At ~0.6 s renew for another 1 s (until ~1.6 s).
  await sleep(600);
  const renewed = await provider.renewSessionLock(["worker-A"], sessionLockMs, 300_000);
  assert.equal(renewed, 1, "Should renew the active session");

  // At ~1.0 s (past the original expiry) worker-A still owns the session.
  await sleep(400);

  // Another item of the session.
  await provider.enqueueForWorker(sessionActivity("inst-1", 2, "renew-ext-sess"));

  // worker-B must not get it.
  const resultB = await fetchWork(provider, 5_000, sessionConfig("worker-B"));
  assert.equal(
    resultB,
    null,
    "Session should still be owned by A after renewal past original timeout",
  );

  // worker-A gets it.
  const resultA = await fetchWork(provider, 5_000, sessionConfig("worker-A"));
  assert.ok(resultA !== null, "Worker-A should still own the session after renewal");
}

function test(name: string, run: (factory: ProviderFactory) => Promise<void>): ValidationTest {
  return { category: "sessions", name, run };
}

/**
 * The second half of the `sessions` validation tests (14 of 33): shared owner ids, claim
 * races, takeover and reclaim after expiry, re-creation after cleanup, abandon/retry, and
 * session-lock vs. activity-lock expiry. Included in `sessionsTests`.
 */
export const sessionLocksTests: ValidationTest[] = [
  test(
    "test_shared_worker_id_any_caller_can_fetch_owned_session",
    testSharedWorkerIdAnyCallerCanFetchOwnedSession,
  ),
  test("test_concurrent_session_claim_only_one_wins", testConcurrentSessionClaimOnlyOneWins),
  test("test_session_takeover_after_lock_expiry", testSessionTakeoverAfterLockExpiry),
  test(
    "test_cleanup_then_new_item_recreates_session",
    testCleanupThenNewItemRecreatesSession,
  ),
  test("test_abandoned_session_item_retryable", testAbandonedSessionItemRetryable),
  test("test_abandoned_session_item_ignore_attempt", testAbandonedSessionItemIgnoreAttempt),
  test(
    "test_renew_session_lock_after_expiry_returns_zero",
    testRenewSessionLockAfterExpiryReturnsZero,
  ),
  test(
    "test_original_worker_reclaims_expired_session",
    testOriginalWorkerReclaimsExpiredSession,
  ),
  test(
    "test_activity_lock_expires_session_lock_valid_same_worker_refetches",
    testActivityLockExpiresSessionLockValidSameWorkerRefetches,
  ),
  test(
    "test_session_lock_expires_new_owner_gets_redelivery",
    testSessionLockExpiresNewOwnerGetsRedelivery,
  ),
  test(
    "test_session_lock_expires_same_worker_reacquires",
    testSessionLockExpiresSameWorkerReacquires,
  ),
  test(
    "test_both_locks_expire_different_worker_claims",
    testBothLocksExpireDifferentWorkerClaims,
  ),
  test(
    "test_session_lock_expires_activity_lock_valid_ack_succeeds",
    testSessionLockExpiresActivityLockValidAckSucceeds,
  ),
  test(
    "test_session_lock_renewal_extends_past_original_timeout",
    testSessionLockRenewalExtendsPastOriginalTimeout,
  ),
];
