/**
 * Validation category `cancellation`: worker items stay fetchable and renewable whatever the
 * orchestration's state, and activity cancellation works by deleting worker-queue rows ("lock
 * stealing") so that the worker's next ack or renew fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Provider } from "../../src/provider_api.ts";
import type { ExecutionMetadata, ScheduledActivityIdentifier, WorkItem } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import {
  activityItem,
  DEFAULT_TAG_FILTER,
  expectProviderError,
  fetchWork,
  LONG_LOCK_MS,
  makeEvent,
  startItem,
} from "./helpers.ts";
import {
  expectPermanentError,
  externalRaised,
  requireAdmin,
  startedWithVersion,
} from "./_partB_util.ts";

/** Enqueues a start for `instance` and fetches it (30 s lock); returns the lock token. */
async function fetchStart(provider: Provider, instance: string): Promise<string> {
  await provider.enqueueForOrchestrator(startItem(instance), null);
  const fetched = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(fetched, `expected the start of ${instance}`);
  return fetched.lockToken;
}

/** Enqueues a `Trigger` event for `instance` and fetches the turn; returns the lock token. */
async function fetchTriggerTurn(provider: Provider, instance: string): Promise<string> {
  await provider.enqueueForOrchestrator(externalRaised(instance, "Trigger"), null);
  const fetched = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(fetched, `expected a turn for ${instance}`);
  return fetched.lockToken;
}

/** Metadata naming `TestOrch` (without a version) with the given status. */
function namedMetadata(status: string, output?: string): ExecutionMetadata {
  const metadata: ExecutionMetadata = { orchestrationName: "TestOrch", status };
  if (output !== undefined) metadata.output = output;
  return metadata;
}

/** Identifies activity `activityId` of execution 1 of `instance`. */
function cancelId(instance: string, activityId: number): ScheduledActivityIdentifier {
  return { instance, executionId: 1, activityId };
}

/**
 * Starts `instance`, acking the start with `OrchestrationStarted` (plus `terminal` as event 2,
 * when given), one activity (id 1) and `metadata`; then asserts the activity is fetchable.
 */
async function activityFetchableAfterStart(
  provider: Provider,
  instance: string,
  metadata: ExecutionMetadata,
  terminal: Parameters<typeof makeEvent>[3] | null,
): Promise<void> {
  const token = await fetchStart(provider, instance);
  const delta = [startedWithVersion(instance, 1, "1.0")];
  if (terminal) delta.push(makeEvent(instance, 1, 2, terminal));
  await provider.ackOrchestrationItem(
    token,
    1,
    delta,
    [activityItem(instance, 1, 1)],
    [],
    metadata,
    [],
  );
  const result = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(result, "Expected to fetch work item");
}

/** `fetch_work_item` returns the activity of a running orchestration. */
async function test_fetch_returns_running_state_for_active_orchestration(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await activityFetchableAfterStart(provider, "inst-running", namedMetadata("Running"), null);
}

/** The activity stays fetchable after its orchestration completed. */
async function test_fetch_returns_terminal_state_when_orchestration_completed(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await activityFetchableAfterStart(
    provider,
    "inst-completed",
    namedMetadata("Completed", "done"),
    { type: "OrchestrationCompleted", output: "done" },
  );
}

/** The activity stays fetchable after its orchestration failed. */
async function test_fetch_returns_terminal_state_when_orchestration_failed(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await activityFetchableAfterStart(provider, "inst-failed", namedMetadata("Failed"), {
    type: "OrchestrationFailed",
    details: {
      type: "Application",
      kind: "OrchestrationFailed",
      message: "boom",
      retryable: false,
    },
  });
}

/** The activity stays fetchable after its execution continued as new. */
async function test_fetch_returns_terminal_state_when_orchestration_continued_as_new(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await activityFetchableAfterStart(
    provider,
    "inst-can",
    namedMetadata("ContinuedAsNew", "new-input"),
    { type: "OrchestrationContinuedAsNew", input: "new-input" },
  );
}

/** An activity whose instance does not exist is still fetchable. */
async function test_fetch_returns_missing_state_when_instance_deleted(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await provider.enqueueForWorker(activityItem("inst-missing", 1, 1));
  const result = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(result, "Expected to fetch work item");
}

/** Renewing the lock of a running orchestration's activity succeeds. */
async function test_renew_returns_running_when_orchestration_active(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-renew-run";
  const token = await fetchStart(provider, instance);
  await provider.ackOrchestrationItem(
    token,
    1,
    [startedWithVersion(instance, 1, "1.0")],
    [activityItem(instance, 1, 1)],
    [],
    namedMetadata("Running"),
    [],
  );
  const fetched = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(fetched);
  await provider.renewWorkItemLock(fetched.lockToken, 30_000);
}

/** Renewing an activity lock succeeds even after the orchestration completed. */
async function test_renew_returns_terminal_when_orchestration_completed(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-renew-term";
  const token = await fetchStart(provider, instance);
  await provider.ackOrchestrationItem(
    token,
    1,
    [startedWithVersion(instance, 1, "1.0")],
    [activityItem(instance, 1, 1)],
    [],
    namedMetadata("Running"),
    [],
  );
  const fetched = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(fetched);

  // Complete the orchestration in a second turn, triggered by an external event.
  const token2 = await fetchTriggerTurn(provider, instance);
  await provider.ackOrchestrationItem(
    token2,
    1,
    [makeEvent(instance, 1, 2, { type: "OrchestrationCompleted", output: "done" })],
    [],
    [],
    { status: "Completed", output: "done" },
    [],
  );

  await provider.renewWorkItemLock(fetched.lockToken, 30_000);
}

/** Renewing the lock of an activity whose instance does not exist succeeds. */
async function test_renew_returns_missing_when_instance_deleted(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await provider.enqueueForWorker(activityItem("inst-renew-missing", 1, 1));
  const fetched = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(fetched);
  await provider.renewWorkItemLock(fetched.lockToken, 30_000);
}

/** `ack_work_item(token, None)` deletes the activity and enqueues nothing. */
async function test_ack_work_item_none_deletes_without_enqueue(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await provider.enqueueForWorker(activityItem("inst-ack-none", 1, 1));
  const fetched = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(fetched);
  await provider.ackWorkItem(fetched.lockToken, null);

  const result = await fetchWork(provider, 100);
  assert.equal(result, null, "Worker queue should be empty");
  const orch = await provider.fetchOrchestrationItem(100, 0, null);
  assert.equal(orch, null, "Orchestrator queue should be empty");
}

/** `cancelled_activities` in an ack removes exactly those rows from the worker queue. */
async function test_cancelled_activities_deleted_from_worker_queue(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-cancel-delete";
  const token = await fetchStart(provider, instance);
  await provider.ackOrchestrationItem(
    token,
    1,
    [startedWithVersion(instance, 1, "1.0")],
    [1, 2, 3].map((id) => activityItem(instance, 1, id, { name: `Activity${id}` })),
    [],
    namedMetadata("Running"),
    [],
  );

  // All three are queued: fetch one, then put it back.
  const first = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(first, "Should have activity in queue");
  await provider.abandonWorkItem(first.lockToken, null, false);

  // Another turn cancels activities 1 and 2.
  const token2 = await fetchTriggerTurn(provider, instance);
  await provider.ackOrchestrationItem(token2, 1, [], [], [], {}, [
    cancelId(instance, 1),
    cancelId(instance, 2),
  ]);

  const remaining = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(remaining, "Should have activity 3 remaining");
  const item: WorkItem = remaining.item;
  if (item.type !== "ActivityExecute") assert.fail(`Expected ActivityExecute, got ${item.type}`);
  assert.equal(
    item.id,
    3,
    "Only activity 3 should remain; activities 1 and 2 should be cancelled",
  );

  const noMore = await fetchWork(provider, 100);
  assert.equal(noMore, null, "Should have no more activities");
}

/** A worker ack fails permanently once the row was deleted (lock stolen). */
async function test_ack_work_item_fails_when_entry_deleted(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await provider.enqueueForWorker(activityItem("inst-ack-stolen", 1, 1));
  const fetched = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(fetched);

  // Simulate lock stealing by deleting the row.
  await provider.ackWorkItem(fetched.lockToken, null);

  const completion: WorkItem = {
    type: "ActivityCompleted",
    instance: "inst-ack-stolen",
    executionId: 1,
    id: 1,
    result: "done",
  };
  await expectPermanentError(
    provider.ackWorkItem(fetched.lockToken, completion),
    "ack_work_item should fail when entry already deleted",
  );
}

/** Renewing a worker lock fails once the row was deleted (the cancellation signal). */
async function test_renew_fails_when_entry_deleted(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await provider.enqueueForWorker(activityItem("inst-renew-stolen", 1, 1));
  const fetched = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(fetched);

  await provider.ackWorkItem(fetched.lockToken, null);

  await expectProviderError(
    provider.renewWorkItemLock(fetched.lockToken, 30_000),
    "renew_work_item_lock should fail when entry deleted",
  );
}

/** Cancelling activities that are not queued does not fail the ack. */
async function test_cancelling_nonexistent_activities_is_idempotent(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-cancel-idempotent";
  const token = await fetchStart(provider, instance);
  try {
    await provider.ackOrchestrationItem(
      token,
      1,
      [startedWithVersion(instance, 1, "1.0")],
      [],
      [],
      { orchestrationName: "TestOrch" },
      [cancelId(instance, 999), cancelId(instance, 1)],
    );
  } catch (err) {
    assert.fail(`Cancelling non-existent activities should not error: ${err}`);
  }
}

/** One ack can cancel several activities. */
async function test_batch_cancellation_deletes_multiple_activities(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-batch-cancel";
  const ids = [1, 2, 3, 4, 5];
  const token = await fetchStart(provider, instance);
  await provider.ackOrchestrationItem(
    token,
    1,
    [startedWithVersion(instance, 1, "1.0")],
    ids.map((id) => activityItem(instance, 1, id, { name: `Activity${id}` })),
    [],
    namedMetadata("Running"),
    [],
  );

  const token2 = await fetchTriggerTurn(provider, instance);
  await provider.ackOrchestrationItem(
    token2,
    1,
    [],
    [],
    [],
    {},
    ids.map((id) => cancelId(instance, id)),
  );

  const remaining = await fetchWork(provider, 100);
  assert.equal(
    remaining,
    null,
    "All activities should be cancelled; worker queue should be empty",
  );
}

/**
 * An activity both scheduled and cancelled in one ack ends up not queued: the provider must
 * insert `worker_items` before deleting `cancelled_activities`.
 */
async function test_same_activity_in_worker_items_and_cancelled_is_noop(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-schedule-then-cancel";
  const token = await fetchStart(provider, instance);

  const activityId = 2;
  await provider.ackOrchestrationItem(
    token,
    1,
    [startedWithVersion(instance, 1, "1.0")],
    [
      activityItem(instance, 1, activityId, { name: "DroppedActivity" }),
      activityItem(instance, 1, 3, { name: "NormalActivity" }),
    ],
    [],
    namedMetadata("Running"),
    [cancelId(instance, activityId)],
  );

  const remaining = await fetchWork(provider, LONG_LOCK_MS);
  assert.ok(remaining, "Should have the normal activity in queue");
  const item: WorkItem = remaining.item;
  if (item.type !== "ActivityExecute") assert.fail(`Expected ActivityExecute, got ${item.type}`);
  assert.equal(
    item.id,
    3,
    "Only the normal activity (id=3) should remain; the scheduled-then-cancelled activity (id=2) should be gone",
  );
  assert.equal(item.name, "NormalActivity");

  await provider.ackWorkItem(remaining.lockToken, null);

  const noMore = await fetchWork(provider, 100);
  assert.equal(
    noMore,
    null,
    "Should have no more activities; the schedule-then-cancel activity should NOT be in queue",
  );
}

/**
 * After a force delete, a queued activity may or may not survive; if it does, running it and
 * acking its completion (which becomes an orphan) must not fail.
 */
async function test_orphan_activity_after_instance_force_deletion(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-orphan-activity";
  const token = await fetchStart(provider, instance);
  await provider.ackOrchestrationItem(
    token,
    1,
    [startedWithVersion(instance, 1, "1.0.0")],
    [activityItem(instance, 1, 1, { input: "test-input" })],
    [],
    { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0", status: "Running" },
    [],
  );

  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  const deleted = await mgmt.deleteInstance(instance, true);
  assert.ok(deleted.instancesDeleted > 0, "Force delete should remove the instance");
  await expectProviderError(mgmt.getInstanceInfo(instance), "Instance should no longer exist");

  // Worker rows may or may not survive deletion; both behaviours are valid.
  const work = await provider.fetchWorkItem(5_000, 0, null, DEFAULT_TAG_FILTER);
  if (work) {
    await provider.ackWorkItem(work.lockToken, {
      type: "ActivityCompleted",
      instance,
      executionId: 1,
      id: 1,
      result: "orphan-result",
    });
  }
}

/** The `cancellation` category: 16 tests. */
export const cancellationTests: ValidationTest[] = [
  test_fetch_returns_running_state_for_active_orchestration,
  test_fetch_returns_terminal_state_when_orchestration_completed,
  test_fetch_returns_terminal_state_when_orchestration_failed,
  test_fetch_returns_terminal_state_when_orchestration_continued_as_new,
  test_fetch_returns_missing_state_when_instance_deleted,
  test_renew_returns_running_when_orchestration_active,
  test_renew_returns_terminal_when_orchestration_completed,
  test_renew_returns_missing_when_instance_deleted,
  test_ack_work_item_none_deletes_without_enqueue,
  test_cancelled_activities_deleted_from_worker_queue,
  test_ack_work_item_fails_when_entry_deleted,
  test_renew_fails_when_entry_deleted,
  test_cancelling_nonexistent_activities_is_idempotent,
  test_batch_cancellation_deletes_multiple_activities,
  test_same_activity_in_worker_items_and_cancelled_is_noop,
  test_orphan_activity_after_instance_force_deletion,
].map((run) => ({ category: "cancellation", name: run.name, run }));
