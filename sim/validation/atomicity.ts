/**
 * Validation tests of the `atomicity` category: `ackOrchestrationItem` commits everything or
 * nothing, and releases the instance lock only when it succeeds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../src/errors.ts";
import type { Event, WorkItem } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import {
  activityItem,
  expectProviderError,
  fetchOrchestrationOrFail,
  fetchWork,
  LONG_LOCK_MS,
  makeEvent,
  sleep,
  startItem,
} from "./helpers.ts";
import { activityScheduled, orchestrationStarted, readOrEmpty } from "./_partA_util.ts";

/** Test 2.1: an ack that fails (duplicate event id) changes nothing and keeps the lock. */
async function testAtomicityFailureRollback(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Setup: an instance with some initial state.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [orchestrationStarted("instance-A", 1, 1)],
    [],
    [],
    {},
    [],
  );

  const initialHistory = await readOrEmpty(provider, "instance-A");
  assert.equal(initialHistory.length, 1);

  // Another work item, fetched.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);

  // Ack with a duplicate event id: must fail (primary key).
  await expectProviderError(
    provider.ackOrchestrationItem(
      second.lockToken,
      1,
      [orchestrationStarted("instance-A", 1, 1)],
      [],
      [],
      {},
      [],
    ),
    "ack with a duplicate event_id",
  );

  const afterHistory = await readOrEmpty(provider, "instance-A");
  assert.equal(afterHistory.length, 1, "History should remain unchanged after failed ack");

  // The lock is still held, so nothing can be fetched.
  assert.equal(await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null), null);
}

/** Test 2.2: one ack with history, worker items and orchestrator items commits all of them. */
async function testMultiOperationAtomicAck(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const { lockToken } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);

  const historyDelta: Event[] = [
    orchestrationStarted("instance-A", 1, 1),
    activityScheduled("instance-A", 1, 2, "Activity1", "input1"),
    activityScheduled("instance-A", 1, 3, "Activity2", "input2"),
    activityScheduled("instance-A", 1, 4, "Activity3", "input3"),
    makeEvent("instance-A", 1, 5, { type: "TimerCreated", fireAtMs: 1234567890 }),
  ];
  const workerItems: WorkItem[] = [
    activityItem("instance-A", 1, 1, { name: "Activity1", input: "input1" }),
    activityItem("instance-A", 1, 2, { name: "Activity2", input: "input2" }),
    activityItem("instance-A", 1, 3, { name: "Activity3", input: "input3" }),
  ];
  const orchestratorItems: WorkItem[] = [
    { type: "TimerFired", instance: "instance-A", executionId: 1, id: 1, fireAtMs: 1234567890 },
    { type: "ExternalRaised", instance: "instance-A", name: "TestEvent", data: "test-data" },
  ];

  await provider.ackOrchestrationItem(
    lockToken,
    1,
    historyDelta,
    workerItems,
    orchestratorItems,
    {},
    [],
  );

  // 1. All five history events.
  const history = await readOrEmpty(provider, "instance-A");
  assert.equal(history.length, 5, "All 5 history events should be persisted");

  // 2. Three worker items, then none.
  for (let i = 0; i < 3; i++) {
    assert.notEqual(await fetchWork(provider, LONG_LOCK_MS), null);
  }
  assert.equal(await fetchWork(provider, LONG_LOCK_MS), null);

  // 3. Two orchestrator messages, in order.
  const { item } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(item.messages.length, 2, "Should have TimerFired and ExternalRaised");
  assert.equal(item.messages[0].type, "TimerFired");
  assert.equal(item.messages[1].type, "ExternalRaised");
}

/** Test 2.3: an ack with a bad token fails and the real lock stays held until it expires. */
async function testLockReleasedOnlyOnSuccessfulAck(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  await fetchOrchestrationOrFail(provider, lockTimeout);

  // The lock is held.
  assert.equal(await provider.fetchOrchestrationItem(lockTimeout, 0, null), null);

  // An ack with an invalid token fails.
  await expectProviderError(
    provider.ackOrchestrationItem(
      "invalid-lock-token",
      1,
      [orchestrationStarted("instance-A", 1, 2)],
      [],
      [],
      {},
      [],
    ),
    "ack with an invalid lock token",
  );

  // The lock is still held.
  assert.equal(await provider.fetchOrchestrationItem(lockTimeout, 0, null), null);

  // After expiry the instance can be fetched again.
  await sleep(lockTimeout + 100);
  const second = await fetchOrchestrationOrFail(provider, lockTimeout);
  assert.equal(second.item.instance, "instance-A");
}

/** Test 2.4: of two concurrent acks with the same token, exactly one succeeds. */
async function testConcurrentAckPrevention(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const { lockToken } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);

  const ack = () =>
    provider.ackOrchestrationItem(
      lockToken,
      1,
      [orchestrationStarted("instance-A", 1, 1)],
      [],
      [],
      {},
      [],
    );
  const results = await Promise.allSettled([ack(), ack()]);

  const successes = results.filter((r) => r.status === "fulfilled");
  assert.equal(successes.length, 1, "Exactly one ack should succeed");
  const failures = results.filter((r) => r.status === "rejected");
  assert.equal(failures.length, 1, "Exactly one ack should fail");
  const reason = (failures[0] as PromiseRejectedResult).reason;
  assert.ok(
    reason instanceof ProviderError,
    `the failed ack should throw a ProviderError, got ${String(reason)}`,
  );
}

/** The `atomicity` category (4 tests, as in Duroxide). */
export const atomicityTests: ValidationTest[] = [
  {
    category: "atomicity",
    name: "test_atomicity_failure_rollback",
    run: testAtomicityFailureRollback,
  },
  {
    category: "atomicity",
    name: "test_multi_operation_atomic_ack",
    run: testMultiOperationAtomicAck,
  },
  {
    category: "atomicity",
    name: "test_lock_released_only_on_successful_ack",
    run: testLockReleasedOnlyOnSuccessfulAck,
  },
  {
    category: "atomicity",
    name: "test_concurrent_ack_prevention",
    run: testConcurrentAckPrevention,
  },
];
