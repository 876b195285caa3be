/** The client, on both backends: starting, signalling, status, and waits that wake on change. */

import assert from "node:assert/strict";
import { Client, ClientError } from "../src/client/client.ts";
import type { PostgresProvider } from "../src/postgres_provider.ts";
import type { Event, ExecutionMetadata } from "../src/types.ts";
import { backendTest } from "./_support/backends.ts";
import { makeEvent } from "../sim/validation/helpers.ts";

/** Plays the runtime for one turn: fetches the instance and acks the given events. */
async function turn(
  provider: PostgresProvider,
  events: (instance: string, nextId: number) => Event[],
  metadata: ExecutionMetadata = {},
) {
  const fetched = await provider.fetchOrchestrationItem(30_000, 0);
  assert.ok(fetched, "no turn to run");
  const { instance, history, messages } = fetched.item;
  await provider.ackOrchestrationItem(
    fetched.lockToken,
    1,
    events(instance, history.length + 1),
    [],
    [],
    { orchestrationName: "Flow", orchestrationVersion: "1.0.0", ...metadata },
    [],
  );
  return messages;
}

const started = (instance: string) => [
  makeEvent(instance, 1, 1, {
    type: "OrchestrationStarted",
    name: "Flow",
    version: "1.0.0",
    input: "{}",
    parentInstance: null,
    parentId: null,
  }),
];

backendTest("Client starts, signals and reports status", async (t) => {
  const provider = await t.createProvider();
  const client = new Client(provider);
  await client.startOrchestration("o1", "Flow", { name: "World" });
  assert.deepEqual(await client.getStatus("o1"), { status: "NotFound", customStatusVersion: 0 });
  const [start] = await turn(provider, (id) => started(id));
  assert.ok(start.type === "StartOrchestration");
  assert.equal(start.input, '{"name":"World"}');
  assert.equal(start.version, null);
  assert.equal((await client.getStatus("o1")).status, "Running");

  await client.raiseEvent("o1", "Approve", { ok: true });
  await client.enqueueEvent("o1", "inbox", "hello");
  await client.cancelInstance("o1", "no longer needed");
  const messages = await turn(provider, (id, n) => [
    makeEvent(id, 1, n, { type: "CustomStatusUpdated", status: "half-way" }),
    makeEvent(id, 1, n + 1, { type: "OrchestrationCompleted", output: '{"done":true}' }),
  ], { status: "Completed", output: '{"done":true}' });
  assert.deepEqual(messages, [
    { type: "ExternalRaised", instance: "o1", name: "Approve", data: '{"ok":true}' },
    { type: "QueueMessage", instance: "o1", name: "inbox", data: '"hello"' },
    { type: "CancelInstance", instance: "o1", reason: "no longer needed" },
  ]);
  assert.deepEqual(await client.getStatus("o1"), {
    status: "Completed",
    output: { done: true },
    customStatus: "half-way",
    customStatusVersion: 1,
  });
  const history = await client.readExecutionHistory("o1", 1);
  assert.deepEqual(history.map((e) => e.kind), [
    "OrchestrationStarted",
    "CustomStatusUpdated",
    "OrchestrationCompleted",
  ]);
  assert.deepEqual(JSON.parse(history[2].data), { output: '{"done":true}' });
  assert.equal((await client.getInstanceInfo("o1")).status, "Completed");
});

backendTest("Client reports a failure with its display message", async (t) => {
  const provider = await t.createProvider();
  const client = new Client(provider);
  await client.startOrchestrationVersioned("o2", "Flow", null, "2.0.0");
  const [start] = await turn(provider, (id, n) => [
    ...started(id),
    makeEvent(id, 1, n + 1, {
      type: "OrchestrationFailed",
      details: {
        type: "Application",
        kind: "OrchestrationFailed",
        message: "card declined",
        retryable: false,
      },
    }),
  ], { status: "Failed", output: "card declined" });
  assert.ok(start.type === "StartOrchestration" && start.version === "2.0.0");
  assert.deepEqual(await client.getStatus("o2"), {
    status: "Failed",
    error: "card declined",
    customStatusVersion: 0,
  });
});

backendTest("waitForOrchestration() wakes on the completion, not on a poll", async (t) => {
  const provider = await t.createProvider();
  const client = new Client(provider);
  await client.startOrchestration("w1", "Flow");
  await turn(provider, (id) => started(id));
  const begin = performance.now();
  const waiting = client.waitForOrchestration("w1", 20_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await provider.enqueueForOrchestrator(
    { type: "ExternalRaised", instance: "w1", name: "go", data: "" },
    null,
  );
  await turn(provider, (id, n) => [
    makeEvent(id, 1, n, { type: "OrchestrationCompleted", output: "42" }),
  ], { status: "Completed", output: "42" });
  const status = await waiting;
  assert.equal(status.output, 42);
  // The fallback read comes only after 2 s: finishing sooner means the notification woke it.
  assert.ok(performance.now() - begin < 1_800, "the wait was not woken by the notification");
});

backendTest("waitForStatusChange() returns on a custom status change", async (t) => {
  const provider = await t.createProvider();
  const client = new Client(provider);
  await client.startOrchestration("s1", "Flow");
  await turn(provider, (id) => started(id));
  const waiting = client.waitForStatusChange("s1", 0, 5_000, 20_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await provider.enqueueForOrchestrator(
    { type: "ExternalRaised", instance: "s1", name: "go", data: "" },
    null,
  );
  await turn(provider, (id, n) => [
    makeEvent(id, 1, n, { type: "CustomStatusUpdated", status: "step 1" }),
  ]);
  const status = await waiting;
  assert.equal(status.customStatus, "step 1");
  assert.equal(status.customStatusVersion, 1);
});

backendTest("waits time out with ClientError TIMEOUT, with or without notifications", async (t) => {
  for (const enabled of [true, false]) {
    const provider = await t.createProvider({ longPoll: { enabled } });
    const client = new Client(provider);
    await assert.rejects(
      client.waitForOrchestration("missing", 300),
      (err) => err instanceof ClientError && err.code === "TIMEOUT",
    );
    await assert.rejects(
      client.waitForValue("missing", "k", 100),
      (err) => err instanceof ClientError && err.code === "TIMEOUT",
    );
  }
});

backendTest("without long polling, waits poll and still see the completion", async (t) => {
  const provider = await t.createProvider({ longPoll: { enabled: false } });
  const client = new Client(provider);
  await client.startOrchestration("p1", "Flow");
  await turn(provider, (id) => started(id));
  const waiting = client.waitForOrchestration("p1", 10_000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await provider.enqueueForOrchestrator({
    type: "ExternalRaised",
    instance: "p1",
    name: "go",
    data: "",
  }, null);
  await turn(provider, (id, n) => [
    makeEvent(id, 1, n, { type: "OrchestrationCompleted", output: '"ok"' }),
  ], { status: "Completed", output: '"ok"' });
  assert.equal((await waiting).output, "ok");
});

backendTest("management calls need the capability", async (t) => {
  const provider = await t.createProvider();
  const client = new Client(provider);
  assert.equal(client.hasManagementCapability(), true);
  assert.deepEqual(await client.listAllInstances(), []);
  const bare = new Client(Object.assign(Object.create(provider), {
    asManagementCapability: () => null,
  }));
  assert.equal(bare.hasManagementCapability(), false);
  assert.throws(
    () => bare.listAllInstances(),
    (err) => err instanceof ClientError && err.code === "MANAGEMENT_NOT_AVAILABLE",
  );
});
