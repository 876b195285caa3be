/**
 * Turns the row `fetch_orchestration_item` returns into an {@linkcode OrchestrationItem}.
 *
 * Decoding happens here, after the lock was committed: an undecodable history is reported
 * through `historyError` with the lock still held (never by throwing), so the runtime can
 * poison the instance instead of retrying it forever.
 *
 * @module
 */

import { decodeEvent, decodeWorkItem } from "./codec.ts";
import type { Event, FetchedOrchestrationItem, KvEntry, WorkItem } from "./types.ts";

/** The JSON row returned by `fetch_orchestration_item`. */
export interface FetchedRow {
  instance_id: string;
  lock_token: string;
  attempt_count: number;
  messages: string[];
  history: string[];
  kv: Record<string, { value: string; last_updated_at_ms: number }>;
  name: string | null;
  version: string | null;
  execution_id: number | null;
  has_instance: boolean;
}

const UNKNOWN_VERSION = "unknown";

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Name, version and execution of an instance that has no instance row yet. */
function identityWithoutInstanceRow(row: FetchedRow, history: Event[], messages: WorkItem[]) {
  const executionId = row.execution_id ?? 1;
  const started = history[0];
  if (started?.type === "OrchestrationStarted") {
    return { name: started.name, version: started.version, executionId };
  }
  const start = messages.find((m) => m.type === "StartOrchestration" || m.type === "ContinueAsNew");
  if (start?.type === "StartOrchestration" || start?.type === "ContinueAsNew") {
    return { name: start.orchestration, version: start.version ?? UNKNOWN_VERSION, executionId };
  }
  return { name: "Unknown", version: UNKNOWN_VERSION, executionId };
}

/** Decodes a fetched row into the turn the runtime works on. */
export function toFetchedOrchestrationItem(row: FetchedRow): FetchedOrchestrationItem {
  let historyError: string | null = null;
  let messages: WorkItem[] = [];
  let history: Event[] = [];
  try {
    messages = row.messages.map(decodeWorkItem);
  } catch (err) {
    historyError = `a queued message of instance ${row.instance_id} could not be decoded: ${
      describe(err)
    }`;
  }
  try {
    history = row.history.map(decodeEvent);
  } catch (err) {
    historyError ??= `history of instance ${row.instance_id} could not be decoded: ${
      describe(err)
    }`;
  }
  if (historyError !== null) history = [];

  const identity = row.has_instance
    ? {
      name: row.name ?? "Unknown",
      version: row.version ?? UNKNOWN_VERSION,
      executionId: row.execution_id ?? 1,
    }
    : identityWithoutInstanceRow(row, history, messages);

  const kvSnapshot: Record<string, KvEntry> = {};
  if (historyError === null) {
    for (const [key, entry] of Object.entries(row.kv)) {
      kvSnapshot[key] = { value: entry.value, lastUpdatedAtMs: entry.last_updated_at_ms };
    }
  }
  return {
    item: {
      instance: row.instance_id,
      orchestrationName: identity.name,
      executionId: identity.executionId,
      version: identity.version,
      history,
      messages,
      historyError,
      kvSnapshot,
    },
    lockToken: row.lock_token,
    attemptCount: row.attempt_count,
  };
}
