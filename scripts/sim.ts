/**
 * `deno task sim`: the deterministic simulations on in-process PGlite, each followed by its
 * determinism self-check (the same seed run twice, traces compared):
 *
 * - `provider`: the model-based simulation of the provider (`sim/kit`);
 * - `runtime`: the runtime simulation of the sample workload (`sim/runtime`): orchestrations
 *   run by simulated nodes under crashes and faults, compared with a fault-free run.
 *
 * Both report steps and provider calls per second.
 *
 * Environment:
 * - `SIM_MODE`: `provider`, `runtime` or `both` (default `both`);
 * - `SIM_SEED`: the seed (default: random, printed first);
 * - `SIM_RUNS`: runs per batch (default 100 for the provider, 20 for the runtime);
 * - `SIM_SECONDS`: soak: run batches with new seeds (seed + runs, …) until this many seconds
 *   were spent on each mode (default: one batch);
 * - `SIM_COMMANDS`: most commands per provider run (default 100);
 * - `SIM_PROBE_EVERY`: recoverability probe every this many steps (default 10; 1 = each step);
 * - `SIM_PATH`, `SIM_REPLAY`: fast-check's counterexample path and commands replay path, as a
 *   provider failure prints them, to replay exactly the shrunk counterexample;
 * - `SIM_FAULTS=0`: no fault injection, crashes, clock jumps or skew;
 * - `SIM_RENEWAL_FAULTS=1`: faults strike the runtime's lease renewals too (off by default: see
 *   `renewalFault` in `sim/runtime/scheduler.ts`);
 * - `SIM_DETERMINISM_RUNS`: runs of each determinism self-check (default 25 for the provider,
 *   5 for the runtime; 0 skips them).
 *
 * Exits 1 when a simulation fails or is not deterministic.
 *
 * @module
 */

import { PGlite } from "@electric-sql/pglite";
import {
  checkDeterminism,
  DEFAULT_CHAOS,
  formatRuntimeSimulationReport,
  formatSimulationReport,
  registerSampleWorkload,
  runRuntimeSimulation,
  runSimulation,
  type RuntimeSimulationOptions,
  sampleWorkload,
  type SimulationOptions,
} from "../sim/mod.ts";

function intFromEnv(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${name} must be an integer, got "${text}"`);
  }
  return value;
}

const mode = Deno.env.get("SIM_MODE") || "both";
if (!["provider", "runtime", "both"].includes(mode)) {
  throw new RangeError(`SIM_MODE must be provider, runtime or both, got "${mode}"`);
}
const seed = intFromEnv("SIM_SEED", Math.floor(Math.random() * 2 ** 31));
const budgetMs = intFromEnv("SIM_SECONDS", 0) * 1000;
const faults = Deno.env.get("SIM_FAULTS") !== "0";
const path = Deno.env.get("SIM_PATH") || undefined;
const replayPath = Deno.env.get("SIM_REPLAY") || undefined;

function rate(n: number, ms: number): string {
  return (n / (ms / 1000)).toFixed(0);
}

async function simulateProvider(db: PGlite): Promise<boolean> {
  const numRuns = intFromEnv("SIM_RUNS", 100);
  const determinismRuns = intFromEnv("SIM_DETERMINISM_RUNS", 25);
  const options: SimulationOptions = {
    db,
    numRuns,
    maxCommands: intFromEnv("SIM_COMMANDS", 100),
    probeEvery: intFromEnv("SIM_PROBE_EVERY", 10),
    faults,
    path,
    replayPath,
  };
  console.log(
    `Provider simulation: SIM_SEED=${seed}, ${numRuns} runs per batch` +
      (path ? `, replaying path ${path}` : budgetMs ? `, for ${budgetMs / 1000} s` : ""),
  );
  const total = { runs: 0, steps: 0, calls: 0, ms: 0 };
  for (let batch = 0;; batch++) {
    const report = await runSimulation({ ...options, seed: seed + batch * numRuns });
    total.runs += report.numRuns;
    total.steps += report.steps;
    total.calls += report.providerCalls;
    total.ms += report.durationMs;
    console.log(formatSimulationReport(report));
    if (!report.ok) return false;
    if (path !== undefined || !budgetMs || total.ms >= budgetMs) break;
  }
  console.log(
    `  in all: ${total.runs} runs, ${total.steps} steps (${rate(total.steps, total.ms)}/s), ` +
      `${total.calls} provider calls (${rate(total.calls, total.ms)}/s) in ` +
      `${(total.ms / 1000).toFixed(1)} s`,
  );
  if (path !== undefined || determinismRuns <= 0) return true;
  const check = await checkDeterminism({ ...options, seed, numRuns: determinismRuns });
  console.log(
    check.deterministic
      ? `Determinism self-check passed: seed ${seed} run twice (${determinismRuns} runs each), ` +
        `identical traces (digest ${check.first.traceDigest})`
      : `Determinism self-check FAILED for seed ${seed}: ${check.firstDifference}`,
  );
  return check.deterministic;
}

async function simulateRuntime(db: PGlite): Promise<boolean> {
  const runs = intFromEnv("SIM_RUNS", 20);
  const determinismRuns = intFromEnv("SIM_DETERMINISM_RUNS", 5);
  const options: RuntimeSimulationOptions = {
    db,
    runs,
    register: registerSampleWorkload,
    workload: sampleWorkload,
    faults: faults && {
      ...DEFAULT_CHAOS,
      renewalFault: Deno.env.get("SIM_RENEWAL_FAULTS") === "1" ? DEFAULT_CHAOS.fault : 0,
    },
  };
  console.log(
    `Runtime simulation: SIM_SEED=${seed}, ${runs} runs per batch` +
      (budgetMs ? `, for ${budgetMs / 1000} s` : ""),
  );
  const total = { runs: 0, steps: 0, calls: 0, ms: 0, simulatedMs: 0 };
  for (let batch = 0;; batch++) {
    const report = await runRuntimeSimulation({ ...options, seed: seed + batch * runs });
    total.runs += report.runs;
    total.steps += report.steps;
    total.calls += report.providerCalls;
    total.ms += report.durationMs;
    total.simulatedMs += report.simulatedMs;
    console.log(formatRuntimeSimulationReport(report));
    if (!report.ok) return false;
    if (!budgetMs || total.ms >= budgetMs) break;
  }
  console.log(
    `  in all: ${total.runs} runs, ${total.steps} steps (${rate(total.steps, total.ms)}/s), ` +
      `${total.calls} provider calls (${rate(total.calls, total.ms)}/s), ` +
      `${(total.simulatedMs / 3_600_000).toFixed(0)} h simulated in ` +
      `${(total.ms / 1000).toFixed(1)} s`,
  );
  if (determinismRuns <= 0) return true;
  const [first, second] = [
    await runRuntimeSimulation({ ...options, seed, runs: determinismRuns }),
    await runRuntimeSimulation({ ...options, seed, runs: determinismRuns }),
  ];
  const same = first.traceDigest === second.traceDigest;
  console.log(
    same
      ? `Determinism self-check passed: seed ${seed} run twice (${determinismRuns} runs each), ` +
        `identical traces (digest ${first.traceDigest})`
      : `Determinism self-check FAILED for seed ${seed}: digests ${first.traceDigest} and ` +
        `${second.traceDigest}`,
  );
  return same;
}

// In memory and thrown away at exit: durability buys nothing and costs time per statement.
const db = await PGlite.create({ relaxedDurability: true });
let ok = true;
try {
  if (mode !== "runtime") ok = await simulateProvider(db) && ok;
  if (mode !== "provider" && path === undefined) ok = await simulateRuntime(db) && ok;
} finally {
  await db.close();
}
if (!ok) Deno.exit(1);
