/**
 * The runtime simulation: whole orchestrations run on the real provider (PGlite, simulated
 * clock) by simulated runtime nodes whose every provider call is a step chosen from the seed.
 * Each run plays one workload twice: first fault-free, on one node and the shipped stored
 * procedures (the reference), then (with any planted bug) on several nodes under chaos
 * (crashes, injected faults, clock jumps and skew, lease renewals at random moments), then
 * calm until nothing can happen any more. Every instance must end as in the reference, every
 * scheduled activity's completion must be recorded once (as often as in the reference, never
 * twice), and no work may be left behind. Durable timers cost nothing: when every node waits,
 * the clock jumps to the next deadline, so hours of timers take milliseconds.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";
import type { PGliteLike } from "../../src/driver/pglite.ts";
import { resolveRuntimeOptions, type RuntimeOptions } from "../../src/runtime/options.ts";
import { DEFAULT_ORCHESTRATION_VERSION, Registry } from "../../src/runtime/registry.ts";
import type { ActivityFunction } from "../../src/runtime/registry.ts";
import type { OrchestrationFunction } from "../../src/runtime/replay/turn.ts";
import { SIM_EPOCH_MS } from "../kit/clock.ts";
import { DRAIN_WORKER, openSimHarness, type SimHarness } from "../kit/harness.ts";
import { simDatabase } from "../kit/run.ts";
import type { StoredProcedureMutant } from "../kit/sp_mutants.ts";
import { digest } from "../kit/step.ts";
import type { SimNodeState } from "./node_state.ts";
import { orchestrationSlot } from "./orchestration_slot.ts";
import { compareRunOutcomes, readRunOutcome, type RunOutcome } from "./outcome.ts";
import { createSimRandom, type SimRandom } from "./random.ts";
import { DEFAULT_CHAOS, NO_CHAOS, RuntimeScheduler, type SimChaos } from "./scheduler.ts";
import { type RuntimeWorkload, workloadClient } from "./workload.ts";
import { workerSlot } from "./worker_slot.ts";
import { sessionKeeper } from "./session_keeper.ts";

/**
 * Where a simulation registers orchestrations and activities: the registration methods of
 * `Runtime`, so one function can register on a real runtime and on the simulation.
 */
export interface SimRegistrar {
  /** Registers an activity. */
  registerActivity(name: string, fn: ActivityFunction): void;
  /** Registers an orchestration as version 1.0.0. */
  registerOrchestration(name: string, fn: OrchestrationFunction): void;
  /** Registers one version of an orchestration. */
  registerOrchestrationVersioned(name: string, version: string, fn: OrchestrationFunction): void;
}

/** Runtime options the simulated nodes use (times are simulated time). */
export type SimRuntimeOptions = Omit<
  RuntimeOptions,
  "clock" | "logger" | "logLevel" | "orchestrationConcurrency" | "workerConcurrency"
>;

/** Options of {@linkcode runRuntimeSimulation}. */
export interface RuntimeSimulationOptions {
  /** Registers the orchestrations and activities (e.g. your application's registration). */
  register: (registrar: SimRegistrar) => void;
  /** The workload, or a function that draws one from the run's random source. */
  workload: RuntimeWorkload | ((random: SimRandom) => RuntimeWorkload);
  /** The PGlite to simulate on. @default {the process-wide one} */
  db?: PGliteLike;
  /** The seed: run `i` uses seed `seed + i`. @default {a random seed, reported} */
  seed?: number;
  /** Runs (seeds) to play. @default {10} */
  runs?: number;
  /** Nodes of the chaotic run. @default {3} */
  nodes?: number;
  /** Orchestration slots per node. @default {2} */
  orchestrationSlots?: number;
  /** Worker slots per node. @default {2} */
  workerSlots?: number;
  /** Runtime options of every node (lock timeouts, attempts, sessions, tag filter…). */
  runtimeOptions?: SimRuntimeOptions;
  /** Chaos in the first phase (crashes, faults, clock moves); `false` runs it calm. @default {true} */
  faults?: boolean | SimChaos;
  /** Steps of the chaotic phase before the run calms down. @default {400} */
  chaosSteps?: number;
  /** Most steps of a run in all (reaching it is a liveness failure). @default {20000} */
  maxSteps?: number;
  /** A broken stored procedure to install, to check the simulation finds it. */
  mutant?: StoredProcedureMutant;
  /** Wraps the driver under the nodes' providers, e.g. to plant a bug. */
  wrapDriver?: (driver: SqlDriver) => SqlDriver;
  /** Keep every run's trace in the report. @default {false} */
  keepTraces?: boolean;
}

/** The failed run of a {@linkcode RuntimeSimulationReport}. */
export interface RuntimeSimulationFailure {
  /** The run's seed: `runs: 1` with this seed replays it. */
  seed: number;
  /** What went wrong. */
  problems: string[];
  /** The failing run's trace (the chaotic run, or the reference if that failed). */
  trace: string[];
}

/** What {@linkcode runRuntimeSimulation} found. */
export interface RuntimeSimulationReport {
  /** Whether every run passed. */
  ok: boolean;
  /** The first seed. */
  seed: number;
  /** Runs played (up to and including the first failure). */
  runs: number;
  /** The first failure, or `null`. */
  failure: RuntimeSimulationFailure | null;
  /** Steps over all runs (reference and chaotic). */
  steps: number;
  /** Provider calls over all runs. */
  providerCalls: number;
  /** Injected faults. */
  faults: number;
  /** Node crashes. */
  crashes: number;
  /** Simulated time over all runs, ms. */
  simulatedMs: number;
  /** Instances over all chaotic runs. */
  instances: number;
  /** Digest of every run's traces, in order: equal for two executions of the same seed. */
  traceDigest: string;
  /** Every chaotic run's trace, with `keepTraces`. */
  traces: string[][];
  /** Wall time of the runs (opening the harness not included), ms. */
  durationMs: number;
}

function registrarFor(registry: Registry): SimRegistrar {
  return {
    registerActivity: (name, fn) => registry.addActivity(name, fn),
    registerOrchestration: (name, fn) =>
      registry.addOrchestration(name, DEFAULT_ORCHESTRATION_VERSION, fn),
    registerOrchestrationVersioned: (name, version, fn) =>
      registry.addOrchestration(name, version, fn),
  };
}

interface PlayedRun {
  outcome: RunOutcome;
  trace: string[];
  problems: string[];
  scheduler: RuntimeScheduler;
  simulatedMs: number;
}

interface RunSetup {
  harness: SimHarness;
  registry: Registry;
  runtimeOptions: SimRuntimeOptions;
  workload: RuntimeWorkload;
  nodes: readonly string[];
  orchestrationSlots: number;
  workerSlots: number;
}

function guidOf(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

async function play(
  setup: RunSetup,
  random: SimRandom,
  chaos: SimChaos | null,
  chaosSteps: number,
  maxSteps: number,
): Promise<PlayedRun> {
  const { harness } = setup;
  await harness.reset(SIM_EPOCH_MS);
  const scheduler = new RuntimeScheduler(harness, random);
  let guids = 0;
  for (const name of setup.nodes) {
    const options = resolveRuntimeOptions({
      ...setup.runtimeOptions,
      clock: harness.clock.clockFor(name),
      logLevel: "off",
    });
    scheduler.addNode(name, (incarnation) => {
      const node: SimNodeState = {
        name,
        incarnation,
        provider: harness.provider(name),
        options,
        registry: setup.registry,
        childParents: new Map(),
        sessions: new Map(),
        ownerId: `${name}.${incarnation}`,
        newGuid: () => guidOf(++guids),
      };
      const prefix = `${name}.${incarnation}`;
      for (let i = 0; i < setup.orchestrationSlots; i++) {
        scheduler.spawn(name, `${prefix}/orch${i}`, (a) => orchestrationSlot(a, node));
      }
      if (options.tagFilter.type !== "None") {
        for (let i = 0; i < setup.workerSlots; i++) {
          const id = `${prefix}/work${i}`;
          scheduler.spawn(name, id, (a) => workerSlot(a, node, id));
        }
        scheduler.spawn(name, `${prefix}/sessions`, (a) => sessionKeeper(a, node));
      }
    });
  }
  scheduler.spawn(
    "",
    "client",
    (a) => workloadClient(a, harness.provider(DRAIN_WORKER), setup.workload),
  );
  const problems: string[] = [];
  try {
    if (chaos) {
      await scheduler.run(chaos, chaosSteps);
      scheduler.clearSkews();
    }
    const end = await scheduler.run(NO_CHAOS, maxSteps);
    if (end === "budget") {
      problems.push(
        `liveness: the run was still busy after ${maxSteps} steps (faults stopped at step ${
          chaos ? chaosSteps : 0
        })`,
      );
    }
  } catch (err) {
    problems.push(`the simulation itself failed: ${err instanceof Error ? err.stack : err}`);
  }
  return {
    outcome: await readRunOutcome(harness),
    trace: scheduler.trace,
    problems,
    scheduler,
    simulatedMs: harness.clock.now() - SIM_EPOCH_MS,
  };
}

/**
 * Runs the runtime simulation and reports; never throws for a failed run.
 *
 * @example
 * ```ts ignore
 * import {
 *   formatRuntimeSimulationReport,
 *   registerSampleWorkload,
 *   runRuntimeSimulation,
 *   sampleWorkload,
 * } from "@duroxide/pg/sim";
 *
 * const report = await runRuntimeSimulation({
 *   seed: 7,
 *   runs: 5,
 *   register: registerSampleWorkload,
 *   workload: sampleWorkload,
 * });
 * console.log(formatRuntimeSimulationReport(report));
 * ```
 */
export async function runRuntimeSimulation(
  options: RuntimeSimulationOptions,
): Promise<RuntimeSimulationReport> {
  const {
    seed = Math.floor(Math.random() * 2 ** 31),
    runs = 10,
    nodes = 3,
    orchestrationSlots = 2,
    workerSlots = 2,
    runtimeOptions = {},
    faults = true,
    chaosSteps = 400,
    maxSteps = 20_000,
    keepTraces = false,
  } = options;
  if (typeof options.register !== "function") {
    throw new TypeError("Cannot simulate without a register function");
  }
  for (const [name, value] of Object.entries({ runs, nodes, orchestrationSlots, workerSlots })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Invalid ${name}: expected an integer >= 1, got ${value}`);
    }
  }
  const chaos = faults === true ? DEFAULT_CHAOS : faults === false ? null : faults;
  const registry = new Registry();
  options.register(registrarFor(registry));
  const nodeNames = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const db = options.db ?? await simDatabase();
  const harness = await openSimHarness({
    db,
    workers: nodeNames,
    wrapDriver: options.wrapDriver,
    mutant: options.mutant,
    observers: false,
  });
  // The reference runs on the shipped procedures: a planted bug must not shape it too.
  const planted = options.mutant !== undefined || options.wrapDriver !== undefined;
  const referenceHarness = planted
    ? await openSimHarness({ db, workers: ["n1"], observers: false })
    : harness;
  const started = performance.now();
  const report: RuntimeSimulationReport = {
    ok: true,
    seed,
    runs: 0,
    failure: null,
    steps: 0,
    providerCalls: 0,
    faults: 0,
    crashes: 0,
    simulatedMs: 0,
    instances: 0,
    traceDigest: "",
    traces: [],
    durationMs: 0,
  };
  const digests: string[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const runSeed = (seed + i) >>> 0;
      const random = createSimRandom(runSeed);
      const workload = typeof options.workload === "function"
        ? options.workload(random.fork())
        : options.workload;
      const setup = (
        on: SimHarness,
        names: readonly string[],
        orch: number,
        work: number,
      ): RunSetup => ({
        harness: on,
        registry,
        runtimeOptions,
        workload,
        nodes: names,
        orchestrationSlots: orch,
        workerSlots: work,
      });
      report.runs += 1;
      const reference = await play(
        setup(referenceHarness, ["n1"], 1, 1),
        random.fork(),
        null,
        0,
        maxSteps,
      );
      const chaotic = await play(
        setup(harness, nodeNames, orchestrationSlots, workerSlots),
        random.fork(),
        chaos,
        chaosSteps,
        maxSteps,
      );
      for (const run of [reference, chaotic]) {
        report.steps += run.scheduler.counters.steps;
        report.providerCalls += run.scheduler.counters.providerCalls;
        report.faults += run.scheduler.counters.faults;
        report.crashes += run.scheduler.counters.crashes;
        report.simulatedMs += run.simulatedMs;
      }
      report.instances += Object.keys(chaotic.outcome.instances).length;
      digests.push(digest(reference.trace.join("\n")), digest(chaotic.trace.join("\n")));
      if (keepTraces) report.traces.push(chaotic.trace);
      if (reference.problems.length || reference.outcome.leftovers.length) {
        report.ok = false;
        report.failure = {
          seed: runSeed,
          problems: [
            "the fault-free reference run failed:",
            ...reference.problems,
            ...reference.outcome.leftovers.map((w) => `work left queued: ${w}`),
          ],
          trace: reference.trace,
        };
        break;
      }
      const problems = [
        ...chaotic.problems,
        ...compareRunOutcomes(reference.outcome, chaotic.outcome),
      ];
      if (problems.length) {
        report.ok = false;
        report.failure = { seed: runSeed, problems, trace: chaotic.trace };
        break;
      }
    }
  } finally {
    await harness.close();
    if (referenceHarness !== harness) await referenceHarness.close();
  }
  report.traceDigest = digest(digests.join(","));
  report.durationMs = performance.now() - started;
  return report;
}

/**
 * Prints a report: a summary line with the rates, and for a failure the run's seed, the
 * replay command, what went wrong and the end of the failing run's trace.
 *
 * @example
 * ```ts
 * import { formatRuntimeSimulationReport } from "@duroxide/pg/sim";
 *
 * const text = formatRuntimeSimulationReport({
 *   ok: true, seed: 1, runs: 2, failure: null, steps: 900, providerCalls: 800, faults: 20,
 *   crashes: 3, simulatedMs: 7_200_000, instances: 8, traceDigest: "0badf00d", traces: [],
 *   durationMs: 1_000,
 * });
 * console.assert(text.startsWith("Runtime simulation passed"));
 * ```
 */
export function formatRuntimeSimulationReport(
  report: RuntimeSimulationReport,
  options: { traceLines?: number } = {},
): string {
  const seconds = report.durationMs / 1000;
  const hours = (report.simulatedMs / 3_600_000).toFixed(1);
  const summary = `${report.runs} runs, ${report.instances} instances, ${report.steps} steps ` +
    `(${(report.steps / seconds).toFixed(0)}/s), ${report.providerCalls} provider calls ` +
    `(${(report.providerCalls / seconds).toFixed(0)}/s), ${report.faults} faults, ` +
    `${report.crashes} crashes, ${hours} h simulated in ${
      seconds.toFixed(1)
    } s, seed ${report.seed}`;
  if (report.ok) {
    return `Runtime simulation passed: ${summary} (trace digest ${report.traceDigest})`;
  }
  const failure = report.failure!;
  const keep = options.traceLines ?? 60;
  const trace = failure.trace.length > keep
    ? [
      `… ${failure.trace.length - keep} earlier steps`,
      ...failure.trace.slice(failure.trace.length - keep),
    ]
    : failure.trace;
  return [
    `Runtime simulation FAILED: ${summary}`,
    `  failing run: seed ${failure.seed}`,
    `  replay: SIM_MODE=runtime SIM_SEED=${failure.seed} SIM_RUNS=1 deno task sim`,
    `  problems:`,
    ...failure.problems.map((p) => `    - ${p}`),
    `  trace of the failing run:`,
    ...trace.map((l) => `    ${l}`),
  ].join("\n");
}
