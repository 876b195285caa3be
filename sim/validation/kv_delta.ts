/**
 * The KV-delta half of validation category `kv_store` (Duroxide 0.1.26): a turn's snapshot holds
 * only what completed executions wrote (`kv_store`), while client reads merge in the current
 * execution's writes and tombstones (`kv_delta`), which are folded in when an execution ends.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { createInstance, fetchOrchestrationOrFail, LONG_LOCK_MS, pokeItem } from "./helpers.ts";
import {
  ackEmpty,
  ackWithDelta,
  completeInstance,
  continueAsNew,
  kvClear,
  kvClearAll,
  kvSet,
  requireAdmin,
  snapshotValue,
} from "./_partB_util.ts";

/** The snapshot excludes values written by the current, unfinished execution. */
async function test_kv_delta_snapshot_excludes_current_execution(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-ds1");

  await ackWithDelta(provider, "kv-ds1", 1, [kvSet("kv-ds1", 1, 100, "counter", "1", 100)]);

  assert.equal(
    await provider.getKvValue("kv-ds1", "counter"),
    "1",
    "client read should see current-execution value",
  );

  await provider.enqueueForOrchestrator(pokeItem("kv-ds1"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );
  assert.equal(
    Object.keys(item.kvSnapshot).length,
    0,
    "snapshot must be empty — counter was set in current execution (not completed), " +
      `should not be in snapshot. Got: ${JSON.stringify(item.kvSnapshot)}`,
  );

  await ackEmpty(provider, lockToken, 1);
}

/** After ContinueAsNew, the next execution's snapshot holds the previous execution's values. */
async function test_kv_delta_snapshot_includes_completed_execution(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-ds2");

  await ackWithDelta(provider, "kv-ds2", 1, [kvSet("kv-ds2", 1, 100, "counter", "5", 100)]);
  await continueAsNew(provider, "kv-ds2", 2);

  await provider.enqueueForOrchestrator(pokeItem("kv-ds2"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );
  assert.equal(
    snapshotValue(item.kvSnapshot, "counter"),
    "5",
    "snapshot must contain prior-execution value after CAN",
  );

  await ackEmpty(provider, lockToken, 2);
}

/** Client reads see completed executions' values overlaid by the current execution's writes. */
async function test_kv_delta_client_reads_merged(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-dm");

  await ackWithDelta(provider, "kv-dm", 1, [
    kvSet("kv-dm", 1, 100, "color", "red", 100),
    kvSet("kv-dm", 1, 101, "size", "large", 101),
  ]);
  await completeInstance(provider, "kv-dm", 1);

  // Execution 2 (a restart rather than ContinueAsNew, for simplicity).
  await ackWithDelta(provider, "kv-dm", 2, [
    kvSet("kv-dm", 2, 200, "color", "blue", 200),
    kvSet("kv-dm", 2, 201, "shape", "circle", 201),
  ]);

  assert.equal(
    await provider.getKvValue("kv-dm", "color"),
    "blue",
    "delta should override kv_store value",
  );
  assert.equal(
    await provider.getKvValue("kv-dm", "size"),
    "large",
    "kv_store value should be visible when no delta exists",
  );
  assert.equal(
    await provider.getKvValue("kv-dm", "shape"),
    "circle",
    "delta-only key should be visible",
  );
}

/** Clearing a key in the current execution hides the completed executions' value. */
async function test_kv_delta_tombstone_overrides_store(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-dt");

  await ackWithDelta(provider, "kv-dt", 1, [kvSet("kv-dt", 1, 100, "temp", "exists", 100)]);
  await completeInstance(provider, "kv-dt", 1);

  await ackWithDelta(provider, "kv-dt", 2, [kvClear("kv-dt", 2, 200, "temp")]);

  assert.equal(
    await provider.getKvValue("kv-dt", "temp"),
    null,
    "tombstone in delta must override kv_store value",
  );
}

/** Clearing all keys in the current execution hides every completed-execution value. */
async function test_kv_delta_clear_all_tombstones_store(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-dca");

  await ackWithDelta(provider, "kv-dca", 1, [
    kvSet("kv-dca", 1, 100, "a", "1", 100),
    kvSet("kv-dca", 1, 101, "b", "2", 101),
  ]);
  await completeInstance(provider, "kv-dca", 1);

  await ackWithDelta(provider, "kv-dca", 2, [
    kvClearAll("kv-dca", 2, 200),
    kvSet("kv-dca", 2, 201, "c", "3", 201),
  ]);

  assert.equal(
    await provider.getKvValue("kv-dca", "a"),
    null,
    "clear_all must tombstone kv_store key 'a'",
  );
  assert.equal(
    await provider.getKvValue("kv-dca", "b"),
    null,
    "clear_all must tombstone kv_store key 'b'",
  );
  assert.equal(
    await provider.getKvValue("kv-dca", "c"),
    "3",
    "key set after clear_all should be visible",
  );
}

/** Completion folds the execution's writes into the store; reads still see them. */
async function test_kv_delta_merged_on_completion(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-dmc");

  await ackWithDelta(provider, "kv-dmc", 1, [kvSet("kv-dmc", 1, 100, "result", "42", 100)]);
  await completeInstance(provider, "kv-dmc", 1);

  assert.equal(
    await provider.getKvValue("kv-dmc", "result"),
    "42",
    "value should be in kv_store after completion merge",
  );
}

/** ContinueAsNew folds the execution's latest writes into the next execution's snapshot. */
async function test_kv_delta_merged_on_can(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-dmc2");

  await ackWithDelta(provider, "kv-dmc2", 1, [
    kvSet("kv-dmc2", 1, 100, "version", "1", 100),
    kvSet("kv-dmc2", 1, 101, "progress", "50%", 101),
  ]);
  await ackWithDelta(provider, "kv-dmc2", 1, [kvSet("kv-dmc2", 1, 102, "progress", "100%", 102)]);

  await continueAsNew(provider, "kv-dmc2", 2);

  await provider.enqueueForOrchestrator(pokeItem("kv-dmc2"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );
  assert.equal(
    snapshotValue(item.kvSnapshot, "version"),
    "1",
    "version should carry over via kv_store after CAN merge",
  );
  assert.equal(
    snapshotValue(item.kvSnapshot, "progress"),
    "100%",
    "latest progress value should carry over",
  );

  await ackEmpty(provider, lockToken, 2);
}

/** Deleting an instance removes the current execution's KV writes too. */
async function test_kv_delta_delete_instance_cascades(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  await createInstance(provider, "kv-ddel");

  await ackWithDelta(provider, "kv-ddel", 1, [
    kvSet("kv-ddel", 1, 100, "data", "important", 100),
  ]);
  assert.equal(await provider.getKvValue("kv-ddel", "data"), "important");

  await mgmt.deleteInstance("kv-ddel", true);

  assert.equal(
    await provider.getKvValue("kv-ddel", "data"),
    null,
    "KV delta must be cleaned up on instance deletion",
  );
}

/**
 * A key written only by execution 1 survives pruning executions 1 and 2: it lives in the
 * instance-scoped store, which pruning does not touch.
 */
async function test_kv_delta_prune_untouched_key_survives(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  await createInstance(provider, "kv-dprn");

  await ackWithDelta(provider, "kv-dprn", 1, [
    kvSet("kv-dprn", 1, 100, "stale_config", "from_exec_1", 100),
  ]);
  await continueAsNew(provider, "kv-dprn", 2);
  await ackWithDelta(provider, "kv-dprn", 2, [
    kvSet("kv-dprn", 2, 200, "other", "unrelated", 200),
  ]);
  await continueAsNew(provider, "kv-dprn", 3);
  // Execution 3 is running and never touches either key.

  assert.equal(await provider.getKvValue("kv-dprn", "stale_config"), "from_exec_1");
  assert.equal(await provider.getKvValue("kv-dprn", "other"), "unrelated");

  await mgmt.pruneExecutions("kv-dprn", { keepLast: 1 });

  assert.equal(
    await provider.getKvValue("kv-dprn", "stale_config"),
    "from_exec_1",
    "KV key from pruned execution must survive — KV lifetime is instance-scoped",
  );
  assert.equal(
    await provider.getKvValue("kv-dprn", "other"),
    "unrelated",
    "KV key from pruned execution 2 must also survive",
  );

  await provider.enqueueForOrchestrator(pokeItem("kv-dprn"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );
  assert.equal(
    snapshotValue(item.kvSnapshot, "stale_config"),
    "from_exec_1",
    "snapshot must include untouched key from pruned execution",
  );
  assert.equal(
    snapshotValue(item.kvSnapshot, "other"),
    "unrelated",
    "snapshot must include key from pruned execution 2",
  );

  await ackEmpty(provider, lockToken, 3);
}

/**
 * The 9 KV-delta tests of category `kv_store`. They are already part of `kvStoreTests`
 * (`sim/validation/kv_store.ts`); register them separately only when not registering that list.
 */
export const kvDeltaTests: ValidationTest[] = [
  test_kv_delta_snapshot_excludes_current_execution,
  test_kv_delta_snapshot_includes_completed_execution,
  test_kv_delta_client_reads_merged,
  test_kv_delta_tombstone_overrides_store,
  test_kv_delta_clear_all_tombstones_store,
  test_kv_delta_merged_on_completion,
  test_kv_delta_merged_on_can,
  test_kv_delta_delete_instance_cascades,
  test_kv_delta_prune_untouched_key_survives,
].map((run) => ({ category: "kv_store", name: run.name, run }));
