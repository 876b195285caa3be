/**
 * Payload encoding as duroxide-node does it: values are `JSON.stringify`-ed on the way in
 * (`undefined` becomes `null`) and `JSON.parse`-d on the way out, falling back to the raw text
 * when it is not JSON.
 *
 * @module
 */

/**
 * Encodes a value for history and queues.
 *
 * @example
 * ```ts
 * import { encodePayload } from "./payload.ts";
 * console.assert(encodePayload({ a: 1 }) === '{"a":1}');
 * console.assert(encodePayload(undefined) === "null");
 * ```
 */
export function encodePayload(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value) ?? "null";
}

/**
 * Decodes a stored payload; text that is not JSON comes back as the string itself.
 *
 * @example
 * ```ts
 * import { decodePayload } from "./payload.ts";
 * console.assert(decodePayload('"hi"') === "hi");
 * console.assert(decodePayload("plain text") === "plain text");
 * ```
 */
export function decodePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
