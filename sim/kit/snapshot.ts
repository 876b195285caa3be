/**
 * Reads the provider's tables in one statement and turns them into a {@linkcode StoreView}:
 * payload labels instead of JSON, handles instead of lock tokens. The tables are private to
 * the provider; only the simulation reads them, to compare the database with the model and to
 * check invariants directly on what is stored.
 *
 * @module
 */

import type { SqlExecutor } from "../../src/driver/driver.ts";
import { decodeEvent, decodeWorkItem } from "../../src/codec.ts";
import type { Event, WorkItem } from "../../src/types.ts";
import { canonicalStore, type StoreView } from "./model_state.ts";
import type { SimMessageKind } from "./ops.ts";

/**
 * Names the lock tokens the database issues by handles, in the order they were first seen
 * (`lock#1`, `lock#2`… for instance locks, `wlock#1`… for activity locks), so that a run's
 * trace does not depend on the random UUIDs.
 *
 * @example
 * ```ts
 * import { createTokenRegistry } from "@duroxide/pg/sim";
 *
 * const tokens = createTokenRegistry();
 * console.assert(tokens.learn("3f2a…", "lock") === "lock#1");
 * console.assert(tokens.tokenOf("lock#1") === "3f2a…" && tokens.handleOf("3f2a…") === "lock#1");
 * ```
 */
export interface TokenRegistry {
  /** Names a new token; throws if the token was issued before (tokens must be unique). */
  learn(token: string, kind: "lock" | "wlock"): string;
  /** The handle of a token; unknown tokens print as `?` and their first characters. */
  handleOf(token: string): string;
  /** The token behind a handle. */
  tokenOf(handle: string): string;
}

/**
 * Creates an empty {@linkcode TokenRegistry}.
 *
 * @example
 * ```ts
 * import { createTokenRegistry } from "@duroxide/pg/sim";
 *
 * console.assert(createTokenRegistry().handleOf("abcdef12-0000") === "?abcdef12");
 * ```
 */
export function createTokenRegistry(): TokenRegistry {
  const handles = new Map<string, string>();
  const tokens = new Map<string, string>();
  const issued = { lock: 0, wlock: 0 };
  return {
    learn(token, kind) {
      if (handles.has(token)) {
        throw new Error(`lock token reused: ${handles.get(token)} was issued again`);
      }
      const handle = `${kind}#${++issued[kind]}`;
      handles.set(token, handle);
      tokens.set(handle, token);
      return handle;
    },
    handleOf: (token) => handles.get(token) ?? `?${token.slice(0, 8)}`,
    tokenOf(handle) {
      const token = tokens.get(handle);
      if (token === undefined) throw new Error(`no lock token is known for ${handle}`);
      return token;
    },
  };
}

/**
 * The payload label the simulation put into a work item.
 *
 * @example
 * ```ts
 * import { labelOfWorkItem } from "@duroxide/pg/sim";
 *
 * console.assert(labelOfWorkItem({ type: "ExternalRaised", instance: "i1", name: "sim", data: "m4" }) === "m4");
 * ```
 */
export function labelOfWorkItem(item: WorkItem): string {
  switch (item.type) {
    case "StartOrchestration":
      return item.input;
    case "ExternalRaised":
    case "QueueMessage":
      return item.data;
    case "TimerFired":
      return `m${item.id}`;
    case "CancelInstance":
      return item.reason;
    case "ActivityCompleted":
      return item.result;
    case "ActivityExecute":
      return item.input;
    default:
      return `?${item.type}`;
  }
}

/**
 * The payload label the simulation put into a history event.
 *
 * @example
 * ```ts
 * import { labelOfEvent } from "@duroxide/pg/sim";
 *
 * console.assert(labelOfEvent({
 *   eventId: 1, sourceEventId: null, instanceId: "i1", executionId: 1, timestampMs: 0,
 *   duroxideVersion: "0.1.26", type: "CustomStatusUpdated", status: "e3",
 * }) === "e3");
 * ```
 */
export function labelOfEvent(event: Event): string {
  if (event.type === "ExternalEvent") return event.data;
  if (event.type === "CustomStatusUpdated") return event.status ?? "";
  return `?${event.type}`;
}

interface RawSnapshot {
  oq: {
    kind: string;
    instance: string;
    item: string;
    visibleAt: number;
    token: string | null;
    attempts: number;
  }[];
  wq: {
    instance: string;
    executionId: number;
    activityId: number;
    session: string | null;
    tag: string | null;
    item: string;
    visibleAt: number;
    token: string | null;
    lockedUntil: number | null;
    attempts: number;
    createdAt: number;
  }[];
  locks: { instance: string; token: string; lockedUntil: number }[];
  sessions: { session: string; owner: string; lockedUntil: number; lastActivity: number }[];
  history: { instance: string; executionId: number; eventId: number; data: string }[];
  executions: { instance: string; executionId: number; status: string }[];
  instances: {
    instance: string;
    name: string;
    version: string | null;
    current: number;
    customStatus: string | null;
    customStatusVersion: number;
  }[];
}

function snapshotSql(quotedSchema: string): string {
  const s = quotedSchema;
  const agg = (fields: string, table: string, order: string) =>
    `(select coalesce(jsonb_agg(jsonb_build_object(${fields}) order by ${order}), '[]'::jsonb) from ${s}.${table})`;
  return `select jsonb_build_object(
    'oq', ${
    agg(
      `'kind', kind, 'instance', instance_id, 'item', work_item, 'visibleAt', visible_at,
       'token', lock_token, 'attempts', attempt_count`,
      "orchestrator_queue",
      "id",
    )
  },
    'wq', ${
    agg(
      `'instance', instance_id, 'executionId', execution_id, 'activityId', activity_id,
       'session', session_id, 'tag', tag, 'item', work_item, 'visibleAt', visible_at,
       'token', lock_token, 'lockedUntil', locked_until, 'attempts', attempt_count,
       'createdAt', created_at_ms`,
      "worker_queue",
      "id",
    )
  },
    'locks', ${
    agg(
      `'instance', instance_id, 'token', lock_token, 'lockedUntil', locked_until`,
      "instance_locks",
      "instance_id",
    )
  },
    'sessions', ${
    agg(
      `'session', session_id, 'owner', worker_id, 'lockedUntil', locked_until,
       'lastActivity', last_activity_at`,
      "sessions",
      "session_id",
    )
  },
    'history', ${
    agg(
      `'instance', instance_id, 'executionId', execution_id, 'eventId', event_id, 'data', event_data`,
      "history",
      "instance_id, execution_id, event_id",
    )
  },
    'executions', ${
    agg(
      `'instance', instance_id, 'executionId', execution_id, 'status', status`,
      "executions",
      "instance_id, execution_id",
    )
  },
    'instances', ${
    agg(
      `'instance', instance_id, 'name', orchestration_name, 'version', orchestration_version,
       'current', current_execution_id, 'customStatus', custom_status,
       'customStatusVersion', custom_status_version`,
      "instances",
      "instance_id",
    )
  }) as snapshot`;
}

function decodeLabel(text: string): string {
  try {
    return labelOfWorkItem(decodeWorkItem(text));
  } catch {
    return `?undecodable`;
  }
}

function decodeEventLabel(text: string): string {
  try {
    return labelOfEvent(decodeEvent(text));
  } catch {
    return `?undecodable`;
  }
}

/**
 * Reads the provider's tables in `quotedSchema` as a canonical {@linkcode StoreView}, naming
 * lock tokens with `tokens`.
 *
 * @example
 * ```ts ignore
 * const view = await readStoreView(driver, '"sim_1"', createTokenRegistry());
 * console.log(view.orchestratorQueue.map((m) => m.label));
 * ```
 */
export async function readStoreView(
  db: SqlExecutor,
  quotedSchema: string,
  tokens: TokenRegistry,
): Promise<StoreView> {
  const rows = await db.query<{ snapshot: RawSnapshot }>(snapshotSql(quotedSchema));
  const raw = rows[0].snapshot;
  const handle = (token: string | null) => token === null ? null : tokens.handleOf(token);
  return canonicalStore({
    orchestratorQueue: raw.oq.map((m) => ({
      label: decodeLabel(m.item),
      instance: m.instance,
      kind: m.kind as SimMessageKind,
      visibleAt: Number(m.visibleAt),
      lock: handle(m.token),
      attempts: m.attempts,
    })),
    workerQueue: raw.wq.map((w) => ({
      label: decodeLabel(w.item),
      instance: w.instance,
      executionId: Number(w.executionId),
      activityId: Number(w.activityId),
      session: w.session,
      tag: w.tag,
      visibleAt: Number(w.visibleAt),
      lock: handle(w.token),
      lockedUntil: w.lockedUntil === null ? null : Number(w.lockedUntil),
      attempts: w.attempts,
      createdAt: Number(w.createdAt),
    })),
    instanceLocks: raw.locks.map((l) => ({
      instance: l.instance,
      lock: tokens.handleOf(l.token),
      lockedUntil: Number(l.lockedUntil),
    })),
    sessions: raw.sessions.map((s) => ({
      session: s.session,
      owner: s.owner,
      lockedUntil: Number(s.lockedUntil),
      lastActivity: Number(s.lastActivity),
    })),
    history: raw.history.map((h) => ({
      instance: h.instance,
      executionId: Number(h.executionId),
      eventId: Number(h.eventId),
      label: decodeEventLabel(h.data),
    })),
    executions: raw.executions.map((e) => ({
      instance: e.instance,
      executionId: Number(e.executionId),
      status: e.status,
    })),
    instances: raw.instances.map((i) => ({
      instance: i.instance,
      name: i.name,
      version: i.version,
      currentExecutionId: Number(i.current),
      customStatus: i.customStatus,
      customStatusVersion: Number(i.customStatusVersion),
    })),
  });
}
