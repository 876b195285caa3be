/**
 * {@linkcode Runtime}: registers orchestrations and activities and runs the two dispatchers
 * against a {@linkcode Provider} (the duroxide-node `Runtime` API).
 *
 * @module
 */

import type { Provider } from "../provider_api.ts";
import { emptyMetrics, type RuntimeCore, type RuntimeMetrics } from "./core.ts";
import { createLog, type Log } from "./logger.ts";
import { orchestrationDispatcher } from "./orchestration_dispatcher.ts";
import { dispatcherCalls } from "./provider_calls.ts";
import {
  type ResolvedRuntimeOptions,
  resolveRuntimeOptions,
  type RuntimeOptions,
} from "./options.ts";
import { type ActivityFunction, DEFAULT_ORCHESTRATION_VERSION, Registry } from "./registry.ts";
import type { OrchestrationFunction } from "./replay/turn.ts";
import { startSessionManager } from "./session_manager.ts";
import { delay, type Periodic } from "./timing.ts";
import { workerDispatcher, workerIdOf } from "./worker_dispatcher.ts";

/**
 * A durable-execution runtime over a provider.
 *
 * @example Hello world on embedded PGlite
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { PostgresProvider } from "../postgres_provider.ts";
 * import { Runtime } from "./runtime.ts";
 * import type { OrchestrationContext } from "./replay/context.ts";
 *
 * const db = await PGlite.create();
 * const provider = await PostgresProvider.fromPGlite(db, { schema: "hello" });
 * const runtime = new Runtime(provider, { logLevel: "off" });
 * runtime.registerActivity("Greet", (_ctx, name) => `Hello, ${name}!`);
 * runtime.registerOrchestration("Hello", function* (ctx: OrchestrationContext, name: unknown) {
 *   return yield ctx.scheduleActivity("Greet", name);
 * });
 * await runtime.start();
 * await provider.enqueueForOrchestrator({
 *   type: "StartOrchestration", instance: "hello-1", orchestration: "Hello",
 *   input: JSON.stringify("World"), version: null, parentInstance: null, parentId: null,
 *   executionId: 1,
 * }, null);
 * while ((await provider.read("hello-1")).at(-1)?.type !== "OrchestrationCompleted") {
 *   await provider.waitForInstanceChange("hello-1", 1_000);
 * }
 * await runtime.shutdown();
 * await provider.close();
 * await db.close();
 * ```
 */
export class Runtime {
  readonly #provider: Provider;
  readonly #options: ResolvedRuntimeOptions;
  readonly #registry = new Registry();
  readonly #log: Log;
  readonly #metrics: RuntimeMetrics = emptyMetrics();
  readonly #stopping = new AbortController();
  readonly #halted = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #loops: Promise<void>[] = [];
  #sessionManager: Periodic | null = null;
  #state: "new" | "running" | "stopped" = "new";

  /**
   * Creates a runtime; nothing runs until {@linkcode Runtime.start}.
   *
   * @throws {RangeError} for invalid options.
   */
  constructor(provider: Provider, options: RuntimeOptions = {}) {
    this.#provider = provider;
    this.#options = resolveRuntimeOptions(options);
    this.#log = createLog(this.#options.logLevel, this.#options.logger, this.#options.serviceName);
  }

  /** Registers an activity: `(ctx, input) => result` (sync or async; a throw fails it). */
  registerActivity(name: string, fn: ActivityFunction): void {
    this.#registry.addActivity(name, fn);
  }

  /** Same as {@linkcode Runtime.registerActivity}. */
  registerActivityTyped(name: string, fn: ActivityFunction): void {
    this.registerActivity(name, fn);
  }

  /** Registers an orchestration (a generator function) as version 1.0.0. */
  registerOrchestration(name: string, fn: OrchestrationFunction): void {
    this.#registry.addOrchestration(name, DEFAULT_ORCHESTRATION_VERSION, fn);
  }

  /** Same as {@linkcode Runtime.registerOrchestration}. */
  registerOrchestrationTyped(name: string, fn: OrchestrationFunction): void {
    this.registerOrchestration(name, fn);
  }

  /** Registers one version (semver) of an orchestration; new instances get the latest. */
  registerOrchestrationVersioned(name: string, version: string, fn: OrchestrationFunction): void {
    this.#registry.addOrchestration(name, version, fn);
  }

  /** Same as {@linkcode Runtime.registerOrchestrationVersioned}. */
  registerOrchestrationVersionedTyped(
    name: string,
    version: string,
    fn: OrchestrationFunction,
  ): void {
    this.registerOrchestrationVersioned(name, version, fn);
  }

  /**
   * Starts the dispatchers. Resolves once they run (they keep running until shutdown).
   *
   * @throws {Error} when called twice.
   */
  start(): Promise<void> {
    if (this.#state !== "new") throw new Error("Cannot start a runtime twice");
    this.#state = "running";
    const core: RuntimeCore = {
      provider: this.#provider,
      options: this.#options,
      registry: this.#registry,
      log: this.#log,
      runtimeId: crypto.randomUUID().slice(0, 8),
      stopping: this.#stopping.signal,
      halted: this.#halted.signal,
      childParents: new Map(),
      sessions: new Map(),
      metrics: this.#metrics,
      calls: dispatcherCalls(this.#provider),
    };
    const track = (work: Promise<void>): Promise<void> => {
      this.#inFlight.add(work);
      return work.finally(() => this.#inFlight.delete(work));
    };
    this.#loops.push(orchestrationDispatcher(core, track));
    if (this.#options.tagFilter.type !== "None") {
      this.#loops.push(workerDispatcher(core, track));
      this.#sessionManager = startSessionManager(core, [workerIdOf(core)]);
    }
    return Promise.resolve();
  }

  /**
   * Stops fetching and waits up to `timeoutMs` for turns and activities in flight; returns as
   * soon as they finish. Activities still running then are told they are cancelled and their
   * results dropped (their locks lapse and another runtime redoes them).
   */
  async shutdown(timeoutMs = 1_000): Promise<void> {
    if (this.#state !== "running") {
      this.#state = "stopped";
      return;
    }
    this.#state = "stopped";
    this.#stopping.abort();
    this.#sessionManager?.stop();
    const deadline = new AbortController();
    const timer = delay(timeoutMs, deadline.signal);
    const drained = Promise.all([...this.#loops, ...this.#inFlight]).then(() => "drained");
    const result = await Promise.race([drained, timer.then(() => "timeout")]);
    deadline.abort();
    if (result === "timeout") {
      this.#halted.abort();
      this.#log({
        level: "warn",
        message: `shutdown timed out with ${this.#inFlight.size} item(s) in flight`,
        source: "runtime",
      });
    }
  }

  /** Counters since start. */
  metricsSnapshot(): RuntimeMetrics {
    return { ...this.#metrics };
  }
}
