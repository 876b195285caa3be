/**
 * End to end, versioning: a running loop upgraded to the latest version at continue-as-new,
 * a loop that pins its version across continue-as-new, and children started at explicit
 * versions.
 */

import assert from "node:assert/strict";
import type { OrchestrationContext, OrchestrationFunction } from "../mod.ts";
import { e2eTest, historyWith } from "./_support/e2e.ts";

/** The version recorded in each execution's `OrchestrationStarted`. */
async function startedVersions(
  client: { readExecutionHistory(id: string, n: number): Promise<{ data: string }[]> },
  id: string,
  executions: number[],
): Promise<string[]> {
  const versions: string[] = [];
  for (const n of executions) {
    const [started] = await client.readExecutionHistory(id, n);
    versions.push(JSON.parse(started.data).version);
  }
  return versions;
}

e2eTest("continue-as-new moves a running loop to the newest version", async (f) => {
  const v1: OrchestrationFunction = function* (ctx, round) {
    yield ctx.waitForEvent("Next");
    return yield ctx.continueAsNew((round as number) + 1);
  };
  const old = f.runtime();
  old.registerOrchestrationVersioned("Loop", "1.0.0", v1);
  await old.start();
  await f.client.startOrchestration("loop-1", "Loop", 1);
  await historyWith(f.provider, "loop-1", "ExternalSubscribed");
  await old.shutdown(); // deploy: the new runtime knows both versions

  const upgraded = f.runtime({}, await f.newProvider());
  upgraded.registerOrchestrationVersioned("Loop", "1.0.0", v1);
  upgraded.registerOrchestrationVersioned(
    "Loop",
    "2.0.0",
    // deno-lint-ignore require-yield
    function* (ctx: OrchestrationContext, round: unknown) {
      return `round ${round} on ${ctx.orchestrationVersion}`;
    },
  );
  await upgraded.start();
  await f.client.raiseEvent("loop-1", "Next");
  const status = await f.client.waitForOrchestration("loop-1", 20_000);
  // Execution 1 finished on the version it started with; execution 2 got the newest.
  assert.equal(status.output, "round 2 on 2.0.0");
  assert.deepEqual(await startedVersions(f.client, "loop-1", [1, 2]), ["1.0.0", "2.0.0"]);
  assert.equal((await f.client.getInstanceInfo("loop-1")).orchestrationVersion, "2.0.0");
});

e2eTest("continueAsNewVersioned keeps a loop on its version", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestrationVersioned(
    "Billing",
    "1.0.0",
    function* (ctx: OrchestrationContext, cycle: unknown) {
      const n = cycle as number;
      if (n === 3) return `billed ${n} cycles on ${ctx.orchestrationVersion}`;
      return yield ctx.continueAsNewVersioned(n + 1, ctx.orchestrationVersion);
    },
  );
  // deno-lint-ignore require-yield
  rt.registerOrchestrationVersioned("Billing", "2.0.0", function* () {
    return "new billing";
  });
  await rt.start();
  await f.client.startOrchestrationVersioned("bill-1", "Billing", 1, "1.0.0");
  await f.client.startOrchestration("bill-2", "Billing", 1);
  assert.equal(
    (await f.client.waitForOrchestration("bill-1", 20_000)).output,
    "billed 3 cycles on 1.0.0",
  );
  assert.equal((await f.client.waitForOrchestration("bill-2", 20_000)).output, "new billing");
  assert.deepEqual(await startedVersions(f.client, "bill-1", [1, 2, 3]), [
    "1.0.0",
    "1.0.0",
    "1.0.0",
  ]);
});

e2eTest("sub-orchestrations run the version their parent asks for", async (f) => {
  const rt = f.runtime();
  for (const version of ["1.0.0", "1.1.0", "2.0.0"]) {
    rt.registerOrchestrationVersioned(
      "Tax",
      version,
      function* (ctx: OrchestrationContext, amount: unknown) {
        const rate = { "1.0.0": 10, "1.1.0": 12, "2.0.0": 20 }[ctx.orchestrationVersion]!;
        yield ctx.scheduleTimer(0);
        return { version: ctx.orchestrationVersion, tax: (amount as number) * rate / 100 };
      },
    );
  }
  rt.registerOrchestration("Invoice", function* (ctx: OrchestrationContext) {
    return yield ctx.all([
      ctx.scheduleSubOrchestration("Tax", 100),
      ctx.scheduleSubOrchestrationVersioned("Tax", "1.0.0", 100),
      ctx.scheduleSubOrchestrationVersionedWithId("Tax", "1.1.0", "tax-2019", 100),
    ]);
  });
  await rt.start();
  await f.client.startOrchestration("invoice-1", "Invoice");
  const status = await f.client.waitForOrchestration("invoice-1", 20_000);
  assert.deepEqual(status.output, [
    { ok: { version: "2.0.0", tax: 20 } },
    { ok: { version: "1.0.0", tax: 10 } },
    { ok: { version: "1.1.0", tax: 12 } },
  ]);
  assert.equal((await f.client.getInstanceInfo("tax-2019")).orchestrationVersion, "1.1.0");
  assert.equal((await f.client.getInstanceInfo("invoice-1::sub::3")).orchestrationVersion, "1.0.0");
});
