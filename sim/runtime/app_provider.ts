/**
 * The provider as application code sees it inside a simulated run (an activity's context and
 * client, the workload's client): every call parks at its actor's gate, so it is a step of its
 * own and the interleaving stays deterministic.
 *
 * @module
 */

import type { Provider } from "../../src/provider_api.ts";
import type { SimActor } from "./scheduler.ts";

const PROVIDER_METHODS = [
  "fetchOrchestrationItem",
  "ackOrchestrationItem",
  "abandonOrchestrationItem",
  "renewOrchestrationItemLock",
  "read",
  "readWithExecution",
  "appendWithExecution",
  "enqueueForWorker",
  "enqueueForOrchestrator",
  "fetchWorkItem",
  "ackWorkItem",
  "renewWorkItemLock",
  "abandonWorkItem",
  "renewSessionLock",
  "cleanupOrphanedSessions",
  "getCustomStatus",
  "getKvValue",
  "getKvAllValues",
  "getInstanceStats",
] as const;

const READS = new Set([
  "read",
  "readWithExecution",
  "getCustomStatus",
  "getKvValue",
  "getKvAllValues",
  "getInstanceStats",
]);

function describeArgument(arg: unknown): string {
  if (typeof arg === "string") return arg;
  if (arg && typeof arg === "object" && "type" in arg && "instance" in arg) {
    return `${String(arg.type)} ${String(arg.instance)}`;
  }
  return "";
}

/**
 * The provider `actor`'s application code calls: every call parks at the actor's gate. Application
 * calls are never struck by injected faults: their outcome changes the business result, which
 * the simulation compares.
 *
 * @example
 * ```ts ignore
 * const client = new Client(gatedProvider(actor, provider));
 * ```
 */
export function gatedProvider(actor: SimActor, provider: Provider): Provider {
  const methods = new Set<string>(PROVIDER_METHODS);
  return new Proxy(provider, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof property !== "string" || typeof value !== "function") return value;
      if (!methods.has(property)) return value.bind(target);
      return (...args: unknown[]) =>
        actor.call(
          `${property}(${describeArgument(args[0])})`,
          () => value.apply(target, args),
          { quiet: () => READS.has(property) },
        );
    },
  });
}
