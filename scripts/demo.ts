/**
 * A tour of the provider on embedded PGlite: an orchestration turn schedules two activities
 * and a durable timer, a worker runs the activities, and the completions drive the next turns,
 * exactly as a Duroxide runtime would drive them. With DATABASE_URL it uses that server.
 *
 * Run: `deno task demo`
 *
 * @module
 */

import { PGlite } from "@electric-sql/pglite";
import { type Event, PostgresProvider, type WorkItem } from "../mod.ts";

const INSTANCE = `order-${Date.now()}`;
const url = Deno.env.get("DATABASE_URL");
const db = url ? undefined : await PGlite.create();
await using provider = db
  ? await PostgresProvider.fromPGlite(db, { schema: "demo" })
  : await PostgresProvider.connect(url!, { schema: "demo" });
console.log(
  `provider ${provider.name()} ${provider.version()} on ${url ? "PostgreSQL" : "PGlite"}`,
);

let eventId = 0;
function event(kind: Record<string, unknown>, sourceEventId: number | null = null): Event {
  return {
    eventId: ++eventId,
    sourceEventId,
    instanceId: INSTANCE,
    executionId: 1,
    timestampMs: Date.now(),
    duroxideVersion: "0.1.26",
    ...kind,
  } as Event;
}

// A client starts the orchestration.
await provider.enqueueForOrchestrator({
  type: "StartOrchestration",
  instance: INSTANCE,
  orchestration: "ProcessOrder",
  input: JSON.stringify({ item: "book", qty: 2 }),
  version: "1.0.0",
  parentInstance: null,
  parentId: null,
  executionId: 1,
}, null);

// Turn 1: record the start, schedule two activities and a 200 ms durable timer.
const turn1 = (await provider.fetchOrchestrationItem(30_000, 0))!;
console.log(`turn 1: ${turn1.item.messages.map((m) => m.type).join(", ")}`);
const fireAt = Date.now() + 200;
const delta1 = [
  event({
    type: "OrchestrationStarted",
    name: "ProcessOrder",
    version: "1.0.0",
    input: "{}",
    parentInstance: null,
    parentId: null,
  }),
  event({ type: "ActivityScheduled", name: "Reserve", input: "{}" }),
  event({ type: "ActivityScheduled", name: "Charge", input: "{}" }),
  event({ type: "TimerCreated", fireAtMs: fireAt }),
  event({ type: "CustomStatusUpdated", status: "waiting for payment" }),
];
// Each activity is identified by the event id of its ActivityScheduled event.
const activities: WorkItem[] = delta1.flatMap((e) =>
  e.type === "ActivityScheduled"
    ? [{
      type: "ActivityExecute",
      instance: INSTANCE,
      executionId: 1,
      id: e.eventId,
      name: e.name,
      input: e.input,
    }]
    : []
);
const timerId = delta1.find((e) => e.type === "TimerCreated")!.eventId;
await provider.ackOrchestrationItem(
  turn1.lockToken,
  1,
  delta1,
  activities,
  [{ type: "TimerFired", instance: INSTANCE, executionId: 1, id: timerId, fireAtMs: fireAt }],
  { orchestrationName: "ProcessOrder", orchestrationVersion: "1.0.0" },
  [],
);
console.log(`custom status: ${(await provider.getCustomStatus(INSTANCE, 0))?.status}`);

// A worker runs both activities; each ack enqueues the completion atomically.
for (;;) {
  const work = await provider.fetchWorkItem(30_000, 0, null, { type: "DefaultOnly" });
  if (!work || work.item.type !== "ActivityExecute") break;
  console.log(`worker: ran ${work.item.name} (attempt ${work.attemptCount})`);
  await provider.ackWorkItem(work.lockToken, {
    type: "ActivityCompleted",
    instance: INSTANCE,
    executionId: 1,
    id: work.item.id,
    result: JSON.stringify(`${work.item.name} ok`),
  });
}

// Later turns: consume completions, then the timer once it fires; then complete.
let done = false;
while (!done) {
  const turn = await provider.fetchOrchestrationItem(30_000, 0);
  if (!turn) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    continue;
  }
  const delta: Event[] = [];
  for (const message of turn.item.messages) {
    if (message.type === "ActivityCompleted") {
      delta.push(event({ type: "ActivityCompleted", result: message.result }, message.id));
    } else if (message.type === "TimerFired") {
      delta.push(event({ type: "TimerFired", fireAtMs: message.fireAtMs }, message.id));
      done = true;
    }
  }
  console.log(`turn: ${turn.item.messages.map((m) => m.type).join(", ")}`);
  if (done) delta.push(event({ type: "OrchestrationCompleted", output: '"shipped"' }));
  await provider.ackOrchestrationItem(turn.lockToken, 1, delta, [], [], {
    status: done ? "Completed" : null,
    output: done ? '"shipped"' : null,
  }, []);
}

const info = await provider.asManagementCapability().getInstanceInfo(INSTANCE);
const history = await provider.read(INSTANCE);
console.log(`${INSTANCE}: ${info.status} with output ${info.output}`);
console.log(`history: ${history.map((e) => e.type).join(" → ")}`);
await db?.close();
