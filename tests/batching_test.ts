/**
 * The batch calls (migration 0004): several fetches or acks in one round trip, each item with
 * the single call's semantics, and a failed item that changes nothing while the others commit.
 */

import assert from "node:assert/strict";
import { ProviderError } from "../src/errors.ts";
import { Client, type OrchestrationContext, Runtime } from "../mod.ts";
import type { Provider } from "../src/provider_api.ts";
import { AckBatcher } from "../src/runtime/ack_batcher.ts";
import type { WorkItem } from "../src/types.ts";
import { activityItem, startedEvent, startItem, testMetadata } from "../sim/validation/helpers.ts";
import { backendTest } from "./_support/backends.ts";

const LOCK_MS = 30_000;
const DEFAULT_ONLY = { type: "DefaultOnly" } as const;

function completion(instance: string, id: number, result: string): WorkItem {
  return { type: "ActivityCompleted", instance, executionId: 1, id, result };
}

backendTest("fetchOrchestrationItems locks up to N instances, oldest first", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  for (const id of ["b-1", "b-2", "b-3"]) {
    await provider.enqueueForOrchestrator(startItem(id), null);
  }
  const first = await provider.fetchOrchestrationItems(LOCK_MS, 0, 2);
  assert.deepEqual(first.map((f) => f.item.instance), ["b-1", "b-2"]);
  assert.notEqual(first[0].lockToken, first[1].lockToken);
  const rest = await provider.fetchOrchestrationItems(LOCK_MS, 0, 5);
  assert.deepEqual(rest.map((f) => f.item.instance), ["b-3"]);
  assert.deepEqual(await provider.fetchOrchestrationItems(LOCK_MS, 0, 5), []);
});

backendTest("fetchWorkItems locks up to N activities, and none twice", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  await provider.enqueueForWorkerBatch([1, 2, 3, 4].map((id) => activityItem("w", 1, id)));
  const a = await provider.fetchWorkItems(LOCK_MS, 0, 3, null, DEFAULT_ONLY);
  const b = await provider.fetchWorkItems(LOCK_MS, 0, 3, null, DEFAULT_ONLY);
  const ids = [...a, ...b].map((f) => (f.item as { id: number }).id);
  assert.deepEqual(ids, [1, 2, 3, 4]); // FIFO, each once
  assert.deepEqual(await provider.fetchWorkItems(LOCK_MS, 0, 3, null, DEFAULT_ONLY), []);
});

backendTest("ackWorkItems commits the good acks and reports the bad one", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  await provider.enqueueForWorkerBatch([1, 2].map((id) => activityItem("inst", 1, id)));
  const [x, y] = await provider.fetchWorkItems(LOCK_MS, 0, 2, null, DEFAULT_ONLY);
  const outcomes = await provider.ackWorkItems([
    { lockToken: x.lockToken, completion: completion("inst", 1, '"one"') },
    { lockToken: "no-such-token", completion: completion("inst", 9, '"lost"') },
    { lockToken: y.lockToken, completion: completion("inst", 2, '"two"') },
  ]);
  assert.equal(outcomes[0], null);
  assert.ok(outcomes[1] instanceof ProviderError);
  assert.equal(outcomes[1].code, "INVALID_LOCK_TOKEN");
  assert.equal(outcomes[1].operation, "ack_work_items");
  assert.equal(outcomes[2], null);
  const queued = await t.sql<{ kind: string; work_item: string }>(
    `select kind, work_item from "${t.schema}".orchestrator_queue order by id`,
  );
  assert.deepEqual(queued.map((r) => JSON.parse(r.work_item).ActivityCompleted.id), [1, 2]);
  const left = await t.sql(`select 1 from "${t.schema}".worker_queue`);
  assert.equal(left.length, 0);
});

backendTest("ackOrchestrationItems commits each turn on its own", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  for (const id of ["t-1", "t-2"]) await provider.enqueueForOrchestrator(startItem(id), null);
  const [one, two] = await provider.fetchOrchestrationItems(LOCK_MS, 0, 2);
  const turn = (instance: string, lockToken: string) => ({
    lockToken,
    executionId: 1,
    historyDelta: [startedEvent(instance)],
    workerItems: [activityItem(instance, 1, 2)],
    orchestratorItems: [],
    metadata: testMetadata({ status: "Running" }),
    cancelledActivities: [],
  });
  // The second ack repeats the first's token, whose lock the first ack released: it fails
  // whole (no second history event, no second activity) while the others commit.
  const outcomes = await provider.ackOrchestrationItems([
    turn("t-1", one.lockToken),
    turn("t-1", one.lockToken),
    turn("t-2", two.lockToken),
  ]);
  assert.equal(outcomes[0], null);
  assert.ok(outcomes[1] instanceof ProviderError);
  assert.equal(outcomes[2], null);
  assert.equal((await provider.read("t-1")).length, 1);
  assert.equal((await provider.read("t-2")).length, 1);
  const work = await t.sql<{ instance_id: string }>(
    `select instance_id from "${t.schema}".worker_queue order by id`,
  );
  assert.deepEqual(work.map((r) => r.instance_id), ["t-1", "t-2"]);
});

backendTest("batch sizes outside 1..1000 are RangeErrors, and nothing is stored", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  await assert.rejects(
    () => provider.fetchWorkItems(LOCK_MS, 0, 0, null, DEFAULT_ONLY),
    RangeError,
  );
  await assert.rejects(() => provider.fetchOrchestrationItems(LOCK_MS, 0, 1001), RangeError);
  const tooMany = Array.from({ length: 1001 }, (_, i) => activityItem("big", 1, i + 1));
  await assert.rejects(() => provider.enqueueForWorkerBatch(tooMany), RangeError);
  assert.deepEqual(await provider.ackWorkItems([]), []);
  const rows = await t.sql(`select 1 from "${t.schema}".worker_queue`);
  assert.equal(rows.length, 0);
  // The procedure checks too, for callers that bypass the provider.
  await assert.rejects(
    () => t.sql(`select "${t.schema}".fetch_work_items(0, 1000, null, null, 'any', '[]', 0)`),
    (err: { code?: string }) => err.code === "DX010",
  );
});

backendTest("enqueueForWorkerBatch is all or nothing", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  const bad = [activityItem("e", 1, 1), startItem("not-an-activity")];
  await assert.rejects(() => provider.enqueueForWorkerBatch(bad), ProviderError);
  assert.equal((await t.sql(`select 1 from "${t.schema}".worker_queue`)).length, 0);
});

Deno.test("AckBatcher groups acks that arrive while a call is in flight", async () => {
  const calls: string[][] = [];
  const batcher = new AckBatcher<string>(async (acks) => {
    calls.push(acks);
    await new Promise((r) => setTimeout(r, 5));
    return acks.map((a) =>
      a === "bad"
        ? new ProviderError("no", {
          code: "INVALID_LOCK_TOKEN",
          operation: "ack",
          retryable: false,
        })
        : null
    );
  });
  const results = await Promise.allSettled(["a", "b", "bad", "c"].map((a) => batcher.ack(a)));
  assert.deepEqual(calls, [["a"], ["b", "bad", "c"]]);
  assert.deepEqual(results.map((r) => r.status), [
    "fulfilled",
    "fulfilled",
    "rejected",
    "fulfilled",
  ]);
});

Deno.test("AckBatcher rejects a whole batch whose call failed, then goes on", async () => {
  let n = 0;
  const batcher = new AckBatcher<number>((acks) => {
    n++;
    return n === 1
      ? Promise.reject(new Error("connection lost"))
      : Promise.resolve(acks.map(() => null));
  });
  await assert.rejects(() => batcher.ack(1), /connection lost/);
  await batcher.ack(2);
});

backendTest("the runtime also drives a provider without batch calls", async (t) => {
  const full = await t.createProvider();
  const hidden = new Set([
    "fetchOrchestrationItems",
    "fetchWorkItems",
    "ackOrchestrationItems",
    "ackWorkItems",
    "isLongPolling",
  ]);
  const plain = new Proxy(full, {
    get: (target, key) => {
      if (typeof key === "string" && hidden.has(key)) return undefined;
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Provider;
  const rt = new Runtime(plain, { logLevel: "off", dispatcherPollIntervalMs: 10 });
  rt.registerActivity("Double", (_ctx, n) => (n as number) * 2);
  rt.registerOrchestration("Twice", function* (ctx: OrchestrationContext, n) {
    const a = yield ctx.scheduleActivity("Double", n);
    return yield ctx.all([ctx.scheduleActivity("Double", a), ctx.scheduleActivity("Double", 1)]);
  });
  await rt.start();
  try {
    const client = new Client(plain);
    await client.startOrchestration("plain-1", "Twice", 3);
    const status = await client.waitForOrchestration("plain-1", 20_000);
    assert.deepEqual(status.output, [{ ok: 12 }, { ok: 2 }]);
  } finally {
    await rt.shutdown(1_000);
  }
});

backendTest("an unstorable item of an ack batch fails alone", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  await provider.enqueueForWorkerBatch([1, 2].map((id) => activityItem("nul", 1, id)));
  const [x, y] = await provider.fetchWorkItems(LOCK_MS, 0, 2, null, DEFAULT_ONLY);
  // The completion's instance id is a top-level jsonb string: a NUL cannot be stored there.
  const bad = completion("nul\0", 1, '"lost"');
  const outcomes = await provider.ackWorkItems([
    { lockToken: x.lockToken, completion: bad },
    { lockToken: y.lockToken, completion: completion("nul", 2, '"fine"') },
  ]);
  assert.equal(outcomes[0]?.code, "INVALID_ARGUMENT");
  assert.equal(outcomes[1], null);
  // The refused item is still held, and can be acked with a storable result.
  await provider.ackWorkItem(x.lockToken, completion("nul", 1, '"fixed"'));
  const queued = await t.sql(`select 1 from "${t.schema}".orchestrator_queue`);
  assert.equal(queued.length, 2);
});
