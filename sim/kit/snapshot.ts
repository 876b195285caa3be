/**
 * Turns the provider's tables (read in one call, see `observers.ts`) into a
 * {@linkcode StoreView}: payload labels instead of JSON, handles instead of lock tokens. The tables are private to
 * the provider; only the simulation reads them, to compare the database with the model and to
 * check invariants directly on what is stored.
 *
 * @module
 */

import { decodeEvent, decodeWorkItem } from "../../src/codec.ts";
import type { Event, WorkItem } from "../../src/types.ts";
import { canonicalStore, emptyStore, type StoreView } from "./model_state.ts";
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

/** The provider's tables as the observer functions return them (see `observers.ts`). */
export interface RawSnapshot {
  /** Orchestrator queue rows, oldest first. */
  orchestratorQueue: {
    kind: string;
    instance: string;
    item: string;
    visibleAt: number;
    token: string | null;
    attempts: number;
  }[];
  /** Worker queue rows, oldest first. */
  workerQueue: {
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
  /** Instance locks. */
  instanceLocks: { instance: string; token: string; lockedUntil: number }[];
  /** Sessions. */
  sessions: { session: string; owner: string; lockedUntil: number; lastActivity: number }[];
  /** History rows. */
  history: { instance: string; executionId: number; eventId: number; data: string }[];
  /** Executions. */
  executions: { instance: string; executionId: number; status: string }[];
  /** Instances. */
  instances: {
    instance: string;
    name: string;
    version: string | null;
    current: number;
    customStatus: string | null;
    customStatusVersion: number;
  }[];
}

/**
 * Labels by stored text: a step re-reads every row, and most rows did not change, so each
 * payload is decoded once (bounded, so a long soak does not grow it without limit).
 */
const labelCache = new Map<string, string>();
const LABEL_CACHE_LIMIT = 50_000;

function cachedLabel(text: string, decode: (text: string) => string): string {
  let label = labelCache.get(text);
  if (label === undefined) {
    try {
      label = decode(text);
    } catch {
      label = "?undecodable";
    }
    if (labelCache.size >= LABEL_CACHE_LIMIT) labelCache.clear();
    labelCache.set(text, label);
  }
  return label;
}

const workItemLabel = (text: string) => labelOfWorkItem(decodeWorkItem(text));
const eventLabel = (text: string) => labelOfEvent(decodeEvent(text));

type Converters = {
  [K in keyof StoreView]: (raw: RawSnapshot[K], tokens: TokenRegistry) => StoreView[K];
};

function handleOf(tokens: TokenRegistry, token: string | null): string | null {
  return token === null ? null : tokens.handleOf(token);
}

const CONVERT: Converters = {
  orchestratorQueue: (rows, tokens) =>
    rows.map((m) => ({
      label: cachedLabel(m.item, workItemLabel),
      instance: m.instance,
      kind: m.kind as SimMessageKind,
      visibleAt: Number(m.visibleAt),
      lock: handleOf(tokens, m.token),
      attempts: m.attempts,
    })),
  workerQueue: (rows, tokens) =>
    rows.map((w) => ({
      label: cachedLabel(w.item, workItemLabel),
      instance: w.instance,
      executionId: Number(w.executionId),
      activityId: Number(w.activityId),
      session: w.session,
      tag: w.tag,
      visibleAt: Number(w.visibleAt),
      lock: handleOf(tokens, w.token),
      lockedUntil: w.lockedUntil === null ? null : Number(w.lockedUntil),
      attempts: w.attempts,
      createdAt: Number(w.createdAt),
    })),
  instanceLocks: (rows, tokens) =>
    rows.map((l) => ({
      instance: l.instance,
      lock: tokens.handleOf(l.token),
      lockedUntil: Number(l.lockedUntil),
    })),
  sessions: (rows) =>
    rows.map((x) => ({
      session: x.session,
      owner: x.owner,
      lockedUntil: Number(x.lockedUntil),
      lastActivity: Number(x.lastActivity),
    })),
  history: (rows) =>
    rows.map((h) => ({
      instance: h.instance,
      executionId: Number(h.executionId),
      eventId: Number(h.eventId),
      label: cachedLabel(h.data, eventLabel),
    })),
  executions: (rows) =>
    rows.map((e) => ({
      instance: e.instance,
      executionId: Number(e.executionId),
      status: e.status,
    })),
  instances: (rows) =>
    rows.map((i) => ({
      instance: i.instance,
      name: i.name,
      version: i.version,
      currentExecutionId: Number(i.current),
      customStatus: i.customStatus,
      customStatusVersion: Number(i.customStatusVersion),
    })),
};

/**
 * Turns the tables in `raw` (some or all of them) into their canonical {@linkcode StoreView}
 * form: payload labels instead of JSON, handles (named with `tokens`) instead of lock tokens.
 * Tables missing from `raw` are missing from the result.
 *
 * @example
 * ```ts
 * import { createTokenRegistry, storeTablesOf } from "@duroxide/pg/sim";
 *
 * const tables = storeTablesOf({
 *   instanceLocks: [{ instance: "i1", token: "t-1", lockedUntil: 5 }],
 * }, createTokenRegistry());
 * console.assert(tables.instanceLocks?.[0].lock === "?t-1" && tables.history === undefined);
 * ```
 */
export function storeTablesOf(
  raw: Partial<RawSnapshot>,
  tokens: TokenRegistry,
): Partial<StoreView> {
  const out: Partial<Record<keyof StoreView, unknown>> = {};
  for (const table of Object.keys(raw) as (keyof StoreView)[]) {
    const convert = CONVERT[table] as (rows: unknown, tokens: TokenRegistry) => unknown;
    if (!convert) throw new TypeError(`Unknown table in a snapshot: ${table}`);
    out[table] = convert(raw[table], tokens);
  }
  const canonical = canonicalStore({ ...emptyStore(), ...(out as Partial<StoreView>) });
  return Object.fromEntries(
    Object.keys(out).map((table) => [table, canonical[table as keyof StoreView]]),
  ) as Partial<StoreView>;
}

/**
 * Turns a whole snapshot into a canonical {@linkcode StoreView}.
 *
 * @example
 * ```ts
 * import { createTokenRegistry, storeViewOf } from "@duroxide/pg/sim";
 *
 * const view = storeViewOf({
 *   orchestratorQueue: [], workerQueue: [], sessions: [], history: [], executions: [],
 *   instances: [], instanceLocks: [{ instance: "i1", token: "t-1", lockedUntil: 5 }],
 * }, createTokenRegistry());
 * console.assert(view.instanceLocks[0].lock === "?t-1");
 * ```
 */
export function storeViewOf(raw: RawSnapshot, tokens: TokenRegistry): StoreView {
  return { ...emptyStore(), ...storeTablesOf(raw, tokens) };
}
