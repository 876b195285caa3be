/**
 * How user values travel through orchestrations: JSON-encoded on the way in, decoded on the
 * way out, as duroxide-node does.
 *
 * @module
 */

/**
 * Encodes a user value as JSON text (`undefined` as `null`).
 *
 * @example
 * ```ts
 * import { encodePayload } from "./payload.ts";
 * console.assert(encodePayload("World") === '"World"');
 * ```
 */
export function encodePayload(value: unknown): string {
  return value === undefined ? "null" : JSON.stringify(value);
}

/**
 * Decodes JSON text; text that is not JSON (written by other SDKs) comes back as the string.
 *
 * @example
 * ```ts
 * import { decodePayload } from "./payload.ts";
 * console.assert(decodePayload('{"a":1}') !== null && decodePayload("plain text") === "plain text");
 * ```
 */
export function decodePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
