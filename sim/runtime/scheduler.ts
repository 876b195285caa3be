/**
 * The deterministic scheduler of the runtime simulation. Every logical actor (a node's
 * orchestration slot, worker slot or session keeper, and the workload's client) runs as an
 * ordinary async function that mirrors the runtime's code, but each provider call first parks
 * at a gate. Once every actor is parked, the scheduler picks, from the seed, what happens next:
 * one parked call runs (possibly struck by an injected fault), a lease is renewed, the clock
 * moves, a node crashes (its actors are dropped for good and a fresh incarnation starts), or a
 * node's clock is skewed. Exactly one actor runs at a time, up to its next gate, so the run is
 * a pure function of the seed (given deterministic user code).
 *
 * @module
 */

import { ProviderError } from "../../src/errors.ts";
import type { FaultPoint, InjectedFault } from "../kit/faults.ts";
import type { SimHarness } from "../kit/harness.ts";
import type { SimRandom } from "./random.ts";

/** A lease renewal offered while an actor is parked (the runtime's renewal timer). */
export interface SimRenewal {
  /** The trace label, e.g. `"renewWorkItemLock"`. */
  label: string;
  /** Renews; resolves to the result as the trace shows it. */
  run(): Promise<string>;
  /** Whether the renewal timer still runs (it stops after a failure, as in the runtime). */
  active(): boolean;
}

/** How a provider call behaves at its gate. */
export interface SimCallOptions<T> {
  /** The call is one the runtime's dispatchers make, so an injected fault may strike it. */
  faultable?: boolean;
  /** The actor found nothing last time: it waits until something changes. */
  idle?: boolean;
  /** The actor waits until its node's clock reaches this time (epoch ms). */
  notBefore?: number;
  /** A renewal the scheduler may run instead, while the call waits. */
  renewal?: SimRenewal | null;
  /** Whether the result leaves the world unchanged (an empty fetch, a read). */
  quiet?: (result: T) => boolean;
  /** The result as the trace shows it. */
  describe?: (result: T) => string;
}

/** Chances of the scheduler's choices in a chaotic phase (per decision). */
export interface SimChaos {
  /** A node crashes. */
  crash: number;
  /** The clock moves by up to 2 s. */
  smallStep: number;
  /** The clock jumps by 5 s to 2 min (leases lapse). */
  leaseJump: number;
  /** A node's clock is skewed by up to ±2 s. */
  skew: number;
  /** A faultable call is struck (before or after it reaches the database). */
  fault: number;
  /** A parked renewal runs instead of the call. */
  renew: number;
  /**
   * A renewal is struck by a fault. Off by default: the runtime (as Duroxide) takes any failed
   * activity renewal for a cancellation and acks the activity without a result, so a transient
   * renewal failure loses a live activity and its orchestration waits for ever (the simulation
   * finds this within a few seeds when it is on; see the report of issue #5).
   */
  renewalFault: number;
}

/** The chaos of the runtime simulation's first phase. */
export const DEFAULT_CHAOS: SimChaos = {
  crash: 0.01,
  smallStep: 0.04,
  leaseJump: 0.015,
  skew: 0.01,
  fault: 0.08,
  renew: 0.25,
  renewalFault: 0,
};

/** No chaos: the calm phase and the fault-free reference run. */
export const NO_CHAOS: SimChaos = {
  crash: 0,
  smallStep: 0,
  leaseJump: 0,
  skew: 0,
  fault: 0,
  renew: 0.25,
  renewalFault: 0,
};

interface Parked {
  actor: SimActor;
  label: string;
  options: SimCallOptions<unknown>;
  idleSince: number | null;
  resume: () => void;
}

/** What the scheduler knows about a node. */
interface NodeEntry {
  incarnation: number;
  start: (incarnation: number) => void;
}

/** Counters of a run. */
export interface SimRunCounters {
  /** Scheduling decisions taken (calls, renewals, clock moves, crashes, skews). */
  steps: number;
  /** Provider calls made through a gate (renewals included). */
  providerCalls: number;
  /** Injected faults. */
  faults: number;
  /** Node crashes. */
  crashes: number;
  /** Clock moves (jumps, small steps and advances to the next deadline). */
  clockMoves: number;
}

function errorCode(err: unknown): string {
  if (err instanceof ProviderError) return err.code;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * One logical thread of a node (or the client), as the scheduler sees it.
 *
 * @example
 * ```ts ignore
 * scheduler.spawn("n1", "n1.1/orch0", async (actor) => {
 *   const item = await actor.call("fetchOrchestrationItem", () => provider.fetchOrchestrationItem(5_000, 0));
 * });
 * ```
 */
export class SimActor {
  /** The actor's name in the trace, e.g. `"n2.1/work0"`. */
  readonly id: string;
  /** Its node (`""` for the client). */
  readonly node: string;
  readonly #scheduler: RuntimeScheduler;

  /** Created by {@linkcode RuntimeScheduler.spawn}. */
  constructor(id: string, node: string, scheduler: RuntimeScheduler) {
    this.id = id;
    this.node = node;
    this.#scheduler = scheduler;
  }

  /**
   * Parks until the scheduler picks this call, then makes it (one step) and returns its result
   * (or throws its error). A crashed node's actors never return from here.
   */
  call<T>(label: string, call: () => Promise<T>, options: SimCallOptions<T> = {}): Promise<T> {
    return this.#scheduler.gate(this, label, call, options);
  }
}

/**
 * The scheduler of one simulated run.
 *
 * @example
 * ```ts ignore
 * const scheduler = new RuntimeScheduler(harness, random);
 * scheduler.addNode("n1", (incarnation) => startNode(scheduler, "n1", incarnation));
 * const end = await scheduler.run(DEFAULT_CHAOS, 500);
 * ```
 */
export class RuntimeScheduler {
  readonly #harness: SimHarness;
  readonly #random: SimRandom;
  readonly #parked = new Map<SimActor, Parked>();
  readonly #nodes = new Map<string, NodeEntry>();
  #running = 0;
  #settled: (() => void) | null = null;
  #world = 0;
  #failure: unknown = null;
  #stepResult: { text: string; quiet: boolean } | null = null;
  /** One line per step. */
  readonly trace: string[] = [];
  /** Counters. */
  readonly counters: SimRunCounters = {
    steps: 0,
    providerCalls: 0,
    faults: 0,
    crashes: 0,
    clockMoves: 0,
  };

  /** A scheduler over `harness` (its clock and fault switch), choosing with `random`. */
  constructor(harness: SimHarness, random: SimRandom) {
    this.#harness = harness;
    this.#random = random;
  }

  /** Registers a node; `start(incarnation)` spawns its actors (now, and after each crash). */
  addNode(name: string, start: (incarnation: number) => void): void {
    const entry: NodeEntry = { incarnation: 1, start };
    this.#nodes.set(name, entry);
    start(entry.incarnation);
  }

  /** Starts an actor; it runs until its first gate before the next step is chosen. */
  spawn(node: string, id: string, body: (actor: SimActor) => Promise<void>): void {
    const actor = new SimActor(id, node, this);
    this.#running += 1;
    body(actor).then(
      () => this.#stopped(),
      (err) => {
        this.#failure ??= err;
        this.#stopped();
      },
    );
  }

  /** @internal The gate behind {@linkcode SimActor.call}. */
  async gate<T>(
    actor: SimActor,
    label: string,
    call: () => Promise<T>,
    options: SimCallOptions<T>,
  ): Promise<T> {
    await new Promise<void>((resume) => {
      this.#parked.set(actor, {
        actor,
        label,
        options: options as SimCallOptions<unknown>,
        idleSince: options.idle ? this.#world : null,
        resume,
      });
      this.#stopped();
    });
    try {
      const result = await call();
      this.#stepResult = {
        text: options.describe?.(result) ?? "ok",
        quiet: options.quiet?.(result) ?? false,
      };
      return result;
    } catch (err) {
      this.#stepResult = { text: errorCode(err), quiet: false };
      throw err;
    }
  }

  #stopped(): void {
    this.#running -= 1;
    if (this.#running === 0 && this.#settled) {
      const settled = this.#settled;
      this.#settled = null;
      settled();
    }
  }

  #settle(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#settled = resolve));
  }

  #nodeNow(node: string): number {
    return this.#harness.clock.nowOf(node === "" ? "drain" : node);
  }

  #eligible(): Parked[] {
    const out: Parked[] = [];
    for (const p of this.#parked.values()) {
      if (p.idleSince !== null && p.idleSince >= this.#world) continue;
      if (p.options.notBefore !== undefined && this.#nodeNow(p.actor.node) < p.options.notBefore) {
        continue;
      }
      out.push(p);
    }
    // Parking order is deterministic too, but sorting makes that independent of it.
    return out.sort((a, b) => (a.actor.id < b.actor.id ? -1 : a.actor.id > b.actor.id ? 1 : 0));
  }

  #log(text: string): void {
    this.counters.steps += 1;
    this.trace.push(`${this.counters.steps}. ${text}`);
  }

  /** Moves the shared clock forward (or back) by `ms`; the world changed. */
  advance(ms: number, why: string): void {
    this.#harness.clock.advance(ms);
    this.counters.clockMoves += 1;
    this.#world += 1;
    this.#log(`${why}(${ms >= 0 ? "+" : ""}${ms}ms)`);
  }

  /** Crashes `node`: its parked actors are dropped for good and a new incarnation starts. */
  async crash(node: string): Promise<void> {
    const entry = this.#nodes.get(node);
    if (!entry) throw new RangeError(`Unknown simulated node: ${node}`);
    for (const [actor] of this.#parked) {
      if (actor.node === node) this.#parked.delete(actor);
    }
    entry.incarnation += 1;
    this.counters.crashes += 1;
    this.#world += 1;
    this.#log(`crash(${node}) -> incarnation ${entry.incarnation}`);
    entry.start(entry.incarnation);
    await this.#settle();
    this.#rethrow();
  }

  #rethrow(): void {
    if (this.#failure !== null) {
      const failure = this.#failure;
      this.#failure = null;
      throw failure;
    }
  }

  /** The earliest future time at which queued work becomes fetchable, or `null`. */
  async #nextDeadline(now: number): Promise<number | null> {
    const s = this.#harness.quotedSchema;
    const rows = await this.#harness.db.query<{ t: string | number | null }>(
      `select least(
         (select min(visible_at) from ${s}.orchestrator_queue where visible_at > $1),
         (select min(l.locked_until) from ${s}.instance_locks l
           where l.locked_until > $1
             and exists (select 1 from ${s}.orchestrator_queue q where q.instance_id = l.instance_id)),
         (select min(visible_at) from ${s}.worker_queue where visible_at > $1),
         (select min(x.locked_until) from ${s}.sessions x
           where x.locked_until > $1
             and exists (select 1 from ${s}.worker_queue w where w.session_id = x.session_id))
       ) as t`,
      [now],
    );
    const t = rows[0]?.t;
    return t === null || t === undefined ? null : Number(t);
  }

  async #release(p: Parked, fault: FaultPoint | null): Promise<void> {
    this.#parked.delete(p.actor);
    this.#stepResult = null;
    this.#harness.faults.arm(fault);
    this.#running += 1;
    p.resume();
    await this.#settle();
    const injected: InjectedFault | null = this.#harness.faults.take();
    this.counters.providerCalls += 1;
    const result = this.#stepResult as { text: string; quiet: boolean } | null;
    let text = `${p.actor.id} ${p.label} -> ${result?.text ?? "?"}`;
    if (injected) {
      this.counters.faults += 1;
      text += ` !${injected.point}`;
      if (injected.point === "after") {
        text += injected.error === null
          ? " (it committed)"
          : ` (it failed: ${errorCode(injected.error)})`;
      }
    }
    if (!result?.quiet || injected) this.#world += 1;
    this.#log(text);
    this.#rethrow();
  }

  async #renew(p: Parked, renewal: SimRenewal, fault: FaultPoint | null): Promise<void> {
    this.#harness.faults.arm(fault);
    const text = await renewal.run();
    const injected = this.#harness.faults.take();
    this.counters.providerCalls += 1;
    if (injected) this.counters.faults += 1;
    this.#world += 1;
    this.#log(`${p.actor.id} ${renewal.label} -> ${text}${injected ? ` !${injected.point}` : ""}`);
  }

  /** Skews `node`'s clock by `ms` relative to the shared time. */
  skew(node: string, ms: number): void {
    this.#harness.clock.setSkew(node, ms);
    this.#world += 1;
    this.#log(`skew(${node} ${ms >= 0 ? "+" : ""}${ms}ms)`);
  }

  /**
   * Runs until nothing can happen any more (`"quiescent"`: every actor waits and no queued work
   * becomes due later) or until `maxSteps` steps were taken in all (`"budget"`).
   */
  async run(chaos: SimChaos, maxSteps: number): Promise<"quiescent" | "budget"> {
    await this.#settle();
    this.#rethrow();
    const random = this.#random;
    const nodes = [...this.#nodes.keys()];
    while (this.counters.steps < maxSteps) {
      if (nodes.length && random.chance(chaos.crash)) {
        await this.crash(random.pick(nodes));
        continue;
      }
      if (random.chance(chaos.smallStep)) {
        this.advance(random.between(1, 2_000), "advance");
        continue;
      }
      if (random.chance(chaos.leaseJump)) {
        this.advance(random.between(5_000, 120_000), "jump");
        continue;
      }
      if (nodes.length && random.chance(chaos.skew)) {
        this.skew(random.pick(nodes), random.between(-2_000, 2_000));
        continue;
      }
      const eligible = this.#eligible();
      if (eligible.length === 0) {
        const skews = nodes.map((n) => this.#harness.clock.nowOf(n) - this.#harness.clock.now());
        const lowest = Math.min(0, ...skews);
        const now = this.#harness.clock.now();
        const deadline = await this.#nextDeadline(now + lowest);
        if (deadline === null) return "quiescent";
        // Far enough that every node, whatever its skew, sees the deadline.
        this.advance(Math.max(1, deadline - lowest - now), "idle, to the next deadline");
        continue;
      }
      const p = random.pick(eligible);
      const renewal = p.options.renewal;
      if (renewal?.active() && random.chance(chaos.renew)) {
        await this.#renew(p, renewal, this.#fault(chaos.renewalFault));
        continue;
      }
      await this.#release(p, p.options.faultable ? this.#fault(chaos.fault) : null);
    }
    return "budget";
  }

  #fault(chance: number): FaultPoint | null {
    return this.#random.chance(chance) ? this.#random.pick(["before", "after"] as const) : null;
  }

  /** Clears every skew (the calm phase). */
  clearSkews(): void {
    for (const node of this.#nodes.keys()) {
      if (this.#harness.clock.nowOf(node) !== this.#harness.clock.now()) this.skew(node, 0);
    }
  }
}
