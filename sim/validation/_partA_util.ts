/**
 * Small private helpers of the atomicity, error-handling, instance, lock, queue, poison and
 * polling validation categories. Not part of the public suite API.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Provider } from "../../src/provider_api.ts";
import type { Event, FetchedWorkItem, WorkItem } from "../../src/types.ts";
import { fetchWork, makeEvent } from "./helpers.ts";

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
