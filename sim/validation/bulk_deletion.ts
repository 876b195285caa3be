/**
 * Validation category `bulk_deletion`: `deleteInstanceBulk` deletes terminal root instances
 * matching ANDed filters (ids, `completedBefore`, `limit`), silently skips running ones, and
 * deletes each root with its sub-orchestrations.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { createInstance, sleep } from "./helpers.ts";
import { requireAdmin } from "./_partB_util.ts";
import { createCompletedInstance, expectExists, expectGone } from "./_partM_util.ts";

/** Deleting by ids, by unknown ids (0 deleted) and with an empty filter (all terminal ones). */
async function test_delete_instance_bulk_filter_combinations(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  for (let i = 0; i < 5; i++) await createCompletedInstance(provider, `bulk-del-filter-${i}`);

  // By ids.
  let result = await mgmt.deleteInstanceBulk({
    instanceIds: ["bulk-del-filter-0", "bulk-del-filter-1"],
  });
  assert.equal(result.instancesDeleted, 2, "Should delete 2 instances by ID");
  await expectGone(mgmt, "bulk-del-filter-0", "bulk-del-filter-0 should be deleted");
  await expectGone(mgmt, "bulk-del-filter-1", "bulk-del-filter-1 should be deleted");
  await expectExists(mgmt, "bulk-del-filter-2");

  // Unknown ids delete nothing.
  result = await mgmt.deleteInstanceBulk({
    instanceIds: ["does-not-exist-1", "does-not-exist-2"],
  });
  assert.equal(result.instancesDeleted, 0, "Non-existent IDs should return 0 deleted");

  // An empty filter deletes the remaining terminal instances.
  result = await mgmt.deleteInstanceBulk({});
  assert.ok(
    result.instancesDeleted >= 3,
    "Empty filter should delete remaining terminal instances",
  );
  await expectGone(mgmt, "bulk-del-filter-2", "bulk-del-filter-2 should be deleted");
  await expectGone(mgmt, "bulk-del-filter-3", "bulk-del-filter-3 should be deleted");
  await expectGone(mgmt, "bulk-del-filter-4", "bulk-del-filter-4 should be deleted");
}

/** Running instances are skipped; `limit` caps each call, so repeated calls drain in batches. */
async function test_delete_instance_bulk_safety_and_limits(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  await createCompletedInstance(provider, "bulk-del-safe-completed-1");
  await createCompletedInstance(provider, "bulk-del-safe-completed-2");
  await createInstance(provider, "bulk-del-safe-running-1");
  await createInstance(provider, "bulk-del-safe-running-2");

  // Running instances are skipped.
  const result = await mgmt.deleteInstanceBulk({
    instanceIds: [
      "bulk-del-safe-completed-1",
      "bulk-del-safe-completed-2",
      "bulk-del-safe-running-1",
      "bulk-del-safe-running-2",
    ],
  });
  assert.equal(result.instancesDeleted, 2, "Should only delete completed instances");
  await expectExists(mgmt, "bulk-del-safe-running-1", "Running instance should not be deleted");
  await expectExists(mgmt, "bulk-del-safe-running-2", "Running instance should not be deleted");

  // Four more terminal instances, deleted two at a time.
  for (let i = 0; i < 4; i++) await createCompletedInstance(provider, `bulk-del-batch-${i}`);

  const result1 = await mgmt.deleteInstanceBulk({ limit: 2 });
  assert.equal(result1.instancesDeleted, 2, "First batch should delete 2");
  const result2 = await mgmt.deleteInstanceBulk({ limit: 2 });
  assert.equal(result2.instancesDeleted, 2, "Second batch should delete 2");
  const result3 = await mgmt.deleteInstanceBulk({ limit: 2 });
  assert.equal(result3.instancesDeleted, 0, "Third batch should delete 0 (all gone)");
}

/** `completedBefore` keeps instances completed after the cutoff and deletes earlier ones. */
async function test_delete_instance_bulk_completed_before_filter(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const beforeCreation = Date.now();
  // Millisecond timestamps: make sure the completions come strictly after the cutoff.
  await sleep(10);

  await createCompletedInstance(provider, "bulk-del-time-1");
  await createCompletedInstance(provider, "bulk-del-time-2");

  await sleep(10);
  const afterCreation = Date.now();

  // Completed after `beforeCreation`: nothing matches.
  let result = await mgmt.deleteInstanceBulk({
    instanceIds: ["bulk-del-time-1", "bulk-del-time-2"],
    completedBefore: beforeCreation,
  });
  assert.equal(
    result.instancesDeleted,
    0,
    "No instances should be deleted - they were completed after the cutoff",
  );
  await expectExists(mgmt, "bulk-del-time-1", "Instance 1 should still exist");
  await expectExists(mgmt, "bulk-del-time-2", "Instance 2 should still exist");

  // Completed before `afterCreation`: both match.
  result = await mgmt.deleteInstanceBulk({
    instanceIds: ["bulk-del-time-1", "bulk-del-time-2"],
    completedBefore: afterCreation,
  });
  assert.equal(
    result.instancesDeleted,
    2,
    "Both instances should be deleted - they were completed before the cutoff",
  );
  await expectGone(mgmt, "bulk-del-time-1", "Instance 1 should be deleted");
  await expectGone(mgmt, "bulk-del-time-2", "Instance 2 should be deleted");
}

/** Roots with one child, with three children and with none, deleted in one call: 7 in all. */
async function test_delete_instance_bulk_cascades_to_children(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  // A parent with one child.
  const parent1 = "bulk-del-cascade-parent1";
  const child1 = "bulk-del-cascade-child1";
  await createCompletedInstance(provider, parent1);
  await createCompletedInstance(provider, child1, parent1);

  // A parent with three children.
  const parent2 = "bulk-del-cascade-parent2";
  const child2a = "bulk-del-cascade-child2a";
  const child2b = "bulk-del-cascade-child2b";
  const child2c = "bulk-del-cascade-child2c";
  await createCompletedInstance(provider, parent2);
  await createCompletedInstance(provider, child2a, parent2);
  await createCompletedInstance(provider, child2b, parent2);
  await createCompletedInstance(provider, child2c, parent2);

  // A standalone instance.
  const standalone = "bulk-del-cascade-standalone";
  await createCompletedInstance(provider, standalone);

  for (const id of [parent1, child1, parent2, child2a, child2b, child2c, standalone]) {
    await expectExists(mgmt, id);
  }

  const result = await mgmt.deleteInstanceBulk({ instanceIds: [parent1, parent2, standalone] });
  // 3 roots + 1 child of parent1 + 3 children of parent2.
  assert.equal(result.instancesDeleted, 7, "Should delete all roots and their children");

  await expectGone(mgmt, parent1, "Parent1 should be deleted");
  await expectGone(mgmt, child1, "Child1 should be cascade deleted");
  await expectGone(mgmt, parent2, "Parent2 should be deleted");
  await expectGone(mgmt, child2a, "Child2a should be cascade deleted");
  await expectGone(mgmt, child2b, "Child2b should be cascade deleted");
  await expectGone(mgmt, child2c, "Child2c should be cascade deleted");
  await expectGone(mgmt, standalone, "Standalone should be deleted");
}

/** The `bulk_deletion` category: 4 tests. */
export const bulkDeletionTests: ValidationTest[] = [
  test_delete_instance_bulk_filter_combinations,
  test_delete_instance_bulk_safety_and_limits,
  test_delete_instance_bulk_completed_before_filter,
  test_delete_instance_bulk_cascades_to_children,
].map((run) => ({ category: "bulk_deletion", name: run.name, run }));
