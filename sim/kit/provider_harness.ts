/**
 * The model-based simulation against any provider: a harness over providers a factory opens
 * (another implementation of the contract, or this one on another database). The kit then
 * checks what every call returns against the reference model, including the hidden outcome of
 * calls that a fault struck after they ran, and drains all work at the end of each run; it
 * cannot read the store, so the checks on stored rows (table comparison, stored-state
 * invariants, the recoverability probe) are left out. Faults strike at the provider boundary:
 * "before" throws without calling, "after" calls and then throws, both as a retryable
 * `CONNECTION` error.
 *
 * @module
 */

import { ProviderError } from "../../src/errors.ts";
import type { Provider } from "../../src/provider_api.ts";
import { createSimClock, SIM_EPOCH_MS } from "./clock.ts";
import { createFaultSwitch } from "./faults.ts";
import { DRAIN_WORKER, type SimHarness } from "./harness.ts";

/** Opens the providers of a simulation against another store. */
export interface SimProviderFactory {
  /**
   * Opens the provider one logical worker calls. Every time it uses must come from `clock`
   * (the simulated clock as that worker sees it), and it must not poll in the background.
   */
  open(worker: string, clock: () => number): Provider | Promise<Provider>;
  /** Empties the store; called before every run. */
  reset(): Promise<void>;
  /** Releases the store after the last run. */
  close?(): Promise<void>;
}

/** Options of {@linkcode openProviderHarness}. */
export interface ProviderHarnessOptions {
  /** The providers to simulate. */
  providers: SimProviderFactory;
  /**
   * The logical workers. {@linkcode DRAIN_WORKER} is always added.
   * @default {["w1", "w2", "w3"]}
   */
  workers?: readonly string[];
  /** Wraps each worker's provider, e.g. to plant a bug. */
  wrapProvider?: (provider: Provider, worker: string) => Provider;
}

/** The provider methods the simulation calls, each one step. */
const METHODS = new Set([
  "enqueueForOrchestrator",
  "enqueueForWorker",
  "fetchOrchestrationItem",
  "ackOrchestrationItem",
  "abandonOrchestrationItem",
  "renewOrchestrationItemLock",
  "fetchWorkItem",
  "ackWorkItem",
  "renewWorkItemLock",
  "abandonWorkItem",
  "renewSessionLock",
  "cleanupOrphanedSessions",
]);

function connectionLost(operation: string, point: "before" | "after"): ProviderError {
  return new ProviderError(`simulated connection loss ${point} the call`, {
    code: "CONNECTION",
    operation,
    retryable: true,
  });
}

/**
 * Opens a harness over the providers `options.providers` opens (one per worker). It has no
 * database: `db` throws, and `observed` is `false`.
 *
 * @example
 * ```ts ignore
 * const harness = await openProviderHarness({ providers: myFactory });
 * const report = await runSimulation({ harness, seed: 7 });
 * ```
 */
export async function openProviderHarness(options: ProviderHarnessOptions): Promise<SimHarness> {
  const { providers: factory, workers = ["w1", "w2", "w3"] } = options;
  const wrapProvider = options.wrapProvider ?? ((p: Provider) => p);
  const clock = createSimClock(SIM_EPOCH_MS);
  const faults = createFaultSwitch();
  let providerCalls = 0;
  const all = [...workers.filter((w) => w !== DRAIN_WORKER), DRAIN_WORKER];
  const providers = new Map<string, Provider>();
  for (const worker of all) {
    const opened = await factory.open(worker, clock.clockFor(worker));
    const faulty = new Proxy(opened, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        if (typeof property !== "string" || !METHODS.has(property)) return value.bind(target);
        return async (...args: unknown[]) => {
          const call = { procedure: property, sql: "", params: args };
          // A fetch with the `None` tag filter finds nothing by contract; the model counts it
          // as no call at all, so no fault strikes it (as no statement is sent on PostgreSQL).
          const none = property === "fetchWorkItem" &&
            (args[3] as { type?: string } | null)?.type === "None";
          const point = none ? null : faults.options.decide(call);
          if (point === "before") {
            faults.options.onFault?.({ call, point, rows: null, error: null });
            throw connectionLost(property, point);
          }
          providerCalls += 1;
          if (point === null) return await value.apply(target, args);
          let error: unknown = null;
          let returned: unknown = null;
          try {
            returned = await value.apply(target, args);
          } catch (err) {
            error = err;
          }
          // What the provider returned, hidden from the caller (see `real.ts`).
          faults.options.onFault?.({ call, point, rows: [{ providerValue: returned }], error });
          throw connectionLost(property, point);
        };
      },
    });
    providers.set(worker, wrapProvider(faulty, worker));
  }
  const harness: SimHarness = {
    schema: "",
    quotedSchema: "",
    get db(): never {
      throw new Error("A harness over a provider factory has no database to read");
    },
    observed: false,
    clock,
    faults,
    workers: all,
    get databaseCalls() {
      return providerCalls;
    },
    observeNextCall() {},
    takeObservation: () => null,
    provider(worker) {
      const provider = providers.get(worker);
      if (!provider) throw new RangeError(`Unknown simulated worker: ${worker}`);
      return provider;
    },
    async reset(startMs = SIM_EPOCH_MS) {
      await factory.reset();
      clock.reset(startMs);
      faults.arm(null);
    },
    async close() {
      await factory.close?.();
    },
    [Symbol.asyncDispose]: () => harness.close(),
  };
  return harness;
}
