/**
 * Validation tests of the `multi_execution` category: each execution of an instance keeps its
 * own history, `read` returns the latest one, and fetches report the current execution id.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Event, WorkItem } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import {
  fetchOrchestrationOrFail,
  LONG_LOCK_MS,
  makeEvent,
  startItem,
  testMetadata,
} from "./helpers.ts";
import {
  activityScheduled,
  orchestrationStarted,
  readOrEmpty,
  readWithExecutionOrEmpty,
} from "./_partA_util.ts";

/** A `TestOrch` 1.0.0 start item for the given execution id. */
function startItemWithExecution(instance: string, executionId: number): WorkItem {
  return { ...startItem(instance), executionId } as WorkItem;
}

/** An `OrchestrationCompleted` event. */
function orchestrationCompleted(
  instance: string,
  executionId: number,
  eventId: number,
  output: string,
): Event {
  return makeEvent(instance, executionId, eventId, { type: "OrchestrationCompleted", output });
}

/** The name of an `ActivityScheduled` event; fails for any other event. */
function scheduledName(event: Event): string {
  if (event.type !== "ActivityScheduled") {
    assert.fail(`Expected ActivityScheduled, got ${event.type}`);
  }
  return event.name;
}

/** Test 6.1: executions 1 and 2 keep separate histories and `read` returns execution 2's. */
async function testExecutionIsolation(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Execution 1 with three events.
  await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", 1), null);
  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [
      orchestrationStarted("instance-A", 1, 1),
      activityScheduled("instance-A", 1, 2, "Activity1", "input1"),
      orchestrationCompleted("instance-A", 1, 3, "result1"),
    ],
    [],
    [],
    {},
    [],
  );

  // Execution 2 with two events.
  await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", 2), null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    second.lockToken,
    2,
    [
      orchestrationStarted("instance-A", 2, 1),
      orchestrationCompleted("instance-A", 2, 2, "result2"),
    ],
    [],
    [],
    {},
    [],
  );

  const history1 = await readWithExecutionOrEmpty(provider, "instance-A", 1);
  assert.deepEqual(history1.map((e) => e.type), [
    "OrchestrationStarted",
    "ActivityScheduled",
    "OrchestrationCompleted",
  ]);

  const history2 = await readWithExecutionOrEmpty(provider, "instance-A", 2);
  assert.deepEqual(history2.map((e) => e.type), [
    "OrchestrationStarted",
    "OrchestrationCompleted",
  ]);

  // The latest execution by default.
  const latest = await readOrEmpty(provider, "instance-A");
  assert.deepEqual(latest.map((e) => e.type), ["OrchestrationStarted", "OrchestrationCompleted"]);
}

/** Test 6.2: `read` returns the latest execution, `readWithExecution(1)` the first. */
async function testLatestExecutionDetection(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Execution 1 with event "A".
  await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", 1), null);
  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [activityScheduled("instance-A", 1, 1, "A", "")],
    [],
    [],
    {},
    [],
  );

  // Execution 2 with event "B".
  await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", 2), null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    second.lockToken,
    2,
    [activityScheduled("instance-A", 2, 1, "B", "")],
    [],
    [],
    {},
    [],
  );

  const latest = await readOrEmpty(provider, "instance-A");
  assert.equal(latest.length, 1);
  assert.equal(scheduledName(latest[0]), "B");

  const exec1 = await readWithExecutionOrEmpty(provider, "instance-A", 1);
  assert.equal(exec1.length, 1);
  assert.equal(scheduledName(exec1[0]), "A");
}

/** Test 6.3: after an ack with execution id 2, fetches report execution 2. */
async function testExecutionIdSequencing(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // The first execution is 1.
  await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", 1), null);
  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(first.item.executionId, 1);

  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [orchestrationStarted("instance-A", 1, 1)],
    [],
    [],
    testMetadata(),
    [],
  );

  // A second execution, acked explicitly with execution id 2 (the fetch still says 1).
  await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", 2), null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    second.lockToken,
    2,
    [orchestrationStarted("instance-A", 2, 1)],
    [],
    [],
    testMetadata(),
    [],
  );

  // Now the fetch reports execution 2.
  await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", 3), null);
  const third = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(third.item.executionId, 2, "Current execution should be 2");
}

/** Test 6.4: a `ContinueAsNew` turn acked with execution id 2 makes execution 2 current. */
async function testContinueAsNewCreatesNewExecution(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Execution 1.
  await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", 1), null);
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

  // Continue-as-new, simulated by its work item.
  await provider.enqueueForOrchestrator({
    type: "ContinueAsNew",
    instance: "instance-A",
    orchestration: "TestOrch",
    input: "new-input",
    version: "1.0.0",
    carryForwardEvents: [],
  }, null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  // Ack with execution id 2 to create the new execution.
  await provider.ackOrchestrationItem(
    second.lockToken,
    2,
    [orchestrationStarted("instance-A", 2, 1, { input: "new-input" })],
    [],
    [],
    {},
    [],
  );

  // If anything is left to fetch, it belongs to execution 2.
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  if (result !== null) {
    assert.equal(result.item.executionId, 2, "Continue-as-new should create execution 2");
  }
}

/** Test 6.5: three executions each keep their own history. */
async function testExecutionHistoryPersistence(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  for (let execId = 1; execId <= 3; execId++) {
    await provider.enqueueForOrchestrator(startItemWithExecution("instance-A", execId), null);
    const { lockToken } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
    await provider.ackOrchestrationItem(
      lockToken,
      execId,
      [activityScheduled("instance-A", execId, 1, `Activity-${execId}`, `input-${execId}`)],
      [],
      [],
      {},
      [],
    );
  }

  for (let execId = 1; execId <= 3; execId++) {
    const history = await readWithExecutionOrEmpty(provider, "instance-A", execId);
    assert.equal(history.length, 1);
    assert.equal(scheduledName(history[0]), `Activity-${execId}`);
  }

  const latest = await readOrEmpty(provider, "instance-A");
  assert.equal(latest.length, 1);
  assert.equal(scheduledName(latest[0]), "Activity-3");
}

/** The `multi_execution` category (5 tests, as in Duroxide). */
export const multiExecutionTests: ValidationTest[] = [
  {
    category: "multi_execution",
    name: "test_execution_isolation",
    run: testExecutionIsolation,
  },
  {
    category: "multi_execution",
    name: "test_latest_execution_detection",
    run: testLatestExecutionDetection,
  },
  {
    category: "multi_execution",
    name: "test_execution_id_sequencing",
    run: testExecutionIdSequencing,
  },
  {
    category: "multi_execution",
    name: "test_continue_as_new_creates_new_execution",
    run: testContinueAsNewCreatesNewExecution,
  },
  {
    category: "multi_execution",
    name: "test_execution_history_persistence",
    run: testExecutionHistoryPersistence,
  },
];
