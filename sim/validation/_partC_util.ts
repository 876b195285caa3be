/**
 * Private helpers of the sessions, tag_filtering, custom_status and instance_stats
 * validation tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Provider } from "../../src/provider_api.ts";
import type {
  Event,
  ExecutionMetadata,
  SessionFetchConfig,
  TagFilter,
  WorkItem,
} from "../../src/types.ts";
import { activityItem } from "./helpers.ts";

/** An `ActivityExecute` work item. */
export type ActivityExecuteItem = Extract<WorkItem, { type: "ActivityExecute" }>;

/** A session-bound `SessionActivity` item of execution 1. */
export function sessionActivity(instance: string, id: number, sessionId: string): WorkItem {
  return activityItem(instance, 1, id, { name: "SessionActivity", sessionId });
}

/** A `PlainActivity` item of execution 1 without a session. */
export function plainActivity(instance: string, id: number): WorkItem {
  return activityItem(instance, 1, id, { name: "PlainActivity" });
}

/** A `ActivityN` item of execution 1 with an optional tag (`N` = id). */
export function taggedActivity(instance: string, id: number, tag: string | null): WorkItem {
  return activityItem(
    instance,
    1,
    id,
    tag === null ? { name: `Activity${id}` } : { name: `Activity${id}`, tag },
  );
}

/** A session fetch config for `ownerId`; the session lock defaults to 30 s. */
export function sessionConfig(ownerId: string, lockTimeoutMs = 30_000): SessionFetchConfig {
  return { ownerId, lockTimeoutMs };
}

/** A `Tags` filter over the given tag names. */
export function tagsFilter(...tags: string[]): TagFilter {
  return { type: "Tags", tags };
}

/** Asserts the item is an `ActivityExecute` and returns it narrowed. */
export function asActivity(item: WorkItem): ActivityExecuteItem {
  if (item.type !== "ActivityExecute") {
    assert.fail(`Expected ActivityExecute, got ${item.type}`);
  }
  return item;
}

/** The session id of an activity item, `null` when it has none. */
export function sessionOf(item: ActivityExecuteItem): string | null {
  return item.sessionId ?? null;
}

/** The tag of an activity item, `null` when it has none. */
export function tagOf(item: ActivityExecuteItem): string | null {
  return item.tag ?? null;
}

/** Asserts `value` is not null and returns it. */
export function expectSome<T>(value: T | null | undefined, message: string): T {
  assert.ok(value !== null && value !== undefined, message);
  return value;
}

/**
 * Fetches the next orchestration turn (30 s lock) and acks it with `historyDelta` and
 * `metadata`, no new work items and no cancellations.
 */
export async function fetchAndAck(
  provider: Provider,
  executionId: number,
  historyDelta: Event[],
  metadata: ExecutionMetadata,
  what = "expected orchestration item",
): Promise<void> {
  const fetched = expectSome(await provider.fetchOrchestrationItem(30_000, 0, null), what);
  await provider.ackOrchestrationItem(
    fetched.lockToken,
    executionId,
    historyDelta,
    [],
    [],
    metadata,
    [],
  );
}
