/**
 * How an {@linkcode ErrorDetails} reads as text: what a failed orchestration stores as its
 * output and what orchestration code sees for a failed activity or sub-orchestration.
 *
 * @module
 */

import type { ErrorDetails } from "./types.ts";

/**
 * The display message of an error, worded as Duroxide words it.
 *
 * @example
 * ```ts
 * import { displayMessage } from "./error_details.ts";
 * const text = displayMessage({
 *   type: "Application", kind: { type: "Cancelled", reason: "user" }, message: "", retryable: false,
 * });
 * console.assert(text === "canceled: user");
 * ```
 */
export function displayMessage(details: ErrorDetails): string {
  switch (details.type) {
    case "Infrastructure":
      return `infrastructure:${details.operation}: ${details.message}`;
    case "Configuration":
      return `nondeterministic: ${details.message ?? details.resource}`;
    case "Application": {
      const kind = details.kind;
      if (typeof kind === "object") return `canceled: ${kind.reason}`;
      if (kind === "Panicked") return `orchestration panicked: ${details.message}`;
      return details.message;
    }
    case "Poison": {
      const m = details.messageType;
      const attempts = `exceeded ${details.attemptCount} attempts (max ${details.maxAttempts})`;
      if (m.type === "Activity") {
        return `poison: activity ${m.activityName}#${m.activityId} ${attempts}`;
      }
      if (m.type === "Orchestration") return `poison: orchestration ${m.instance} ${attempts}`;
      return `poison: orchestration ${m.instance} history deserialization failed after ${details.attemptCount} attempts (max ${details.maxAttempts}): ${m.error}`;
    }
  }
}
