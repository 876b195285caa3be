/**
 * The session keeper of a simulated node, mirroring `src/runtime/session_manager.ts`: renew the
 * node's sessions every renewal interval and sweep orphaned sessions every cleanup interval, in
 * simulated time.
 *
 * @module
 */

import { renewalIntervalMs } from "../../src/runtime/options.ts";
import type { SimNodeState } from "./node_state.ts";
import type { SimActor } from "./scheduler.ts";

/**
 * The session keeper of a node (`session_manager.ts`): renews the node's sessions every
 * renewal interval and sweeps orphaned sessions every cleanup interval, in simulated time.
 *
 * @example
 * ```ts ignore
 * scheduler.spawn("n1", "n1.1/sessions", (actor) => sessionKeeper(actor, node));
 * ```
 */
export async function sessionKeeper(actor: SimActor, node: SimNodeState): Promise<void> {
  const { provider, options } = node;
  const every = renewalIntervalMs(options.sessionLockMs, 5_000);
  let nextRenew = options.clock() + every;
  let nextSweep = options.clock() + options.sessionCleanupMs;
  for (;;) {
    const sweep = nextSweep <= nextRenew;
    const at = sweep ? nextSweep : nextRenew;
    if (sweep) {
      await actor.call(
        "cleanupOrphanedSessions",
        () => provider.cleanupOrphanedSessions(options.sessionIdleMs),
        { faultable: true, notBefore: at, quiet: () => true, describe: String },
      ).catch(() => 0);
      nextSweep = options.clock() + options.sessionCleanupMs;
    } else {
      await actor.call(
        "renewSessionLock",
        () =>
          provider.renewSessionLock(
            [options.workerNodeId ?? node.ownerId],
            options.sessionLockMs,
            options.sessionIdleMs,
          ),
        { faultable: true, notBefore: at, quiet: () => true, describe: String },
      ).catch(() => 0);
      nextRenew = options.clock() + every;
    }
  }
}
