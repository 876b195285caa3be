/**
 * Roles and timers across processes: an orchestrator-only node creates durable timers and is
 * killed before they are due; a second orchestrator-only node, with a clock 600 ms behind the
 * first, fires them; a worker-only node runs every activity. No timer fires before its due
 * time by the clock of the node that fires it, and nothing is lost.
 */

import assert from "node:assert/strict";
import { eventWireType } from "../../src/codec.ts";
import { multiNodeTest } from "../chaos/_support/harness.ts";
import { stopAll } from "../chaos/_support/node_process.ts";
import { assertNoLoss, report } from "../chaos/_support/report.ts";
import { scaled } from "../chaos/_support/run.ts";
import { type WorkInput, workInput } from "../chaos/_support/workload.ts";

const TIMER_MS = 3_000;

multiNodeTest(
  "multi-node: timers created by a killed node fire on another, roles split the work",
  async (t) => {
    const worker = await t.node({
      id: "worker",
      role: "worker",
      skewMs: -300,
      workerConcurrency: 4,
    });
    const creator = await t.node({ id: "orch-a", role: "orchestrator", skewMs: 300 });
    const count = scaled(12);
    const instances: [string, WorkInput][] = Array.from({ length: count }, (_, i) => [
      `timer-${i}`,
      workInput(i * 10_000, { steps: 1, width: 2, timerMs: TIMER_MS, holdMs: 20 }),
    ]);
    await t.run.start(instances);
    const timerCreated = eventWireType("TimerCreated");
    for (let i = 0; i < 600 && await t.run.countEvents(timerCreated) < count; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await t.run.countEvents(timerCreated), count, "the timers were not all created");
    const killedAt = Date.now();
    await creator.kill();
    const firer = await t.node({ id: "orch-b", role: "orchestrator", skewMs: -300 });
    await t.run.waitForAll(120_000);
    const outcome = await t.run.outcome();
    await stopAll([worker, firer]);

    let firedAfterKill = 0;
    for (const [id] of instances) {
      const fired = (await t.run.history(id)).filter((e) => e.type === "TimerFired");
      assert.equal(fired.length, 1, `${id}: one timer fired`);
      for (const e of fired) {
        if (e.type !== "TimerFired") continue;
        assert.ok(e.timestampMs >= e.fireAtMs, `${id}: timer fired early by its node's clock`);
        if (e.fireAtMs - 300 > killedAt) firedAfterKill++; // due after its creator died
      }
    }
    const effects = await t.run.effectsByNode();
    await report(
      "multi-node: orchestrator-only (killed) + orchestrator-only + worker-only, timers",
      outcome,
      {
        timerMs: TIMER_MS,
        timersDueAfterTheCreatorWasKilled: firedAfterKill,
        activitiesPerNode: [...effects].map(([n, c]) => `${n}=${c}`).join(" "),
        turnsOfTheSecondOrchestrator: firer.stats?.orchestrationTurns ?? 0,
      },
    );
    assertNoLoss(outcome);
    assert.ok(firedAfterKill > 0, "no timer outlived its creator");
    assert.deepEqual([...effects.keys()], ["worker"], "only the worker-only node ran activities");
    assert.equal(worker.stats?.orchestrationTurns, 0, "the worker-only node ran a turn");
    assert.ok((firer.stats?.orchestrationTurns ?? 0) >= firedAfterKill);
    assert.equal(firer.stats?.activitiesCompleted, 0, "an orchestrator-only node ran an activity");
  },
);
