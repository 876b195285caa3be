/**
 * Runs the simulation: fast-check generates command sequences from one seed, each run starts
 * from empty tables at {@linkcode SIM_EPOCH_MS}, every step is checked against the model and the
 * invariants, and each run ends with the liveness drain. On failure, fast-check shrinks the
 * sequence and the report carries the seed, the replay paths and the failing run's trace.
 *
 * @module
 */

import fc from "fast-check";
import { PGlite } from "@electric-sql/pglite";
import type { SqlDriver } from "../../src/driver/driver.ts";
import type { PGliteLike } from "../../src/driver/pglite.ts";
import type { Provider } from "../../src/provider_api.ts";
import { SIM_EPOCH_MS } from "./clock.ts";
import type { SimCommand } from "./commands.ts";
import { checkCommandProperty } from "./generators.ts";
import { openSimHarness, type SimHarness } from "./harness.ts";
import { checkLiveness } from "./liveness.ts";
import { createSimContext, digest } from "./step.ts";
import { missingCoverage, SIM_SOMETIMES } from "./coverage.ts";
import type { StoredProcedureMutant } from "./sp_mutants.ts";
import { openProviderHarness, type SimProviderFactory } from "./provider_harness.ts";

/** Options of {@linkcode runSimulation}. */
export interface SimulationOptions {
  /** The PGlite to simulate on. @default {the process-wide one, see {@linkcode simDatabase}} */
  db?: PGliteLike;
  /**
   * An open harness to reuse (then `db`, `providers`, `wrapDriver`, `wrapProvider` and `mutant`
   * are ignored).
   */
  harness?: SimHarness;
  /** The seed that fixes everything. @default {a random seed, reported} */
  seed?: number;
  /** fast-check's counterexample path, to replay one (shrunk) run. */
  path?: string;
  /** fast-check's commands replay path (the `replayPath` of a counterexample). */
  replayPath?: string;
  /** Runs to generate. @default {100} */
  numRuns?: number;
  /** Most commands per run. @default {100} */
  maxCommands?: number;
  /** Inject faults (before/after a call), clock jumps back and worker skew. @default {true} */
  faults?: boolean;
  /** Number of logical workers. @default {3} */
  workers?: number;
  /** Number of instance ids (few instances, more contention). @default {2} */
  instances?: number;
  /**
   * Run the recoverability probe after every this many steps (when the stored state changed
   * since the last probe); 0 never, 1 after every step. A probe fetches every instance and
   * activity once (several procedure calls), so probing every step halves the speed; the
   * liveness drain at the end of each run checks the same property on the final state.
   * @default {10}
   */
  probeEvery?: number;
  /** End each run with the liveness drain. @default {true} */
  liveness?: boolean;
  /** Stop at the first failure without shrinking. @default {false} */
  endOnFailure?: boolean;
  /** Keep every run's trace in the report. @default {false} */
  keepTraces?: boolean;
  /** Wraps the driver under the providers, e.g. to plant a bug. */
  wrapDriver?: (driver: SqlDriver) => SqlDriver;
  /** Wraps each worker's provider, e.g. to plant a bug. */
  wrapProvider?: (provider: Provider, worker: string) => Provider;
  /** A broken stored procedure to install (see `sp_mutants.ts`), to check the kit finds it. */
  mutant?: StoredProcedureMutant;
  /**
   * Simulate another provider (or this one on another database): its factory opens one
   * provider per worker and empties the store before each run. Every call's result is checked
   * against the model; the store itself is not read (see `provider_harness.ts`). `db`,
   * `wrapDriver` and `mutant` are then ignored.
   */
  providers?: SimProviderFactory;
}

/** What a simulation found. */
export interface SimulationReport {
  /** Whether every run passed. */
  ok: boolean;
  /** The seed. */
  seed: number;
  /** Runs fast-check generated (up to and including the first failure). */
  numRuns: number;
  /** Successful shrinks of a failure. */
  numShrinks: number;
  /** Steps executed over all runs (shrinking included). */
  steps: number;
  /** Provider calls the steps made (faulted ones included), over all runs. */
  providerCalls: number;
  /** fast-check's counterexample path, or `null`. */
  path: string | null;
  /** The commands replay path of the counterexample, or `null`. */
  replayPath: string | null;
  /** The counterexample's commands as generated (intents), one per line, or `null`. */
  counterexample: string | null;
  /** What failed, or `null`. */
  failure: string | null;
  /** The failing run's trace (resolved steps with results), or empty. */
  trace: string[];
  /** Digest of every run's trace, in order: equal for two executions of the same seed. */
  traceDigest: string;
  /** Every run's trace, with `keepTraces`. */
  traces: string[][];
  /** How often each situation was reached, over all runs (see {@linkcode SIM_SOMETIMES}). */
  coverage: Record<string, number>;
  /** Wall time of the runs (opening the harness not included), ms. */
  durationMs: number;
}

let sharedDb: Promise<PGlite> | undefined;

/**
 * The process-wide PGlite the simulation uses by default (creating one takes seconds and
 * hundreds of MB, so there is one per process).
 *
 * @example
 * ```ts ignore
 * const db = await simDatabase();
 * ```
 */
export function simDatabase(): Promise<PGliteLike> {
  // In memory and thrown away at exit: durability buys nothing and costs time per statement.
  sharedDb ??= PGlite.create({ relaxedDurability: true });
  return sharedDb;
}

/**
 * Runs the simulation and reports; never throws for a failed property.
 *
 * @example
 * ```ts ignore
 * import { formatSimulationReport, runSimulation } from "@duroxide/pg/sim";
 *
 * const report = await runSimulation({ seed: 42, numRuns: 20 });
 * console.log(formatSimulationReport(report));
 * ```
 */
export async function runSimulation(options: SimulationOptions = {}): Promise<SimulationReport> {
  const {
    seed = Math.floor(Math.random() * 2 ** 31),
    path,
    replayPath,
    numRuns = 100,
    maxCommands = 100,
    faults = true,
    workers = 3,
    instances = 2,
    probeEvery = 10,
    liveness = true,
    endOnFailure = false,
    keepTraces = false,
  } = options;
  const workerNames = Array.from({ length: workers }, (_, i) => `w${i + 1}`);
  const harness = options.harness ?? (options.providers
    ? await openProviderHarness({
      providers: options.providers,
      workers: workerNames,
      wrapProvider: options.wrapProvider,
    })
    : await openSimHarness({
      db: options.db ?? await simDatabase(),
      workers: workerNames,
      wrapDriver: options.wrapDriver,
      wrapProvider: options.wrapProvider,
      mutant: options.mutant,
    }));
  const started = performance.now();
  const runDigests: string[] = [];
  const traces: string[][] = [];
  const coverage: Record<string, number> = {};
  let steps = 0;
  let providerCalls = 0;
  let lastFailure: { trace: string[]; script: string[]; error: unknown } | null = null;
  const config = {
    workers: workerNames,
    instances: Array.from({ length: instances }, (_, i) => `i${i + 1}`),
    sessions: ["s1", "s2"],
    faults,
  };
  const property = async (commands: Iterable<SimCommand>) => {
    await harness.reset(SIM_EPOCH_MS);
    const ctx = createSimContext(harness, { probeEvery });
    try {
      await fc.asyncModelRun(() => ({ model: ctx, real: ctx }), commands);
      if (liveness) await checkLiveness(ctx);
    } catch (error) {
      lastFailure = { trace: [...ctx.trace], script: [...ctx.script], error };
      throw error;
    } finally {
      runDigests.push(digest(ctx.trace.join("\n")));
      if (keepTraces) traces.push(ctx.trace);
      steps += ctx.trace.length;
      providerCalls += ctx.providerCalls;
      for (const [key, n] of Object.entries(ctx.coverage)) coverage[key] = (coverage[key] ?? 0) + n;
    }
  };
  try {
    const details = await checkCommandProperty(
      config,
      { seed, numRuns, maxCommands, endOnFailure, path, replayPath },
      property,
    );
    const failed = details.failed;
    const failure = lastFailure as { trace: string[]; script: string[]; error: unknown } | null;
    const error = failure?.error ?? details.error;
    return {
      ok: !failed,
      seed,
      numRuns: details.numRuns,
      numShrinks: details.numShrinks,
      steps,
      providerCalls,
      path: details.path,
      replayPath: details.replayPath,
      counterexample: failed ? (failure?.script ?? []).join("\n") : null,
      failure: failed ? (error instanceof Error ? error.message : String(error)) : null,
      trace: failed ? failure?.trace ?? [] : [],
      traceDigest: digest(runDigests.join(",")),
      traces,
      coverage,
      durationMs: performance.now() - started,
    };
  } finally {
    if (!options.harness) await harness.close();
  }
}

/** The outcome of {@linkcode checkDeterminism}. */
export interface DeterminismReport {
  /** Whether both executions produced identical traces. */
  deterministic: boolean;
  /** The first execution. */
  first: SimulationReport;
  /** The second execution. */
  second: SimulationReport;
  /** The first line that differs (`run:step`), or `null`. */
  firstDifference: string | null;
}

/**
 * The determinism self-check: runs the same seed twice and compares every run's trace (steps,
 * results and a digest of the database after each step).
 *
 * @example
 * ```ts ignore
 * const check = await checkDeterminism({ seed: 7, numRuns: 5 });
 * console.assert(check.deterministic);
 * ```
 */
export async function checkDeterminism(
  options: SimulationOptions = {},
): Promise<DeterminismReport> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const first = await runSimulation({ ...options, seed, keepTraces: true });
  const second = await runSimulation({ ...options, seed, keepTraces: true });
  let firstDifference: string | null = null;
  const runs = Math.max(first.traces.length, second.traces.length);
  for (let r = 0; r < runs && firstDifference === null; r++) {
    const a = first.traces[r] ?? [];
    const b = second.traces[r] ?? [];
    for (let s = 0; s < Math.max(a.length, b.length); s++) {
      if (a[s] !== b[s]) {
        firstDifference = `run ${r + 1}, step ${s + 1}: "${a[s] ?? "<end>"}" vs "${
          b[s] ?? "<end>"
        }"`;
        break;
      }
    }
  }
  return {
    deterministic: firstDifference === null && first.traceDigest === second.traceDigest,
    first,
    second,
    firstDifference,
  };
}

/**
 * Prints a report: a summary line, and for a failure the seed, the replay command, what
 * failed, the counterexample as generated and the failing run's trace.
 *
 * @example
 * ```ts
 * import { formatSimulationReport } from "@duroxide/pg/sim";
 *
 * const text = formatSimulationReport({
 *   ok: true, seed: 1, numRuns: 10, numShrinks: 0, steps: 300, providerCalls: 240, path: null,
 *   replayPath: null,
 *   counterexample: null, failure: null, trace: [], traceDigest: "0badf00d", traces: [],
 *   coverage: {}, durationMs: 1234,
 * });
 * console.assert(text.startsWith("Simulation passed"));
 * ```
 */
export function formatSimulationReport(report: SimulationReport): string {
  const seconds = (report.durationMs / 1000).toFixed(1);
  if (report.ok) {
    const missing = missingCoverage(report.coverage);
    const rate = (n: number) => (n / (report.durationMs / 1000)).toFixed(0);
    return `Simulation passed: ${report.numRuns} runs, ${report.steps} steps ` +
      `(${rate(report.steps)}/s), ${report.providerCalls} provider calls ` +
      `(${rate(report.providerCalls)}/s), seed ${report.seed}, ${seconds} s ` +
      `(trace digest ${report.traceDigest})\n` +
      `  reached ${SIM_SOMETIMES.length - missing.length}/${SIM_SOMETIMES.length} situations` +
      (missing.length ? `; never reached: ${missing.join("; ")}` : "");
  }
  const replay = [`SIM_SEED=${report.seed}`];
  if (report.path !== null) replay.push(`SIM_PATH="${report.path}"`);
  if (report.replayPath !== null) replay.push(`SIM_REPLAY='${report.replayPath}'`);
  const indent = (lines: string[]) => lines.map((l) => `    ${l}`).join("\n");
  return [
    `Simulation FAILED after ${report.numRuns} runs (${report.numShrinks} shrinks, ${seconds} s)`,
    `  seed: ${report.seed}   path: ${JSON.stringify(report.path)}   replayPath: ${
      JSON.stringify(report.replayPath)
    }`,
    `  replay: ${replay.join(" ")} deno task sim`,
    `  failure:`,
    indent((report.failure ?? "").split("\n")),
    `  counterexample (commands as generated):`,
    indent((report.counterexample ?? "").split("\n")),
    `  trace of the failing run (step -> result  #database digest):`,
    indent(report.trace),
  ].join("\n");
}
