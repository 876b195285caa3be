/**
 * Builders and small utilities shared by the validation tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../src/errors.ts";
import type { Provider } from "../../src/provider_api.ts";
import type {
  Event,
  EventKind,
  ExecutionMetadata,
  FetchedOrchestrationItem,
  FetchedWorkItem,
  SessionFetchConfig,
  TagFilter,
  WorkItem,
} from "../../src/types.ts";

/** Runtime version written into events built by the tests. */
export const TEST_DUROXIDE_VERSION = "0.1.26";

/** The 30 s lock timeout most tests pass explicitly. */
export const LONG_LOCK_MS = 30_000;

/** The default tag filter (`TagFilter::default()`): untagged activities only. */
export const DEFAULT_TAG_FILTER: TagFilter = { type: "DefaultOnly" };

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A `StartOrchestration` item for `TestOrch` version 1.0.0, execution 1, input `{}`. */
export function startItem(instance: string): WorkItem {
  return {
    type: "StartOrchestration",
    instance,
    orchestration: "TestOrch",
    input: "{}",
    version: "1.0.0",
    parentInstance: null,
    parentId: null,
    executionId: 1,
  };
}

/** An event with the common fields filled in (source null, timestamp now). */
export function makeEvent(
  instanceId: string,
  executionId: number,
  eventId: number,
  kind: EventKind,
  sourceEventId: number | null = null,
): Event {
  return {
    eventId,
    sourceEventId,
    instanceId,
    executionId,
    timestampMs: Date.now(),
    duroxideVersion: TEST_DUROXIDE_VERSION,
    ...kind,
  } as Event;
}

/** An `OrchestrationStarted` event for `TestOrch` 1.0.0. */
export function startedEvent(instance: string, executionId = 1, eventId = 1): Event {
  return makeEvent(instance, executionId, eventId, {
    type: "OrchestrationStarted",
    name: "TestOrch",
    version: "1.0.0",
    input: "{}",
    parentInstance: null,
    parentId: null,
  });
}

/** Metadata naming `TestOrch` 1.0.0, so the ack creates the instance row. */
export function testMetadata(extra: ExecutionMetadata = {}): ExecutionMetadata {
  return { orchestrationName: "TestOrch", orchestrationVersion: "1.0.0", ...extra };
}

/** An `ActivityExecute` work item. */
export function activityItem(
  instance: string,
  executionId: number,
  id: number,
  extra: { name?: string; input?: string; sessionId?: string; tag?: string } = {},
): WorkItem {
  const item: WorkItem = {
    type: "ActivityExecute",
    instance,
    executionId,
    id,
    name: extra.name ?? "TestActivity",
    input: extra.input ?? "{}",
  };
  if (extra.sessionId !== undefined) item.sessionId = extra.sessionId;
  if (extra.tag !== undefined) item.tag = extra.tag;
  return item;
}

/**
 * Enqueues a start, fetches it and acks it with an `OrchestrationStarted` event and metadata,
 * so the instance exists with one history event and no lock.
 */
export async function createInstance(provider: Provider, instance: string): Promise<void> {
  await provider.enqueueForOrchestrator(startItem(instance), null);
  const fetched = await provider.fetchOrchestrationItem(30_000, 0);
  if (!fetched) throw new Error(`createInstance(${instance}): nothing to fetch`);
  if (fetched.item.instance !== instance) {
    throw new Error(`createInstance(${instance}): fetched ${fetched.item.instance} instead`);
  }
  await provider.ackOrchestrationItem(
    fetched.lockToken,
    1,
    [startedEvent(instance)],
    [],
    [],
    testMetadata(),
    [],
  );
}

/** Asserts that `promise` rejects, and returns the error. */
export async function expectError(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error(`expected ${what} to fail, but it succeeded`);
}

/** Asserts that `promise` rejects with a {@linkcode ProviderError}, and returns the error. */
export async function expectProviderError(
  promise: Promise<unknown>,
  what: string,
): Promise<ProviderError> {
  const err = await expectError(promise, what);
  assert.ok(err instanceof ProviderError, `${what}: expected a ProviderError, got ${String(err)}`);
  return err;
}

/** Fetches an orchestration item (no poll wait, no filter) and fails when there is none. */
export async function fetchOrchestrationOrFail(
  provider: Provider,
  lockTimeoutMs: number,
  what = "fetch_orchestration_item",
): Promise<FetchedOrchestrationItem> {
  const fetched = await provider.fetchOrchestrationItem(lockTimeoutMs, 0, null);
  assert.ok(fetched !== null, `${what}: expected an orchestration item, got none`);
  return fetched;
}

/** A worker fetch with no poll wait and the default (untagged-only) tag filter. */
export function fetchWork(
  provider: Provider,
  lockTimeoutMs: number,
  session: SessionFetchConfig | null = null,
): Promise<FetchedWorkItem | null> {
  return provider.fetchWorkItem(lockTimeoutMs, 0, session, DEFAULT_TAG_FILTER);
}

/** An `ExternalRaised` message (`poke` by default) that makes an instance fetchable again. */
export function pokeItem(instance: string, name = "poke"): WorkItem {
  return { type: "ExternalRaised", instance, name, data: "{}" };
}
