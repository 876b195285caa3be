/**
 * The replay engine on its own (no database): turns are run by hand against histories, so
 * ordering, matching and the fence around the replay core are checked exactly.
 */

import assert from "node:assert/strict";
import { runTurn } from "../src/runtime/replay/engine.ts";
import type { OrchestrationContext } from "../src/runtime/replay/context.ts";
import type { OrchestrationFunction, StartedKind, TurnResult } from "../src/runtime/replay/turn.ts";
import type { RaceResult } from "../src/runtime/replay/tasks.ts";
import type { Event, WorkItem } from "../src/types.ts";

const STARTED: StartedKind = {
  type: "OrchestrationStarted",
  name: "Flow",
  version: "1.0.0",
  input: "null",
  parentInstance: null,
  parentId: null,
};

/** Runs turns like the dispatcher does, feeding each turn's delta into the next history. */
class Harness {
  history: Event[] = [];
  traces: string[] = [];
  constructor(readonly handler: OrchestrationFunction) {}

  turn(messages: WorkItem[] = [], nowMs = 1_000): TurnResult {
    const result = runTurn({
      instance: "i",
      executionId: 1,
      history: this.history,
      started: this.history.length === 0 ? STARTED : null,
      messages,
      kvSnapshot: {},
      handler: this.handler,
      nowMs,
      duroxideVersion: "0.1.26",
      trace: (_level, message) => this.traces.push(message),
    });
    this.history = [...this.history, ...result.delta];
    return result;
  }
}

const done = (id: number, result: unknown): WorkItem => ({
  type: "ActivityCompleted",
  instance: "i",
  executionId: 1,
  id,
  result: JSON.stringify(result),
});

Deno.test("runTurn() assigns consecutive event ids and emits activities", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    const a = yield ctx.scheduleActivity("A", 1);
    return a;
  });
  const t1 = h.turn();
  assert.deepEqual(t1.delta.map((e) => [e.eventId, e.type]), [
    [1, "OrchestrationStarted"],
    [2, "ActivityScheduled"],
  ]);
  assert.deepEqual(t1.workerItems, [{
    type: "ActivityExecute",
    instance: "i",
    executionId: 1,
    id: 2,
    name: "A",
    input: "1",
  }]);
  const t2 = h.turn([done(2, "x")]);
  assert.deepEqual(t2.delta.map((e) => [e.eventId, e.type, e.sourceEventId]), [
    [3, "ActivityCompleted", 2],
    [4, "OrchestrationCompleted", null],
  ]);
  assert.deepEqual(t2.outcome, { status: "Completed", output: '"x"' });
});

Deno.test("runTurn() decides a race by history order, and replays the decision", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    const r = (yield ctx.race(ctx.scheduleActivity("A"), ctx.scheduleActivity("B"))) as RaceResult;
    return r;
  });
  h.turn();
  // both complete in one batch, B's message first: B wins
  const t2 = h.turn([done(3, "b"), done(2, "a")]);
  assert.deepEqual(t2.outcome, { status: "Completed", output: '{"index":1,"value":"b"}' });
  // the loser got a dropped_future cancellation before the terminal event
  assert.deepEqual(t2.delta.map((e) => e.type), [
    "ActivityCompleted",
    "ActivityCompleted",
    "ActivityCancelRequested",
    "OrchestrationCompleted",
  ]);
});

Deno.test("runTurn() traces only code that is not replaying", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    ctx.traceInfo(`before (replaying=${ctx.isReplaying()})`);
    yield ctx.scheduleTimer(10);
    ctx.traceInfo(`after (replaying=${ctx.isReplaying()})`);
    return null;
  });
  h.turn();
  h.turn([{ type: "TimerFired", instance: "i", executionId: 1, id: 2, fireAtMs: 1_010 }]);
  assert.deepEqual(h.traces, ["before (replaying=false)", "after (replaying=false)"]);
});

Deno.test("runTurn() freezes timer deadlines at first scheduling", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    yield ctx.scheduleTimer(500);
    yield ctx.waitForEvent("x");
    return null;
  });
  const t1 = h.turn([], 1_000);
  assert.deepEqual(t1.orchestratorItems, [
    { type: "TimerFired", instance: "i", executionId: 1, id: 2, fireAtMs: 1_500 },
  ]);
  const t2 = h.turn(
    [{ type: "TimerFired", instance: "i", executionId: 1, id: 2, fireAtMs: 1_500 }],
    9_000,
  );
  assert.equal(t2.outcome.status, "Running");
  assert.equal((h.history[1] as { fireAtMs: number }).fireAtMs, 1_500);
});

Deno.test("runTurn() drops duplicate and other-execution completions", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    yield ctx.scheduleActivity("A");
    return yield ctx.waitForEvent("never");
  });
  h.turn();
  h.turn([done(2, 1)]);
  const t3 = h.turn([done(2, 1), { ...done(2, 1), executionId: 7 } as WorkItem]);
  assert.deepEqual(t3.delta, []);
  assert.equal(t3.outcome.status, "Running");
});

Deno.test("runTurn() fails on a completion without a matching schedule", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    return yield ctx.scheduleTimer(5);
  });
  h.turn();
  const t2 = h.turn([done(2, "not an activity")]);
  assert.equal(t2.outcome.status, "Failed");
  if (t2.outcome.status === "Failed") {
    assert.equal(t2.outcome.details.type, "Configuration");
  }
});

Deno.test("runTurn() names expected and recorded actions on nondeterminism", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    yield ctx.scheduleTimer(5);
    return yield ctx.waitForEvent("x");
  });
  h.turn();
  const changed = new Harness(function* (ctx: OrchestrationContext) {
    yield ctx.scheduleActivity("Charge", 5);
    return null;
  });
  changed.history = h.history;
  const t = changed.turn([{ type: "ExternalRaised", instance: "i", name: "x", data: "1" }]);
  assert.equal(t.outcome.status, "Failed");
  if (t.outcome.status === "Failed" && t.outcome.details.type === "Configuration") {
    assert.equal(
      t.outcome.details.message,
      'history has TimerCreated at event 2, but the orchestration now ActivityScheduled(name="Charge", input=5)',
    );
  }
  assert.deepEqual(t.workerItems, []);
});

Deno.test("runTurn() on completion cancels unfinished activities and drops new work", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    const r = (yield ctx.race(ctx.waitForEvent("go"), ctx.scheduleActivity("Slow"))) as RaceResult;
    return r.index;
  });
  h.turn();
  const t2 = h.turn([{ type: "ExternalRaised", instance: "i", name: "go", data: "1" }]);
  assert.deepEqual(t2.outcome, { status: "Completed", output: "0" });
  assert.deepEqual(t2.cancelledActivities, [{ instance: "i", executionId: 1, activityId: 3 }]);
  assert.deepEqual(t2.workerItems, []);
});

Deno.test("runTurn() carries unconsumed queue messages into continue-as-new", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    yield ctx.dequeueEvent("q");
    ctx.setCustomStatus("s");
    return yield ctx.continueAsNew("next");
  });
  const q = (data: string): WorkItem => ({ type: "QueueMessage", instance: "i", name: "q", data });
  const t1 = h.turn([q("m1"), q("m2"), q("m3")]);
  assert.deepEqual(t1.outcome, { status: "ContinuedAsNew", input: '"next"' });
  assert.deepEqual(t1.orchestratorItems, [{
    type: "ContinueAsNew",
    instance: "i",
    orchestration: "Flow",
    input: '"next"',
    version: null,
    carryForwardEvents: [["q", "m2"], ["q", "m3"]],
    initialCustomStatus: "s",
  }]);
});

Deno.test("the replay core reads no clock, randomness or I/O", async () => {
  const dir = new URL("../src/runtime/replay/", import.meta.url);
  for await (const entry of Deno.readDir(dir)) {
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    for (
      const banned of [
        "Date.now",
        "new Date",
        "Math.random",
        "crypto.",
        "performance.",
        "Deno.",
        "fetch(",
        "setTimeout",
      ]
    ) {
      assert.ok(!text.includes(banned), `${entry.name} uses ${banned}`);
    }
    for (const [, spec] of text.matchAll(/from "([^"]+)"/g)) {
      assert.ok(
        spec.startsWith("./") || spec === "../../types.ts" || spec === "../../error_details.ts",
        `${entry.name} imports ${spec}`,
      );
    }
  }
});

Deno.test("runTurn() fails code that now ends before its recorded actions", () => {
  const h = new Harness(function* (ctx: OrchestrationContext) {
    yield ctx.scheduleTimer(5);
    return yield ctx.scheduleActivity("A");
  });
  h.turn();
  h.turn([{ type: "TimerFired", instance: "i", executionId: 1, id: 2, fireAtMs: 1_005 }]);
  // deno-lint-ignore require-yield
  const shorter = new Harness(function* () {
    return "early";
  });
  shorter.history = h.history;
  const t = shorter.turn([done(4, "a")]);
  assert.equal(t.outcome.status, "Failed");
  if (t.outcome.status === "Failed" && t.outcome.details.type === "Configuration") {
    assert.match(
      t.outcome.details.message ?? "",
      /TimerCreated at event 2, but the orchestration ended/,
    );
  }
});
