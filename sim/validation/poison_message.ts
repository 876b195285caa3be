/**
 * Validation tests of the `poison_message` category: the attempt counts the runtime uses to
 * detect poison messages (first fetch 1, +1 per refetch, per message, `ignoreAttempt` undoes an
 * increment but never goes below zero, orchestration batches report the maximum).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { activityItem, fetchOrchestrationOrFail, sleep, startItem } from "./helpers.ts";
import { activityCompleted, activityExecuteId, fetchWorkOrFail } from "./_partA_util.ts";

/** The first fetch of an orchestration item reports attempt 1. */
async function orchestrationAttemptCountStartsAtOne(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("poison-test-1"), null);

  const { lockToken, attemptCount } = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(attemptCount, 1, "First fetch should have attempt_count = 1");

  await provider.ackOrchestrationItem(lockToken, 1, [], [], [], {}, []);
}

/** Each refetch after an abandon increments the orchestration attempt count. */
async function orchestrationAttemptCountIncrementsOnRefetch(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("poison-test-2"), null);

  const first = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(first.attemptCount, 1, "First fetch should have attempt_count = 1");
  await provider.abandonOrchestrationItem(first.lockToken, null, false);

  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(second.attemptCount, 2, "Second fetch should have attempt_count = 2");
  await provider.abandonOrchestrationItem(second.lockToken, null, false);

  const third = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(third.attemptCount, 3, "Third fetch should have attempt_count = 3");

  await provider.ackOrchestrationItem(third.lockToken, 1, [], [], [], {}, []);
}

/** The first fetch of a worker item reports attempt 1. */
async function workerAttemptCountStartsAtOne(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(activityItem("poison-test-3", 1, 1));

  const { item, lockToken, attemptCount } = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(attemptCount, 1, "First fetch should have attempt_count = 1");

  await provider.ackWorkItem(lockToken, activityCompleted("poison-test-3", 1, 1, "done"));

  assert.equal(item.type, "ActivityExecute");
}

/** A worker item refetched after its lock expired reports attempt 2. */
async function workerAttemptCountIncrementsOnLockExpiry(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const shortTimeout = 1_000;

  await provider.enqueueForWorker(activityItem("poison-test-4", 1, 1));

  const first = await fetchWorkOrFail(provider, shortTimeout);
  assert.equal(first.attemptCount, 1, "First fetch should have attempt_count = 1");

  // Wait for the lock to expire.
  await sleep(1_100);

  const second = await fetchWorkOrFail(
    provider,
    shortTimeout,
    "item should be present after lock expiry",
  );
  assert.equal(
    second.attemptCount,
    2,
    "Second fetch after lock expiry should have attempt_count = 2",
  );

  await provider.ackWorkItem(second.lockToken, activityCompleted("poison-test-4", 1, 1, "done"));
}

/** Attempt counts are tracked per message: two items each start at 1. */
async function attemptCountIsPerMessage(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(activityItem("poison-test-5a", 1, 1, { name: "Activity1" }));
  await provider.enqueueForWorker(activityItem("poison-test-5b", 1, 2, { name: "Activity2" }));

  const first = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(first.attemptCount, 1, "First item first fetch should have attempt_count = 1");

  const second = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(second.attemptCount, 1, "Second item first fetch should have attempt_count = 1");

  const id1 = activityExecuteId(first.item);
  const id2 = activityExecuteId(second.item);
  assert.notEqual(id1, id2, "Should be different items");

  await provider.ackWorkItem(first.lockToken, activityCompleted("poison-test-5a", 1, id1, "done"));
  await provider.ackWorkItem(
    second.lockToken,
    activityCompleted("poison-test-5b", 1, id2, "done"),
  );
}

/** `abandonWorkItem(.., ignoreAttempt=true)` undoes the fetch's increment. */
async function abandonWorkItemIgnoreAttemptDecrements(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(activityItem("poison-test-ignore-1", 1, 1));

  const first = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(first.attemptCount, 1, "First fetch should have attempt_count = 1");

  // Abandon without ignore_attempt.
  await provider.abandonWorkItem(first.lockToken, null, false);

  const second = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(second.attemptCount, 2, "Second fetch should have attempt_count = 2");

  // Abandon with ignore_attempt: back to 1.
  await provider.abandonWorkItem(second.lockToken, null, true);

  // 1 stored + 1 for this fetch.
  const third = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(
    third.attemptCount,
    2,
    "Third fetch should have attempt_count = 2 (decremented then re-incremented)",
  );

  await provider.ackWorkItem(
    third.lockToken,
    activityCompleted("poison-test-ignore-1", 1, 1, "done"),
  );
}

/** `abandonOrchestrationItem(.., ignoreAttempt=true)` undoes the fetch's increment. */
async function abandonOrchestrationItemIgnoreAttemptDecrements(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("poison-test-ignore-2"), null);

  const first = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(first.attemptCount, 1, "First fetch should have attempt_count = 1");

  // Abandon without ignore_attempt.
  await provider.abandonOrchestrationItem(first.lockToken, null, false);

  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(second.attemptCount, 2, "Second fetch should have attempt_count = 2");

  // Abandon with ignore_attempt: back to 1.
  await provider.abandonOrchestrationItem(second.lockToken, null, true);

  // 1 stored + 1 for this fetch.
  const third = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(
    third.attemptCount,
    2,
    "Third fetch should have attempt_count = 2 (decremented then re-incremented)",
  );

  await provider.ackOrchestrationItem(third.lockToken, 1, [], [], [], {}, []);
}

/** Repeated `ignoreAttempt` abandons never take the count below zero. */
async function ignoreAttemptNeverGoesNegative(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(activityItem("poison-test-never-neg", 1, 1));

  const first = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(first.attemptCount, 1, "First fetch should have attempt_count = 1");

  // Abandon with ignore_attempt: down to 0.
  await provider.abandonWorkItem(first.lockToken, null, true);

  // 0 + 1.
  const second = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(second.attemptCount, 1, "Second fetch should have attempt_count = 1");

  // Abandon with ignore_attempt again: stays at 0.
  await provider.abandonWorkItem(second.lockToken, null, true);

  // max(0, 0 - 1) + 1 = 1.
  const third = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(
    third.attemptCount,
    1,
    "Attempt count should not go below 0 - third fetch should have attempt_count = 1",
  );

  await provider.ackWorkItem(
    third.lockToken,
    activityCompleted("poison-test-never-neg", 1, 1, "done"),
  );
}

/**
 * A batch mixing a message fetched three times and a new one reports the maximum (3): the
 * runtime must see the oldest message's count, not the newest's.
 */
async function maxAttemptCountAcrossMessageBatch(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("poison-batch-test"), null);

  // First fetch: the start message at 1.
  const first = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(first.attemptCount, 1, "First fetch should have attempt_count = 1");
  assert.equal(first.item.messages.length, 1, "Should have 1 message");

  // Abandon without processing (a crash).
  await provider.abandonOrchestrationItem(first.lockToken, null, false);

  // Second fetch: the start message at 2.
  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(second.attemptCount, 2, "Second fetch should have attempt_count = 2");

  // A completion arrives while the lock is held.
  await provider.enqueueForOrchestrator(
    activityCompleted("poison-batch-test", 1, 1, "activity result"),
    null,
  );

  // Another failure.
  await provider.abandonOrchestrationItem(second.lockToken, null, false);

  // Third fetch: start at 3, completion at 1; the batch reports max(3, 1) = 3.
  const third = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(third.item.messages.length, 2, "Should have 2 messages in the batch");
  assert.equal(
    third.attemptCount,
    3,
    "Attempt count should be MAX across messages (3), not the newer message's count (1)",
  );

  await provider.ackOrchestrationItem(third.lockToken, 1, [], [], [], {}, []);
}

/** The `poison_message` category (9 tests, as in Duroxide; their names have no `test_` prefix). */
export const poisonMessageTests: ValidationTest[] = [
  {
    category: "poison_message",
    name: "orchestration_attempt_count_starts_at_one",
    run: orchestrationAttemptCountStartsAtOne,
  },
  {
    category: "poison_message",
    name: "orchestration_attempt_count_increments_on_refetch",
    run: orchestrationAttemptCountIncrementsOnRefetch,
  },
  {
    category: "poison_message",
    name: "worker_attempt_count_starts_at_one",
    run: workerAttemptCountStartsAtOne,
  },
  {
    category: "poison_message",
    name: "worker_attempt_count_increments_on_lock_expiry",
    run: workerAttemptCountIncrementsOnLockExpiry,
  },
  {
    category: "poison_message",
    name: "attempt_count_is_per_message",
    run: attemptCountIsPerMessage,
  },
  {
    category: "poison_message",
    name: "abandon_work_item_ignore_attempt_decrements",
    run: abandonWorkItemIgnoreAttemptDecrements,
  },
  {
    category: "poison_message",
    name: "abandon_orchestration_item_ignore_attempt_decrements",
    run: abandonOrchestrationItemIgnoreAttemptDecrements,
  },
  {
    category: "poison_message",
    name: "ignore_attempt_never_goes_negative",
    run: ignoreAttemptNeverGoesNegative,
  },
  {
    category: "poison_message",
    name: "max_attempt_count_across_message_batch",
    run: maxAttemptCountAcrossMessageBatch,
  },
];
