/**
 * Keeps this runtime's sessions owned while they are active (periodic `renewSessionLock`) and
 * sweeps orphaned sessions (periodic `cleanupOrphanedSessions`).
 *
 * @module
 */

import type { RuntimeCore } from "./core.ts";
import { renewalIntervalMs } from "./options.ts";
import { every, type Periodic } from "./timing.ts";

/**
 * Starts the session heartbeat and sweep for these owner ids.
 *
 * @example
 * ```ts ignore
 * const manager = startSessionManager(core, ["work-3f2a9c1e"]);
 * manager.stop();
 * ```
 */
export function startSessionManager(core: RuntimeCore, ownerIds: string[]): Periodic {
  const { provider, options } = core;
  const renew = every(renewalIntervalMs(options.sessionLockMs, 5_000), async () => {
    try {
      await provider.renewSessionLock(ownerIds, options.sessionLockMs, options.sessionIdleMs);
    } catch {
      core.metrics.providerErrors++;
    }
    return true;
  });
  const sweep = every(options.sessionCleanupMs, async () => {
    try {
      await provider.cleanupOrphanedSessions(options.sessionIdleMs);
    } catch {
      core.metrics.providerErrors++;
    }
    return true;
  });
  return {
    stop(): void {
      renew.stop();
      sweep.stop();
    },
  };
}
