/**
 * Validation tests of the `queue_semantics` category: FIFO worker queue, peek-lock, atomic
 * worker ack, delayed visibility, lock-expiry redelivery and dropping of orphan queue messages.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import {
  activityItem,
  createInstance,
  fetchOrchestrationOrFail,
  fetchWork,
  LONG_LOCK_MS,
  sleep,
  startItem,
} from "./helpers.ts";
import {
  activityCompleted,
  activityExecuteId,
  fetchWorkOrFail,
  orchestrationStarted,
} from "./_partA_util.ts";

/** Test 5.1: worker items are dequeued in the order they were enqueued. */
async function testWorkerQueueFifoOrdering(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  for (let i = 0; i < 5; i++) {
    await provider.enqueueForWorker(
      activityItem("instance-A", 1, i, { name: `Activity${i}`, input: `input${i}` }),
    );
  }

  for (let i = 0; i < 5; i++) {
    const { item } = await fetchWorkOrFail(provider, LONG_LOCK_MS);
    if (item.type !== "ActivityExecute") assert.fail(`Expected ActivityExecute, got ${item.type}`);
    assert.equal(item.id, i);
    assert.equal(item.name, `Activity${i}`);
  }

  // The queue is empty.
  assert.equal(await fetchWork(provider, LONG_LOCK_MS), null);
}

/** Test 5.2: a fetched item stays invisible until acked, and is gone afterwards. */
async function testWorkerPeekLockSemantics(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(
    activityItem("instance-A", 1, 1, { name: "Activity1", input: "input1" }),
  );

  const { item, lockToken } = await fetchWorkOrFail(provider, LONG_LOCK_MS);
  assert.equal(item.type, "ActivityExecute");

  // A second dequeue gets nothing.
  assert.equal(await fetchWork(provider, LONG_LOCK_MS), null);

  await provider.ackWorkItem(lockToken, activityCompleted("instance-A", 1, 1, "result1"));

  // The queue is empty now.
  assert.equal(await fetchWork(provider, LONG_LOCK_MS), null);
}

/** Test 5.3: a worker ack removes the item and enqueues its completion, atomically. */
async function testWorkerAckAtomicity(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // The instance first.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const start = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    start.lockToken,
    1,
    [orchestrationStarted("instance-A", 1, 1)],
    [],
    [],
    {},
    [],
  );

  await provider.enqueueForWorker(
    activityItem("instance-A", 1, 1, { name: "Activity1", input: "input1" }),
  );

  const { lockToken } = await fetchWorkOrFail(provider, LONG_LOCK_MS);
  await provider.ackWorkItem(lockToken, activityCompleted("instance-A", 1, 1, "result1"));

  // 1. The worker queue is empty.
  assert.equal(await fetchWork(provider, LONG_LOCK_MS), null);

  // 2. The orchestrator queue holds the completion.
  const { item } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(item.instance, "instance-A");
  assert.equal(item.messages.length, 1);
  assert.equal(item.messages[0].type, "ActivityCompleted");
}

/** Test 5.4: an orchestrator message enqueued with a delay is invisible until it passes. */
async function testTimerDelayedVisibility(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // The instance first.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const start = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    start.lockToken,
    1,
    [orchestrationStarted("instance-A", 1, 1)],
    [],
    [],
    {},
    [],
  );

  // A timer visible in 5 s (enqueue uses the delay, not fire_at_ms).
  const delay = 5_000;
  await provider.enqueueForOrchestrator(
    { type: "TimerFired", instance: "instance-A", executionId: 1, id: 1, fireAtMs: 0 },
    delay,
  );

  // Not visible yet.
  assert.equal(await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null), null);

  await sleep(5_100);

  const { item } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(item.instance, "instance-A");
  assert.equal(item.messages.length, 1);
  assert.equal(item.messages[0].type, "TimerFired");
}

/** Test 5.6: a worker item whose token was lost is redelivered after the lock expires. */
async function testLostLockTokenHandling(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(
    activityItem("instance-A", 1, 1, { name: "Activity1", input: "input1" }),
  );

  // Fetch, then "crash" and lose the token.
  await fetchWorkOrFail(provider, lockTimeout);

  // Still locked.
  assert.equal(await fetchWork(provider, lockTimeout), null);

  await sleep(lockTimeout + 100);

  // Redelivered.
  const { item } = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(item.type, "ActivityExecute");
}

/** Test 5.6: a newly enqueued worker item is fetchable immediately. */
async function testWorkerItemImmediateVisibility(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(activityItem("test-immediate-vis", 1, 1, { input: "test" }));

  const result = await fetchWork(provider, lockTimeout);
  assert.ok(result !== null, "Newly enqueued worker item should be immediately visible");
  assert.ok(
    result.item.type === "ActivityExecute" && result.item.name === "TestActivity",
    `expected ActivityExecute TestActivity, got ${JSON.stringify(result.item)}`,
  );

  // Clean up.
  await provider.ackWorkItem(
    result.lockToken,
    activityCompleted("test-immediate-vis", 1, 1, "done"),
  );
}

/** Test 5.7: an unlocked item with a future visibility is skipped; the next item is returned. */
async function testWorkerDelayedVisibilitySkipsFutureItems(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForWorker(
    activityItem("test-delayed-vis", 1, 1, { name: "Activity1", input: "first" }),
  );
  await provider.enqueueForWorker(
    activityItem("test-delayed-vis", 1, 2, { name: "Activity2", input: "second" }),
  );

  const first = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(activityExecuteId(first.item), 1);

  // Abandon it with a delay: unlocked, but visible only later.
  const delay = 500;
  await provider.abandonWorkItem(first.lockToken, delay, false);

  // The next fetch skips the delayed item.
  const second = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(activityExecuteId(second.item), 2, "Should skip delayed item and fetch second item");

  // Nothing else: the first is delayed, the second locked.
  assert.equal(await fetchWork(provider, lockTimeout), null, "No items should be available");

  await sleep(delay + 100);

  const third = await fetchWorkOrFail(provider, lockTimeout);
  assert.equal(activityExecuteId(third.item), 1, "First item should now be visible after delay");

  // Clean up both.
  await provider.ackWorkItem(second.lockToken, activityCompleted("test-delayed-vis", 1, 2, "done"));
  await provider.ackWorkItem(third.lockToken, activityCompleted("test-delayed-vis", 1, 1, "done"));
}

/**
 * Test 5.8: queue messages for an instance that does not exist are dropped by the fetch; those
 * for an existing instance are delivered.
 */
async function testOrphanQueueMessagesDropped(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Part 1: messages for a non-existent instance are dropped.
  for (const data of ["v1", "v2"]) {
    await provider.enqueueForOrchestrator(
      { type: "QueueMessage", instance: "orphan-test", name: "ConfigUpdate", data },
      null,
    );
  }

  const result = await provider.fetchOrchestrationItem(5_000, 0, null);
  assert.equal(result, null, "Expected None for orphan queue messages");

  // Really deleted: a second fetch finds nothing either.
  const result2 = await provider.fetchOrchestrationItem(5_000, 0, null);
  assert.equal(result2, null, "Orphan messages should have been deleted, not left in queue");

  // Part 2: messages for an existing instance are kept.
  await createInstance(provider, "orphan-test-existing");

  await provider.enqueueForOrchestrator(
    { type: "QueueMessage", instance: "orphan-test-existing", name: "ConfigUpdate", data: "v3" },
    null,
  );

  const fetched = await fetchOrchestrationOrFail(
    provider,
    5_000,
    "Expected orchestration item for existing instance with queued event",
  );
  assert.equal(fetched.item.instance, "orphan-test-existing");
  assert.ok(
    fetched.item.messages.some((m) =>
      m.type === "QueueMessage" && m.name === "ConfigUpdate" && m.data === "v3"
    ),
    `QueueMessage for existing instance should be included in messages, got: ${
      JSON.stringify(fetched.item.messages)
    }`,
  );

  // Clean up.
  await provider.ackOrchestrationItem(
    fetched.lockToken,
    fetched.item.executionId,
    [],
    [],
    [],
    {},
    [],
  );
}

/** The `queue_semantics` category (8 tests, as in Duroxide). */
export const queueSemanticsTests: ValidationTest[] = [
  {
    category: "queue_semantics",
    name: "test_worker_queue_fifo_ordering",
    run: testWorkerQueueFifoOrdering,
  },
  {
    category: "queue_semantics",
    name: "test_worker_peek_lock_semantics",
    run: testWorkerPeekLockSemantics,
  },
  {
    category: "queue_semantics",
    name: "test_worker_ack_atomicity",
    run: testWorkerAckAtomicity,
  },
  {
    category: "queue_semantics",
    name: "test_timer_delayed_visibility",
    run: testTimerDelayedVisibility,
  },
  {
    category: "queue_semantics",
    name: "test_lost_lock_token_handling",
    run: testLostLockTokenHandling,
  },
  {
    category: "queue_semantics",
    name: "test_worker_item_immediate_visibility",
    run: testWorkerItemImmediateVisibility,
  },
  {
    category: "queue_semantics",
    name: "test_worker_delayed_visibility_skips_future_items",
    run: testWorkerDelayedVisibilitySkipsFutureItems,
  },
  {
    category: "queue_semantics",
    name: "test_orphan_queue_messages_dropped",
    run: testOrphanQueueMessagesDropped,
  },
];
