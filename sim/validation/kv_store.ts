/**
 * Validation category `kv_store`: `KeyValueSet` / `KeyValueCleared` / `KeyValuesCleared` events
 * in an ack are materialized per instance, read back with `getKvValue`, shown to later turns as
 * the fetch's `kvSnapshot`, survive pruning and disappear when the instance is deleted.
 *
 * The 9 KV-delta tests live in `kv_delta.ts`; {@linkcode kvStoreTests} includes them.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { createInstance, fetchOrchestrationOrFail, LONG_LOCK_MS, pokeItem } from "./helpers.ts";
import { kvDeltaTests } from "./kv_delta.ts";
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
  startedWithVersion,
} from "./_partB_util.ts";

/** A set value is read back. */
async function test_kv_set_and_get(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-set");

  await ackWithDelta(provider, "kv-set", 1, [kvSet("kv-set", 1, 100, "counter", "42")]);

  assert.equal(await provider.getKvValue("kv-set", "counter"), "42");
}

/** Setting an existing key overwrites it. */
async function test_kv_overwrite(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-over");

  await ackWithDelta(provider, "kv-over", 1, [kvSet("kv-over", 1, 100, "status", "old")]);
  assert.equal(
    await provider.getKvValue("kv-over", "status"),
    "old",
    "initial value should be 'old'",
  );

  await ackWithDelta(provider, "kv-over", 1, [kvSet("kv-over", 1, 101, "status", "new")]);
  assert.equal(await provider.getKvValue("kv-over", "status"), "new");
}

/** `KeyValueCleared` removes one key. */
async function test_kv_clear_single(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-clr1");

  await ackWithDelta(provider, "kv-clr1", 1, [kvSet("kv-clr1", 1, 100, "remove_me", "x")]);
  assert.equal(
    await provider.getKvValue("kv-clr1", "remove_me"),
    "x",
    "value should be set before clearing",
  );

  await ackWithDelta(provider, "kv-clr1", 1, [kvClear("kv-clr1", 1, 101, "remove_me")]);
  assert.equal(await provider.getKvValue("kv-clr1", "remove_me"), null);
}

/** `KeyValuesCleared` removes every key of the instance. */
async function test_kv_clear_all(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-clra");

  await ackWithDelta(provider, "kv-clra", 1, [
    kvSet("kv-clra", 1, 100, "a", "1"),
    kvSet("kv-clra", 1, 101, "b", "2"),
  ]);
  assert.equal(await provider.getKvValue("kv-clra", "a"), "1", "key 'a' should be set");
  assert.equal(await provider.getKvValue("kv-clra", "b"), "2", "key 'b' should be set");

  await ackWithDelta(provider, "kv-clra", 1, [kvClearAll("kv-clra", 1, 102)]);

  assert.equal(await provider.getKvValue("kv-clra", "a"), null);
  assert.equal(await provider.getKvValue("kv-clra", "b"), null);
}

/** A key that was never set reads as null. */
async function test_kv_get_nonexistent(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-none");

  assert.equal(await provider.getKvValue("kv-none", "nope"), null);
}

/** After the execution completes, the next fetch's snapshot holds its values. */
async function test_kv_snapshot_in_fetch(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-fetch");

  await ackWithDelta(provider, "kv-fetch", 1, [
    kvSet("kv-fetch", 1, 100, "x", "10"),
    kvSet("kv-fetch", 1, 101, "y", "20"),
  ]);
  await completeInstance(provider, "kv-fetch", 1);

  await provider.enqueueForOrchestrator(pokeItem("kv-fetch"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );

  assert.equal(Object.keys(item.kvSnapshot).length, 2);
  assert.equal(snapshotValue(item.kvSnapshot, "x"), "10");
  assert.equal(snapshotValue(item.kvSnapshot, "y"), "20");

  await ackEmpty(provider, lockToken, 1);
}

/** A key cleared before completion is missing from the snapshot. */
async function test_kv_snapshot_after_clear_single(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-fclr1");

  await ackWithDelta(provider, "kv-fclr1", 1, [
    kvSet("kv-fclr1", 1, 100, "keep", "yes"),
    kvSet("kv-fclr1", 1, 101, "remove", "bye"),
  ]);
  await ackWithDelta(provider, "kv-fclr1", 1, [kvClear("kv-fclr1", 1, 102, "remove")]);
  await completeInstance(provider, "kv-fclr1", 1);

  await provider.enqueueForOrchestrator(pokeItem("kv-fclr1"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );

  assert.equal(Object.keys(item.kvSnapshot).length, 1);
  assert.equal(snapshotValue(item.kvSnapshot, "keep"), "yes");
  assert.equal(snapshotValue(item.kvSnapshot, "remove"), undefined);

  await ackEmpty(provider, lockToken, 1);
}

/** After clearing all keys, the snapshot is empty. */
async function test_kv_snapshot_after_clear_all(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-fclra");

  await ackWithDelta(provider, "kv-fclra", 1, [
    kvSet("kv-fclra", 1, 100, "a", "1"),
    kvSet("kv-fclra", 1, 101, "b", "2"),
  ]);
  await ackWithDelta(provider, "kv-fclra", 1, [kvClearAll("kv-fclra", 1, 102)]);

  await provider.enqueueForOrchestrator(pokeItem("kv-fclra"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );
  assert.equal(
    Object.keys(item.kvSnapshot).length,
    0,
    `expected empty snapshot, got: ${JSON.stringify(item.kvSnapshot)}`,
  );

  await ackEmpty(provider, lockToken, 1);
}

/** A key rewritten by execution 2 survives pruning execution 1. */
async function test_kv_execution_id_tracking(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  await createInstance(provider, "kv-exec");

  await ackWithDelta(provider, "kv-exec", 1, [kvSet("kv-exec", 1, 100, "shared", "from_exec_1")]);
  assert.equal(await provider.getKvValue("kv-exec", "shared"), "from_exec_1");

  await continueAsNew(provider, "kv-exec", 2);
  await ackWithDelta(provider, "kv-exec", 2, [kvSet("kv-exec", 2, 200, "shared", "from_exec_2")]);
  assert.equal(
    await provider.getKvValue("kv-exec", "shared"),
    "from_exec_2",
    "should reflect exec 2 value",
  );

  await mgmt.pruneExecutions("kv-exec", { keepLast: 1 });

  assert.equal(
    await provider.getKvValue("kv-exec", "shared"),
    "from_exec_2",
    "key must survive pruning because last-writer (exec 2) is not pruned",
  );
}

/** A value set in execution 1 is overwritten by execution 2. */
async function test_kv_cross_execution_overwrite(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-xexec");

  await ackWithDelta(provider, "kv-xexec", 1, [kvSet("kv-xexec", 1, 100, "k", "v1")]);
  assert.equal(await provider.getKvValue("kv-xexec", "k"), "v1", "should see value from exec 1");

  await continueAsNew(provider, "kv-xexec", 2);
  await ackWithDelta(provider, "kv-xexec", 2, [kvSet("kv-xexec", 2, 200, "k", "v2")]);
  assert.equal(
    await provider.getKvValue("kv-xexec", "k"),
    "v2",
    "exec 2 should overwrite exec 1 value",
  );
}

/** Set in execution 1, cleared in 2, set again in 3: reads follow each step. */
async function test_kv_cross_execution_remove_readd(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-xrm");

  await ackWithDelta(provider, "kv-xrm", 1, [kvSet("kv-xrm", 1, 100, "cycle", "exec1")]);
  assert.equal(await provider.getKvValue("kv-xrm", "cycle"), "exec1");

  await continueAsNew(provider, "kv-xrm", 2);
  await ackWithDelta(provider, "kv-xrm", 2, [kvClear("kv-xrm", 2, 200, "cycle")]);
  assert.equal(
    await provider.getKvValue("kv-xrm", "cycle"),
    null,
    "key should be cleared in exec 2",
  );

  await continueAsNew(provider, "kv-xrm", 3);
  await ackWithDelta(provider, "kv-xrm", 3, [kvSet("kv-xrm", 3, 300, "cycle", "exec3")]);
  assert.equal(
    await provider.getKvValue("kv-xrm", "cycle"),
    "exec3",
    "key should be re-set from exec 3",
  );
}

/** Pruning execution 1 keeps a key that execution 2 overwrote. */
async function test_kv_prune_preserves_overwritten(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  await createInstance(provider, "kv-prn1");

  await ackWithDelta(provider, "kv-prn1", 1, [kvSet("kv-prn1", 1, 100, "survive", "v1")]);
  await continueAsNew(provider, "kv-prn1", 2);
  await ackWithDelta(provider, "kv-prn1", 2, [kvSet("kv-prn1", 2, 200, "survive", "v2")]);

  await mgmt.pruneExecutions("kv-prn1", { keepLast: 1 });

  assert.equal(
    await provider.getKvValue("kv-prn1", "survive"),
    "v2",
    "overwritten key must survive pruning of old execution",
  );
}

/** Pruning execution 1 keeps even keys only it wrote: KV lives as long as the instance. */
async function test_kv_prune_preserves_all_keys(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  await createInstance(provider, "kv-prn2");

  await ackWithDelta(provider, "kv-prn2", 1, [kvSet("kv-prn2", 1, 100, "orphan", "survives")]);
  await continueAsNew(provider, "kv-prn2", 2);
  await ackWithDelta(provider, "kv-prn2", 2, [kvSet("kv-prn2", 2, 200, "keeper", "alive")]);

  assert.equal(await provider.getKvValue("kv-prn2", "orphan"), "survives");
  assert.equal(await provider.getKvValue("kv-prn2", "keeper"), "alive");

  await mgmt.pruneExecutions("kv-prn2", { keepLast: 1 });

  assert.equal(
    await provider.getKvValue("kv-prn2", "orphan"),
    "survives",
    "KV entries must survive execution pruning (instance-scoped lifetime)",
  );
  assert.equal(await provider.getKvValue("kv-prn2", "keeper"), "alive", "exec 2 key must survive");
}

/** Two instances keep independent values under the same key. */
async function test_kv_instance_isolation(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-iso-a");
  await createInstance(provider, "kv-iso-b");

  await ackWithDelta(provider, "kv-iso-a", 1, [
    kvSet("kv-iso-a", 1, 100, "shared_name", "from_a"),
  ]);
  await ackWithDelta(provider, "kv-iso-b", 1, [
    kvSet("kv-iso-b", 1, 100, "shared_name", "from_b"),
  ]);

  assert.equal(await provider.getKvValue("kv-iso-a", "shared_name"), "from_a");
  assert.equal(await provider.getKvValue("kv-iso-b", "shared_name"), "from_b");
}

/** Deleting a completed instance removes its KV entries. */
async function test_kv_delete_instance_cascades(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  await createInstance(provider, "kv-del");

  await ackWithDelta(provider, "kv-del", 1, [kvSet("kv-del", 1, 100, "doomed", "bye")]);
  await completeInstance(provider, "kv-del", 1);
  assert.equal(
    await provider.getKvValue("kv-del", "doomed"),
    "bye",
    "value should exist before deletion",
  );

  await mgmt.deleteInstance("kv-del", false);

  assert.equal(
    await provider.getKvValue("kv-del", "doomed"),
    null,
    "KV should be gone after instance deletion",
  );
}

/** Clearing a key that was never set succeeds. */
async function test_kv_clear_nonexistent_key(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-clrne");

  await ackWithDelta(provider, "kv-clrne", 1, [kvClear("kv-clrne", 1, 100, "never_existed")]);

  assert.equal(await provider.getKvValue("kv-clrne", "never_existed"), null);
}

/** Reading KV of an unknown instance returns null, not an error. */
async function test_kv_get_unknown_instance(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  assert.equal(await provider.getKvValue("no-such-instance", "key"), null);
}

/** Clear-all followed by a set in the same ack keeps only the new key. */
async function test_kv_set_after_clear(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-sac");

  await ackWithDelta(provider, "kv-sac", 1, [
    kvSet("kv-sac", 1, 100, "old_a", "1"),
    kvSet("kv-sac", 1, 101, "old_b", "2"),
  ]);
  await ackWithDelta(provider, "kv-sac", 1, [
    kvClearAll("kv-sac", 1, 102),
    kvSet("kv-sac", 1, 103, "new_x", "fresh"),
  ]);

  assert.equal(await provider.getKvValue("kv-sac", "old_a"), null);
  assert.equal(await provider.getKvValue("kv-sac", "old_b"), null);
  assert.equal(await provider.getKvValue("kv-sac", "new_x"), "fresh");
}

/** An empty string is a value, not an absent key. */
async function test_kv_empty_value(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-empty");

  await ackWithDelta(provider, "kv-empty", 1, [kvSet("kv-empty", 1, 100, "blank", "")]);

  assert.equal(
    await provider.getKvValue("kv-empty", "blank"),
    "",
    "empty string is a valid value, not None",
  );
}

/** A large value (16 KiB, as in the original) is stored and read back intact. */
async function test_kv_large_value(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-big");

  const bigVal = "x".repeat(16 * 1024);
  await ackWithDelta(provider, "kv-big", 1, [kvSet("kv-big", 1, 100, "payload", bigVal)]);

  assert.equal(await provider.getKvValue("kv-big", "payload"), bigVal);
}

/** Keys with spaces, non-ASCII text, dots, slashes and emoji work. */
async function test_kv_special_chars_in_key(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-chars");

  const keys: [string, string][] = [
    ["key with spaces", "v1"],
    ["日本語キー", "v2"],
    ["dotted.key.name", "v3"],
    ["path/like/key", "v4"],
    ["emoji🎉key", "v5"],
  ];
  await ackWithDelta(
    provider,
    "kv-chars",
    1,
    keys.map(([k, v], i) => kvSet("kv-chars", 1, 100 + i, k, v)),
  );

  for (const [k, v] of keys) {
    assert.equal(await provider.getKvValue("kv-chars", k), v, `key '${k}' should be retrievable`);
  }
}

/** An instance without KV gets an empty snapshot. */
async function test_kv_snapshot_empty(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-sempty");

  await provider.enqueueForOrchestrator(pokeItem("kv-sempty"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );
  assert.equal(
    Object.keys(item.kvSnapshot).length,
    0,
    "expected empty snapshot for fresh instance",
  );

  await ackEmpty(provider, lockToken, 1);
}

/**
 * After ContinueAsNew, the snapshot holds execution 1's key (merged into the store) but not the
 * key execution 2 is writing.
 */
async function test_kv_snapshot_cross_execution(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-scross");

  await ackWithDelta(provider, "kv-scross", 1, [kvSet("kv-scross", 1, 100, "A", "from_exec1")]);
  await continueAsNew(provider, "kv-scross", 2);
  await ackWithDelta(provider, "kv-scross", 2, [kvSet("kv-scross", 2, 200, "B", "from_exec2")]);

  await provider.enqueueForOrchestrator(pokeItem("kv-scross"), null);
  const { item, lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );

  assert.equal(
    Object.keys(item.kvSnapshot).length,
    1,
    "snapshot should only contain prior-execution state",
  );
  assert.equal(snapshotValue(item.kvSnapshot, "A"), "from_exec1");
  assert.equal(
    snapshotValue(item.kvSnapshot, "B"),
    undefined,
    "current-execution key should not be in snapshot",
  );

  await ackEmpty(provider, lockToken, 2);
}

/** Pruning a single-execution instance keeps its KV. */
async function test_kv_prune_current_execution_protected(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");
  await createInstance(provider, "kv-prncur");

  await ackWithDelta(provider, "kv-prncur", 1, [kvSet("kv-prncur", 1, 100, "alive", "yes")]);

  await mgmt.pruneExecutions("kv-prncur", { keepLast: 1 });

  assert.equal(
    await provider.getKvValue("kv-prncur", "alive"),
    "yes",
    "current execution KV must survive pruning",
  );
}

/** Deleting a parent instance removes its child's KV too. */
async function test_kv_delete_instance_with_children(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const mgmt = requireAdmin(provider, "Provider should implement ProviderAdmin");

  await createInstance(provider, "kv-parent");
  await ackWithDelta(provider, "kv-parent", 1, [
    kvSet("kv-parent", 1, 100, "parent_key", "parent_val"),
  ]);

  // Start a child of kv-parent.
  await provider.enqueueForOrchestrator(
    {
      type: "StartOrchestration",
      instance: "kv-child",
      orchestration: "TestOrch",
      version: "1.0.0",
      input: "{}",
      parentInstance: "kv-parent",
      parentId: 1,
      executionId: 1,
    },
    null,
  );
  const child = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected child orchestration item",
  );
  await provider.ackOrchestrationItem(
    child.lockToken,
    1,
    [startedWithVersion("kv-child", 1, "1.0.0", "kv-parent", 1)],
    [],
    [],
    {
      parentInstanceId: "kv-parent",
      orchestrationName: "TestOrch",
      orchestrationVersion: "1.0.0",
    },
    [],
  );

  await ackWithDelta(provider, "kv-child", 1, [
    kvSet("kv-child", 1, 100, "child_key", "child_val"),
  ]);

  await completeInstance(provider, "kv-child", 1);
  await completeInstance(provider, "kv-parent", 1);

  await mgmt.deleteInstance("kv-parent", false);

  assert.equal(
    await provider.getKvValue("kv-parent", "parent_key"),
    null,
    "parent KV should be removed",
  );
  assert.equal(
    await provider.getKvValue("kv-child", "child_key"),
    null,
    "child KV should be removed when parent is deleted",
  );
}

/** Clearing all keys of one instance leaves another instance's keys alone. */
async function test_kv_clear_isolation(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  await createInstance(provider, "kv-ciso-a");
  await createInstance(provider, "kv-ciso-b");

  await ackWithDelta(provider, "kv-ciso-a", 1, [kvSet("kv-ciso-a", 1, 100, "shared", "from_a")]);
  await ackWithDelta(provider, "kv-ciso-b", 1, [kvSet("kv-ciso-b", 1, 100, "shared", "from_b")]);
  await ackWithDelta(provider, "kv-ciso-a", 1, [kvClearAll("kv-ciso-a", 1, 101)]);

  assert.equal(await provider.getKvValue("kv-ciso-a", "shared"), null);
  assert.equal(
    await provider.getKvValue("kv-ciso-b", "shared"),
    "from_b",
    "clearing instance A must not affect instance B",
  );
}

/** The 26 basic tests of category `kv_store`, without the KV-delta ones. */
const kvBasicTests: ValidationTest[] = [
  test_kv_set_and_get,
  test_kv_overwrite,
  test_kv_clear_single,
  test_kv_clear_all,
  test_kv_get_nonexistent,
  test_kv_snapshot_in_fetch,
  test_kv_snapshot_after_clear_single,
  test_kv_snapshot_after_clear_all,
  test_kv_execution_id_tracking,
  test_kv_cross_execution_overwrite,
  test_kv_cross_execution_remove_readd,
  test_kv_prune_preserves_overwritten,
  test_kv_prune_preserves_all_keys,
  test_kv_instance_isolation,
  test_kv_delete_instance_cascades,
  test_kv_clear_nonexistent_key,
  test_kv_get_unknown_instance,
  test_kv_set_after_clear,
  test_kv_empty_value,
  test_kv_large_value,
  test_kv_special_chars_in_key,
  test_kv_snapshot_empty,
  test_kv_snapshot_cross_execution,
  test_kv_prune_current_execution_protected,
  test_kv_delete_instance_with_children,
  test_kv_clear_isolation,
].map((run) => ({ category: "kv_store", name: run.name, run }));

/** The `kv_store` category: 35 tests (26 basic, then the 9 KV-delta tests of `kv_delta.ts`). */
export const kvStoreTests: ValidationTest[] = [...kvBasicTests, ...kvDeltaTests];
