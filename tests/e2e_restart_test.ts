/**
 * End to end, restarts: a runtime that crashes mid-orchestration (before an activity commits
 * its effect, after it committed but before its result was recorded, and in a fan-out) is
 * replaced by another that finishes the work. Activities run at least once; each attempt that
 * ran to the end committed its effect exactly once; each activity's result is recorded once.
 */

import assert from "node:assert/strict";
import type { JoinResult, OrchestrationContext, Runtime } from "../mod.ts";
import { e2eTest, eventsOf } from "./_support/e2e.ts";

type CrashPoint = "before-commit" | "after-commit";

e2eTest(
  "a crashed runtime's work is finished by the next one, effects once per attempt",
  async (f) => {
    await f.sql(`create table "${f.schema}".effects (step int not null, attempt int not null)`);
    // On its first attempt, these steps stop at a crash point and wait for the crash.
    const crashAt = new Map<number, CrashPoint>([
      [2, "before-commit"],
      [3, "after-commit"],
      [5, "before-commit"],
    ]);
    const attempts = new Map<number, number>();
    const committed = new Map<number, number>();
    let reachedCrashPoint: () => void = () => {};

    const register = (rt: Runtime) => {
      rt.registerActivity("Apply", async (ctx, input) => {
        const step = input as number;
        const attempt = (attempts.get(step) ?? 0) + 1;
        attempts.set(step, attempt);
        const point = attempt === 1 ? crashAt.get(step) : undefined;
        const commit = async () => {
          await f.sql(`insert into "${f.schema}".effects values ($1, $2)`, [step, attempt]);
          committed.set(step, (committed.get(step) ?? 0) + 1);
        };
        if (point === "after-commit") await commit();
        if (point) {
          reachedCrashPoint();
          while (!ctx.isCancelled()) await new Promise((r) => setTimeout(r, 10));
          return null; // the process is gone: nothing more happens, nothing is recorded
        }
        await commit();
        return step * 10;
      });
      rt.registerOrchestration("Batch", function* (ctx: OrchestrationContext) {
        const results: unknown[] = [];
        for (const step of [1, 2, 3]) results.push(yield ctx.scheduleActivity("Apply", step));
        yield ctx.scheduleTimer(50);
        const fanned = (yield ctx.all(
          [4, 5, 6].map((step) => ctx.scheduleActivity("Apply", step)),
        )) as JoinResult[];
        return [...results, ...fanned.map((r) => (r as { ok: unknown }).ok)];
      });
    };

    const options = { workerLockTimeoutMs: 1_000, orchestratorLockTimeoutMs: 1_000 };
    let crashes = 0;
    for (;;) {
      const crashed = new Promise<"crash">((resolve) => reachedCrashPoint = () => resolve("crash"));
      const rt = f.runtime(options, crashes === 0 ? f.provider : await f.newProvider());
      register(rt);
      await rt.start();
      if (crashes === 0) await f.client.startOrchestration("batch-1", "Batch");
      const finished = f.client.waitForOrchestration("batch-1", 30_000);
      if (await Promise.race([crashed, finished]) !== "crash") break;
      await rt.shutdown(0); // a crash: running activities are abandoned, their locks lapse
      crashes++;
    }

    const status = await f.client.waitForOrchestration("batch-1", 1_000);
    assert.deepEqual(status.output, [10, 20, 30, 40, 50, 60]);
    assert.equal(crashes, 3);
    const rows = await f.sql<{ step: number; n: number }>(
      `select step, count(*)::int as n from "${f.schema}".effects group by step order by step`,
    );
    const effects = new Map(rows.map((r) => [Number(r.step), Number(r.n)]));
    for (let step = 1; step <= 6; step++) {
      assert.equal(effects.get(step), committed.get(step), `effects of step ${step}`);
    }
    // Interrupted before its commit: run twice, one effect. After it: run twice, two effects.
    assert.equal(attempts.get(2), 2);
    assert.equal(effects.get(2), 1);
    assert.equal(attempts.get(3), 2);
    assert.equal(effects.get(3), 2);
    assert.equal(effects.get(5), 1);

    const history = await f.provider.read("batch-1");
    const completions = eventsOf(history, "ActivityCompleted");
    assert.equal(completions.length, 6, "one recorded result per activity");
    assert.equal(new Set(completions.map((e) => e.sourceEventId)).size, 6);
    assert.equal(eventsOf(history, "OrchestrationCompleted").length, 1);
    assert.equal(eventsOf(history, "TimerFired").length, 1);
  },
);
