/**
 * The deterministic simulation kit (`sim/kit`) in CI, on the process-wide PGlite: the quick
 * sweep (one seed, 100 generated runs, default options) passes every safety and liveness check
 * and reaches every "sometimes" situation; the same seed gives the same traces twice; a
 * counterexample replays exactly from its seed and paths; the same sweep catches bugs planted
 * in the provider and every broken stored-procedure variant of `sp_mutants.ts`, each with a
 * replayable seed; the observers read exactly what a step changed; and the one contract
 * deviation the simulation found in the provider stays fixed.
 */

import assert from "node:assert/strict";
import { backendTest } from "./_support/backends.ts";
import { sharedPgliteDb } from "./_support/factories.ts";
import {
  checkDeterminism,
  createSimContext,
  createTokenRegistry,
  dropAckCancellations,
  EMPTY_FINGERPRINT,
  formatSimulationReport,
  missingCoverage,
  mutateShippedFunction,
  observeStore,
  openSimHarness,
  runSimulation,
  runStep,
  type SimProviderFactory,
  type SimulationOptions,
  type SimulationReport,
  storedProcedureMutants,
  swallowAckFailures,
} from "../sim/mod.ts";

/** The seed of the CI runs (any seed must pass; this one also reaches every situation). */
const CI_SEED = 6;

/** The quick sweep `deno task test` runs: one seed, 100 runs, every other option default. */
const QUICK_SWEEP: SimulationOptions = { seed: CI_SEED, numRuns: 100 };

async function simulate(options: SimulationOptions): Promise<SimulationReport> {
  return await runSimulation({
    db: await sharedPgliteDb(),
    ...options,
  });
}

Deno.test("simulation: the quick sweep passes every safety and liveness check", async () => {
  const report = await simulate(QUICK_SWEEP);
  assert.ok(report.ok, formatSimulationReport(report));
  assert.equal(report.numRuns, 100);
  assert.deepEqual(missingCoverage(report.coverage), [], "situations the runs never reached");
});

Deno.test("simulation: the same seed gives the same traces twice (determinism self-check)", async () => {
  const check = await checkDeterminism({
    db: await sharedPgliteDb(),
    seed: CI_SEED + 1,
    numRuns: 5,
  });
  assert.ok(check.deterministic, check.firstDifference ?? "trace digests differ");
  assert.equal(check.first.traceDigest, check.second.traceDigest);
});

Deno.test("simulation catches a planted bug: acks that drop their cancellation list", async () => {
  const report = await simulate({ ...QUICK_SWEEP, wrapDriver: dropAckCancellations });
  assert.ok(!report.ok, "the planted bug went unnoticed");
  assert.match(report.failure!, /ackOrch\(.*cancel \[/);
  assert.match(
    report.failure!,
    /removed activities \[\], cancelled \[a\d+\]|worker queue gained \[a\d+\], expected \[\]/,
  );
  assert.ok(report.trace.length <= 8, `not shrunk:\n${formatSimulationReport(report)}`);
  const text = formatSimulationReport(report);
  assert.match(text, new RegExp(`SIM_SEED=${CI_SEED} SIM_PATH="${report.path}"`));

  // The counterexample replays exactly from its seed and paths.
  const replay = await simulate({
    seed: report.seed,
    path: report.path!,
    replayPath: report.replayPath!,
    wrapDriver: dropAckCancellations,
  });
  assert.ok(!replay.ok);
  assert.deepEqual(replay.trace, report.trace);
  assert.equal(replay.failure, report.failure);
});

Deno.test("simulation catches a planted bug: a provider that swallows ack failures", async () => {
  const report = await simulate({ ...QUICK_SWEEP, wrapProvider: swallowAckFailures });
  assert.ok(!report.ok, "the planted bug went unnoticed");
  assert.match(
    report.failure!,
    /ackOrch\(.*-> ok\n\s+- result: the model expected (LOCK_EXPIRED|INVALID_LOCK_TOKEN|DUPLICATE_EVENT|CONNECTION)/,
  );
});

// Each broken variant of a stored procedure (derived from the shipped SQL, installed over the
// migrated one) must fail the quick sweep, with a seed and paths that replay the failure
// exactly; the same counterexample passes on the shipped procedure.
for (const mutant of storedProcedureMutants()) {
  Deno.test(`simulation catches a broken stored procedure: ${mutant.name} (${mutant.description})`, async () => {
    const report = await simulate({ ...QUICK_SWEEP, mutant });
    assert.ok(!report.ok, `the quick sweep missed ${mutant.name}`);
    const text = formatSimulationReport(report);
    assert.match(
      text,
      new RegExp(`replay: SIM_SEED=${CI_SEED} SIM_PATH="[0-9:]+" SIM_REPLAY='[^']+' deno task sim`),
    );
    const replay = { seed: report.seed, path: report.path!, replayPath: report.replayPath! };
    const again = await simulate({ ...replay, mutant });
    assert.ok(!again.ok);
    assert.deepEqual(again.trace, report.trace);
    assert.equal(again.failure, report.failure);
    const shipped = await simulate(replay);
    assert.ok(shipped.ok, `the shipped procedure fails the counterexample too:\n${text}`);
  });
}

Deno.test("stored-procedure mutants fail loudly when the shipped text no longer has their target", () => {
  assert.throws(
    () => mutateShippedFunction("ack_work_item", [{ find: "no such text", replace: "" }]),
    /target not found in the shipped text: no such text/,
  );
  assert.throws(
    () => mutateShippedFunction("ack_work_item", [{ find: "p_lock_token", replace: "x" }]),
    /occurs more than once/,
  );
  assert.throws(() => mutateShippedFunction("no_such_procedure", []), /No shipped migration/);
});

Deno.test("simulation observers read exactly the tables a statement changed", async () => {
  await using harness = await openSimHarness({ db: await sharedPgliteDb() });
  await harness.reset();
  const tokens = createTokenRegistry();
  const observe = (since: string) => observeStore(harness.db, harness.quotedSchema, tokens, since);
  const empty = await observe(EMPTY_FINGERPRINT);
  assert.deepEqual(empty.changed, {});
  assert.equal(empty.fingerprint, EMPTY_FINGERPRINT);

  // A call's own observation (fused into its statement) sees what the call did.
  harness.observeNextCall(EMPTY_FINGERPRINT);
  await harness.provider("w1").enqueueForOrchestrator({
    type: "ExternalRaised",
    instance: "i1",
    name: "sim",
    data: "m1",
  }, null);
  const fused = harness.takeObservation();
  assert.ok(fused !== null);
  const enqueued = await observe(EMPTY_FINGERPRINT);
  assert.deepEqual(Object.keys(enqueued.changed), ["orchestratorQueue"]);
  assert.deepEqual(enqueued.changed.orchestratorQueue!.map((m) => m.label), ["m1"]);
  assert.deepEqual(JSON.parse(fused).fingerprint, enqueued.fingerprint);

  // An update (a new row version) and a delete (one row fewer) change the fingerprint too.
  const q = harness.quotedSchema;
  await harness.db.exec(`update ${q}.orchestrator_queue set attempt_count = 5`);
  const updated = await observe(enqueued.fingerprint);
  assert.deepEqual(updated.changed.orchestratorQueue!.map((m) => m.attempts), [5]);
  await harness.db.exec(`delete from ${q}.orchestrator_queue`);
  const deleted = await observe(updated.fingerprint);
  assert.deepEqual(deleted.changed, { orchestratorQueue: [] });
  assert.deepEqual((await observe(deleted.fingerprint)).changed, {});

  // A failed call changes nothing, and its fused observation is not taken.
  harness.observeNextCall(deleted.fingerprint);
  await assert.rejects(harness.provider("w1").renewOrchestrationItemLock("no-such-token", 1_000));
  assert.equal(harness.takeObservation(), null);
  assert.deepEqual((await observe(deleted.fingerprint)).changed, {});
});

// The model-based kit against a provider it cannot look inside: only what calls return is
// checked (faults strike at the provider boundary), on PGlite and on the server.
backendTest(
  "simulation through a provider factory checks every result against the model",
  async (t) => {
    const tables = ["instances", "executions", "history", "orchestrator_queue", "worker_queue"]
      .concat(["instance_locks", "sessions", "kv_store", "kv_delta"]);
    const schema = `"${t.schema}"`;
    const providers: SimProviderFactory = {
      open: (_worker, clock) => t.createProvider({ clock, longPoll: { enabled: false } }),
      async reset() {
        await t.driver.exec(
          tables.map((table) => `delete from ${schema}.${table};`).join("\n") +
            // Leases from the simulated clock alone, even when the host is slow (see harness.ts).
            `create or replace function ${schema}.wait_ms() returns bigint
             language sql immutable as $$ select 0::bigint $$;`,
        );
      },
    };
    const report = await runSimulation({ providers, seed: CI_SEED, numRuns: 30 });
    assert.ok(report.ok, formatSimulationReport(report));
    assert.ok(report.providerCalls > 500);
    const broken = await runSimulation({
      ...QUICK_SWEEP,
      providers,
      wrapProvider: swallowAckFailures,
    });
    assert.ok(!broken.ok, "the planted bug went unnoticed");
    assert.match(broken.failure!, /ackOrch\(.*-> ok\n\s+- result: the model expected/);
  },
);

// Regression (contract §2.2 step 7), found by this simulation: a fetch used to drop the queue
// messages of an instance that had not started even when other messages of it were visible
// too (SIM_SEED=613862612). They must all wait for the start instead.
Deno.test("simulation: queue messages of a not-started instance with other messages wait", async () => {
  await using harness = await openSimHarness({ db: await sharedPgliteDb() });
  await harness.reset();
  const ctx = createSimContext(harness);
  for (const [kind, label] of [["ExternalRaised", "m1"], ["QueueMessage", "m2"]] as const) {
    await runStep(ctx, {
      type: "enqueueOrch",
      worker: "w1",
      fault: null,
      instance: "i1",
      kind,
      label,
      delayMs: null,
    });
  }
  const result = await runStep(ctx, { type: "fetchOrch", worker: "w1", fault: null, lockMs: 1000 });
  assert.equal(result.kind, "none");
  assert.deepEqual(ctx.view.orchestratorQueue.map((m) => m.label), ["m1", "m2"]);
});
