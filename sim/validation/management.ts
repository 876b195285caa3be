/**
 * Validation category `management`: the listing and inspection calls of the management
 * capability (`ProviderAdmin`): instances, executions, instance and execution info, system
 * metrics and queue depths. The `getInstanceStats` tests of Duroxide's module live in
 * `instance_stats.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { createInstance, startItem } from "./helpers.ts";
import { requireAdmin } from "./_partB_util.ts";
import { startAndAck, started } from "./_partM_util.ts";

/** `listInstances` returns every created instance. */
async function test_list_instances(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  for (let i = 0; i < 3; i++) await createInstance(provider, `mgmt-inst-${i}`);

  const instances = await mgmt.listInstances();
  assert.ok(instances.length >= 3, "Should list all created instances");
  for (let i = 0; i < 3; i++) {
    assert.ok(instances.includes(`mgmt-inst-${i}`), `Should include instance mgmt-inst-${i}`);
  }
}

/** `listInstancesByStatus("Completed")` includes a completed instance. */
async function test_list_instances_by_status(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  await startAndAck(provider, startItem("mgmt-completed"), 1, [started("mgmt-completed", 1)], {
    status: "Completed",
    output: "done",
    orchestrationName: "TestOrch",
    orchestrationVersion: "1.0.0",
  });

  const completed = await mgmt.listInstancesByStatus("Completed");
  assert.ok(completed.includes("mgmt-completed"), "Should list completed instance");
}

/** `listExecutions` lists execution 1 (acked with default metadata). */
async function test_list_executions(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  await startAndAck(provider, startItem("mgmt-multi-exec"), 1, [started("mgmt-multi-exec", 1)], {});

  const executions = await mgmt.listExecutions("mgmt-multi-exec");
  assert.ok(executions.includes(1), "Should list execution 1");
}

/** `getInstanceInfo` reports the name, version and current execution from the metadata. */
async function test_get_instance_info(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  await startAndAck(
    provider,
    startItem("mgmt-info"),
    1,
    [started("mgmt-info", 1, { name: "InfoOrch", version: "2.0.0", input: "test" })],
    { orchestrationName: "InfoOrch", orchestrationVersion: "2.0.0" },
  );

  const info = await mgmt.getInstanceInfo("mgmt-info");
  assert.equal(info.instanceId, "mgmt-info");
  assert.equal(info.orchestrationName, "InfoOrch");
  assert.equal(info.orchestrationVersion, "2.0.0");
  assert.equal(info.currentExecutionId, 1);
}

/** `getExecutionInfo` reports the status and output the ack stored. */
async function test_get_execution_info(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  // The event names another instance on purpose, as in Duroxide: the provider stores it under
  // the locked instance.
  await startAndAck(provider, startItem("mgmt-exec-info"), 1, [started("mgmt-bulk-del", 1)], {
    status: "Completed",
    output: "result",
  });

  const info = await mgmt.getExecutionInfo("mgmt-exec-info", 1);
  assert.equal(info.executionId, 1);
  assert.equal(info.status, "Completed");
  assert.equal(info.output, "result");
}

/** `getSystemMetrics` counts a new instance and its events. */
async function test_get_system_metrics(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const baselineInstances = (await mgmt.getSystemMetrics()).totalInstances;

  await startAndAck(provider, startItem("mgmt-metrics"), 1, [started("mgmt-cancel", 1)], {
    orchestrationName: "TestOrch",
    orchestrationVersion: "1.0.0",
  });

  const updated = await mgmt.getSystemMetrics();
  assert.ok(updated.totalInstances > baselineInstances, "total_instances should increase");
  assert.ok(updated.totalEvents > 0, "total_events should be > 0");
}

/** `getQueueDepths` counts a newly enqueued orchestrator message. */
async function test_get_queue_depths(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  const baselineOrch = (await mgmt.getQueueDepths()).orchestratorQueue;

  await provider.enqueueForOrchestrator(startItem("mgmt-queue"), null);

  const updated = await mgmt.getQueueDepths();
  assert.ok(updated.orchestratorQueue > baselineOrch, "orchestrator_queue should increase");
}

/**
 * The `management` category: 7 tests of listing and inspection (Duroxide's module also has
 * the six `getInstanceStats` tests, exported as `instanceStatsTests`).
 */
export const managementTests: ValidationTest[] = [
  test_list_instances,
  test_list_instances_by_status,
  test_list_executions,
  test_get_instance_info,
  test_get_execution_info,
  test_get_system_metrics,
  test_get_queue_depths,
].map((run) => ({ category: "management", name: run.name, run }));
