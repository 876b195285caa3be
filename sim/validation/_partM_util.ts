/**
 * Private helpers of the `management`, `deletion`, `prune` and `bulk_deletion` validation
 * categories: seeding completed instances (optionally as sub-orchestrations), fetching turns
 * and asserting that management calls fail.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Provider, ProviderAdmin } from "../../src/provider_api.ts";
import type { Event, ExecutionMetadata, WorkItem } from "../../src/types.ts";
import {
  expectProviderError,
  fetchOrchestrationOrFail,
  LONG_LOCK_MS,
  makeEvent,
  startItem,
} from "./helpers.ts";

/** Fields of an `OrchestrationStarted` event that the management tests vary. */
export interface StartedFields {
  /** Orchestration name. @default {"TestOrch"} */
  name?: string;
  /** Orchestration version. @default {"1.0.0"} */
  version?: string;
  /** Orchestration input. @default {"{}"} */
  input?: string;
  /** Parent instance of a sub-orchestration. @default {null} */
  parentInstance?: string | null;
  /** Event id of the parent's scheduling event. @default {null} */
  parentId?: number | null;
}

/** An `OrchestrationStarted` event with id 1 of `executionId`. */
export function started(instance: string, executionId: number, fields: StartedFields = {}): Event {
  return makeEvent(instance, executionId, 1, {
    type: "OrchestrationStarted",
    name: fields.name ?? "TestOrch",
    version: fields.version ?? "1.0.0",
    input: fields.input ?? "{}",
    parentInstance: fields.parentInstance ?? null,
    parentId: fields.parentId ?? null,
  });
}

/** Enqueues `item`, fetches the turn (30 s lock) and acks it with `delta` and `metadata`. */
export async function startAndAck(
  provider: Provider,
  item: WorkItem,
  executionId: number,
  delta: Event[],
  metadata: ExecutionMetadata,
): Promise<void> {
  await provider.enqueueForOrchestrator(item, null);
  const { lockToken } = await fetchOrchestrationOrFail(provider, LONG_LOCK_MS);
  await provider.ackOrchestrationItem(lockToken, executionId, delta, [], [], metadata, []);
}

/**
 * Creates `instance` as a completed `TestOrch` 1.0.0 execution (output `done`); with a
 * `parent`, as a sub-orchestration of it (parent event id 1, `parentInstanceId` in the
 * metadata).
 */
export async function createCompletedInstance(
  provider: Provider,
  instance: string,
  parent: string | null = null,
): Promise<void> {
  const item: WorkItem = parent === null ? startItem(instance) : {
    type: "StartOrchestration",
    instance,
    orchestration: "TestOrch",
    input: "{}",
    version: "1.0.0",
    parentInstance: parent,
    parentId: 1,
    executionId: 1,
  };
  await startAndAck(
    provider,
    item,
    1,
    [started(instance, 1, { parentInstance: parent, parentId: parent === null ? null : 1 })],
    {
      status: "Completed",
      output: "done",
      orchestrationName: "TestOrch",
      orchestrationVersion: "1.0.0",
      parentInstanceId: parent,
      pinnedDuroxideVersion: null,
    },
  );
}

/** Asserts that `getInstanceInfo(instance)` fails with a `ProviderError` (no such instance). */
export async function expectGone(
  mgmt: ProviderAdmin,
  instance: string,
  what: string,
): Promise<void> {
  await expectProviderError(mgmt.getInstanceInfo(instance), what);
}

/** Asserts that `getInstanceInfo(instance)` succeeds. */
export async function expectExists(
  mgmt: ProviderAdmin,
  instance: string,
  what = `${instance} should exist`,
): Promise<void> {
  try {
    await mgmt.getInstanceInfo(instance);
  } catch (err) {
    assert.fail(`${what}: ${err}`);
  }
}
