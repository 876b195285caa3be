/**
 * Validation tests of the `instance_locking` category: one turn per instance at a time, unique
 * lock tokens, message tagging (an ack deletes only the messages its fetch saw) and behaviour
 * under concurrent fetchers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../src/errors.ts";
import type { FetchedOrchestrationItem } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import {
  createInstance,
  expectProviderError,
  fetchOrchestrationOrFail,
  LONG_LOCK_MS,
  sleep,
  startItem,
  testMetadata,
} from "./helpers.ts";
import { activityCompleted, activityIdOf, Barrier } from "./_partA_util.ts";

/** Test 1.1: a locked instance cannot be fetched again until its lock expires. */
async function testExclusiveInstanceLock(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);

  // The fetch takes the lock.
  const first = await fetchOrchestrationOrFail(provider, lockTimeout);

  // A second fetch finds the instance locked.
  assert.equal(await provider.fetchOrchestrationItem(lockTimeout, 0, null), null);

  // After expiry it can be fetched again, with a new token.
  await sleep(lockTimeout + 100);
  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.notEqual(second.lockToken, first.lockToken);
}

/** Test 1.2: every fetch returns a distinct lock token. */
async function testLockTokenUniqueness(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  for (let i = 0; i < 5; i++) {
    await provider.enqueueForOrchestrator(startItem(`inst-${i}`), null);
  }

  const tokens: string[] = [];
  for (let i = 0; i < 5; i++) {
    const { lockToken } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
    tokens.push(lockToken);
  }

  assert.equal(new Set(tokens).size, 5, "All lock tokens should be unique");
}

/** Test 1.3: ack and abandon with a bogus token fail and leave the real lock alone. */
async function testInvalidLockTokenRejection(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);

  await expectProviderError(
    provider.ackOrchestrationItem("invalid-token", 1, [], [], [], {}, []),
    "ack with an invalid lock token",
  );
  await expectProviderError(
    provider.abandonOrchestrationItem("invalid-token", null, false),
    "abandon with an invalid lock token",
  );

  // The real lock still holds.
  assert.equal(await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null), null);
}

/** Test 1.4: ten concurrent fetches over ten instances return each instance exactly once. */
async function testConcurrentInstanceFetching(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  for (let i = 0; i < 10; i++) {
    await provider.enqueueForOrchestrator(startItem(`inst-${i}`), null);
  }

  // Fetch concurrently, staggered a little to reduce contention.
  const results = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      await sleep(i * 30);
      return await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
    }),
  );

  const instances = new Set(
    results.filter((r): r is FetchedOrchestrationItem => r !== null).map((r) => r.item.instance),
  );
  assert.equal(instances.size, 10, "Each instance should be fetched exactly once");
}

/** Test 1.5: messages that arrive while an instance is locked wait for the next turn. */
async function testCompletionsArrivingDuringLockBlocked(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  // Step 1: initial work.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);

  // Step 2: fetch, taking the lock.
  const first = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(first.item.instance, "instance-A");

  // Step 3: completions arrive while locked.
  for (let i = 1; i <= 3; i++) {
    await provider.enqueueForOrchestrator(
      activityCompleted("instance-A", 1, i, `result-${i}`),
      null,
    );
  }

  // Step 4: another dispatcher cannot fetch the instance.
  const second = await provider.fetchOrchestrationItem(lockTimeout, 0, null);
  assert.equal(second, null, "Instance still locked, no fetch possible");

  // Step 5: wait for the lock to expire.
  await sleep(lockTimeout + 100);

  // Step 6: the start and the three completions come as one batch.
  const third = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(third.item.instance, "instance-A");
  assert.equal(
    third.item.messages.length,
    4,
    "Should have StartOrchestration + 3 completions",
  );
  const completionIds = third.item.messages
    .filter((m) => m.type === "ActivityCompleted")
    .map(activityIdOf);
  assert.equal(completionIds.length, 3, "Should have 3 ActivityCompleted messages");
  assert.deepEqual(completionIds, [1, 2, 3]);
}

/** Test 1.6: a lock on one instance does not block another; instances come in FIFO order. */
async function testCrossInstanceLockIsolation(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "instance-A");
  await createInstance(provider, "instance-B");

  // More work for both.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  await provider.enqueueForOrchestrator(startItem("instance-B"), null);

  // Lock A.
  const a = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(a.item.instance, "instance-A");

  // B is still fetchable.
  const b = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(b.item.instance, "instance-B");

  // Ack B, releasing its lock.
  await provider.ackOrchestrationItem(b.lockToken, 1, [], [], [], testMetadata(), []);

  // While A is still locked, a completion arrives for B.
  await provider.enqueueForOrchestrator(activityCompleted("instance-B", 1, 1, "done"), null);

  // B can be fetched again.
  const b2 = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(b2.item.instance, "instance-B");

  assert.notEqual(a.item.instance, b.item.instance);
}

/** Test 1.7: a message enqueued after the fetch survives the ack and comes next turn. */
async function testMessageTaggingDuringLock(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "instance-A");

  await provider.enqueueForOrchestrator(activityCompleted("instance-A", 1, 1, "msg1"), null);
  await provider.enqueueForOrchestrator(activityCompleted("instance-A", 1, 2, "msg2"), null);

  // The fetch tags both messages with its token.
  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(first.item.instance, "instance-A");
  assert.equal(first.item.messages.length, 2);

  // A new message arrives while locked.
  await provider.enqueueForOrchestrator(activityCompleted("instance-A", 1, 3, "msg3"), null);

  // The ack deletes only the tagged messages.
  await provider.ackOrchestrationItem(first.lockToken, 1, [], [], [], {}, []);

  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(second.item.instance, "instance-A");
  assert.equal(second.item.messages.length, 1);
  const msg = second.item.messages[0];
  assert.ok(
    msg.type === "ActivityCompleted" && msg.id === 3,
    `expected ActivityCompleted id 3, got ${JSON.stringify(msg)}`,
  );
}

/** Test 1.8: an ack deletes only the messages locked by its token. */
async function testAckOnlyAffectsLockedMessages(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "instance-A");

  await provider.enqueueForOrchestrator(activityCompleted("instance-A", 1, 1, "msg1"), null);

  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(first.item.messages.length, 1);

  // While locked, messages 2 and 3 arrive.
  await provider.enqueueForOrchestrator(activityCompleted("instance-A", 1, 2, "msg2"), null);
  await provider.enqueueForOrchestrator(activityCompleted("instance-A", 1, 3, "msg3"), null);

  // The instance is locked.
  assert.equal(await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null), null);

  // The ack deletes only message 1.
  await provider.ackOrchestrationItem(first.lockToken, 1, [], [], [], {}, []);

  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(second.item.instance, "instance-A");
  assert.equal(second.item.messages.length, 2, "Should have messages 2 and 3");
  const ids = second.item.messages.filter((m) => m.type === "ActivityCompleted").map(
    activityIdOf,
  );
  assert.deepEqual(ids, [2, 3], "Should only have messages 2 and 3");
}

/** Test 1.9: of many concurrent fetchers of one instance, exactly one gets it. */
async function testMultiThreadedLockContention(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForOrchestrator(startItem("contention-instance"), null);

  const numThreads = 10;
  const results = await Promise.all(
    Array.from({ length: numThreads }, async (_, i) => {
      // Stagger the attempts a little.
      await sleep(i * 5);
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
          return { thread: i, result };
        } catch (error) {
          assert.ok(
            error instanceof ProviderError && error.retryable,
            `fetch contender ${i} failed: ${String(error)}`,
          );
          assert.ok(Date.now() < deadline, `fetch contender ${i} exhausted retries: ${error}`);
          await sleep(10);
          assert.ok(Date.now() < deadline, `fetch contender ${i} exhausted retries: ${error}`);
        }
      }
    }),
  );

  // Exactly one contender got the instance.
  const winners = results.flatMap(({ thread, result }) =>
    result === null ? [] : [{ thread, instance: result.item.instance, token: result.lockToken }]
  );
  assert.equal(
    winners.length,
    1,
    "Only one thread should successfully acquire lock for the same instance",
  );
  assert.equal(winners[0].instance, "contention-instance");

  // The instance stays locked.
  assert.equal(await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null), null);
}

/** Test 1.10: under heavy contention, no instance is fetched by two fetchers. */
async function testMultiThreadedNoDuplicateProcessing(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const numInstances = 20;
  for (let i = 0; i < numInstances; i++) {
    await provider.enqueueForOrchestrator(startItem(`dup-test-${i}`), null);
  }

  // More fetchers than instances.
  const numThreads = numInstances * 2;
  const outcomes = await Promise.all(
    Array.from({ length: numThreads }, async (_, i): Promise<string | null> => {
      // Staggered delays, cycling without randomness.
      await sleep((i * 3) % 50);
      // Retry retryable errors (deadlocks, serialization failures) a couple of times.
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const fetched = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
          return fetched?.item.instance ?? null;
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          if (error.retryable && attempt < 2) {
            await sleep(10 * (attempt + 1));
            continue;
          }
          // A fetch that still fails counts as "fetched nothing", as in the original.
          return null;
        }
      }
      return null;
    }),
  );
  const results = outcomes.filter((r): r is string => r !== null);
  const fetchedInstances = new Set(results);

  // 1. Each instance fetched at most once.
  assert.equal(fetchedInstances.size, results.length, "No duplicate instances should be fetched");
  // 2. No more fetches than instances.
  assert.ok(results.length <= numInstances, "Cannot fetch more instances than exist");
  // 3. All fetched instances are unique.
  assert.equal(fetchedInstances.size, results.length, "All fetched instances should be unique");
}

/** Test 1.11: once a crashed holder's lock expires, another fetcher acquires the instance. */
async function testMultiThreadedLockExpirationRecovery(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForOrchestrator(startItem("expiration-instance"), null);

  const lockTimeout = factory.lockTimeoutMs;
  // All three tasks start together.
  const barrier = new Barrier(3);

  // Task 1: fetch and hold the lock without acking (a crashed worker).
  const task1 = (async () => {
    await barrier.wait();
    const { item, lockToken } = await fetchOrchestrationOrFail(provider, lockTimeout);
    assert.equal(item.instance, "expiration-instance");
    await sleep(lockTimeout + 200);
    return lockToken;
  })();

  // Task 2: fetch while the lock is held (gets nothing).
  const task2 = (async () => {
    await barrier.wait();
    // Give task 1 time to take the lock.
    await sleep(200);
    const result = await provider.fetchOrchestrationItem(lockTimeout, 0, null);
    assert.equal(result, null, "Instance should be locked");
    return result;
  })();

  // Task 3: wait for the lock to expire, then fetch (recovers the instance).
  const task3 = (async () => {
    await barrier.wait();
    await sleep(lockTimeout + 100);
    return await provider.fetchOrchestrationItem(lockTimeout, 0, null);
  })();

  const [_lockToken1, result2, result3] = await Promise.all([task1, task2, task3]);
  assert.equal(result2, null);
  assert.ok(result3 !== null, "task 3 should acquire the lock after expiry");
  assert.equal(result3.item.instance, "expiration-instance");
  assert.notEqual(result3.lockToken, "expired-token");
}

/** The `instance_locking` category (11 tests, as in Duroxide). */
export const instanceLockingTests: ValidationTest[] = [
  {
    category: "instance_locking",
    name: "test_exclusive_instance_lock",
    run: testExclusiveInstanceLock,
  },
  {
    category: "instance_locking",
    name: "test_lock_token_uniqueness",
    run: testLockTokenUniqueness,
  },
  {
    category: "instance_locking",
    name: "test_invalid_lock_token_rejection",
    run: testInvalidLockTokenRejection,
  },
  {
    category: "instance_locking",
    name: "test_concurrent_instance_fetching",
    run: testConcurrentInstanceFetching,
  },
  {
    category: "instance_locking",
    name: "test_completions_arriving_during_lock_blocked",
    run: testCompletionsArrivingDuringLockBlocked,
  },
  {
    category: "instance_locking",
    name: "test_cross_instance_lock_isolation",
    run: testCrossInstanceLockIsolation,
  },
  {
    category: "instance_locking",
    name: "test_message_tagging_during_lock",
    run: testMessageTaggingDuringLock,
  },
  {
    category: "instance_locking",
    name: "test_ack_only_affects_locked_messages",
    run: testAckOnlyAffectsLockedMessages,
  },
  {
    category: "instance_locking",
    name: "test_multi_threaded_lock_contention",
    run: testMultiThreadedLockContention,
  },
  {
    category: "instance_locking",
    name: "test_multi_threaded_no_duplicate_processing",
    run: testMultiThreadedNoDuplicateProcessing,
  },
  {
    category: "instance_locking",
    name: "test_multi_threaded_lock_expiration_recovery",
    run: testMultiThreadedLockExpirationRecovery,
  },
];
