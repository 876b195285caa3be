/**
 * End to end, external events and event queues: approvals that arrive in any order, an actor
 * driven by its mailbox, and signals sent to an instance that already finished.
 */

import assert from "node:assert/strict";
import type { JoinResult, OrchestrationContext } from "../mod.ts";
import { e2eTest, eventsOf, historyWith, until } from "./_support/e2e.ts";

e2eTest("two approvals, raised in either order, are both delivered", async (f) => {
  const rt = f.runtime();
  rt.registerOrchestration("Expense", function* (ctx: OrchestrationContext, amount: unknown) {
    const [manager, finance] = (yield ctx.all([
      ctx.waitForEvent("ManagerApproval"),
      ctx.waitForEvent("FinanceApproval"),
    ])) as JoinResult[];
    return { amount, manager, finance };
  });
  await rt.start();
  for (const id of ["exp-1", "exp-2"]) await f.client.startOrchestration(id, "Expense", 250);
  for (const id of ["exp-1", "exp-2"]) {
    await historyWith(f.provider, id, "ExternalSubscribed", 2);
  }
  await f.client.raiseEventTyped("exp-1", "ManagerApproval", { by: "mia" });
  await f.client.raiseEventTyped("exp-1", "FinanceApproval", { by: "fred" });
  await f.client.raiseEventTyped("exp-2", "FinanceApproval", { by: "fred" });
  await f.client.raiseEventTyped("exp-2", "ManagerApproval", { by: "mia" });
  for (const id of ["exp-1", "exp-2"]) {
    assert.deepEqual((await f.client.waitForOrchestration(id, 20_000)).output, {
      amount: 250,
      manager: { ok: { by: "mia" } },
      finance: { ok: { by: "fred" } },
    });
  }
});

e2eTest("an actor processes its mailbox in order until told to stop", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Apply", (_ctx, input) => {
    const { balance, op } = input as { balance: number; op: { kind: string; amount: number } };
    if (op.kind === "withdraw" && op.amount > balance) throw new Error("insufficient funds");
    return op.kind === "deposit" ? balance + op.amount : balance - op.amount;
  });
  rt.registerOrchestration("Account", function* (ctx: OrchestrationContext) {
    let balance = 0;
    const rejected: number[] = [];
    for (;;) {
      const op = (yield ctx.dequeueEvent("ops")) as { kind: string; amount: number };
      if (op.kind === "close") return { balance, rejected };
      try {
        balance = (yield ctx.scheduleActivity("Apply", { balance, op })) as number;
      } catch {
        rejected.push(op.amount);
      }
      ctx.setValue("balance", String(balance));
    }
  });
  await rt.start();
  await f.client.startOrchestration("acct-1", "Account");
  // Sent at once, before the actor ran a turn: the queue buffers them in order.
  const ops = [
    { kind: "deposit", amount: 100 },
    { kind: "withdraw", amount: 30 },
    { kind: "withdraw", amount: 500 },
    { kind: "deposit", amount: 5 },
    { kind: "close", amount: 0 },
  ];
  for (const op of ops) await f.client.enqueueEventTyped("acct-1", "ops", op);
  const status = await f.client.waitForOrchestration("acct-1", 20_000);
  assert.deepEqual(status.output, { balance: 75, rejected: [500] });
  assert.equal(await f.client.getValue("acct-1", "balance"), "75");
  const delivered = eventsOf(await f.provider.read("acct-1"), "QueueEventDelivered");
  assert.deepEqual(delivered.map((e) => JSON.parse(e.data)), ops);
});

e2eTest("signals sent to a finished instance change nothing", async (f) => {
  const register = (rt: ReturnType<typeof f.runtime>) =>
    rt.registerOrchestration("Once", function* (ctx: OrchestrationContext) {
      return yield ctx.waitForEvent("Go");
    });
  const first = f.runtime();
  register(first);
  await first.start();
  await f.client.startOrchestration("once-1", "Once");
  await historyWith(f.provider, "once-1", "ExternalSubscribed");
  await f.client.raiseEvent("once-1", "Go", "first");
  assert.equal((await f.client.waitForOrchestration("once-1", 20_000)).output, "first");
  await first.shutdown();
  const before = await f.provider.read("once-1");

  await f.client.raiseEvent("once-1", "Go", "second");
  await f.client.enqueueEvent("once-1", "inbox", "late");
  await f.client.cancelInstance("once-1", "too late");
  // A fresh runtime takes the three messages and drops them (acks with no new events).
  const second = f.runtime({}, await f.newProvider());
  register(second);
  await second.start();
  await until(async () =>
    second.metricsSnapshot().orchestrationTurns > 0 &&
    (await f.client.getQueueDepths()).orchestratorQueue === 0
  );
  await second.shutdown(5_000); // lets a turn in flight finish
  assert.equal((await f.client.getQueueDepths()).orchestratorQueue, 0);
  assert.deepEqual(await f.provider.read("once-1"), before);
  const status = await f.client.getStatus("once-1");
  assert.equal(status.status, "Completed");
  assert.equal(status.output, "first");
});
