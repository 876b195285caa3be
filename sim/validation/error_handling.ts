/**
 * Validation tests of the `error_handling` category: bad tokens, duplicate event ids, unknown
 * instances, expired locks and (0.1.27+) undecodable stored history on reads.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import {
  createInstance,
  expectProviderError,
  fetchOrchestrationOrFail,
  LONG_LOCK_MS,
  sleep,
  startItem,
} from "./helpers.ts";
import { activityScheduled, orchestrationStarted, readOrEmpty } from "./_partA_util.ts";

/** Test 3.1: an ack with a token that was never issued fails, naming the lock token. */
async function testInvalidLockTokenOnAck(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const err = await expectProviderError(
    provider.ackOrchestrationItem("invalid-token", 1, [], [], [], {}, []),
    "ack with a non-existent lock token",
  );
  assert.ok(
    err.message.includes("Invalid lock token") || err.message.includes("lock_token"),
    `error message should mention the lock token, got: ${err.message}`,
  );
}

/** Test 3.2: a second ack reusing event id 1 fails and the history keeps one event. */
async function testDuplicateEventIdRejection(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // An instance with its first event.
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

  // Try to append event id 1 again.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await expectProviderError(
    provider.ackOrchestrationItem(
      second.lockToken,
      1,
      [activityScheduled("instance-A", 1, 1, "Activity", "{}")],
      [],
      [],
      {},
      [],
    ),
    "ack with a duplicate event_id",
  );

  // History unchanged.
  const history = await readOrEmpty(provider, "instance-A");
  assert.equal(history.length, 1);
  assert.equal(history[0].type, "OrchestrationStarted");
}

/** Test 3.3: reading an instance that does not exist yields no events. */
async function testMissingInstanceMetadata(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const history = await readOrEmpty(provider, "non-existent-instance");
  assert.equal(history.length, 0);
}

/** Test 3.4: a fetch on an empty store degrades gracefully (returns, does not throw). */
async function testCorruptedSerializationData(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const item = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(item === null || item !== null, "Should not panic");
}

/** Test 3.5: an ack after the lock expired fails. */
async function testLockExpirationDuringAck(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const lockTimeout = factory.lockTimeoutMs;

  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const { lockToken } = await fetchOrchestrationOrFail(provider, lockTimeout);

  // Wait for the lock to expire.
  await sleep(lockTimeout + 100);

  await expectProviderError(
    provider.ackOrchestrationItem(
      lockToken,
      1,
      [orchestrationStarted("instance-A", 1, 1)],
      [],
      [],
      {},
      [],
    ),
    "ack with an expired lock token",
  );
}

/** Test 3.6 (0.1.27+): `read` of a corrupted history fails instead of dropping events. */
async function testReadCorruptedHistoryReturnsError(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "inst-read-corrupt");

  const history = await provider.read("inst-read-corrupt");
  assert.ok(history.length > 0, "History should contain events before corruption");

  await factory.corruptInstanceHistory("inst-read-corrupt");

  await expectProviderError(
    provider.read("inst-read-corrupt"),
    "read() of a corrupted history",
  );
}

/** Test 3.7 (0.1.27+): `readWithExecution` of a corrupted history fails too. */
async function testReadWithExecutionCorruptedHistoryReturnsError(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "inst-rwe-corrupt");

  const history = await provider.readWithExecution("inst-rwe-corrupt", 1);
  assert.ok(history.length > 0, "History should contain events before corruption");

  await factory.corruptInstanceHistory("inst-rwe-corrupt");

  await expectProviderError(
    provider.readWithExecution("inst-rwe-corrupt", 1),
    "read_with_execution() of a corrupted history",
  );
}

/** The `error_handling` category (5 tests of 0.1.26 plus the 2 read-corruption tests of 0.1.27+). */
export const errorHandlingTests: ValidationTest[] = [
  {
    category: "error_handling",
    name: "test_invalid_lock_token_on_ack",
    run: testInvalidLockTokenOnAck,
  },
  {
    category: "error_handling",
    name: "test_duplicate_event_id_rejection",
    run: testDuplicateEventIdRejection,
  },
  {
    category: "error_handling",
    name: "test_missing_instance_metadata",
    run: testMissingInstanceMetadata,
  },
  {
    category: "error_handling",
    name: "test_corrupted_serialization_data",
    run: testCorruptedSerializationData,
  },
  {
    category: "error_handling",
    name: "test_lock_expiration_during_ack",
    run: testLockExpirationDuringAck,
  },
  {
    category: "error_handling",
    name: "test_read_corrupted_history_returns_error",
    run: testReadCorruptedHistoryReturnsError,
  },
  {
    category: "error_handling",
    name: "test_read_with_execution_corrupted_history_returns_error",
    run: testReadWithExecutionCorruptedHistoryReturnsError,
  },
];
