/**
 * End to end, sub-orchestrations: a fan-out of several children (one failing), a chain
 * parent → child → grandchild with its instance tree and cascading delete, and detached
 * orchestrations that outlive the instance that started them.
 */

import assert from "node:assert/strict";
import { type JoinResult, type OrchestrationContext, ProviderError } from "../mod.ts";
import { e2eTest, eventsOf, historyWith } from "./_support/e2e.ts";

e2eTest("a parent fans out to several children and gathers their results", async (f) => {
  const rt = f.runtime({ orchestrationConcurrency: 3 });
  rt.registerActivity("Resize", (_ctx, input) => {
    const { image, width } = input as { image: string; width: number };
    if (image.endsWith(".bmp")) throw new Error(`cannot read ${image}`);
    return `${image}@${width}`;
  });
  rt.registerOrchestration("Thumbnail", function* (ctx: OrchestrationContext, image: unknown) {
    const sizes = (yield ctx.all([
      ctx.scheduleActivity("Resize", { image, width: 64 }),
      ctx.scheduleActivity("Resize", { image, width: 256 }),
    ])) as JoinResult[];
    const failed = sizes.find((r) => "err" in r);
    if (failed) throw new Error((failed as { err: string }).err);
    return sizes.map((r) => (r as { ok: string }).ok);
  });
  rt.registerOrchestration("Album", function* (ctx: OrchestrationContext, images: unknown) {
    const children = (images as string[]).map((image, i) =>
      i === 0
        ? ctx.scheduleSubOrchestrationWithId("Thumbnail", `${ctx.instanceId}-cover`, image)
        : ctx.scheduleSubOrchestration("Thumbnail", image)
    );
    return yield ctx.all(children);
  });
  await rt.start();
  await f.client.startOrchestration("album-1", "Album", ["a.png", "b.jpg", "c.bmp", "d.gif"]);
  const status = await f.client.waitForOrchestration("album-1", 20_000);
  assert.deepEqual(status.output, [
    { ok: ["a.png@64", "a.png@256"] },
    { ok: ["b.jpg@64", "b.jpg@256"] },
    { err: "cannot read c.bmp" },
    { ok: ["d.gif@64", "d.gif@256"] },
  ]);
  const history = await f.provider.read("album-1");
  const scheduled = eventsOf(history, "SubOrchestrationScheduled");
  assert.deepEqual(scheduled.map((e) => e.instance), [
    "album-1-cover",
    "sub::3",
    "sub::4",
    "sub::5",
  ]);
  const children = ["album-1-cover", "album-1::sub::3", "album-1::sub::4", "album-1::sub::5"];
  assert.deepEqual(
    (await f.client.getInstanceTree("album-1")).allIds.sort(),
    [
      "album-1",
      ...children,
    ].sort(),
  );
  for (const child of children) {
    const info = await f.client.getInstanceInfo(child);
    assert.equal(info.parentInstanceId, "album-1");
    assert.equal(info.status, child === "album-1::sub::4" ? "Failed" : "Completed");
  }
});

e2eTest("a chain parent → child → grandchild returns through every level", async (f) => {
  const rt = f.runtime();
  rt.registerActivity("Lookup", (_ctx, sku) => ({ sku, warehouse: "north" }));
  rt.registerOrchestration("Stock", function* (ctx: OrchestrationContext, sku: unknown) {
    const found = (yield ctx.scheduleActivity("Lookup", sku)) as { warehouse: string };
    return { level: "grandchild", id: ctx.instanceId, warehouse: found.warehouse };
  });
  rt.registerOrchestration("Line", function* (ctx: OrchestrationContext, sku: unknown) {
    const stock = yield ctx.scheduleSubOrchestration("Stock", sku);
    return { level: "child", id: ctx.instanceId, stock };
  });
  rt.registerOrchestration("Order", function* (ctx: OrchestrationContext, sku: unknown) {
    const line = yield ctx.scheduleSubOrchestration("Line", sku);
    return { level: "parent", line };
  });
  await rt.start();
  await f.client.startOrchestration("chain-1", "Order", "sku-9");
  const status = await f.client.waitForOrchestration("chain-1", 20_000);
  assert.deepEqual(status.output, {
    level: "parent",
    line: {
      level: "child",
      id: "chain-1::sub::2",
      stock: { level: "grandchild", id: "chain-1::sub::2::sub::2", warehouse: "north" },
    },
  });
  const tree = await f.client.getInstanceTree("chain-1");
  assert.deepEqual(tree.allIds.sort(), ["chain-1", "chain-1::sub::2", "chain-1::sub::2::sub::2"]);
  assert.equal(
    (await f.client.getInstanceInfo("chain-1::sub::2::sub::2")).parentInstanceId,
    "chain-1::sub::2",
  );
  // Only the root can be deleted, and it takes its descendants along.
  await assert.rejects(
    f.client.deleteInstance("chain-1::sub::2"),
    (err) => err instanceof ProviderError && err.code === "NOT_ROOT",
  );
  const deleted = await f.client.deleteInstance("chain-1");
  assert.equal(deleted.instancesDeleted, 3);
  assert.deepEqual(await f.client.listAllInstances(), []);
});

e2eTest("detached orchestrations outlive the instance that started them", async (f) => {
  const rt = f.runtime();
  // deno-lint-ignore require-yield
  rt.registerOrchestrationVersioned("Report", "1.0.0", function* (ctx: OrchestrationContext) {
    return `report v1 for ${ctx.instanceId}`;
  });
  rt.registerOrchestrationVersioned(
    "Report",
    "2.0.0",
    function* (ctx: OrchestrationContext, input: unknown) {
      yield ctx.scheduleTimer(100);
      ctx.setValue("region", String(input));
      return `report v2 for ${input}`;
    },
  );
  rt.registerOrchestration("Scheduler", function* (ctx: OrchestrationContext) {
    for (const region of ["eu", "us"]) {
      yield ctx.startOrchestration("Report", `report-${region}`, region);
    }
    yield ctx.startOrchestrationVersioned("Report", "1.0.0", "report-legacy");
    return yield ctx.waitForEvent("Stop"); // stays running until cancelled
  });
  await rt.start();
  await f.client.startOrchestration("scheduler-1", "Scheduler");
  await historyWith(f.provider, "scheduler-1", "ExternalSubscribed");
  await f.client.cancelInstance("scheduler-1", "maintenance");
  assert.equal(
    (await f.client.waitForOrchestration("scheduler-1", 20_000)).error,
    "canceled: maintenance",
  );
  assert.equal(
    (await f.client.waitForOrchestration("report-eu", 20_000)).output,
    "report v2 for eu",
  );
  assert.equal(
    (await f.client.waitForOrchestration("report-us", 20_000)).output,
    "report v2 for us",
  );
  assert.equal(
    (await f.client.waitForOrchestration("report-legacy", 20_000)).output,
    "report v1 for report-legacy",
  );
  assert.equal(await f.client.getValue("report-eu", "region"), "eu");
  for (const id of ["report-eu", "report-us", "report-legacy"]) {
    assert.equal((await f.client.getInstanceInfo(id)).parentInstanceId, null);
  }
  assert.equal((await f.client.getInstanceInfo("report-legacy")).orchestrationVersion, "1.0.0");
  assert.deepEqual((await f.client.getInstanceTree("scheduler-1")).allIds, ["scheduler-1"]);
  const chained = eventsOf(await f.provider.read("scheduler-1"), "OrchestrationChained");
  assert.deepEqual(chained.map((e) => e.instance), ["report-eu", "report-us", "report-legacy"]);
});
