/**
 * Private helpers of the `cancellation`, `capability_filtering` and `kv_store` validation
 * categories: event and work-item builders, seeding turns, and error assertions.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderError } from "../../src/errors.ts";
import type { Provider, ProviderAdmin } from "../../src/provider_api.ts";
import type {
  DispatcherCapabilityFilter,
  Event,
  KvEntry,
  SemVer,
  WorkItem,
} from "../../src/types.ts";
import {
  expectProviderError,
  fetchOrchestrationOrFail,
  LONG_LOCK_MS,
  makeEvent,
  pokeItem,
  startItem,
} from "./helpers.ts";

/** A semantic version. */
export function ver(major: number, minor: number, patch: number): SemVer {
  return { major, minor, patch };
}

/** `SemVer` as text, e.g. `1.2.3`. */
export function verString(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** A capability filter with one inclusive range. */
export function filterForRange(min: SemVer, max: SemVer): DispatcherCapabilityFilter {
  return { supportedDuroxideVersions: [{ min, max }] };
}

/** An `ExternalRaised` work item. */
export function externalRaised(instance: string, name: string, data = "{}"): WorkItem {
  return { type: "ExternalRaised", instance, name, data };
}

/** An `OrchestrationStarted` event for `TestOrch` with the given orchestration version. */
export function startedWithVersion(
  instance: string,
  executionId: number,
  orchestrationVersion: string,
  parentInstance: string | null = null,
  parentId: number | null = null,
): Event {
  return makeEvent(instance, executionId, 1, {
    type: "OrchestrationStarted",
    name: "TestOrch",
    version: orchestrationVersion,
    input: "{}",
    parentInstance,
    parentId,
  });
}

/** Returns the management capability, failing the test if the provider has none. */
export function requireAdmin(provider: Provider, what: string): ProviderAdmin {
  const admin = provider.asManagementCapability();
  assert.ok(admin, what);
  return admin;
}

/** Asserts that `promise` rejects with a permanent (non-retryable) `ProviderError`. */
export async function expectPermanentError(
  promise: Promise<unknown>,
  what: string,
): Promise<ProviderError> {
  const err = await expectProviderError(promise, what);
  assert.equal(err.retryable, false, `${what}: error should be permanent: ${err.message}`);
  return err;
}

/** The value of a snapshot entry, or `undefined` when the key is absent. */
export function snapshotValue(snapshot: Record<string, KvEntry>, key: string): string | undefined {
  return Object.hasOwn(snapshot, key) ? snapshot[key].value : undefined;
}

// ---------------------------------------------------------------------------
// Capability filtering
// ---------------------------------------------------------------------------

/**
 * Enqueues a start for `instance`, fetches until that instance comes back (holding the others),
 * acks it with an `OrchestrationStarted` written by runtime `pinned`, the pinned version in the
 * metadata and a follow-up `ping` message, then abandons the other fetched instances.
 */
export async function seedInstanceWithVersion(
  provider: Provider,
  instance: string,
  pinned: SemVer,
): Promise<void> {
  await provider.enqueueForOrchestrator(startItem(instance), null);
  let lockToken: string;
  const abandoned: string[] = [];
  for (;;) {
    const fetched = await provider.fetchOrchestrationItem(LONG_LOCK_MS, 0, null);
    assert.ok(fetched, "Should have work available");
    if (fetched.item.instance === instance) {
      lockToken = fetched.lockToken;
      break;
    }
    abandoned.push(fetched.lockToken);
  }
  await provider.ackOrchestrationItem(
    lockToken,
    1,
    [pinnedStartedEvent(instance, verString(pinned))],
    [],
    [externalRaised(instance, "ping")],
    { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0", pinnedDuroxideVersion: pinned },
    [],
  );
  for (const token of abandoned) {
    await provider.abandonOrchestrationItem(token, null, true).catch(() => {});
  }
}

/** An `OrchestrationStarted` event (TestOrch 1.0.0, execution 1) written by `duroxideVersion`. */
export function pinnedStartedEvent(instance: string, duroxideVersion: string): Event {
  return { ...startedWithVersion(instance, 1, "1.0.0"), duroxideVersion };
}

/** `ErrorDetails::display_message()` of a `FailedDeserialization` poison error. */
export function deserializationPoisonMessage(
  instance: string,
  attemptCount: number,
  maxAttempts: number,
  error: string,
): string {
  return `poison: orchestration ${instance} history deserialization failed after ` +
    `${attemptCount} attempts (max ${maxAttempts}): ${error}`;
}

// ---------------------------------------------------------------------------
// KV store
// ---------------------------------------------------------------------------

/** A `KeyValueSet` event. */
export function kvSet(
  instance: string,
  executionId: number,
  eventId: number,
  key: string,
  value: string,
  lastUpdatedAtMs = 0,
): Event {
  return makeEvent(instance, executionId, eventId, {
    type: "KeyValueSet",
    key,
    value,
    lastUpdatedAtMs,
  });
}

/** A `KeyValueCleared` event. */
export function kvClear(
  instance: string,
  executionId: number,
  eventId: number,
  key: string,
): Event {
  return makeEvent(instance, executionId, eventId, { type: "KeyValueCleared", key });
}

/** A `KeyValuesCleared` event. */
export function kvClearAll(instance: string, executionId: number, eventId: number): Event {
  return makeEvent(instance, executionId, eventId, { type: "KeyValuesCleared" });
}

/** Acks a turn with nothing in it, default metadata. */
export async function ackEmpty(
  provider: Provider,
  token: string,
  executionId: number,
): Promise<void> {
  await provider.ackOrchestrationItem(token, executionId, [], [], [], {}, []);
}

/** Pokes the instance, fetches the turn and acks it with `delta` and default metadata. */
export async function ackWithDelta(
  provider: Provider,
  instance: string,
  executionId: number,
  delta: Event[],
): Promise<void> {
  await provider.enqueueForOrchestrator(pokeItem(instance), null);
  const { lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item",
  );
  await provider.ackOrchestrationItem(lockToken, executionId, delta, [], [], {}, []);
}

/**
 * Marks execution `newExecutionId - 1` as `ContinuedAsNew`, then processes a `ContinueAsNew`
 * message by acking execution `newExecutionId` with its `OrchestrationStarted`.
 */
export async function continueAsNew(
  provider: Provider,
  instance: string,
  newExecutionId: number,
): Promise<void> {
  await provider.enqueueForOrchestrator(pokeItem(instance), null);
  const marked = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item to mark ContinuedAsNew",
  );
  await provider.ackOrchestrationItem(marked.lockToken, newExecutionId - 1, [], [], [], {
    status: "ContinuedAsNew",
    orchestrationName: "TestOrch",
    orchestrationVersion: "1.0.0",
  }, []);

  await provider.enqueueForOrchestrator({
    type: "ContinueAsNew",
    instance,
    orchestration: "TestOrch",
    input: "{}",
    version: "1.0.0",
    carryForwardEvents: [],
  }, null);
  const next = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item for ContinueAsNew",
  );
  await provider.ackOrchestrationItem(
    next.lockToken,
    newExecutionId,
    [startedWithVersion(instance, newExecutionId, "1.0.0")],
    [],
    [],
    { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0" },
    [],
  );
}

/** Pokes the instance and acks an `OrchestrationCompleted` (event 9999) with status Completed. */
export async function completeInstance(
  provider: Provider,
  instance: string,
  executionId: number,
): Promise<void> {
  await provider.enqueueForOrchestrator(pokeItem(instance), null);
  const { lockToken } = await fetchOrchestrationOrFail(
    provider,
    LONG_LOCK_MS,
    "expected orchestration item for completion",
  );
  await provider.ackOrchestrationItem(
    lockToken,
    executionId,
    [makeEvent(instance, executionId, 9999, { type: "OrchestrationCompleted", output: "done" })],
    [],
    [],
    {
      status: "Completed",
      output: "done",
      orchestrationName: "TestOrch",
      orchestrationVersion: "1.0.0",
    },
    [],
  );
}
