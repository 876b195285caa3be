/**
 * The state of the reference model: a plain, in-memory picture of every table the provider
 * keeps (with lock tokens replaced by handles), the simulated time, and what each logical
 * worker remembers. The database is compared with {@linkcode ModelState.store} after every
 * step, so the two share one shape, {@linkcode StoreView}.
 *
 * @module
 */

import type { SimActivityRef, SimMessageKind } from "./ops.ts";

/** An orchestrator-queue row. */
export interface ViewMessage {
  /** Unique payload label. */
  label: string;
  /** The instance it is queued for. */
  instance: string;
  /** The work item kind. */
  kind: SimMessageKind;
  /** When it becomes visible, epoch ms. */
  visibleAt: number;
  /** The handle of the fetch that last tagged it, if any. */
  lock: string | null;
  /** How often it was fetched (net of ignore-attempt abandons). */
  attempts: number;
}

/** A worker-queue row. */
export interface ViewActivity {
  /** Unique payload label. */
  label: string;
  /** Owning instance. */
  instance: string;
  /** Owning execution. */
  executionId: number;
  /** Activity id. */
  activityId: number;
  /** Session, if any. */
  session: string | null;
  /** Tag, if any. */
  tag: string | null;
  /** When it is next fetchable (the lease end while locked), epoch ms. */
  visibleAt: number;
  /** Handle of the current lock, if any. */
  lock: string | null;
  /** End of the current lease, if any. */
  lockedUntil: number | null;
  /** How often it was fetched (net of ignore-attempt abandons). */
  attempts: number;
  /** When it was enqueued, epoch ms. */
  createdAt: number;
}

/** An instance lock row. */
export interface ViewInstanceLock {
  /** The locked instance. */
  instance: string;
  /** Handle of the lock. */
  lock: string;
  /** End of the lease, epoch ms. */
  lockedUntil: number;
}

/** A session row. */
export interface ViewSession {
  /** Session id. */
  session: string;
  /** Owning worker. */
  owner: string;
  /** End of the session lease, epoch ms. */
  lockedUntil: number;
  /** Last activity, epoch ms. */
  lastActivity: number;
}

/** A history row. */
export interface ViewEvent {
  /** Instance. */
  instance: string;
  /** Execution. */
  executionId: number;
  /** Event id. */
  eventId: number;
  /** Unique payload label. */
  label: string;
}

/** An execution row. */
export interface ViewExecution {
  /** Instance. */
  instance: string;
  /** Execution id. */
  executionId: number;
  /** Status text. */
  status: string;
}

/** An instance row. */
export interface ViewInstance {
  /** Instance id. */
  instance: string;
  /** Orchestration name. */
  name: string;
  /** Orchestration version. */
  version: string | null;
  /** Current execution. */
  currentExecutionId: number;
  /** Custom status text. */
  customStatus: string | null;
  /** Custom status change counter. */
  customStatusVersion: number;
}

/** Every table the simulation compares, in canonical order (queues by insertion). */
export interface StoreView {
  /** The orchestrator queue, oldest row first. */
  orchestratorQueue: ViewMessage[];
  /** The worker queue, oldest row first. */
  workerQueue: ViewActivity[];
  /** Instance locks, by instance. */
  instanceLocks: ViewInstanceLock[];
  /** Sessions, by id. */
  sessions: ViewSession[];
  /** History, by instance, execution and event id. */
  history: ViewEvent[];
  /** Executions, by instance and id. */
  executions: ViewExecution[];
  /** Instances, by id. */
  instances: ViewInstance[];
}

/** An orchestration lock a worker holds (or believes it holds). */
export interface HeldTurn {
  /** The lock's handle. */
  handle: string;
  /** The fetched instance. */
  instance: string;
  /** The fetched execution. */
  executionId: number;
}

/** An activity lock a worker holds (or believes it holds). */
export interface HeldActivity {
  /** The lock's handle. */
  handle: string;
  /** The activity's label. */
  label: string;
  /** The activity's identity. */
  activity: SimActivityRef;
}

/** What a logical worker remembers; a crash forgets it. Newest first, at most four each. */
export interface WorkerMemory {
  /** Orchestration locks. */
  turns: HeldTurn[];
  /** Activity locks. */
  activities: HeldActivity[];
}

/** The whole reference model. */
export interface ModelState {
  /** Shared simulated time, epoch ms. */
  now: number;
  /** Per-worker clock skew, ms. */
  skews: Record<string, number>;
  /** The predicted database contents. */
  store: StoreView;
  /** Handles issued so far for instance locks. */
  issuedLocks: number;
  /** Handles issued so far for activity locks. */
  issuedWorkLocks: number;
  /** Labels issued so far. */
  issuedLabels: number;
  /** Worker memories. */
  memory: Record<string, WorkerMemory>;
}

/** How many locks of each kind a worker remembers. */
export const MEMORY_DEPTH = 4;

/** Orchestration name and version the simulated turns record. */
export const SIM_ORCHESTRATION = { name: "SimOrch", version: "1.0.0" } as const;

/**
 * An empty store.
 *
 * @example
 * ```ts
 * import { emptyStore } from "@duroxide/pg/sim";
 *
 * console.assert(emptyStore().orchestratorQueue.length === 0);
 * ```
 */
export function emptyStore(): StoreView {
  return {
    orchestratorQueue: [],
    workerQueue: [],
    instanceLocks: [],
    sessions: [],
    history: [],
    executions: [],
    instances: [],
  };
}

/**
 * A model with empty tables at `startMs`, for these workers.
 *
 * @example
 * ```ts
 * import { createModelState } from "@duroxide/pg/sim";
 *
 * const model = createModelState(0, ["w1", "w2"]);
 * console.assert(model.memory.w2.turns.length === 0);
 * ```
 */
export function createModelState(startMs: number, workers: readonly string[]): ModelState {
  const memory: Record<string, WorkerMemory> = {};
  for (const w of workers) memory[w] = { turns: [], activities: [] };
  return {
    now: startMs,
    skews: {},
    store: emptyStore(),
    issuedLocks: 0,
    issuedWorkLocks: 0,
    issuedLabels: 0,
    memory,
  };
}

/**
 * The time as `worker` sees it.
 *
 * @example
 * ```ts
 * import { createModelState, modelNowOf } from "@duroxide/pg/sim";
 *
 * const model = createModelState(1_000, ["w1"]);
 * model.skews.w1 = -200;
 * console.assert(modelNowOf(model, "w1") === 800);
 * ```
 */
export function modelNowOf(state: ModelState, worker: string): number {
  return state.now + (state.skews[worker] ?? 0);
}

/**
 * Whether `instance` has started, as the provider decides it at `now`: it has an instance row,
 * an execution or history, or a visible start message.
 *
 * @example
 * ```ts
 * import { emptyStore, instanceStarted } from "@duroxide/pg/sim";
 *
 * console.assert(!instanceStarted(emptyStore(), "i1", 0));
 * ```
 */
export function instanceStarted(store: StoreView, instance: string, now: number): boolean {
  return store.instances.some((i) => i.instance === instance) ||
    store.executions.some((e) => e.instance === instance) ||
    store.history.some((h) => h.instance === instance) ||
    store.orchestratorQueue.some((m) =>
      m.instance === instance && m.visibleAt <= now &&
      (m.kind === "StartOrchestration")
    );
}

/**
 * The execution a fetch of `instance` reports: the instance row's current execution, else the
 * highest execution, else the highest execution in history, else 1.
 *
 * @example
 * ```ts
 * import { currentExecution, emptyStore } from "@duroxide/pg/sim";
 *
 * console.assert(currentExecution(emptyStore(), "i1") === 1);
 * ```
 */
export function currentExecution(store: StoreView, instance: string): number {
  const row = store.instances.find((i) => i.instance === instance);
  if (row) return row.currentExecutionId;
  const max = (ids: number[]) => ids.length ? Math.max(...ids) : null;
  return max(store.executions.filter((e) => e.instance === instance).map((e) => e.executionId)) ??
    max(store.history.filter((h) => h.instance === instance).map((h) => h.executionId)) ?? 1;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The store in canonical order (queues keep insertion order; other tables are sorted by key),
 * so that two views of the same contents serialise identically.
 *
 * @example
 * ```ts
 * import { canonicalStore, emptyStore } from "@duroxide/pg/sim";
 *
 * const store = emptyStore();
 * store.sessions.push({ session: "s2", owner: "w1", lockedUntil: 1, lastActivity: 0 });
 * store.sessions.push({ session: "s1", owner: "w2", lockedUntil: 1, lastActivity: 0 });
 * console.assert(canonicalStore(store).sessions[0].session === "s1");
 * ```
 */
export function canonicalStore(store: StoreView): StoreView {
  return {
    orchestratorQueue: store.orchestratorQueue.map((m) => ({ ...m })),
    workerQueue: store.workerQueue.map((a) => ({ ...a })),
    instanceLocks: store.instanceLocks.map((l) => ({ ...l }))
      .sort((a, b) => byText(a.instance, b.instance)),
    sessions: store.sessions.map((s) => ({ ...s })).sort((a, b) => byText(a.session, b.session)),
    history: store.history.map((h) => ({ ...h })).sort((a, b) =>
      byText(a.instance, b.instance) || a.executionId - b.executionId || a.eventId - b.eventId
    ),
    executions: store.executions.map((e) => ({ ...e }))
      .sort((a, b) => byText(a.instance, b.instance) || a.executionId - b.executionId),
    instances: store.instances.map((i) => ({ ...i })).sort((a, b) =>
      byText(a.instance, b.instance)
    ),
  };
}
