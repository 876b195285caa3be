/**
 * End to end, control flow: hello world through the typed API, branches and loops driven by
 * activity results, fan-out/fan-in in batches, and `all()` over different kinds of tasks.
 */

import assert from "node:assert/strict";
import type { ActivityContext, JoinResult, OrchestrationContext } from "../mod.ts";
import { e2eTest, eventsOf, historyWith, scheduledActivities } from "./_support/e2e.ts";

e2eTest("hello world through the typed API, with the activity's context", async (f) => {
  const rt = f.runtime();
  rt.registerActivityTyped("Greet", async (ctx: ActivityContext, name) => ({
    greeting: `Hello, ${name}!`,
    instance: ctx.instanceId,
    execution: ctx.executionId,
    activity: ctx.activityName,
    orchestration: await ctx.orchestrationName(),
    version: await ctx.orchestrationVersion(),
  }));
  rt.registerOrchestrationVersionedTyped(
    "Hello",
    "1.2.0",
    function* (ctx: OrchestrationContext, input: unknown) {
      const { name } = input as { name: string };
      return yield ctx.scheduleActivityTyped("Greet", name);
    },
  );
  await rt.start();
  await f.client.startOrchestrationTyped("hello-1", "Hello", { name: "World" });
  const status = await f.client.waitForOrchestrationTyped<{ greeting: string }>(
    "hello-1",
    20_000,
  );
  assert.equal(status.status, "Completed");
  assert.deepEqual(status.output, {
    greeting: "Hello, World!",
    instance: "hello-1",
    execution: 1,
    activity: "Greet",
    orchestration: "Hello",
    version: "1.2.0",
  });
  const history = await f.client.readExecutionHistory("hello-1", 1);
  assert.deepEqual(history.map((e) => e.kind), [
    "OrchestrationStarted",
    "ActivityScheduled",
    "ActivityCompleted",
    "OrchestrationCompleted",
  ]);
  assert.deepEqual(JSON.parse(history[1].data), { name: "Greet", input: '"World"' });
});

e2eTest("branches, loops and try/finally follow activity results", async (f) => {
  const stock: Record<string, number> = { apple: 5, pear: 0, melon: 2 };
  const prices: Record<string, number> = { apple: 40, pear: 10, melon: 150 };
  const rt = f.runtime();
  rt.registerActivity("Price", (_ctx, item) => prices[item as string]);
  rt.registerActivity("Reserve", (_ctx, item) => {
    if (stock[item as string] === 0) throw new Error(`${item} is out of stock`);
    return `reserved ${item}`;
  });
  rt.registerActivity("Review", (_ctx, item) => `reviewed ${item}`);
  rt.registerActivity("Audit", (_ctx, count) => `audited ${count}`);
  rt.registerOrchestration("Order", function* (ctx: OrchestrationContext, items: unknown) {
    const lines: string[] = [];
    let total = 0;
    try {
      for (const item of items as string[]) {
        const price = (yield ctx.scheduleActivity("Price", item)) as number;
        if (price > 100) lines.push((yield ctx.scheduleActivity("Review", item)) as string);
        try {
          lines.push((yield ctx.scheduleActivity("Reserve", item)) as string);
          total += price;
        } catch (err) {
          lines.push(`skipped: ${(err as Error).message}`);
        }
      }
    } finally {
      lines.push((yield ctx.scheduleActivity("Audit", lines.length)) as string);
    }
    return { lines, total };
  });
  await rt.start();
  await f.client.startOrchestration("order-1", "Order", ["apple", "pear", "melon"]);
  const status = await f.client.waitForOrchestration("order-1", 20_000);
  assert.deepEqual(status.output, {
    lines: [
      "reserved apple",
      "skipped: pear is out of stock",
      "reviewed melon",
      "reserved melon",
      "audited 4",
    ],
    total: 190,
  });
  assert.deepEqual(scheduledActivities(await f.provider.read("order-1")), [
    "Price",
    "Reserve",
    "Price",
    "Reserve",
    "Price",
    "Review",
    "Reserve",
    "Audit",
  ]);
});

e2eTest("fan-out over a dynamic list, fanned in batch by batch", async (f) => {
  const rt = f.runtime({ workerConcurrency: 4 });
  rt.registerActivity("Square", async (_ctx, n) => {
    await new Promise((r) => setTimeout(r, (n as number) % 3 * 10)); // finish out of order
    return (n as number) ** 2;
  });
  rt.registerOrchestration("SumOfSquares", function* (ctx: OrchestrationContext, n: unknown) {
    const numbers = Array.from({ length: n as number }, (_, i) => i + 1);
    let sum = 0;
    for (let i = 0; i < numbers.length; i += 4) {
      const batch = numbers.slice(i, i + 4).map((x) => ctx.scheduleActivity("Square", x));
      const results = (yield ctx.all(batch)) as JoinResult[];
      for (const r of results) sum += (r as { ok: number }).ok;
      ctx.setCustomStatus(`${Math.min(i + 4, numbers.length)}/${numbers.length}`);
    }
    return sum;
  });
  await rt.start();
  await f.client.startOrchestration("sum-1", "SumOfSquares", 10);
  const status = await f.client.waitForOrchestration("sum-1", 20_000);
  assert.equal(status.output, 385);
  assert.equal(status.customStatus, "10/10");
  const history = await f.provider.read("sum-1");
  const scheduled = eventsOf(history, "ActivityScheduled");
  assert.deepEqual(scheduled.map((e) => JSON.parse(e.input)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // A batch is scheduled only after every activity of the previous one completed.
  const completedAt = new Map(
    eventsOf(history, "ActivityCompleted").map((e) => [e.sourceEventId, e.eventId]),
  );
  for (const [prev, next] of [[0, 4], [4, 8]]) {
    const lastOfBatch = Math.max(
      ...scheduled.slice(prev, prev + 4).map((e) => completedAt.get(e.eventId)!),
    );
    assert.ok(lastOfBatch < scheduled[next].eventId, `batch at ${next} started early`);
  }
});

e2eTest("all() joins an activity, a timer, an event and a sub-orchestration", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Fetch", (_ctx, what) => `fetched ${what}`);
  rt.registerOrchestration("Child", function* (ctx: OrchestrationContext, n: unknown) {
    yield ctx.scheduleTimer(10);
    return (n as number) + 1;
  });
  rt.registerOrchestration("Gather", function* (ctx: OrchestrationContext) {
    const results = (yield ctx.all([
      ctx.scheduleActivity("Fetch", "profile"),
      ctx.scheduleTimer(50),
      ctx.waitForEvent("Confirm"),
      ctx.scheduleSubOrchestration("Child", 41),
    ])) as JoinResult[];
    return results;
  });
  await rt.start();
  await f.client.startOrchestration("gather-1", "Gather");
  await historyWith(f.provider, "gather-1", "ExternalSubscribed");
  await f.client.raiseEvent("gather-1", "Confirm", { by: "ops" });
  const status = await f.client.waitForOrchestration("gather-1", 20_000);
  assert.deepEqual(status.output, [
    { ok: "fetched profile" },
    { ok: null },
    { ok: { by: "ops" } },
    { ok: 42 },
  ]);
  assert.equal((await f.client.getStatus("gather-1::sub::5")).status, "Completed");
});
