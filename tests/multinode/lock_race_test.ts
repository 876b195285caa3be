/**
 * Lock races: four runtime processes with skewed clocks compete for the same instances (wide
 * fan-outs whose completions arrive together, plus events sent meanwhile), with long polling
 * and with plain polling. Every activity runs exactly once and every result is right.
 */

import assert from "node:assert/strict";
import { multiNodeTest } from "../chaos/_support/harness.ts";
import { stopAll } from "../chaos/_support/node_process.ts";
import { assertNoLoss, report } from "../chaos/_support/report.ts";
import { scaled } from "../chaos/_support/run.ts";
import { type WorkInput, workInput } from "../chaos/_support/workload.ts";

const SKEWS_MS = [-150, -50, 50, 150];

for (const longPoll of [true, false]) {
  const mode = longPoll ? "long polling" : "polling";
  multiNodeTest(`multi-node: four processes race for the same instances (${mode})`, async (t) => {
    const nodes = await Promise.all(SKEWS_MS.map((skewMs, i) =>
      t.node({
        id: `r${i}`,
        skewMs,
        longPoll,
        orchestrationConcurrency: 3,
        workerConcurrency: 3,
      })
    ));
    const instances: [string, WorkInput][] = Array.from({ length: scaled(40) }, (_, i) => [
      `race-${i}`,
      workInput(i * 10_000, { steps: 1, width: 10, event: true }),
    ]);
    const t0 = Date.now();
    await t.run.start(instances);
    await t.run.sendEvents(); // while the fan-outs complete: more messages per locked instance
    await t.run.waitForAll(120_000);
    const elapsedMs = Date.now() - t0;
    const outcome = await t.run.outcome();
    await stopAll(nodes);
    await report(`multi-node: 4 processes racing, ${mode}`, outcome, {
      elapsedMs,
      turnsPerNode: nodes.map((n) => `${n.id}=${n.stats?.orchestrationTurns}`).join(" "),
      providerErrorsPerNode: nodes.map((n) => `${n.id}=${n.stats?.providerErrors}`).join(" "),
    });
    assertNoLoss(outcome);
    assert.equal(outcome.repeatedExecutions, 0, "an activity ran twice without any fault");
  });
}
