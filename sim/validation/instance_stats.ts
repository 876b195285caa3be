/**
 * `getInstanceStats` validation tests (Duroxide 0.1.27+, part of its `management` module):
 * history size of the current execution, carried-forward queue events, and KV key/value
 * totals across the completed-executions store and the current execution's writes.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Event } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { createInstance, makeEvent, pokeItem, startItem, testMetadata } from "./helpers.ts";
import { expectSome, fetchAndAck } from "./_partC_util.ts";

/** A `KeyValueSet` event of execution 1. */
function kvSet(
  instance: string,
  eventId: number,
  key: string,
  value: string,
  lastUpdatedAtMs: number,
): Event {
  return makeEvent(instance, 1, eventId, { type: "KeyValueSet", key, value, lastUpdatedAtMs });
}

/** An `OrchestrationCompleted` event of execution 1 with output `done`. */
function completed(instance: string, eventId: number): Event {
  return makeEvent(instance, 1, eventId, { type: "OrchestrationCompleted", output: "done" });
}

/** An `ActivityScheduled` event of execution 1 for a `Noop` activity. */
function noopScheduled(instance: string, eventId: number): Event {
  return makeEvent(instance, 1, eventId, { type: "ActivityScheduled", name: "Noop", input: "{}" });
}

async function testGetInstanceStatsNonexistent(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const stats = await provider.getInstanceStats("no-such-instance");
  assert.equal(stats, null, "non-existent instance should return None");
}

async function testGetInstanceStatsHistory(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // createInstance acks one OrchestrationStarted event.
  await createInstance(provider, "stats-hist");

  const stats = expectSome(
    await provider.getInstanceStats("stats-hist"),
    "instance should exist",
  );
  assert.ok(stats.historyEventCount >= 1, "should have at least 1 event");
  assert.ok(stats.historySizeBytes > 0, "history should have non-zero size");
  assert.equal(stats.kvUserKeyCount, 0, "no KV keys set");
  assert.equal(stats.kvTotalValueBytes, 0, "no KV value bytes");
  assert.equal(stats.queuePendingCount, 0, "no carry-forward events");
}

async function testGetInstanceStatsKv(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "stats-kv");

  // A turn with two KV writes that completes the execution, merging them into the store.
  await provider.enqueueForOrchestrator(pokeItem("stats-kv"), null);
  await fetchAndAck(
    provider,
    1,
    [
      kvSet("stats-kv", 100, "k1", "aaa", 0), // 3 bytes
      kvSet("stats-kv", 101, "k2", "bbbbb", 0), // 5 bytes
      completed("stats-kv", 102),
    ],
    { status: "Completed", output: "done" },
  );

  const stats = expectSome(await provider.getInstanceStats("stats-kv"), "instance should exist");
  assert.equal(stats.kvUserKeyCount, 2, "should have 2 KV keys");
  assert.equal(stats.kvTotalValueBytes, 8, "3 + 5 = 8 bytes");
}

async function testGetInstanceStatsCarryForward(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForOrchestrator(startItem("cf-stats"), null);
  const fetched = expectSome(
    await provider.fetchOrchestrationItem(30_000, 0, null),
    "expected orchestration item",
  );

  // An OrchestrationStarted that carries three pending external events.
  await provider.ackOrchestrationItem(
    fetched.lockToken,
    1,
    [
      makeEvent("cf-stats", 1, 1, {
        type: "OrchestrationStarted",
        name: "TestOrch",
        version: "1.0.0",
        input: "{}",
        parentInstance: null,
        parentId: null,
        carryForwardEvents: [
          ["raised-1", '{"data":"a"}'],
          ["raised-2", '{"data":"b"}'],
          ["raised-3", '{"data":"c"}'],
        ],
      }),
    ],
    [],
    [],
    testMetadata(),
    [],
  );

  const stats = expectSome(await provider.getInstanceStats("cf-stats"), "instance should exist");
  assert.equal(stats.queuePendingCount, 3, "should have 3 carry-forward events");
  assert.ok(stats.historyEventCount >= 1, "should have at least 1 event");
  assert.ok(stats.historySizeBytes > 0, "history should have non-zero size");
  assert.equal(stats.kvUserKeyCount, 0, "no KV keys set");
}

async function testGetInstanceStatsKvDeltaOnly(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // A running instance.
  await createInstance(provider, "kv-delta-stats");

  // A turn with KV writes and no terminal status: the values stay in the current
  // execution's delta, not yet merged into the store.
  await provider.enqueueForOrchestrator(pokeItem("kv-delta-stats"), null);
  await fetchAndAck(
    provider,
    1,
    [
      kvSet("kv-delta-stats", 100, "dk1", "xxx", 0), // 3 bytes
      kvSet("kv-delta-stats", 101, "dk2", "yyyyyy", 0), // 6 bytes
      noopScheduled("kv-delta-stats", 102),
    ],
    {}, // no status change: stays Running
  );

  const stats = expectSome(
    await provider.getInstanceStats("kv-delta-stats"),
    "instance should exist",
  );
  assert.equal(stats.kvUserKeyCount, 2, "should see 2 delta-only KV keys");
  assert.equal(stats.kvTotalValueBytes, 9, "3 + 6 = 9 bytes from delta");
  assert.equal(stats.queuePendingCount, 0, "no carry-forward events");
}

async function testGetInstanceStatsKvMerged(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // A running instance.
  await createInstance(provider, "kv-merged-stats");

  // Turn 1: write two keys, stay Running.
  await provider.enqueueForOrchestrator(pokeItem("kv-merged-stats", "poke1"), null);
  await fetchAndAck(
    provider,
    1,
    [
      kvSet("kv-merged-stats", 100, "mk1", "aaa", 0), // 3 bytes
      kvSet("kv-merged-stats", 101, "mk2", "bb", 0), // 2 bytes
      noopScheduled("kv-merged-stats", 102),
    ],
    {},
    "expected orchestration item for turn 1",
  );

  // Delta-only state.
  const deltaStats = expectSome(
    await provider.getInstanceStats("kv-merged-stats"),
    "instance should exist (delta phase)",
  );
  assert.equal(deltaStats.kvUserKeyCount, 2, "delta phase: 2 keys");
  assert.equal(deltaStats.kvTotalValueBytes, 5, "delta phase: 3 + 2 = 5 bytes");

  // Turn 2: overwrite mk1 and complete (which merges delta into store).
  await provider.enqueueForOrchestrator(pokeItem("kv-merged-stats", "poke2"), null);
  await fetchAndAck(
    provider,
    1,
    [
      kvSet("kv-merged-stats", 200, "mk1", "zzzzz", 1), // 5 bytes, overwrites "aaa"
      completed("kv-merged-stats", 201),
    ],
    { status: "Completed", output: "done" },
    "expected orchestration item for turn 2",
  );

  // Merged: mk1 = "zzzzz" (5), mk2 = "bb" (2).
  const mergedStats = expectSome(
    await provider.getInstanceStats("kv-merged-stats"),
    "instance should exist (merged phase)",
  );
  assert.equal(
    mergedStats.kvUserKeyCount,
    2,
    "merged: still 2 keys (overwrite, not duplicate)",
  );
  assert.equal(mergedStats.kvTotalValueBytes, 7, "merged: 5 + 2 = 7 bytes");
  assert.equal(mergedStats.queuePendingCount, 0, "no carry-forward events");
}

function test(name: string, run: (factory: ProviderFactory) => Promise<void>): ValidationTest {
  return { category: "instance_stats", name, run };
}

/**
 * The `getInstanceStats` validation tests (6, from Duroxide 0.1.27+'s `management` module):
 * unknown instances, history figures, carried-forward events, and KV totals before, at and
 * after the merge of a completed execution's writes.
 */
export const instanceStatsTests: ValidationTest[] = [
  test("test_get_instance_stats_nonexistent", testGetInstanceStatsNonexistent),
  test("test_get_instance_stats_history", testGetInstanceStatsHistory),
  test("test_get_instance_stats_kv", testGetInstanceStatsKv),
  test("test_get_instance_stats_carry_forward", testGetInstanceStatsCarryForward),
  test("test_get_instance_stats_kv_delta_only", testGetInstanceStatsKvDeltaOnly),
  test("test_get_instance_stats_kv_merged", testGetInstanceStatsKvMerged),
];
