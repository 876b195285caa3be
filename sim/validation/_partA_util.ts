/**
 * Small private helpers of the atomicity, error-handling, instance, lock, queue, poison and
 * polling validation categories. Not part of the public suite API.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ProviderError } from "../../src/errors.ts";
import type { Provider } from "../../src/provider_api.ts";
import type {
  Event,
  FetchedOrchestrationItem,
  FetchedWorkItem,
  TagFilter,
  WorkItem,
} from "../../src/types.ts";
import { expectError, makeEvent } from "./helpers.ts";

/** Thirty seconds, the lock timeout most tests pass explicitly. */
export const THIRTY_SECONDS_MS = 30_000;

/** The default tag filter (`TagFilter::default()`): untagged activities only. */
export function defaultTags(): TagFilter {
  return { type: "DefaultOnly" };
}

/** `provider.read(instance).unwrap_or_default()`: the latest history, or `[]` on error. */
export async function readOrEmpty(provider: Provider, instance: string): Promise<Event[]> {
  try {
    return await provider.read(instance);
  } catch {
    return [];
  }
}

/** `read_with_execution(..).unwrap_or_default()`: one execution's history, or `[]` on error. */
export async function readWithExecutionOrEmpty(
  provider: Provider,
  instance: string,
  executionId: number,
): Promise<Event[]> {
  try {
    return await provider.readWithExecution(instance, executionId);
  } catch {
    return [];
  }
}

/** Asserts that `promise` rejects with a {@linkcode ProviderError}, and returns the error. */
export async function expectProviderError(
  promise: Promise<unknown>,
  what: string,
): Promise<ProviderError> {
  const err = await expectError(promise, what);
  assert.ok(
    err instanceof ProviderError,
    `${what}: expected a ProviderError, got ${String(err)}`,
  );
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

/** Fetches a work item with the default tag filter and no session. */
export function fetchWork(
  provider: Provider,
  lockTimeoutMs: number,
): Promise<FetchedWorkItem | null> {
  return provider.fetchWorkItem(lockTimeoutMs, 0, null, defaultTags());
}

/** Fetches a work item (default tags, no session) and fails when there is none. */
export async function fetchWorkOrFail(
  provider: Provider,
  lockTimeoutMs: number,
  what = "fetch_work_item",
): Promise<FetchedWorkItem> {
  const fetched = await fetchWork(provider, lockTimeoutMs);
  assert.ok(fetched !== null, `${what}: expected a work item, got none`);
  return fetched;
}

/** An `ActivityCompleted` work item. */
export function activityCompleted(
  instance: string,
  executionId: number,
  id: number,
  result: string,
): WorkItem {
  return { type: "ActivityCompleted", instance, executionId, id, result };
}

/** An `OrchestrationStarted` event with the given name, version and parent. */
export function orchestrationStarted(
  instance: string,
  executionId: number,
  eventId: number,
  options: {
    name?: string;
    version?: string;
    input?: string;
    parentInstance?: string | null;
    parentId?: number | null;
  } = {},
): Event {
  return makeEvent(instance, executionId, eventId, {
    type: "OrchestrationStarted",
    name: options.name ?? "TestOrch",
    version: options.version ?? "1.0.0",
    input: options.input ?? "{}",
    parentInstance: options.parentInstance ?? null,
    parentId: options.parentId ?? null,
  });
}

/** An `ActivityScheduled` event. */
export function activityScheduled(
  instance: string,
  executionId: number,
  eventId: number,
  name: string,
  input: string,
): Event {
  return makeEvent(instance, executionId, eventId, { type: "ActivityScheduled", name, input });
}

/** The `id` of an `ActivityExecute` or `ActivityCompleted` item; fails for other kinds. */
export function activityIdOf(item: WorkItem): number {
  if (item.type === "ActivityExecute" || item.type === "ActivityCompleted") return item.id;
  assert.fail(`expected ActivityExecute or ActivityCompleted, got ${item.type}`);
}

/** The `id` of an `ActivityExecute` item; fails for other kinds. */
export function activityExecuteId(item: WorkItem): number {
  if (item.type !== "ActivityExecute") assert.fail(`expected ActivityExecute, got ${item.type}`);
  return item.id;
}

/**
 * Releases every waiter once `parties` callers have called {@linkcode Barrier.wait}
 * (the `tokio::sync::Barrier` of the concurrent tests).
 */
export class Barrier {
  #waiting = 0;
  #release!: () => void;
  readonly #released: Promise<void>;

  /** A barrier for `parties` callers. */
  constructor(readonly parties: number) {
    this.#released = new Promise((resolve) => this.#release = resolve);
  }

  /** Resolves when all parties have arrived. */
  wait(): Promise<void> {
    this.#waiting += 1;
    if (this.#waiting >= this.parties) this.#release();
    return this.#released;
  }
}
