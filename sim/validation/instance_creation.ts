/**
 * Validation tests of the `instance_creation` category: instances are created by
 * `ackOrchestrationItem` from its metadata, never by an enqueue, and a fetch works before the
 * instance exists.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ExecutionMetadata, WorkItem } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { fetchOrchestrationOrFail, LONG_LOCK_MS, startItem } from "./helpers.ts";
import { orchestrationStarted } from "./_partA_util.ts";

/** A new instance's fetch takes its name from the start item; the ack's metadata sets the version. */
async function testInstanceCreationViaMetadata(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // Enqueue a start: the instance must not exist yet.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);

  // The fetch takes what it needs from the work item.
  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(first.item.instance, "instance-A");
  assert.equal(first.item.orchestrationName, "TestOrch");
  // The version may be anything here (taken from the work item or unknown).
  assert.equal(first.item.executionId, 1);
  assert.equal(first.item.history.length, 0);

  // The ack's metadata creates the instance, with the version the runtime resolved.
  const metadata: ExecutionMetadata = {
    orchestrationName: "TestOrch",
    orchestrationVersion: "2.0.0",
  };
  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [orchestrationStarted("instance-A", 1, 1, { version: "2.0.0" })],
    [],
    [],
    metadata,
    [],
  );

  // Fetch again: now the instance row supplies the metadata.
  await provider.enqueueForOrchestrator(startItem("instance-A"), null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(second.item.instance, "instance-A");
  assert.equal(second.item.orchestrationName, "TestOrch");
  assert.equal(second.item.version, "2.0.0", "version comes from the metadata, not the item");
  assert.equal(second.item.executionId, 1);
  assert.equal(second.item.history.length, 1);

  // Clean up.
  await provider.ackOrchestrationItem(second.lockToken, 1, [], [], [], {}, []);
}

/** Enqueueing a start creates no instance, yet the fetch works. */
async function testNoInstanceCreationOnEnqueue(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForOrchestrator(startItem("instance-B"), null);

  // The fetch must work although the instance does not exist.
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(result !== null, "Should be able to fetch work item even if instance doesn't exist");
  assert.equal(result.item.instance, "instance-B");

  // Clean up.
  await provider.ackOrchestrationItem(
    result.lockToken,
    1,
    [orchestrationStarted("instance-B", 1, 1)],
    [],
    [],
    { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0" },
    [],
  );
}

/** A start without a version works; the ack's metadata sets the version later. */
async function testNullVersionHandling(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const start: WorkItem = {
    type: "StartOrchestration",
    instance: "instance-C",
    orchestration: "TestOrch",
    input: "{}",
    version: null,
    parentInstance: null,
    parentId: null,
    executionId: 1,
  };
  await provider.enqueueForOrchestrator(start, null);

  // The fetch copes with the missing version.
  const first = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(first.item.instance, "instance-C");

  // The metadata sets the version.
  await provider.ackOrchestrationItem(
    first.lockToken,
    1,
    [orchestrationStarted("instance-C", 1, 1, { version: "3.0.0" })],
    [],
    [],
    { orchestrationName: "TestOrch", orchestrationVersion: "3.0.0" },
    [],
  );

  await provider.enqueueForOrchestrator(startItem("instance-C"), null);
  const second = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(second.item.version, "3.0.0", "version comes from the metadata");

  // Clean up.
  await provider.ackOrchestrationItem(second.lockToken, 1, [], [], [], {}, []);
}

/** A sub-orchestration's instance is created by its own first ack, too. */
async function testSubOrchestrationInstanceCreation(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // The parent, whose first turn starts the child.
  await provider.enqueueForOrchestrator(startItem("parent-instance"), null);
  const parent = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(
    parent.lockToken,
    1,
    [orchestrationStarted("parent-instance", 1, 1, { name: "ParentOrch" })],
    [],
    [{
      type: "StartOrchestration",
      instance: "parent-instance::child-instance",
      orchestration: "ChildOrch",
      input: "{}",
      version: null,
      parentInstance: "parent-instance",
      parentId: 1,
      executionId: 1,
    }],
    { orchestrationName: "ParentOrch", orchestrationVersion: "1.0.0" },
    [],
  );

  // The child does not exist yet, but its start can be fetched.
  const child = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(child.item.instance, "parent-instance::child-instance");
  assert.equal(child.item.orchestrationName, "ChildOrch");

  // The child's ack creates it.
  await provider.ackOrchestrationItem(
    child.lockToken,
    1,
    [orchestrationStarted("parent-instance::child-instance", 1, 1, {
      name: "ChildOrch",
      version: "1.5.0",
      parentInstance: "parent-instance",
      parentId: 1,
    })],
    [],
    [],
    { orchestrationName: "ChildOrch", orchestrationVersion: "1.5.0" },
    [],
  );

  // The child exists, with the version from the metadata.
  await provider.enqueueForOrchestrator({
    type: "StartOrchestration",
    instance: "parent-instance::child-instance",
    orchestration: "ChildOrch",
    input: "{}",
    version: null,
    parentInstance: null,
    parentId: null,
    executionId: 1,
  }, null);
  const child2 = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  assert.equal(child2.item.instance, "parent-instance::child-instance");
  assert.equal(child2.item.version, "1.5.0", "version comes from the metadata");

  // Clean up.
  await provider.ackOrchestrationItem(child2.lockToken, 1, [], [], [], {}, []);
}

/** The `instance_creation` category (4 tests, as in Duroxide). */
export const instanceCreationTests: ValidationTest[] = [
  {
    category: "instance_creation",
    name: "test_instance_creation_via_metadata",
    run: testInstanceCreationViaMetadata,
  },
  {
    category: "instance_creation",
    name: "test_no_instance_creation_on_enqueue",
    run: testNoInstanceCreationOnEnqueue,
  },
  {
    category: "instance_creation",
    name: "test_null_version_handling",
    run: testNullVersionHandling,
  },
  {
    category: "instance_creation",
    name: "test_sub_orchestration_instance_creation",
    run: testSubOrchestrationInstanceCreation,
  },
];
