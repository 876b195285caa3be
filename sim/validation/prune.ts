/**
 * Validation category `prune`: `pruneExecutions` and `pruneExecutionsBulk` delete old
 * executions of `continueAsNew` chains by `keepLast`, never the current execution, and bulk
 * pruning includes running instances.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Provider } from "../../src/provider_api.ts";
import type { WorkItem } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { expectProviderError, startItem } from "./helpers.ts";
import { requireAdmin } from "./_partB_util.ts";
import { startAndAck, started } from "./_partM_util.ts";

/**
 * Creates `instance` with executions 1..`executions` of orchestration `name` 1.0.0, each
 * acked in one turn: execution 1 from a start, the others from `ContinueAsNew` messages. Every
 * execution but the last is marked `ContinuedAsNew`; the last gets `lastStatus`.
 */
async function createExecutionChain(
  provider: Provider,
  instance: string,
  executions: number,
  name: string,
  lastStatus: string,
): Promise<void> {
  for (let executionId = 1; executionId <= executions; executionId++) {
    const status = executionId === executions ? lastStatus : "ContinuedAsNew";
    const item: WorkItem = executionId === 1 ? startItem(instance) : {
      type: "ContinueAsNew",
      instance,
      orchestration: name,
      input: "{}",
      version: "1.0.0",
      carryForwardEvents: [],
    };
    await startAndAck(provider, item, executionId, [started(instance, executionId, { name })], {
      status,
      orchestrationName: name,
      orchestrationVersion: "1.0.0",
    });
  }
}

/** `executions` executions of `TestOrch`; the last one `Completed`. */
function createMultiExecutionInstance(
  provider: Provider,
  instance: string,
  executions: number,
): Promise<void> {
  return createExecutionChain(provider, instance, executions, "TestOrch", "Completed");
}

/** `executions` executions of `LongRunning`; the last one still `Running`. */
function createRunningMultiExecutionInstance(
  provider: Provider,
  instance: string,
  executions: number,
): Promise<void> {
  return createExecutionChain(provider, instance, executions, "LongRunning", "Running");
}

/** `keepLast: 2` keeps two executions; empty options keep only the current one. */
async function test_prune_options_combinations(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const instanceId = "prune-options-test";
  await createMultiExecutionInstance(provider, instanceId, 4);

  const executions = await mgmt.listExecutions(instanceId);
  assert.equal(executions.length, 4, "Should have 4 executions");

  // keepLast 2: deletes two, keeps two.
  const result = await mgmt.pruneExecutions(instanceId, { keepLast: 2 });
  assert.equal(result.instancesProcessed, 1);
  const executionsAfter = await mgmt.listExecutions(instanceId);
  assert.equal(executionsAfter.length, 2, "Should have 2 executions after prune");
  // The newest ones (3 and 4) are kept.
  assert.ok(executionsAfter.includes(3) || executionsAfter.includes(4));

  // Empty options prune every old execution but keep the current one.
  const instanceId2 = "prune-options-empty";
  await createMultiExecutionInstance(provider, instanceId2, 3);

  const currentExec = (await mgmt.getInstanceInfo(instanceId2)).currentExecutionId;

  await mgmt.pruneExecutions(instanceId2, { keepLast: null, completedBefore: null });

  const remaining = await mgmt.listExecutions(instanceId2);
  assert.equal(
    remaining.length,
    1,
    "Only current execution should remain after empty-options prune",
  );
  assert.equal(remaining[0], currentExec, "The remaining execution should be the current one");
}

/**
 * The current execution survives `keepLast: 0`; an unknown instance is an error; on a
 * completed instance `keepLast` null, 0 and 1 all keep exactly the current execution.
 */
async function test_prune_safety(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  // keepLast 0 still keeps the current execution.
  const instanceId = "prune-safety-current";
  await createMultiExecutionInstance(provider, instanceId, 3);

  await mgmt.pruneExecutions(instanceId, { keepLast: 0 });

  const info = await mgmt.getInstanceInfo(instanceId);
  assert.equal(info.currentExecutionId, 3, "Current execution should remain");

  // An unknown instance is an error.
  await expectProviderError(
    mgmt.pruneExecutions("does-not-exist-prune", { keepLast: 1 }),
    "Prune on non-existent instance should error",
  );

  // On a terminal instance keepLast None, Some(0) and Some(1) are equivalent.
  const cases: [string, number | null][] = [["none", null], ["some0", 0], ["some1", 1]];
  for (const [label, keepLast] of cases) {
    const id = `prune-terminal-${label}`;
    await createMultiExecutionInstance(provider, id, 4);

    const terminal = await mgmt.getInstanceInfo(id);
    assert.equal(terminal.status, "Completed", "Instance should be terminal");
    const currentExec = terminal.currentExecutionId;

    const result = await mgmt.pruneExecutions(id, { keepLast });

    const executions = await mgmt.listExecutions(id);
    assert.equal(
      executions.length,
      1,
      `keep_last=${label}: should have exactly 1 execution remaining`,
    );
    assert.equal(
      executions[0],
      currentExec,
      `keep_last=${label}: remaining execution should be the current one`,
    );
    assert.ok(
      result.executionsDeleted >= 3,
      `keep_last=${label}: should have deleted 3 historical executions`,
    );
  }
}

/** Bulk prune by instance ids prunes those instances only. */
async function test_prune_bulk(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  for (let i = 0; i < 3; i++) {
    await createMultiExecutionInstance(provider, `prune-bulk-${i}`, 4);
  }

  const result = await mgmt.pruneExecutionsBulk(
    { instanceIds: ["prune-bulk-0", "prune-bulk-1"] },
    { keepLast: 1 },
  );
  assert.equal(result.instancesProcessed, 2, "Should process 2 instances");
  assert.ok(result.executionsDeleted >= 4, "Should delete multiple executions across instances");

  const exec0 = await mgmt.listExecutions("prune-bulk-0");
  assert.equal(exec0.length, 1, "Instance 0 should have 1 execution");
  const exec1 = await mgmt.listExecutions("prune-bulk-1");
  assert.equal(exec1.length, 1, "Instance 1 should have 1 execution");
  // Not in the filter: untouched.
  const exec2 = await mgmt.listExecutions("prune-bulk-2");
  assert.equal(exec2.length, 4, "Instance 2 should still have 4 executions");
}

/** Bulk prune also prunes the old executions of a running instance, keeping the current one. */
async function test_prune_bulk_includes_running_instances(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const instanceId = "prune-running-inst";
  await createRunningMultiExecutionInstance(provider, instanceId, 3);

  const executions = await mgmt.listExecutions(instanceId);
  assert.equal(executions.length, 3, "Should have 3 executions");
  let info = await mgmt.getInstanceInfo(instanceId);
  assert.equal(info.status, "Running", "Instance should still be Running");
  assert.equal(info.currentExecutionId, 3, "Current execution should be 3");

  // keepLast 1: executions 1 and 2 go, 3 stays.
  const result = await mgmt.pruneExecutionsBulk({ instanceIds: [instanceId] }, { keepLast: 1 });
  assert.equal(result.instancesProcessed, 1, "Should process the running instance");
  assert.equal(result.executionsDeleted, 2, "Should delete 2 historical executions");

  const remaining = await mgmt.listExecutions(instanceId);
  assert.equal(remaining.length, 1, "Should have 1 execution remaining");
  assert.equal(remaining[0], 3, "Remaining execution should be the current one (3)");

  info = await mgmt.getInstanceInfo(instanceId);
  assert.equal(info.status, "Running", "Instance should still be Running after prune");
}

/** The `prune` category: 4 tests. */
export const pruneTests: ValidationTest[] = [
  test_prune_options_combinations,
  test_prune_safety,
  test_prune_bulk,
  test_prune_bulk_includes_running_instances,
].map((run) => ({ category: "prune", name: run.name, run }));
