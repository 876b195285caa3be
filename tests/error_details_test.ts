/** displayMessage() words every kind of error as Duroxide does. */

import assert from "node:assert/strict";
import { displayMessage } from "../src/error_details.ts";

Deno.test("displayMessage() covers every ErrorDetails variant", () => {
  const app = { type: "Application", message: "boom", retryable: false } as const;
  const poison = { type: "Poison", attemptCount: 11, maxAttempts: 10, message: "{}" } as const;
  const cases: [Parameters<typeof displayMessage>[0], string][] = [
    [
      { type: "Infrastructure", operation: "ack", message: "lost", retryable: true },
      "infrastructure:ack: lost",
    ],
    [
      { type: "Configuration", kind: "Nondeterminism", resource: "r", message: "x" },
      "nondeterministic: x",
    ],
    [
      { type: "Configuration", kind: "Nondeterminism", resource: "r", message: null },
      "nondeterministic: r",
    ],
    [{ ...app, kind: "ActivityFailed" }, "boom"],
    [{ ...app, kind: "OrchestrationFailed" }, "boom"],
    [{ ...app, kind: "Panicked" }, "orchestration panicked: boom"],
    [{ ...app, kind: { type: "Cancelled", reason: "user" } }, "canceled: user"],
    [
      {
        ...poison,
        messageType: {
          type: "Activity",
          instance: "i",
          executionId: 1,
          activityName: "A",
          activityId: 2,
        },
      },
      "poison: activity A#2 exceeded 11 attempts (max 10)",
    ],
    [
      { ...poison, messageType: { type: "Orchestration", instance: "i", executionId: 1 } },
      "poison: orchestration i exceeded 11 attempts (max 10)",
    ],
    [
      {
        ...poison,
        messageType: { type: "FailedDeserialization", instance: "i", executionId: 1, error: "bad" },
      },
      "poison: orchestration i history deserialization failed after 11 attempts (max 10): bad",
    ],
  ];
  for (const [details, expected] of cases) assert.equal(displayMessage(details), expected);
});
