/**
 * What one incarnation of a simulated runtime node holds in memory. A crash drops it: the next
 * incarnation starts empty, as a restarted process would.
 *
 * @module
 */

import type { Provider } from "../../src/provider_api.ts";
import type { RuntimeCore } from "../../src/runtime/core.ts";
import type { ResolvedRuntimeOptions } from "../../src/runtime/options.ts";
import type { Registry } from "../../src/runtime/registry.ts";

/** One incarnation of a node. */
export interface SimNodeState {
  /** The node, e.g. `"n1"`. */
  name: string;
  /** 1 at start, one more after each crash. */
  incarnation: number;
  /** The node's provider (its clock is the node's view of the simulated clock). */
  provider: Provider;
  /** The runtime options, resolved, with the node's clock. */
  options: ResolvedRuntimeOptions;
  /** The registered orchestrations and activities. */
  registry: Registry;
  /** Parent execution of children this incarnation started (the runtime's `childParents`). */
  childParents: Map<string, number>;
  /** Sessions with activities in flight here, with their counts. */
  sessions: Map<string, number>;
  /** The session owner id of this incarnation's workers. */
  ownerId: string;
  /** A GUID for the `newGuid` system activity, deterministic within a run. */
  newGuid(): string;
}

/**
 * The part of a `RuntimeCore` that `planTurn` reads (options, registry, log). The turn planner
 * takes a whole core; the simulation has no dispatcher calls to give it, so it passes this
 * subset (see the report of issue #5 for the export that would make the cast unnecessary).
 *
 * @example
 * ```ts ignore
 * const plan = planTurn(plannerCore(node), item, attempt);
 * ```
 */
export function plannerCore(node: SimNodeState): RuntimeCore {
  const planner: Pick<RuntimeCore, "options" | "registry" | "log"> = {
    options: node.options,
    registry: node.registry,
    log: () => {},
  };
  return planner as RuntimeCore;
}
