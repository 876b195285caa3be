/**
 * Reports of multi-node and chaos runs: one block per scenario on stdout (started, completed
 * correctly, lost, re-executed activities, recovery times, setup), appended as one JSON line
 * to the file named by `CHAOS_REPORT` when it is set, and the assertions every run must pass.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Outcome } from "./run.ts";

/** Extra figures of a scenario (recovery times in ms, fault counts, settings). */
export type Details = Record<string, string | number | boolean | number[]>;

function ms(v: number): string {
  if (!Number.isFinite(v)) return "never";
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}

/** Formats a number of ms, or a list of them, for a report. */
export function formatMs(v: number | number[]): string {
  return Array.isArray(v) ? v.map(ms).join(", ") : ms(v);
}

/** Prints the scenario's report and appends it to `CHAOS_REPORT` (JSON lines) when set. */
export async function report(scenario: string, outcome: Outcome, details: Details = {}) {
  const lines = [
    `report: ${scenario}`,
    `   started ${outcome.started} | completed correctly ${outcome.completedCorrectly}` +
    ` | wrong ${outcome.wrong.length} | lost ${outcome.lost.length}`,
    `   activities ${outcome.activitiesExecuted}/${outcome.activitiesExpected} executed` +
    ` | re-executed ${outcome.repeatedExecutions}`,
    ...Object.entries(details).map(([k, v]) =>
      `   ${k}: ${/Ms$/.test(k) && typeof v !== "string" ? formatMs(v as number | number[]) : v}`
    ),
  ];
  console.log(lines.join("\n"));
  const file = Deno.env.get("CHAOS_REPORT");
  if (file) {
    const { repeated: _, ...summary } = outcome;
    const line = JSON.stringify({
      scenario,
      at: new Date().toISOString(),
      ...summary,
      wrong: outcome.wrong.length,
      lost: outcome.lost.length,
      ...details,
    });
    await Deno.writeTextFile(file, line + "\n", { append: true });
  }
}

/** Nothing lost, nothing wrong, every activity executed. */
export function assertNoLoss(outcome: Outcome): void {
  assert.deepEqual(outcome.lost, [], "orchestrations were lost");
  assert.deepEqual(outcome.wrong, [], "orchestrations finished with a wrong result");
  assert.equal(outcome.completedCorrectly, outcome.started);
  assert.equal(outcome.activitiesExecuted, outcome.activitiesExpected);
}
