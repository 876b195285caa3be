/**
 * The runtime simulation: whole orchestrations on the real provider (PGlite, simulated clock),
 * run by simulated runtime nodes that a seed interleaves call by call, with crashes, injected
 * faults, clock jumps and skew, compared with a fault-free run of the same workload.
 *
 * @module
 */

export { createSimRandom, type SimRandom } from "./random.ts";
export {
  formatRuntimeSimulationReport,
  runRuntimeSimulation,
  type RuntimeSimulationFailure,
  type RuntimeSimulationOptions,
  type RuntimeSimulationReport,
  type SimRegistrar,
  type SimRuntimeOptions,
} from "./run.ts";
export { DEFAULT_CHAOS, NO_CHAOS, type SimChaos } from "./scheduler.ts";
export type { RuntimeWorkload, WorkloadStart } from "./workload.ts";
export {
  compareRunOutcomes,
  type InstanceOutcome,
  readRunOutcome,
  type RunOutcome,
} from "./outcome.ts";
export { registerSampleWorkload, sampleWorkload } from "./sample_workload.ts";
