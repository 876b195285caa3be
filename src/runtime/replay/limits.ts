/**
 * Size limits the runtime enforces on orchestration output (Duroxide `runtime/limits.rs`).
 * A turn that breaks one fails the orchestration with an application error.
 *
 * @module
 */

/** Most KV keys per instance. */
export const MAX_KV_KEYS = 100;
/** Largest KV value, in UTF-8 bytes. */
export const MAX_KV_VALUE_BYTES = 16_384;
/** Most worker tags in a tag filter. */
export const MAX_WORKER_TAGS = 5;
/** Longest tag name, in UTF-8 bytes. */
export const MAX_TAG_NAME_BYTES = 256;
/** Largest custom status, in UTF-8 bytes. */
export const MAX_CUSTOM_STATUS_BYTES = 256 * 1024;
/** Most unconsumed queue messages carried into the next execution by continue-as-new. */
export const MAX_CARRY_FORWARD_EVENTS = 20;

const encoder = new TextEncoder();

/**
 * UTF-8 length of a string.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./limits.ts";
 * console.assert(utf8Length("é") === 2);
 * ```
 */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
