/**
 * Custom status validation tests: `ackOrchestrationItem` applies the last
 * `CustomStatusUpdated` event of a turn's history delta to the instance (one version
 * increment per turn), and `getCustomStatus` returns the status only when its version is
 * newer than the caller's.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Provider } from "../../src/provider_api.ts";
import type { Event } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { createInstance, makeEvent, pokeItem } from "./helpers.ts";
import { expectSome, fetchAndAck } from "./_partC_util.ts";

/** A `CustomStatusUpdated` event of execution 1. */
function customStatusEvent(instance: string, eventId: number, status: string | null): Event {
  return makeEvent(instance, 1, eventId, { type: "CustomStatusUpdated", status });
}

/** Pokes the instance, fetches the turn and acks it with `delta` and empty metadata. */
async function pokeAndAck(provider: Provider, instance: string, delta: Event[]): Promise<void> {
  await provider.enqueueForOrchestrator(pokeItem(instance), null);
  await fetchAndAck(provider, 1, delta, {});
}

async function testCustomStatusSet(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "cs-set");

  // A turn whose delta sets the custom status.
  await pokeAndAck(provider, "cs-set", [customStatusEvent("cs-set", 100, "progress")]);

  // Read it back.
  const result = await provider.getCustomStatus("cs-set", 0);
  assert.ok(result !== null, "expected custom_status to be present");
  assert.equal(result.status, "progress");
  assert.equal(result.version, 1);
}

async function testCustomStatusClear(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "cs-clear");

  // Set a value first.
  await pokeAndAck(provider, "cs-clear", [customStatusEvent("cs-clear", 100, "temp")]);

  const set = expectSome(await provider.getCustomStatus("cs-clear", 0), "status should be set");
  assert.equal(set.status, "temp");

  // Then clear it.
  await pokeAndAck(provider, "cs-clear", [customStatusEvent("cs-clear", 101, null)]);

  // Cleared, and the version moved on.
  const result = await provider.getCustomStatus("cs-clear", 0);
  assert.ok(result !== null, "version changed, so should return Some");
  assert.equal(result.status, null, "custom_status should be NULL after clear");
  assert.equal(result.version, 2, "version should be 2 after set + clear");
}

async function testCustomStatusNonePreserves(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "cs-noop");

  // Set a value.
  await pokeAndAck(provider, "cs-noop", [customStatusEvent("cs-noop", 100, "keep-me")]);

  // A turn without any custom status event.
  await pokeAndAck(provider, "cs-noop", []);

  // Unchanged.
  const result = expectSome(await provider.getCustomStatus("cs-noop", 0), "status should be set");
  assert.equal(result.status, "keep-me", "None should not modify existing value");
  assert.equal(result.version, 1, "version should not increment on None");
}

async function testCustomStatusVersionIncrements(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "cs-ver");

  // Ack 1: set.
  await pokeAndAck(provider, "cs-ver", [customStatusEvent("cs-ver", 100, "a")]);
  const v1 = expectSome(await provider.getCustomStatus("cs-ver", 0), "status after ack 1");
  assert.equal(v1.version, 1);

  // Ack 2: set again.
  await pokeAndAck(provider, "cs-ver", [customStatusEvent("cs-ver", 101, "b")]);
  const v2 = expectSome(await provider.getCustomStatus("cs-ver", 0), "status after ack 2");
  assert.equal(v2.version, 2);

  // Ack 3: clear.
  await pokeAndAck(provider, "cs-ver", [customStatusEvent("cs-ver", 102, null)]);
  const v3 = expectSome(await provider.getCustomStatus("cs-ver", 0), "status after ack 3");
  assert.equal(v3.version, 3);
  assert.equal(v3.status, null);
}

async function testCustomStatusPollingNoChange(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "cs-poll");

  // Set a value.
  await pokeAndAck(provider, "cs-poll", [customStatusEvent("cs-poll", 100, "v1")]);

  // Last seen version 1: no change.
  const unchanged = await provider.getCustomStatus("cs-poll", 1);
  assert.equal(unchanged, null, "no change since version 1");

  // Last seen version 0: version 1 is newer.
  const changed = await provider.getCustomStatus("cs-poll", 0);
  assert.ok(changed !== null, "version 1 > 0");
}

async function testCustomStatusNonexistentInstance(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const result = await provider.getCustomStatus("does-not-exist", 0);
  assert.equal(result, null);
}

async function testCustomStatusDefaultOnNewInstance(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await createInstance(provider, "cs-default");

  // A fresh instance has version 0, which is not newer than 0.
  const result = await provider.getCustomStatus("cs-default", 0);
  assert.equal(result, null, "fresh instance has version 0, not > 0");
}

function test(name: string, run: (factory: ProviderFactory) => Promise<void>): ValidationTest {
  return { category: "custom_status", name, run };
}

/**
 * The `custom_status` validation tests (7, as in Duroxide): set, clear, no-op turns,
 * version increments, polling with `lastSeenVersion`, unknown and fresh instances.
 */
export const customStatusTests: ValidationTest[] = [
  test("test_custom_status_set", testCustomStatusSet),
  test("test_custom_status_clear", testCustomStatusClear),
  test("test_custom_status_none_preserves", testCustomStatusNonePreserves),
  test("test_custom_status_version_increments", testCustomStatusVersionIncrements),
  test("test_custom_status_polling_no_change", testCustomStatusPollingNoChange),
  test("test_custom_status_nonexistent_instance", testCustomStatusNonexistentInstance),
  test("test_custom_status_default_on_new_instance", testCustomStatusDefaultOnNewInstance),
];
