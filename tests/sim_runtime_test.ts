/**
 * The runtime simulation (`sim/runtime`) in CI, on the process-wide PGlite: whole
 * orchestrations (activities, hours of durable timers, sub-orchestrations, continue-as-new,
 * events and event queues, cancellation) run by simulated nodes under crashes, injected faults
 * and clock jumps end exactly as a fault-free run ends, with every activity completion
 * recorded once; the same seed gives the same traces; a broken stored procedure is found and
 * its failing run replays from its seed; and a user's own orchestrations run the same way.
 */

import assert from "node:assert/strict";
import type { OrchestrationContext } from "../mod.ts";
import { sharedPgliteDb } from "./_support/factories.ts";
import {
  ackWorkLosesCompletion,
  fetchTakesLiveLease,
  formatRuntimeSimulationReport,
  registerSampleWorkload,
  runRuntimeSimulation,
  type RuntimeSimulationOptions,
  type RuntimeSimulationReport,
  sampleWorkload,
} from "../sim/mod.ts";

const HOUR = 3_600_000;

/** The quick sweep `deno task test` runs: eight seeds of the sample workload. */
const QUICK_SWEEP = { seed: 11, runs: 8 };

async function simulate(
  options: Partial<RuntimeSimulationOptions>,
): Promise<RuntimeSimulationReport> {
  return await runRuntimeSimulation({
    db: await sharedPgliteDb(),
    register: registerSampleWorkload,
    workload: sampleWorkload,
    ...options,
  });
}

Deno.test("runtime simulation: the sample workload ends as it does without faults", async () => {
  const report = await simulate(QUICK_SWEEP);
  assert.ok(report.ok, formatRuntimeSimulationReport(report));
  assert.equal(report.runs, QUICK_SWEEP.runs);
  assert.ok(report.crashes > 0 && report.faults > 0, "the runs saw no crash or no fault");
  // Every workload has a three-hour countdown, played twice per run (reference and chaos).
  assert.ok(report.simulatedMs >= QUICK_SWEEP.runs * 2 * 3 * HOUR, `${report.simulatedMs} ms`);
  assert.ok(report.instances >= QUICK_SWEEP.runs * 3);
});

Deno.test("runtime simulation: the same seed gives the same traces twice", async () => {
  const first = await simulate({ seed: 5, runs: 2, keepTraces: true });
  const second = await simulate({ seed: 5, runs: 2, keepTraces: true });
  assert.ok(first.ok && second.ok);
  assert.deepEqual(second.traces, first.traces);
  assert.equal(second.traceDigest, first.traceDigest);
  assert.ok(first.traces.flat().some((line) => /\. crash\(n\d\)/.test(line)), "no crash");
});

Deno.test("runtime simulation finds a stored procedure that loses activity completions", async () => {
  const report = await simulate({ ...QUICK_SWEEP, mutant: ackWorkLosesCompletion() });
  assert.ok(!report.ok, "the broken procedure went unnoticed");
  const failure = report.failure!;
  assert.ok(
    failure.problems.some((p) => /ended \{"status":"Running"\}, the fault-free run/.test(p)),
    failure.problems.join("\n"),
  );
  assert.ok(
    failure.problems.some((p) =>
      /completion recorded 0 time\(s\), in the fault-free run 1/.test(p)
    ),
  );
  assert.match(
    formatRuntimeSimulationReport(report),
    new RegExp(`replay: SIM_MODE=runtime SIM_SEED=${failure.seed} SIM_RUNS=1 deno task sim`),
  );
  // The failing run replays exactly from its own seed.
  const replay = await simulate({ seed: failure.seed, runs: 1, mutant: ackWorkLosesCompletion() });
  assert.ok(!replay.ok);
  assert.deepEqual(replay.failure, failure);
});

Deno.test("runtime simulation finds a fetch that takes live leases", async () => {
  const report = await simulate({ ...QUICK_SWEEP, mutant: fetchTakesLiveLease() });
  assert.ok(!report.ok, "the broken procedure went unnoticed");
  assert.ok(
    report.failure!.problems.some((p) => / ended .*, the fault-free run /.test(p)),
    report.failure!.problems.join("\n"),
  );
});

Deno.test("runtime simulation runs a user's own orchestrations and workload", async () => {
  const report = await runRuntimeSimulation({
    db: await sharedPgliteDb(),
    seed: 3,
    runs: 3,
    nodes: 2,
    register(rt) {
      rt.registerActivity("Charge", (_ctx, amount) => `charged ${amount}`);
      rt.registerOrchestration("Order", function* (ctx: OrchestrationContext, input: unknown) {
        const { amount } = input as { amount: number };
        const receipt = yield ctx.scheduleActivity("Charge", amount);
        const approved = yield ctx.waitForEvent("approved");
        yield ctx.scheduleTimer(24 * HOUR);
        return { receipt, approved };
      });
    },
    workload: {
      starts: [
        { instance: "order-1", orchestration: "Order", input: { amount: 5 } },
        { instance: "order-2", orchestration: "Order", input: { amount: 7 } },
      ],
      events: [
        { instance: "order-1", name: "approved", data: "alice" },
        { instance: "order-2", name: "approved", data: "bob" },
      ],
    },
  });
  assert.ok(report.ok, formatRuntimeSimulationReport(report));
  assert.equal(report.instances, 6);
  assert.ok(report.simulatedMs >= 3 * 2 * 24 * HOUR);
});

Deno.test("runtime simulation rejects bad options", async () => {
  await assert.rejects(
    runRuntimeSimulation({
      db: await sharedPgliteDb(),
      register: registerSampleWorkload,
      workload: sampleWorkload,
      nodes: 0,
    }),
    RangeError,
  );
  await assert.rejects(
    runRuntimeSimulation({
      db: await sharedPgliteDb(),
      register: undefined as unknown as RuntimeSimulationOptions["register"],
      workload: sampleWorkload,
    }),
    TypeError,
  );
});
