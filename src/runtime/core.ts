/**
 * The state a runtime's dispatchers share.
 *
 * @module
 */

import type { Provider } from "../provider_api.ts";
import type { Log } from "./logger.ts";
import type { ResolvedRuntimeOptions } from "./options.ts";
import type { DispatcherCalls } from "./provider_calls.ts";
import type { Registry } from "./registry.ts";

/** Counters of a runtime since start. */
export interface RuntimeMetrics {
  /** Orchestration turns acked. */
  orchestrationTurns: number;
  /** Executions that completed. */
  orchestrationsCompleted: number;
  /** Executions that failed (including poison and nondeterminism). */
  orchestrationsFailed: number;
  /** Executions that continued as new. */
  orchestrationsContinuedAsNew: number;
  /** Activities that completed. */
  activitiesCompleted: number;
  /** Activities that failed (including poison). */
  activitiesFailed: number;
  /** Activities cancelled while running. */
  activitiesCancelled: number;
  /** Messages poisoned (orchestration and activity). */
  poisonMessages: number;
  /** Provider calls that failed. */
  providerErrors: number;
}

/**
 * Zeroed metrics.
 *
 * @example
 * ```ts
 * import { emptyMetrics } from "./core.ts";
 * console.assert(emptyMetrics().orchestrationTurns === 0);
 * ```
 */
export function emptyMetrics(): RuntimeMetrics {
  return {
    orchestrationTurns: 0,
    orchestrationsCompleted: 0,
    orchestrationsFailed: 0,
    orchestrationsContinuedAsNew: 0,
    activitiesCompleted: 0,
    activitiesFailed: 0,
    activitiesCancelled: 0,
    poisonMessages: 0,
    providerErrors: 0,
  };
}

/** What dispatchers share. */
export interface RuntimeCore {
  /** The storage. */
  readonly provider: Provider;
  /** Resolved options. */
  readonly options: ResolvedRuntimeOptions;
  /** Registered handlers. */
  readonly registry: Registry;
  /** Log sink. */
  readonly log: Log;
  /** Random id of this runtime (in worker ids). */
  readonly runtimeId: string;
  /** Aborted when shutdown begins: stop fetching. */
  readonly stopping: AbortSignal;
  /** Aborted when the shutdown timeout passed: abandon in-flight work. */
  readonly halted: AbortSignal;
  /** Parent execution of child instances this runtime started. */
  readonly childParents: Map<string, number>;
  /** Sessions with activities in flight here, with their counts. */
  readonly sessions: Map<string, number>;
  /** Counters. */
  readonly metrics: RuntimeMetrics;
  /** Fetches and group-committed acks over `provider`. */
  readonly calls: DispatcherCalls;
}
