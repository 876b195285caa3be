/**
 * Validation tests of the `lock_expiration` category: orchestration and worker locks expire,
 * abandon and ack release them at once, and renewals extend live locks but fail on dead ones.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import {
  activityItem,
  expectProviderError,
  fetchOrchestrationOrFail,
  fetchWork,
  LONG_LOCK_MS,
  sleep,
  startItem,
} from "./helpers.ts";
import { activityCompleted, fetchWorkOrFail, orchestrationStarted } from "./_partA_util.ts";

/** Test 4.1: an instance becomes fetchable again after its lock times out. */
async function testLockExpiresAfterTimeout(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const first = await fetchOrchestrationOrFail(provider, lockTimeout);

  // The lock is held.
  assert.equal(await provider.fetchOrchestrationItem(lockTimeout, 0, null), null);

  // Wait for it to expire.
  await sleep(lockTimeout + 100);

  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(second.item.instance, "instance-A");
  assert.notEqual(second.lockToken, first.lockToken, "Should have new lock token");

  // The original token no longer works.
  await expectProviderError(
    provider.ackOrchestrationItem(first.lockToken, 1, [], [], [], {}, []),
    "ack with the expired, superseded lock token",
  );
}

/** Test 4.2: abandon releases the lock without waiting for expiry. */
async function testAbandonReleasesLockImmediately(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const first = await fetchOrchestrationOrFail(provider, lockTimeout);

  assert.equal(await provider.fetchOrchestrationItem(lockTimeout, 0, null), null);

  await provider.abandonOrchestrationItem(first.lockToken, null, false);

  // Available again right away.
  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(second.item.instance, "instance-A");
}

/** Test 4.3: a successful ack releases the lock at once. */
async function testLockRenewalOnAck(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const first = await fetchOrchestrationOrFail(provider, lockTimeout);

  assert.equal(await provider.fetchOrchestrationItem(lockTimeout, 0, null), null);

  // Another item for the same instance while locked.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);

  // Not available yet.
  assert.equal(await provider.fetchOrchestrationItem(lockTimeout, 0, null), null);

  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [orchestrationStarted("instance-A", 1, 1)],
    [],
    [],
    {},
    [],
  );

  // The new item is available immediately after the ack.
  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(second.item.instance, "instance-A");
}

/** Test 4.4: concurrent fetchers wait for the lock to expire. */
async function testConcurrentLockAttemptsRespectExpiration(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  await fetchOrchestrationOrFail(provider, lockTimeout);

  // Several concurrent, slightly staggered fetchers.
  const attempts = Promise.allSettled(
    Array.from({ length: 5 }, async (_, i) => {
      await sleep(i * 50);
      return await provider.fetchOrchestrationItem(lockTimeout, 0, null);
    }),
  );

  // Wait a bit (well before expiry).
  await sleep(200);

  // All of them found the instance locked.
  for (const result of await attempts) {
    if (result.status === "rejected") throw result.reason;
    assert.equal(result.value, null);
  }

  // Wait for the lock to expire.
  await sleep(Math.max(lockTimeout - 200, 0) + 100);

  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(second.item.instance, "instance-A");
}

/** Test 4.5: a worker lock can be renewed with its valid token. */
async function testWorkerLockRenewalSuccess(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(activityItem("test-instance", 1, 1, { input: "test" }));

  const { lockToken } = await fetchWorkOrFail(provider, lockTimeout);

  // The item is locked.
  assert.equal(await fetchWork(provider, lockTimeout), null);

  // Some activity in progress.
  await sleep(100);

  await provider.renewWorkItemLock(lockToken, lockTimeout);

  // Still locked.
  assert.equal(await fetchWork(provider, lockTimeout), null);
}

/** Test 4.6: renewing with a token that was never issued fails. */
async function testWorkerLockRenewalInvalidToken(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await expectProviderError(
    provider.renewWorkItemLock("invalid-token-123", 30_000),
    "renew_work_item_lock with an invalid token",
  );
}

/** Test 4.7: renewing an expired worker lock fails. */
async function testWorkerLockRenewalAfterExpiration(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(activityItem("test-instance", 1, 1, { input: "test" }));

  // Fetch with a short (1 s) lock.
  const shortTimeout = 1_000;
  const { lockToken } = await fetchWorkOrFail(provider, shortTimeout);

  // Wait for the lock to expire.
  await sleep(factory.lockTimeoutMs + 100);

  await expectProviderError(
    provider.renewWorkItemLock(lockToken, factory.lockTimeoutMs),
    "renew_work_item_lock after the lock expired",
  );
}

/** Test 4.8: a renewed worker lock outlives its original expiry. */
async function testWorkerLockRenewalExtendsTimeout(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;
  const instance = "test-lock-renewal-extends";

  // 1. A running orchestration whose turn schedules the activity.
  await provider.enqueueForOrchestrator(startItem(instance), null);
  const orch = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    orch.lockToken,
    1,
    [orchestrationStarted(instance, 1, 1)],
    [activityItem(instance, 1, 1, { input: "test" })],
    [],
    { orchestrationName: "TestOrch", status: "Running" },
    [],
  );

  // 2. Fetch the activity.
  const { lockToken } = await fetchWorkOrFail(provider, lockTimeout);

  // Renew at 60% of the lock timeout, for a full timeout: the lock now ends at 1.6x.
  const preRenewalWait = lockTimeout * 0.6;
  await sleep(preRenewalWait);
  await provider.renewWorkItemLock(lockToken, lockTimeout);

  // At 1.0x the original lock would have expired; the renewed one has not.
  await sleep(lockTimeout - preRenewalWait);
  const result = await fetchWork(provider, lockTimeout);
  assert.equal(result, null, "Item should still be locked after renewal");
}

/** Test 4.9: renewing after the item was acked fails. */
async function testWorkerLockRenewalAfterAck(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(activityItem("test-instance", 1, 1, { input: "test" }));

  const lockTimeout = factory.lockTimeoutMs;
  const { lockToken } = await fetchWorkOrFail(provider, lockTimeout);

  await provider.ackWorkItem(lockToken, activityCompleted("test-instance", 1, 1, "done"));

  await expectProviderError(
    provider.renewWorkItemLock(lockToken, lockTimeout),
    "renew_work_item_lock after ack",
  );
}

/** Abandoning a work item makes it fetchable again at once, with a new token. */
async function testAbandonWorkItemReleasesLock(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(activityItem("test-abandon-work", 1, 1, { input: "test" }));

  const first = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(first.item.type, "ActivityExecute");

  // The lock is held.
  assert.equal(await fetchWork(provider, lockTimeout), null, "Item should be locked");

  await provider.abandonWorkItem(first.lockToken, null, false);

  // Available again right away.
  const second = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(second.item.type, "ActivityExecute");
  assert.notEqual(first.lockToken, second.lockToken, "Should have new lock token");

  // Clean up.
  await provider.ackWorkItem(
    second.lockToken,
    activityCompleted("test-abandon-work", 1, 1, "done"),
  );
}

/** An abandon with a delay hides the item until the delay has passed. */
async function testAbandonWorkItemWithDelay(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(activityItem("test-abandon-delay", 1, 1, { input: "test" }));

  const first = await fetchWorkOrFail(provider, lockTimeout);

  // Abandon with a 500 ms delay.
  const delay = 500;
  await provider.abandonWorkItem(first.lockToken, delay, false);

  assert.equal(
    await fetchWork(provider, lockTimeout),
    null,
    "Item should be delayed, not immediately available",
  );

  await sleep(delay + 100);

  const second = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(second.item.type, "ActivityExecute");

  // Clean up.
  await provider.ackWorkItem(
    second.lockToken,
    activityCompleted("test-abandon-delay", 1, 1, "done"),
  );
}

/** G2: a worker ack fails once the lock expired, even if nobody refetched the item. */
async function testWorkerAckFailsAfterLockExpiry(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(activityItem("ack-expiry-test", 1, 1, { input: "test" }));

  const shortTimeout = 1_000;
  const { lockToken } = await fetchWorkOrFail(provider, shortTimeout);

  // Wait for the lock to expire.
  await sleep(shortTimeout + 200);

  await expectProviderError(
    provider.ackWorkItem(lockToken, activityCompleted("ack-expiry-test", 1, 1, "done")),
    "ack_work_item after the lock expired",
  );

  // The item is still queued and can be fetched again.
  const refetch = await fetchWork(provider, 5_000);
  assert.notEqual(
    refetch,
    null,
    "Item should still be refetchable after expired ack was rejected",
  );
}

/** G7: renewing an expired orchestration lock fails. */
async function testOrchestrationLockRenewalAfterExpiration(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("orch-renewal-expiry"), null);
  const { lockToken } = await fetchOrchestrationOrFail(provider, lockTimeout);

  await sleep(lockTimeout + 100);

  await expectProviderError(
    provider.renewOrchestrationItemLock(lockToken, lockTimeout),
    "renew_orchestration_item_lock after the lock expired",
  );
}

/** The `lock_expiration` category (13 tests, as in Duroxide). */
export const lockExpirationTests: ValidationTest[] = [
  {
    category: "lock_expiration",
    name: "test_lock_expires_after_timeout",
    run: testLockExpiresAfterTimeout,
  },
  {
    category: "lock_expiration",
    name: "test_abandon_releases_lock_immediately",
    run: testAbandonReleasesLockImmediately,
  },
  {
    category: "lock_expiration",
    name: "test_lock_renewal_on_ack",
    run: testLockRenewalOnAck,
  },
  {
    category: "lock_expiration",
    name: "test_concurrent_lock_attempts_respect_expiration",
    run: testConcurrentLockAttemptsRespectExpiration,
  },
  {
    category: "lock_expiration",
    name: "test_worker_lock_renewal_success",
    run: testWorkerLockRenewalSuccess,
  },
  {
    category: "lock_expiration",
    name: "test_worker_lock_renewal_invalid_token",
    run: testWorkerLockRenewalInvalidToken,
  },
  {
    category: "lock_expiration",
    name: "test_worker_lock_renewal_after_expiration",
    run: testWorkerLockRenewalAfterExpiration,
  },
  {
    category: "lock_expiration",
    name: "test_worker_lock_renewal_extends_timeout",
    run: testWorkerLockRenewalExtendsTimeout,
  },
  {
    category: "lock_expiration",
    name: "test_worker_lock_renewal_after_ack",
    run: testWorkerLockRenewalAfterAck,
  },
  {
    category: "lock_expiration",
    name: "test_abandon_work_item_releases_lock",
    run: testAbandonWorkItemReleasesLock,
  },
  {
    category: "lock_expiration",
    name: "test_abandon_work_item_with_delay",
    run: testAbandonWorkItemWithDelay,
  },
  {
    category: "lock_expiration",
    name: "test_worker_ack_fails_after_lock_expiry",
    run: testWorkerAckFailsAfterLockExpiry,
  },
  {
    category: "lock_expiration",
    name: "test_orchestration_lock_renewal_after_expiration",
    run: testOrchestrationLockRenewalAfterExpiration,
  },
];
