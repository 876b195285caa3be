/**
 * Building and displaying {@linkcode ErrorDetails}, with the display texts Duroxide stores as
 * an execution's output and hands to orchestration code for failed tasks.
 *
 * @module
 */

import { displayMessage } from "../../error_details.ts";
import type { ErrorDetails } from "../../types.ts";

/**
 * The human-readable text of a failure (Duroxide's `display_message()`), shared with the client.
 *
 * @example
 * ```ts
 * import { displayMessage } from "./error_details.ts";
 * const text = displayMessage({
 *   type: "Configuration", kind: "Nondeterminism", resource: "", message: "bad",
 * });
 * console.assert(text === "nondeterministic: bad");
 * ```
 */
export { displayMessage };

/**
 * An application failure of the given kind (not retryable).
 *
 * @example
 * ```ts
 * import { applicationError } from "./error_details.ts";
 * console.assert(applicationError("ActivityFailed", "boom").type === "Application");
 * ```
 */
export function applicationError(
  kind: "ActivityFailed" | "OrchestrationFailed" | "Panicked",
  message: string,
): ErrorDetails {
  return { type: "Application", kind, message, retryable: false };
}

/**
 * A nondeterminism failure: the code no longer matches the recorded history.
 *
 * @example
 * ```ts
 * import { nondeterminismError } from "./error_details.ts";
 * console.assert(nondeterminismError("x").type === "Configuration");
 * ```
 */
export function nondeterminismError(message: string): ErrorDetails {
  return { type: "Configuration", kind: "Nondeterminism", resource: "", message };
}

/**
 * The text of anything thrown: an `Error`'s message, or the value as a string.
 *
 * @example
 * ```ts
 * import { errorText } from "./error_details.ts";
 * console.assert(errorText(new Error("boom")) === "boom");
 * console.assert(errorText("plain") === "plain");
 * ```
 */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
