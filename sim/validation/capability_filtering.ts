/**
 * Validation category `capability_filtering`: orchestration fetches filtered by the runtime
 * version an execution is pinned to, pinned versions stored from `ExecutionMetadata`, and the
 * contract for history that cannot be decoded (`historyError`, append-only acks).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Provider } from "../../src/provider_api.ts";
import type { ErrorDetails } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { LONG_LOCK_MS, makeEvent, sleep, startItem } from "./helpers.ts";
import {
  deserializationPoisonMessage,
  externalRaised,
  filterForRange,
  pinnedStartedEvent,
  requireAdmin,
  seedInstanceWithVersion,
  ver,
} from "./_partB_util.ts";

/** #1: without a filter, a fetch returns any instance. */
async function test_fetch_with_filter_none_returns_any_item(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-1", ver(1, 2, 3));

  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(result, "filter=None should return any item");
}

/** #2: a filter whose range contains the pinned version returns the instance. */
async function test_fetch_with_compatible_filter_returns_item(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-2", ver(1, 2, 3));

  const filter = filterForRange(ver(1, 0, 0), ver(1, 9, 9));
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(result, "Compatible filter should return item");
}

/** #3: a filter whose range excludes the pinned version returns nothing. */
async function test_fetch_with_incompatible_filter_skips_item(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-3", ver(1, 2, 3));

  const filter = filterForRange(ver(2, 0, 0), ver(2, 9, 9));
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.equal(result, null, "Incompatible filter should return None");
}

/** #4: among instances pinned to different versions, the filter picks the compatible one. */
async function test_fetch_filter_skips_incompatible_selects_compatible(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-v1", ver(1, 0, 0));
  await seedInstanceWithVersion(provider, "inst-v2", ver(2, 0, 0));

  const filterV2 = filterForRange(ver(2, 0, 0), ver(2, 9, 9));
  const v2 = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filterV2);
  assert.ok(v2, "Should return v2 instance");
  assert.equal(v2.item.instance, "inst-v2");
  await provider.abandonOrchestrationItem(v2.lockToken, null, true);

  const filterV1 = filterForRange(ver(1, 0, 0), ver(1, 9, 9));
  const v1 = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filterV1);
  assert.ok(v1, "Should return v1 instance");
  assert.equal(v1.item.instance, "inst-v1");
}

/** #5: an instance skipped by the filter is not left locked. */
async function test_fetch_filter_does_not_lock_skipped_instances(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-5", ver(1, 0, 0));

  const incompatible = filterForRange(ver(2, 0, 0), ver(2, 9, 9));
  const skipped = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, incompatible);
  assert.equal(skipped, null);

  const compatible = filterForRange(ver(0, 0, 0), ver(1, 9, 9));
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, compatible);
  assert.ok(result, "Instance should not have been locked by incompatible fetch");
}

/** #6: an execution without a pinned version matches every filter. */
async function test_fetch_filter_null_pinned_version_always_compatible(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForOrchestrator(startItem("inst-null"), null);
  const start = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(start);
  await provider.ackOrchestrationItem(
    start.lockToken,
    1,
    [pinnedStartedEvent("inst-null", "0.0.0")],
    [],
    [],
    { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0", pinnedDuroxideVersion: null },
    [],
  );

  await provider.enqueueForOrchestrator(externalRaised("inst-null", "ping"), null);

  const filter = filterForRange(ver(99, 0, 0), ver(99, 9, 9));
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(result, "NULL pinned version should be always compatible");
}

/** #7: the range is inclusive at both ends; the next major version is outside. */
async function test_fetch_filter_boundary_versions(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const filter = filterForRange(ver(1, 0, 0), ver(1, 9, 99));

  await seedInstanceWithVersion(provider, "v1-low", ver(1, 0, 0));
  const low = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(low, "v1.0.0 should be within [1.0.0, 1.9.99]");
  assert.equal(low.item.instance, "v1-low");
  await provider.abandonOrchestrationItem(low.lockToken, null, true);

  await seedInstanceWithVersion(provider, "v1-high", ver(1, 9, 99));
  const high = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(high, "v1.9.99 should be within [1.0.0, 1.9.99]");
  await provider.abandonOrchestrationItem(high.lockToken, null, true);

  // A separate provider, so the v1 instances above cannot interfere (the filtered fetch below
  // expects nothing, so this needs a provider whose store does not hold them).
  const provider2 = await factory.createProvider();
  await seedInstanceWithVersion(provider2, "v2-exact", ver(2, 0, 0));

  const outside = await provider2.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.equal(outside, null, "v2.0.0 should NOT be within [1.0.0, 1.9.99]");

  const unfiltered = await provider2.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(unfiltered, "v2-exact should be fetchable without filter");
}

/** #8: the pinned version sent in ack metadata is what the filter matches. */
async function test_pinned_version_stored_via_ack_metadata(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-8", ver(3, 1, 4));

  const filter = filterForRange(ver(3, 0, 0), ver(3, 9, 9));
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(result, "Version stored via metadata should be filterable");
}

/** #9: later acks without a pinned version keep the stored one. */
async function test_pinned_version_immutable_across_ack_cycles(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-9", ver(1, 0, 0));

  const filter = filterForRange(ver(0, 0, 0), ver(1, 9, 9));
  const turn = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(turn);
  assert.equal(turn.item.instance, "inst-9");

  await provider.ackOrchestrationItem(
    turn.lockToken,
    1,
    [],
    [],
    [],
    { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0" },
    [],
  );

  await provider.enqueueForOrchestrator(externalRaised("inst-9", "ping2"), null);

  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(result, "Pinned version should persist across ack cycles");
}

/** #10/#11: after ContinueAsNew, the new execution is filtered by its own pinned version. */
async function test_continue_as_new_execution_gets_own_pinned_version(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-can", ver(1, 0, 0));

  // Execution 1 continues as new.
  const filterV1 = filterForRange(ver(0, 0, 0), ver(1, 9, 9));
  const turn = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filterV1);
  assert.ok(turn);
  await provider.ackOrchestrationItem(
    turn.lockToken,
    1,
    [makeEvent("inst-can", 1, 2, { type: "OrchestrationContinuedAsNew", input: "{}" })],
    [],
    [{
      type: "ContinueAsNew",
      instance: "inst-can",
      orchestration: "TestOrch",
      input: "{}",
      version: "1.0.0",
      carryForwardEvents: [],
    }],
    { status: "ContinuedAsNew", orchestrationName: "TestOrch", orchestrationVersion: "1.0.0" },
    [],
  );

  // Execution 2 starts, pinned at 2.0.0.
  const can = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(can);
  const started = { ...pinnedStartedEvent("inst-can", "2.0.0"), executionId: 2 };
  await provider.ackOrchestrationItem(
    can.lockToken,
    2,
    [started],
    [],
    [],
    {
      orchestrationName: "TestOrch",
      orchestrationVersion: "1.0.0",
      pinnedDuroxideVersion: ver(2, 0, 0),
    },
    [],
  );

  await provider.enqueueForOrchestrator(externalRaised("inst-can", "ping"), null);

  const filterV2 = filterForRange(ver(2, 0, 0), ver(2, 9, 9));
  const v2 = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filterV2);
  assert.ok(v2, "Should return item with v2 filter after ContinueAsNew");
  assert.equal(v2.item.instance, "inst-can");
  await provider.abandonOrchestrationItem(v2.lockToken, null, true);

  const filterV1Only = filterForRange(ver(1, 0, 0), ver(1, 9, 9));
  const v1 = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filterV1Only);
  assert.equal(
    v1,
    null,
    "v1.x filter must NOT match execution 2 — pinned version should be 2.0.0, not inherited 1.0.0",
  );
}

/** #22: a filter with no version ranges matches nothing. */
async function test_filter_with_empty_supported_versions_returns_nothing(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-empty", ver(1, 0, 0));

  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, {
    supportedDuroxideVersions: [],
  });
  assert.equal(result, null, "Empty supported versions should return None");
}

/** #23: a filtered fetch takes the instance lock like any other fetch. */
async function test_concurrent_filtered_fetch_no_double_lock(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-conc", ver(1, 0, 0));

  const filter = filterForRange(ver(0, 0, 0), ver(1, 9, 9));
  const first = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(first, "First fetch should succeed");

  const second = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.equal(second, null, "Second fetch should return None (instance locked)");
}

/** #45: a pinned version sent on a later ack is stored (backfill). */
async function test_ack_stores_pinned_version_via_metadata_update(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-backfill";

  await provider.enqueueForOrchestrator(startItem(instance), null);
  const start = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(start);
  await provider.ackOrchestrationItem(
    start.lockToken,
    1,
    [pinnedStartedEvent(instance, "1.2.3")],
    [],
    [],
    { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0", pinnedDuroxideVersion: null },
    [],
  );

  await provider.enqueueForOrchestrator(externalRaised(instance, "ping"), null);

  const turn = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(turn);
  await provider.ackOrchestrationItem(
    turn.lockToken,
    1,
    [],
    [],
    [],
    {
      orchestrationName: "TestOrch",
      orchestrationVersion: "1.0.0",
      pinnedDuroxideVersion: ver(1, 2, 3),
    },
    [],
  );

  await provider.enqueueForOrchestrator(externalRaised(instance, "ping2"), null);

  const filter = filterForRange(ver(1, 0, 0), ver(1, 9, 9));
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(result, "Backfilled pinned version should be filterable");
}

/** #46: the provider overwrites the pinned version whenever metadata carries one. */
async function test_provider_updates_pinned_version_when_told(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-update", ver(1, 0, 0));

  const filterV1 = filterForRange(ver(0, 0, 0), ver(1, 9, 9));
  const turn = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filterV1);
  assert.ok(turn);
  await provider.ackOrchestrationItem(
    turn.lockToken,
    1,
    [],
    [],
    [],
    {
      orchestrationName: "TestOrch",
      orchestrationVersion: "1.0.0",
      pinnedDuroxideVersion: ver(2, 0, 0),
    },
    [],
  );

  await provider.enqueueForOrchestrator(externalRaised("inst-update", "ping2"), null);

  const filterV2 = filterForRange(ver(2, 0, 0), ver(2, 0, 0));
  const v2 = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filterV2);
  assert.ok(v2, "Provider should have updated pinned version to 2.0.0");
  await provider.abandonOrchestrationItem(v2.lockToken, null, true);

  const filterV1Only = filterForRange(ver(1, 0, 0), ver(1, 0, 0));
  const v1 = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filterV1Only);
  assert.equal(v1, null, "Should no longer match v1 filter — version was updated to v2");
}

/**
 * #39: with corrupted history, an excluding filter returns nothing (no error, no decoding);
 * without a filter the item comes back with `historyError` set and empty history.
 */
async function test_fetch_corrupted_history_filtered_vs_unfiltered(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-corrupt-39";
  await seedInstanceWithVersion(provider, instance, ver(1, 0, 0));
  await factory.corruptInstanceHistory(instance);

  const excluding = filterForRange(ver(2, 0, 0), ver(2, 9, 9));
  let filtered;
  try {
    filtered = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, excluding);
  } catch (err) {
    assert.fail(`Filtered fetch should not produce an error for excluded items: ${err}`);
  }
  assert.equal(filtered, null, "Filtered fetch should return None for excluded version");

  let unfiltered;
  try {
    unfiltered = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  } catch (err) {
    assert.fail(`Should return Ok(Some(...)) with history_error, not Err: ${err}`);
  }
  assert.ok(unfiltered, "Should return item with history_error for corrupted history, not None");
  assert.ok(
    typeof unfiltered.item.historyError === "string",
    "Corrupted history should set history_error, got None",
  );
  assert.equal(
    unfiltered.item.history.length,
    0,
    "History should be empty when deserialization fails",
  );
  assert.equal(unfiltered.item.instance, instance);
  await provider.abandonOrchestrationItem(unfiltered.lockToken, null, true);
}

/**
 * Fetches (50 ms lock) an item that must carry `historyError`, abandons it keeping the attempt,
 * and waits 100 ms for the lock to lapse.
 */
async function fetchCorruptedAndAbandon(provider: Provider, what: string): Promise<void> {
  let result;
  try {
    result = await provider.fetchOrchestrationItem(50, 0, null);
  } catch (err) {
    assert.fail(`${what}: expected Ok(Some) with history_error, got Err: ${err}`);
  }
  assert.ok(result, `${what}: expected Ok(Some) with history_error, got None`);
  assert.ok(typeof result.item.historyError === "string", `${what} should have history_error set`);
  await provider.abandonOrchestrationItem(result.lockToken, null, false);
}

/** #41: every fetch of corrupted history increments the attempt count. */
async function test_fetch_deserialization_error_increments_attempt_count(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-deser-41";
  await seedInstanceWithVersion(provider, instance, ver(1, 0, 0));
  await factory.corruptInstanceHistory(instance);

  await fetchCorruptedAndAbandon(provider, "First fetch");
  await sleep(100);
  await fetchCorruptedAndAbandon(provider, "Second fetch");

  const maxAttempt = await factory.getMaxAttemptCount(instance);
  assert.ok(
    maxAttempt >= 2,
    `attempt_count should be >= 2 after two fetch cycles, got ${maxAttempt}`,
  );
}

/** #42: repeated fetches of corrupted history keep counting attempts toward poison. */
async function test_fetch_deserialization_error_eventually_reaches_poison(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-poison-42";
  await seedInstanceWithVersion(provider, instance, ver(1, 0, 0));
  await factory.corruptInstanceHistory(instance);

  const maxAttempts = 5;
  for (let i = 0; i < maxAttempts; i++) {
    await fetchCorruptedAndAbandon(provider, `Fetch #${i + 1}`);
    await sleep(100);
  }

  const maxAttempt = await factory.getMaxAttemptCount(instance);
  assert.ok(
    maxAttempt >= maxAttempts,
    `attempt_count should be >= ${maxAttempts} after ${maxAttempts} fetch cycles, got ${maxAttempt}`,
  );
}

/** #43: the filter is applied before history is decoded. */
async function test_fetch_filter_applied_before_history_deserialization(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-order-43";
  await seedInstanceWithVersion(provider, instance, ver(99, 0, 0));
  await factory.corruptInstanceHistory(instance);

  const filter = filterForRange(ver(1, 0, 0), ver(2, 0, 0));
  let filtered;
  try {
    filtered = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  } catch (err) {
    assert.fail(`Filter should be applied before deserialization; got error: ${err}`);
  }
  assert.equal(filtered, null, "Excluded version should not be returned");

  let unfiltered;
  try {
    unfiltered = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  } catch (err) {
    assert.fail(`Unfiltered fetch should return Ok(Some) with history_error, not Err: ${err}`);
  }
  assert.ok(unfiltered, "Unfiltered fetch should return item with history_error, not None");
  assert.ok(
    typeof unfiltered.item.historyError === "string",
    "Unfiltered fetch of corrupted history should have history_error set",
  );
  await provider.abandonOrchestrationItem(unfiltered.lockToken, null, true);
}

/** #44: only the first range of the filter is used. */
async function test_fetch_single_range_only_uses_first_range(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await seedInstanceWithVersion(provider, "inst-range-a", ver(1, 0, 0));
  await seedInstanceWithVersion(provider, "inst-range-b", ver(3, 0, 0));

  const filter = {
    supportedDuroxideVersions: [
      { min: ver(1, 0, 0), max: ver(1, 5, 0) },
      { min: ver(3, 0, 0), max: ver(3, 5, 0) },
    ],
  };

  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  assert.ok(result, "Should return instance A (first range)");
  assert.equal(
    result.item.instance,
    "inst-range-a",
    "Phase 1: only first range should be used, returning instance A",
  );
  await provider.abandonOrchestrationItem(result.lockToken, null, true);

  // inst-range-a may come back (it was abandoned), but inst-range-b must not.
  const result2 = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, filter);
  if (result2) {
    assert.equal(
      result2.item.instance,
      "inst-range-a",
      "Phase 1: second range should be ignored; only inst-range-a (first range) should be returned",
    );
  }
}

/**
 * #45b: acking a poison `OrchestrationFailed` (event 99999) onto corrupted history succeeds,
 * because acks only append; the instance then reads as Failed.
 */
async function test_ack_appends_event_to_corrupted_history(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const instance = "inst-ack-corrupt-45";
  await seedInstanceWithVersion(provider, instance, ver(1, 0, 0));
  await factory.corruptInstanceHistory(instance);

  const fetched = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
  assert.ok(fetched, "fetch should return Some for corrupted instance");
  const { item, lockToken } = fetched;
  assert.ok(
    typeof item.historyError === "string",
    "Corrupted history should produce history_error",
  );
  assert.equal(item.history.length, 0, "history vec should be empty when history_error is set");

  const historyError = item.historyError;
  const details: ErrorDetails = {
    type: "Poison",
    attemptCount: 4,
    maxAttempts: 3,
    messageType: {
      type: "FailedDeserialization",
      instance,
      executionId: item.executionId,
      error: historyError,
    },
    message: historyError,
  };
  const failed = makeEvent(instance, item.executionId, 99999, {
    type: "OrchestrationFailed",
    details,
  });

  try {
    await provider.ackOrchestrationItem(
      lockToken,
      item.executionId,
      [failed],
      [],
      [],
      {
        status: "Failed",
        output: deserializationPoisonMessage(instance, 4, 3, historyError),
        orchestrationName: item.orchestrationName,
        orchestrationVersion: item.version,
        parentInstanceId: null,
        pinnedDuroxideVersion: null,
      },
      [],
    );
  } catch (err) {
    assert.fail(`ack should succeed — provider must not re-serialize existing history: ${err}`);
  }

  const mgmt = requireAdmin(provider, "provider should have management capability");
  const info = await mgmt.getInstanceInfo(instance);
  assert.equal(info.status, "Failed", "Execution status should be 'Failed' after poison ack");
  assert.ok(
    info.output !== null && info.output.includes("deserialization failed"),
    `Output should contain deserialization error message, got: ${info.output}`,
  );
}

/** The `capability_filtering` category: 20 tests. */
export const capabilityFilteringTests: ValidationTest[] = [
  test_fetch_with_filter_none_returns_any_item,
  test_fetch_with_compatible_filter_returns_item,
  test_fetch_with_incompatible_filter_skips_item,
  test_fetch_filter_skips_incompatible_selects_compatible,
  test_fetch_filter_does_not_lock_skipped_instances,
  test_fetch_filter_null_pinned_version_always_compatible,
  test_fetch_filter_boundary_versions,
  test_pinned_version_stored_via_ack_metadata,
  test_pinned_version_immutable_across_ack_cycles,
  test_continue_as_new_execution_gets_own_pinned_version,
  test_filter_with_empty_supported_versions_returns_nothing,
  test_concurrent_filtered_fetch_no_double_lock,
  test_ack_stores_pinned_version_via_metadata_update,
  test_provider_updates_pinned_version_when_told,
  test_fetch_corrupted_history_filtered_vs_unfiltered,
  test_fetch_deserialization_error_increments_attempt_count,
  test_fetch_deserialization_error_eventually_reaches_poison,
  test_fetch_filter_applied_before_history_deserialization,
  test_fetch_single_range_only_uses_first_range,
  test_ack_appends_event_to_corrupted_history,
].map((run) => ({ category: "capability_filtering", name: run.name, run }));
