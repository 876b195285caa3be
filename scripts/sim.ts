/**
 * `deno task sim`: the deterministic simulation of the provider on in-process PGlite, followed
 * by the determinism self-check (the same seed run twice, traces compared).
 *
 * Environment:
 * - `SIM_SEED`: the seed (default: random, printed first);
 * - `SIM_RUNS`: runs to generate (default 100);
 * - `SIM_COMMANDS`: most commands per run (default 100);
 * - `SIM_PATH`, `SIM_REPLAY`: fast-check's counterexample path and commands replay path, as a
 *   failure prints them, to replay exactly the shrunk counterexample;
 * - `SIM_FAULTS=0`: no fault injection, clock jumps back or skew;
 * - `SIM_DETERMINISM_RUNS`: runs of the determinism self-check (default 25; 0 skips it).
 *
 * Exits 1 when the simulation fails or is not deterministic.
 *
 * @module
 */

import { PGlite } from "@electric-sql/pglite";
import {
  checkDeterminism,
  formatSimulationReport,
  runSimulation,
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

const seed = intFromEnv("SIM_SEED", Math.floor(Math.random() * 2 ** 31));
const numRuns = intFromEnv("SIM_RUNS", 100);
const determinismRuns = intFromEnv("SIM_DETERMINISM_RUNS", 25);
const path = Deno.env.get("SIM_PATH") || undefined;
const replayPath = Deno.env.get("SIM_REPLAY") || undefined;
const options: SimulationOptions = {
  seed,
  numRuns,
  maxCommands: intFromEnv("SIM_COMMANDS", 100),
  faults: Deno.env.get("SIM_FAULTS") !== "0",
  path,
  replayPath,
};

console.log(
  `Simulating with SIM_SEED=${seed} (${numRuns} runs${path ? `, replaying path ${path}` : ""})`,
);
const db = await PGlite.create();
let failed = false;
try {
  const report = await runSimulation({ ...options, db });
  console.log(formatSimulationReport(report));
  failed = !report.ok;
  if (report.ok && path === undefined && determinismRuns > 0) {
    const check = await checkDeterminism({ ...options, db, numRuns: determinismRuns });
    console.log(
      check.deterministic
        ? `Determinism self-check passed: seed ${seed} run twice (${determinismRuns} runs each), ` +
          `identical traces (digest ${check.first.traceDigest})`
        : `Determinism self-check FAILED for seed ${seed}: ${check.firstDifference}`,
    );
    failed = !check.deterministic;
  }
} finally {
  await db.close();
}
if (failed) Deno.exit(1);
