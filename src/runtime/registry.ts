/**
 * The handlers a runtime knows: activities by name, orchestrations by name and version
 * (the latest version by semver serves new instances; running ones keep theirs).
 *
 * @module
 */

import type { ActivityContext } from "./activity_context.ts";
import { isSystemActivity } from "./replay/system_activities.ts";
import type { OrchestrationFunction } from "./replay/turn.ts";
import { compareSemVer, parseSemVer } from "./version.ts";

/**
 * An activity: any function of the context and the decoded input; its (awaited) return value
 * is JSON-encoded as the result, a throw fails the activity.
 *
 * @example
 * ```ts ignore
 * const greet: ActivityFunction = async (ctx, name) => `Hello, ${name}!`;
 * ```
 */
export type ActivityFunction = (ctx: ActivityContext, input: unknown) => unknown;

/** The version `registerOrchestration` uses. */
export const DEFAULT_ORCHESTRATION_VERSION = "1.0.0";

/** A resolved orchestration handler. */
export interface ResolvedOrchestration {
  /** The version that serves the instance. */
  version: string;
  /** The code. */
  handler: OrchestrationFunction;
}

/**
 * Activities and orchestrations by name.
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * const r = new Registry();
 * r.addOrchestration("Flow", "1.0.0", function* () { return 1; });
 * r.addOrchestration("Flow", "1.10.0", function* () { return 2; });
 * console.assert(r.resolveOrchestration("Flow", null)?.version === "1.10.0");
 * ```
 */
export class Registry {
  readonly #activities = new Map<string, ActivityFunction>();
  readonly #orchestrations = new Map<string, Map<string, OrchestrationFunction>>();

  /** Registers an activity; names with the system prefix are rejected. */
  addActivity(name: string, fn: ActivityFunction): void {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot register an activity without a name");
    }
    if (isSystemActivity(name)) {
      throw new TypeError(`Cannot register activity "${name}": the prefix is reserved`);
    }
    if (typeof fn !== "function") throw new TypeError(`Activity "${name}" is not a function`);
    this.#activities.set(name, fn);
  }

  /** Registers one version of an orchestration. */
  addOrchestration(name: string, version: string, fn: OrchestrationFunction): void {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot register an orchestration without a name");
    }
    if (!parseSemVer(version)) {
      throw new TypeError(`Cannot register orchestration "${name}": invalid version "${version}"`);
    }
    if (typeof fn !== "function") throw new TypeError(`Orchestration "${name}" is not a function`);
    let versions = this.#orchestrations.get(name);
    if (!versions) this.#orchestrations.set(name, versions = new Map());
    versions.set(version, fn);
  }

  /** The activity handler, if registered. */
  activity(name: string): ActivityFunction | undefined {
    return this.#activities.get(name);
  }

  /** The handler for `version`, or the latest version when `version` is `null`. */
  resolveOrchestration(name: string, version: string | null): ResolvedOrchestration | null {
    const versions = this.#orchestrations.get(name);
    if (!versions) return null;
    if (version !== null) {
      const handler = versions.get(version);
      return handler ? { version, handler } : null;
    }
    let best: string | null = null;
    for (const v of versions.keys()) {
      if (best === null || compareSemVer(parseSemVer(v)!, parseSemVer(best)!) > 0) best = v;
    }
    return best === null ? null : { version: best, handler: versions.get(best)! };
  }
}
