/**
 * The deterministic simulation kit: seeded, replayable, model-based property tests of the
 * provider on in-process PGlite.
 *
 * @module
 */

export type { SqlDriver, SqlExecutor, Unlisten } from "../../src/driver/driver.ts";
export type { PGliteExecutorLike, PGliteLike } from "../../src/driver/pglite.ts";
export { createSimClock, SIM_EPOCH_MS, type SimClock } from "./clock.ts";
export {
  createFaultSwitch,
  type FaultPoint,
  type FaultSwitch,
  faultyDriver,
  type FaultyDriverOptions,
  type InjectedFault,
  procedureOf,
  SimulatedConnectionError,
  type StoredProcedureCall,
} from "./faults.ts";
export {
  formatOp,
  formatResult,
  isCallOp,
  SIM_FILTER_TAG,
  type SimActivity,
  type SimActivityRef,
  type SimCallBase,
  type SimCallOp,
  type SimEvent,
  type SimFetchedActivity,
  type SimMessageKind,
  type SimOp,
  type SimOrchestratorItem,
  type SimResult,
  type SimTagFilter,
  type SimTurn,
} from "./ops.ts";
export {
  canonicalStore,
  createModelState,
  currentExecution,
  emptyStore,
  type HeldActivity,
  type HeldTurn,
  instanceStarted,
  MEMORY_DEPTH,
  modelNowOf,
  type ModelState,
  SIM_ORCHESTRATION,
  type StoreView,
  type ViewActivity,
  type ViewEvent,
  type ViewExecution,
  type ViewInstance,
  type ViewInstanceLock,
  type ViewMessage,
  type ViewSession,
  type WorkerMemory,
} from "./model_state.ts";
export {
  modelAbandonOrchestration,
  modelAckOrchestration,
  modelEnqueueOrchestrator,
  modelFetchOrchestration,
  modelRenewOrchestration,
} from "./model_orchestration.ts";
export {
  modelAbandonWork,
  modelAckWork,
  modelCleanupSessions,
  modelEnqueueWork,
  modelFetchWork,
  modelRenewSessions,
  modelRenewWork,
  tagFilterAccepts,
} from "./model_worker.ts";
export { answersWithoutDatabase, applyModelOp, type ModelOutcome } from "./model.ts";
export {
  createTokenRegistry,
  labelOfEvent,
  labelOfWorkItem,
  type RawSnapshot,
  storeTablesOf,
  storeViewOf,
  type TokenRegistry,
} from "./snapshot.ts";
export {
  EMPTY_FINGERPRINT,
  fuseObservation,
  installSimObservers,
  observationOf,
  observeStore,
  readStoreView,
  type StoreObservation,
} from "./observers.ts";
export {
  DRAIN_WORKER,
  openSimHarness,
  type SimHarness,
  type SimHarnessOptions,
} from "./harness.ts";
export {
  openProviderHarness,
  type ProviderHarnessOptions,
  type SimProviderFactory,
} from "./provider_harness.ts";
export { applyRealOp, type RealOutcome } from "./real.ts";
export {
  checkStepInvariants,
  createInvariantLedger,
  type InvariantLedger,
  type StepFacts,
} from "./invariants.ts";
export {
  expectedRecoverable,
  probeRecoverable,
  type RecoverabilityProbe,
} from "./recoverability.ts";
export {
  assertRecoverable,
  createSimContext,
  digest,
  runStep,
  type SimContext,
  SimulationFailure,
} from "./step.ts";
export {
  canRunIntent,
  formatIntent,
  resolveIntent,
  SELF_TARGET,
  type SimCommand,
  simCommand,
  type SimIntent,
  type SimIntentCall,
} from "./commands.ts";
export {
  checkCommandProperty,
  type CommandPropertyDetails,
  type CommandPropertyOptions,
  type SimCommandConfig,
} from "./generators.ts";
export { checkLiveness, latestDeadline } from "./liveness.ts";
export { missingCoverage, SIM_SOMETIMES, stepCoverage } from "./coverage.ts";
export {
  checkDeterminism,
  type DeterminismReport,
  formatSimulationReport,
  runSimulation,
  simDatabase,
  type SimulationOptions,
  type SimulationReport,
} from "./run.ts";
export { dropAckCancellations, swallowAckFailures } from "./mutants.ts";
export {
  ackAcceptsExpiredLease,
  ackWorkLosesCompletion,
  cancelBeforeEnqueue,
  fetchTakesLiveLease,
  installMutant,
  mutateShippedFunction,
  type ProcedureEdit,
  shippedFunctionSql,
  type StoredProcedureMutant,
  storedProcedureMutants,
} from "./sp_mutants.ts";
