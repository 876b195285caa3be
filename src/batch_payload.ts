/**
 * JSON payloads of the ack procedures, shared by the single and the batched calls so that both
 * validate and encode an ack the same way.
 *
 * @module
 */

import { type AckPayload, buildAckPayload } from "./ack_payload.ts";
import type { OrchestrationItemAck } from "./batch_api.ts";
import { encodeWorkItem } from "./codec.ts";
import { ProviderError } from "./errors.ts";
import type { WorkItem } from "./types.ts";
import { requirePositiveInt, requireString } from "./validate.ts";

/**
 * The `completion` argument of `ack_work_item` as JSON text, or `null` for none.
 *
 * @throws {ProviderError} `INVALID_ARGUMENT` unless it is `ActivityCompleted` or `ActivityFailed`.
 */
export function completionPayload(operation: string, completion: WorkItem | null): string | null {
  if (!completion) return null;
  if (completion.type !== "ActivityCompleted" && completion.type !== "ActivityFailed") {
    throw new ProviderError(
      `Invalid work item type: an activity completes with ActivityCompleted or ActivityFailed, got ${completion.type}`,
      { code: "INVALID_ARGUMENT", operation, retryable: false },
    );
  }
  return JSON.stringify({
    instance_id: completion.instance,
    kind: completion.type,
    work_item: encodeWorkItem(completion),
  });
}

/** Validates a turn's ack and encodes its procedure arguments. */
export function turnAckPayload(operation: string, ack: OrchestrationItemAck): AckPayload {
  requireString("lockToken", ack.lockToken);
  requirePositiveInt("executionId", ack.executionId);
  return buildAckPayload(
    operation,
    ack.historyDelta,
    ack.workerItems,
    ack.orchestratorItems,
    ack.metadata,
    ack.cancelledActivities,
  );
}

/** One item of `ack_orchestration_items` as JSON text (the payload parts are JSON already). */
export function turnAckJson(operation: string, ack: OrchestrationItemAck): string {
  const p = turnAckPayload(operation, ack);
  return `{"lock_token":${JSON.stringify(ack.lockToken)},"execution_id":${ack.executionId},` +
    `"history":${p.history},"worker":${p.worker},"orchestrator":${p.orchestrator},` +
    `"metadata":${p.metadata},"custom_status":${p.customStatus ?? "null"},"kv":${p.kv},` +
    `"cancelled":${p.cancelled}}`;
}
