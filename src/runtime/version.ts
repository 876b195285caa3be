/**
 * The Duroxide version this runtime implements. It is written as `duroxideVersion` on every
 * history event, pinned on each execution it starts, and bounds the executions it will replay.
 *
 * @module
 */

import type { DispatcherCapabilityFilter, SemVer } from "../types.ts";

/**
 * The Duroxide semantics this runtime implements, as written into history.
 *
 * @example
 * ```ts
 * import { DUROXIDE_VERSION } from "./version.ts";
 * console.assert(DUROXIDE_VERSION === "0.1.26");
 * ```
 */
export const DUROXIDE_VERSION = "0.1.26";

/**
 * {@linkcode DUROXIDE_VERSION} as a {@linkcode SemVer}: the pinned version of new executions.
 *
 * @example
 * ```ts
 * import { DUROXIDE_SEMVER } from "./version.ts";
 * console.assert(DUROXIDE_SEMVER.patch === 26);
 * ```
 */
export const DUROXIDE_SEMVER: SemVer = parseSemVer(DUROXIDE_VERSION)!;

/**
 * Parses `major.minor.patch` (a pre-release or build suffix is ignored); `null` if malformed.
 *
 * @example
 * ```ts
 * import { parseSemVer } from "./version.ts";
 * console.assert(parseSemVer("1.2.3")?.minor === 2);
 * console.assert(parseSemVer("x") === null);
 * ```
 */
export function parseSemVer(text: string): SemVer | null {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/**
 * Orders two versions: negative, zero or positive.
 *
 * @example
 * ```ts
 * import { compareSemVer, parseSemVer } from "./version.ts";
 * console.assert(compareSemVer(parseSemVer("1.10.0")!, parseSemVer("1.9.9")!) > 0);
 * ```
 */
export function compareSemVer(a: SemVer, b: SemVer): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/**
 * The capability filter of this runtime's orchestration fetches: every execution pinned at or
 * below {@linkcode DUROXIDE_VERSION} (unpinned executions always match).
 *
 * @example
 * ```ts
 * import { runtimeCapabilityFilter } from "./version.ts";
 * console.assert(runtimeCapabilityFilter().supportedDuroxideVersions.length === 1);
 * ```
 */
export function runtimeCapabilityFilter(): DispatcherCapabilityFilter {
  return {
    supportedDuroxideVersions: [{ min: { major: 0, minor: 0, patch: 0 }, max: DUROXIDE_SEMVER }],
  };
}
