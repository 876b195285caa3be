/**
 * Validation category `deletion`: `deleteInstance` and its primitives (`listChildren`,
 * `getParentId`, `getInstanceTree`, `deleteInstancesAtomic`): terminal and forced deletes,
 * cascades over sub-orchestration trees, orphan detection, and the lock and queue cleanup
 * that keeps an in-flight ack or a stale activity from recreating a deleted instance.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { InstanceTree, Provider } from "../../src/provider_api.ts";
import type { ExecutionMetadata } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import {
  activityItem,
  createInstance,
  DEFAULT_TAG_FILTER,
  expectProviderError,
  fetchOrchestrationOrFail,
  LONG_LOCK_MS,
  makeEvent,
  startItem,
} from "./helpers.ts";
import { expectPermanentError, externalRaised, requireAdmin } from "./_partB_util.ts";
import {
  createCompletedInstance,
  expectExists,
  expectGone,
  startAndAck,
  started,
} from "./_partM_util.ts";

/** Metadata of a failed `TestOrch` 1.0.0 execution with the given output. */
function failedMetadata(output: string): ExecutionMetadata {
  return {
    status: "Failed",
    output,
    orchestrationName: "TestOrch",
    orchestrationVersion: "1.0.0",
  };
}

/** Creates `instance` as a failed execution. */
async function createFailedInstance(provider: Provider, instance: string): Promise<void> {
  await startAndAck(
    provider,
    startItem(instance),
    1,
    [started(instance, 1)],
    failedMetadata("error: something went wrong"),
  );
}

/** Creates `instance` as a cancelled execution (status `Failed` with a cancellation output). */
async function createCancelledInstance(provider: Provider, instance: string): Promise<void> {
  await startAndAck(
    provider,
    startItem(instance),
    1,
    [started(instance, 1)],
    failedMetadata("cancelled: user requested cancellation"),
  );
}

/**
 * Creates `instance` as a completed `ChildOrch` sub-orchestration of `parent`: the start names
 * the parent (without a parent event id) and is fetched with a 5 s lock.
 */
async function createChildInstance(
  provider: Provider,
  instance: string,
  parent: string,
): Promise<void> {
  await provider.enqueueForOrchestrator({
    type: "StartOrchestration",
    instance,
    orchestration: "TestOrch",
    version: "1.0.0",
    input: "{}",
    parentInstance: parent,
    parentId: null,
    executionId: 1,
  }, null);

  const { lockToken } = await fetchOrchestrationOrFail(provider, 5_000);
  await provider.ackOrchestrationItem(
    lockToken,
    1,
    [started(instance, 1, { name: "ChildOrch", parentInstance: parent })],
    [],
    [],
    {
      status: "Completed",
      output: "done",
      orchestrationName: "ChildOrch",
      orchestrationVersion: "1.0.0",
      parentInstanceId: parent,
      pinnedDuroxideVersion: null,
    },
    [],
  );
}

/** Completed, failed and cancelled instances are deleted with their rows; counts are right. */
async function test_delete_terminal_instances(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const completedId = "delete-term-completed";
  await createCompletedInstance(provider, completedId);
  const failedId = "delete-term-failed";
  await createFailedInstance(provider, failedId);
  // A cancelled instance is a Failed one with a cancellation output; deletion treats it alike.
  const cancelledId = "delete-term-cancelled";
  await createCancelledInstance(provider, cancelledId);

  await expectExists(mgmt, completedId);
  await expectExists(mgmt, failedId);
  await expectExists(mgmt, cancelledId);

  let result = await mgmt.deleteInstance(completedId, false);
  assert.ok(result.instancesDeleted >= 1, "Completed instance should be deleted");
  assert.ok(result.executionsDeleted >= 1, "Should delete at least 1 execution");
  assert.ok(result.eventsDeleted >= 1, "Should delete at least 1 event");
  await expectGone(mgmt, completedId, "Completed instance should not exist after deletion");

  result = await mgmt.deleteInstance(failedId, false);
  assert.ok(result.instancesDeleted >= 1, "Failed instance should be deleted");
  await expectGone(mgmt, failedId, "Failed instance should not exist after deletion");

  result = await mgmt.deleteInstance(cancelledId, false);
  assert.ok(result.instancesDeleted >= 1, "Cancelled instance should be deleted");
  await expectGone(mgmt, cancelledId, "Cancelled instance should not exist after deletion");
}

/** Deleting a running instance fails (permanently) without force and succeeds with it. */
async function test_delete_running_rejected_force_succeeds(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const instanceId = "delete-running-force";
  await createInstance(provider, instanceId);

  const err = await expectPermanentError(
    mgmt.deleteInstance(instanceId, false),
    "Should reject deletion of running instance",
  );
  assert.ok(
    err.message.toLowerCase().includes("running"),
    `Error message should mention 'running': ${err.message}`,
  );

  await expectExists(mgmt, instanceId, "Instance should still exist after rejected deletion");

  const result = await mgmt.deleteInstance(instanceId, true);
  assert.ok(result.instancesDeleted >= 1, "Force delete should succeed");
  await expectGone(mgmt, instanceId, "Instance should not exist after force deletion");
}

/** Deleting an unknown instance fails permanently with "not found". */
async function test_delete_nonexistent_instance(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const err = await expectPermanentError(
    mgmt.deleteInstance("does-not-exist-12345", false),
    "Should return error for non-existent instance",
  );
  assert.ok(
    err.message.toLowerCase().includes("not found"),
    `Error should mention 'not found': ${err.message}`,
  );
}

/** A delete removes queued messages and the instance lock, so the id can be reused. */
async function test_delete_cleans_queues_and_locks(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const instanceId = "delete-queues-locks";

  await provider.enqueueForOrchestrator(startItem(instanceId), null);
  // An activity too, so the worker queue has a row to clean up.
  await provider.enqueueForWorker(activityItem(instanceId, 1, 1));

  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(first.lockToken, 1, [started(instanceId, 1)], [], [], {
    status: "Completed",
    orchestrationName: "TestOrch",
    orchestrationVersion: "1.0.0",
  }, []);

  const result = await mgmt.deleteInstance(instanceId, false);
  assert.ok(result.queueMessagesDeleted >= 1, "Should have deleted queue messages");

  // Reuse the id with another orchestration name and input, so stale data would show.
  const newOrchName = "ReusedOrch";
  const newInput = '{"reused": true}';
  await provider.enqueueForOrchestrator({
    type: "StartOrchestration",
    instance: instanceId,
    orchestration: newOrchName,
    version: "2.0.0",
    input: newInput,
    parentInstance: null,
    parentId: null,
    executionId: 1,
  }, null);
  const { item, lockToken } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(
    item.orchestrationName,
    newOrchName,
    "Fetched item should have new orchestration name",
  );

  try {
    await provider.ackOrchestrationItem(
      lockToken,
      1,
      [started(instanceId, 1, { name: newOrchName, version: "2.0.0", input: newInput })],
      [],
      [],
      { orchestrationName: newOrchName, orchestrationVersion: "2.0.0" },
      [],
    );
  } catch (err) {
    assert.fail(`Should be able to recreate instance after deletion (locks cleared): ${err}`);
  }

  const info = await mgmt.getInstanceInfo(instanceId);
  assert.equal(
    info.orchestrationName,
    newOrchName,
    "Recreated instance should have new orchestration name, not stale data",
  );

  await mgmt.deleteInstance(instanceId, true);
}

/** Sub-orchestrations cannot be deleted directly; deleting the root cascades to all levels. */
async function test_cascade_delete_hierarchy(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  // root -> child1, child2; child1 -> grandchild
  const rootId = "cascade-root";
  const child1Id = "cascade-child1";
  const child2Id = "cascade-child2";
  const grandchildId = "cascade-grandchild";

  await createCompletedInstance(provider, rootId, null);
  await createCompletedInstance(provider, child1Id, rootId);
  await createCompletedInstance(provider, child2Id, rootId);
  await createCompletedInstance(provider, grandchildId, child1Id);

  await expectExists(mgmt, rootId);
  await expectExists(mgmt, child1Id);
  await expectExists(mgmt, child2Id);
  await expectExists(mgmt, grandchildId);

  const err = await expectProviderError(
    mgmt.deleteInstance(child1Id, false),
    "Should not allow direct deletion of sub-orchestration",
  );
  const message = err.message.toLowerCase();
  assert.ok(
    message.includes("sub-orchestration") || message.includes("root") ||
      message.includes("parent"),
    `Error should mention sub-orchestration, root, or parent: ${err.message}`,
  );

  await expectProviderError(
    mgmt.deleteInstance(child1Id, true),
    "Should not allow force deletion of sub-orchestration",
  );
  await expectProviderError(
    mgmt.deleteInstance(grandchildId, false),
    "Should not allow direct deletion of deeply nested sub-orchestration",
  );

  const result = await mgmt.deleteInstance(rootId, false);
  assert.ok(result.instancesDeleted >= 1, "Root should be deleted");
  assert.ok(result.executionsDeleted >= 4, "Should delete executions from all 4 instances");

  await expectGone(mgmt, rootId, "Root should be deleted");
  await expectGone(mgmt, child1Id, "Child1 should be cascade deleted");
  await expectGone(mgmt, child2Id, "Child2 should be cascade deleted");
  await expectGone(mgmt, grandchildId, "Grandchild should be cascade deleted");
}

/** An ack of a turn whose instance was force-deleted meanwhile fails and recreates nothing. */
async function test_force_delete_prevents_ack_recreation(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const instanceId = "zombie-prevention";

  // Create the instance.
  await startAndAck(provider, startItem(instanceId), 1, [started(instanceId, 1)], {
    orchestrationName: "TestOrch",
    orchestrationVersion: "1.0.0",
  });

  // Lock it again for a second turn.
  await provider.enqueueForOrchestrator(externalRaised(instanceId, "test-event"), null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);

  // Force-delete it while the turn holds the lock.
  const deleted = await mgmt.deleteInstance(instanceId, true);
  assert.ok(deleted.instancesDeleted >= 1, "Force delete should succeed");

  await expectProviderError(
    provider.ackOrchestrationItem(
      second.lockToken,
      1,
      [makeEvent(instanceId, 1, 2, { type: "ExternalEvent", name: "test-event", data: "{}" })],
      [],
      [],
      {},
      [],
    ),
    "CRITICAL: Ack must fail after force delete to prevent zombie recreation",
  );

  await expectGone(mgmt, instanceId, "CRITICAL: Instance must NOT be recreated after force delete");
}

/** `listChildren` returns direct children only; empty for leaves and unknown instances. */
async function test_list_children(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  // root -> child1, child2; child2 -> grandchild
  const rootId = "list-children-root";
  const child1Id = `${rootId}::sub::2`;
  const child2Id = `${rootId}::sub::3`;
  const grandchildId = `${child2Id}::sub::4`;

  await createCompletedInstance(provider, rootId);
  await createChildInstance(provider, child1Id, rootId);
  await createChildInstance(provider, child2Id, rootId);
  await createChildInstance(provider, grandchildId, child2Id);

  let children = await mgmt.listChildren(rootId);
  assert.equal(children.length, 2, "Root should have 2 direct children");
  assert.ok(children.includes(child1Id), "Should contain child1");
  assert.ok(children.includes(child2Id), "Should contain child2");
  assert.ok(!children.includes(grandchildId), "Should NOT contain grandchild");

  children = await mgmt.listChildren(child2Id);
  assert.equal(children.length, 1, "child2 should have 1 child");
  assert.ok(children.includes(grandchildId), "Should contain grandchild");

  children = await mgmt.listChildren(grandchildId);
  assert.equal(children.length, 0, "Leaf should have no children");

  children = await mgmt.listChildren("non-existent");
  assert.equal(children.length, 0, "Non-existent instance should return empty");

  await mgmt.deleteInstance(rootId, true);
}

/** `getParentId`: `null` for a root, the parent for a child, an error for an unknown id. */
async function test_delete_get_parent_id(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const rootId = "parent-id-root";
  const childId = `${rootId}::sub::2`;

  await createCompletedInstance(provider, rootId);
  await createChildInstance(provider, childId, rootId);

  assert.equal(await mgmt.getParentId(rootId), null, "Root should have no parent");
  assert.equal(await mgmt.getParentId(childId), rootId, "Child should have root as parent");

  await expectProviderError(
    mgmt.getParentId("non-existent"),
    "Non-existent instance should return error",
  );

  await mgmt.deleteInstance(rootId, true);
}

/** `getInstanceTree` returns the whole tree of a root and just the leaf for a leaf. */
async function test_delete_get_instance_tree(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  // root -> child1, child2; child2 -> grandchild
  const rootId = "tree-root";
  const child1Id = `${rootId}::sub::2`;
  const child2Id = `${rootId}::sub::3`;
  const grandchildId = `${child2Id}::sub::4`;

  await createCompletedInstance(provider, rootId);
  await createChildInstance(provider, child1Id, rootId);
  await createChildInstance(provider, child2Id, rootId);
  await createChildInstance(provider, grandchildId, child2Id);

  const tree = await mgmt.getInstanceTree(rootId);
  assert.equal(tree.rootId, rootId, "Root ID should match");
  assert.equal(tree.allIds.length, 4, "Tree should have 4 instances");
  assert.ok(!isRootOnly(tree), "Tree should have children");
  // The order is implementation-defined.
  assert.ok(tree.allIds.includes(rootId));
  assert.ok(tree.allIds.includes(child1Id));
  assert.ok(tree.allIds.includes(child2Id));
  assert.ok(tree.allIds.includes(grandchildId));

  const leafTree = await mgmt.getInstanceTree(grandchildId);
  assert.equal(leafTree.allIds.length, 1, "Leaf tree should have 1 instance");
  assert.ok(isRootOnly(leafTree), "Single instance tree should be root-only");

  await mgmt.deleteInstance(rootId, true);
}

/** `InstanceTree::is_root_only()`: the tree holds the root alone. */
function isRootOnly(tree: InstanceTree): boolean {
  return tree.allIds.length === 1;
}

/** `deleteInstancesAtomic` deletes several independent instances and sums the counts. */
async function test_delete_instances_atomic(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const ids = ["atomic-del-1", "atomic-del-2", "atomic-del-3"];
  for (const id of ids) await createCompletedInstance(provider, id);
  for (const id of ids) await expectExists(mgmt, id);

  const result = await mgmt.deleteInstancesAtomic(ids, false);
  assert.ok(result.instancesDeleted >= 1, "Should report deletion");
  assert.ok(result.executionsDeleted >= 3, "Should delete at least 3 executions");

  // Rollback on failure is covered by test_delete_instances_atomic_orphan_detection.
  for (const id of ids) await expectGone(mgmt, id, `Instance ${id} should be gone`);
}

/** `deleteInstancesAtomic` refuses a running instance without force and deletes it with it. */
async function test_delete_instances_atomic_force(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const completedId = "atomic-force-completed";
  const runningId = "atomic-force-running";
  await createCompletedInstance(provider, completedId);
  await createInstance(provider, runningId); // Running: no terminal status.

  const ids = [completedId, runningId];

  await expectProviderError(
    mgmt.deleteInstancesAtomic(ids, false),
    "Should fail without force when running instance present",
  );
  await expectExists(mgmt, completedId);
  await expectExists(mgmt, runningId);

  const result = await mgmt.deleteInstancesAtomic(ids, true);
  assert.ok(result.instancesDeleted >= 1, "Should delete with force");

  await expectGone(mgmt, completedId, `${completedId} should be gone`);
  await expectGone(mgmt, runningId, `${runningId} should be gone`);
}

/**
 * `deleteInstancesAtomic` of a parent without its child (a child spawned after the tree walk)
 * fails, rolls back, and succeeds once the child is included.
 */
async function test_delete_instances_atomic_orphan_detection(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const rootId = "orphan-detect-root";
  const childId = `${rootId}::sub::2`;

  await createCompletedInstance(provider, rootId);
  await createChildInstance(provider, childId, rootId);

  await expectExists(mgmt, rootId);
  await expectExists(mgmt, childId);

  const err = await expectProviderError(
    mgmt.deleteInstancesAtomic([rootId], false),
    "CRITICAL: delete_instances_atomic must fail when it would create orphans",
  );
  const message = err.message.toLowerCase();
  assert.ok(
    message.includes("child") || message.includes("orphan") || message.includes("tree"),
    `Error should mention child/orphan/tree issue: ${err.message}`,
  );

  await expectExists(mgmt, rootId, "Root should still exist after failed delete");
  await expectExists(mgmt, childId, "Child should still exist after failed delete");

  try {
    await mgmt.deleteInstancesAtomic([rootId, childId], false);
  } catch (e) {
    assert.fail(`Delete with complete tree should succeed: ${e}`);
  }

  await expectGone(mgmt, rootId, "Root should be deleted");
  await expectGone(mgmt, childId, "Child should be deleted");
}

/**
 * An activity locked before its instance was force-deleted and recreated cannot complete:
 * its ack fails and the new instance never sees the stale completion.
 */
async function test_stale_activity_after_delete_recreate(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  const instanceId = "stale-activity-recreate";

  // Create the instance with a scheduled activity (id 2).
  await provider.enqueueForOrchestrator(startItem(instanceId), null);
  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [
      started(instanceId, 1),
      makeEvent(
        instanceId,
        1,
        2,
        { type: "ActivityScheduled", name: "OldActivity", input: "old-input" },
        2,
      ),
    ],
    [activityItem(instanceId, 1, 2, { name: "OldActivity", input: "old-input" })],
    [],
    { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0" },
    [],
  );

  // A worker locks the activity.
  const work = await provider.fetchWorkItem(30_000, 0, null, DEFAULT_TAG_FILTER);
  assert.ok(work, "expected the activity");
  const oldWorkerLock = work.lockToken;

  // Force-delete the instance.
  const deleted = await mgmt.deleteInstance(instanceId, true);
  assert.ok(deleted.instancesDeleted >= 1, "Force delete should succeed");
  await expectGone(mgmt, instanceId, "Instance should be deleted");

  // Recreate it with the same id, name, version and input.
  await startAndAck(provider, startItem(instanceId), 1, [started(instanceId, 1)], {
    orchestrationName: "TestOrch",
    orchestrationVersion: "1.0.0",
  });

  const info = await mgmt.getInstanceInfo(instanceId);
  assert.equal(info.orchestrationName, "TestOrch");

  // The old activity's worker-queue row went with the delete, so its ack must fail.
  await expectProviderError(
    provider.ackWorkItem(oldWorkerLock, {
      type: "ActivityCompleted",
      instance: instanceId,
      executionId: 1,
      id: 2,
      result: "stale-result-from-old-instance",
    }),
    "CRITICAL: Stale activity ack must fail to prevent corruption of recreated instance",
  );

  // A probe turn must not carry the stale completion.
  await provider.enqueueForOrchestrator(externalRaised(instanceId, "probe-event"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  const hasStaleCompletion = item.messages.some((m) =>
    m.type === "ActivityCompleted" && m.result.includes("stale-result")
  );
  assert.ok(
    !hasStaleCompletion,
    "CRITICAL: New instance must NOT see stale completion from deleted instance. Messages: " +
      JSON.stringify(item.messages),
  );

  // Cleanup; failures here do not matter.
  await provider.ackOrchestrationItem(lockToken, 1, [], [], [], { status: "Completed" }, [])
    .catch(() => {});
  await mgmt.deleteInstance(instanceId, true).catch(() => {});
}

/** The `deletion` category: 13 tests. */
export const deletionTests: ValidationTest[] = [
  test_delete_terminal_instances,
  test_delete_running_rejected_force_succeeds,
  test_delete_nonexistent_instance,
  test_delete_cleans_queues_and_locks,
  test_cascade_delete_hierarchy,
  test_force_delete_prevents_ack_recreation,
  test_list_children,
  test_delete_get_parent_id,
  test_delete_get_instance_tree,
  test_delete_instances_atomic,
  test_delete_instances_atomic_force,
  test_delete_instances_atomic_orphan_detection,
  test_stale_activity_after_delete_recreate,
].map((run) => ({ category: "deletion", name: run.name, run }));
