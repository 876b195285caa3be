/**
 * A sample workload for the runtime simulation, used by its tests and by `deno task sim`: one
 * orchestration per feature (activities, durable timers of hours, fan-out and fan-in, an
 * activity on a session, sub-orchestrations attached and with an explicit id, a detached start,
 * a caught activity failure, continue-as-new with a KV value carried over, external events and
 * event queues, a race a long timer wins, and a cancelled instance), and a generator that
 * draws a mix of them from a seed.
 * Every outcome is independent of timing, so a fault-free run and a chaotic one must agree.
 *
 * @module
 */

import type { OrchestrationContext } from "../../src/runtime/replay/context.ts";
import type { SimRandom } from "./random.ts";
import type { SimRegistrar } from "./run.ts";
import type { RuntimeWorkload } from "./workload.ts";

const HOUR = 3_600_000;

/**
 * Registers the sample's activities and orchestrations.
 *
 * @example
 * ```ts ignore
 * const report = await runRuntimeSimulation({ register: registerSampleWorkload, workload: sampleWorkload });
 * ```
 */
export function registerSampleWorkload(r: SimRegistrar): void {
  r.registerActivity("Add", (_ctx, input) => {
    const { a, b } = input as { a: number; b: number };
    return a + b;
  });
  r.registerActivity("Square", (_ctx, n) => (n as number) ** 2);
  r.registerActivity("Fail", (_ctx, message) => {
    throw new Error(String(message));
  });
  r.registerActivity("Tally", (ctx, n) => `${ctx.sessionId}:${n}`);

  // Activities around a two-hour durable timer.
  r.registerOrchestration("Chain", function* (ctx: OrchestrationContext, n: unknown) {
    const a = (yield ctx.scheduleActivity("Add", { a: n, b: 1 })) as number;
    yield ctx.scheduleTimer(2 * HOUR);
    const b = yield ctx.scheduleActivity("Square", a);
    return { a, b };
  });

  // Fan-out and fan-in, plus an activity pinned to a session.
  r.registerOrchestration("FanOut", function* (ctx: OrchestrationContext, n: unknown) {
    const tasks = Array.from({ length: n as number }, (_, i) => ctx.scheduleActivity("Square", i));
    const results = (yield ctx.all(tasks)) as { ok?: unknown; err?: string }[];
    const tally = yield ctx.scheduleActivityOnSession("Tally", n, `session-${ctx.instanceId}`);
    return { squares: results.map((r) => r.ok ?? r.err), tally };
  });

  // Sub-orchestrations (generated id and explicit id), a detached start, a caught failure.
  r.registerOrchestration("Parent", function* (ctx: OrchestrationContext, n: unknown) {
    const child = yield ctx.scheduleSubOrchestration("Chain", n);
    const named = yield ctx.scheduleSubOrchestrationWithId("FanOut", `${ctx.instanceId}-fan`, 3);
    yield ctx.startOrchestration("Chain", `${ctx.instanceId}-detached`, (n as number) + 10);
    let caught: string | null = null;
    try {
      yield ctx.scheduleActivity("Fail", "boom");
    } catch (err) {
      caught = (err as Error).message;
    }
    return { child, named, caught };
  });

  // Continue-as-new: one execution per hour of durable timer; the KV store carries a value
  // across executions.
  r.registerOrchestration("Countdown", function* (ctx: OrchestrationContext, input: unknown) {
    const { left, total } = input as { left: number; total: number };
    if (left === 0) return { total, execution: ctx.executionId, last: ctx.getValue("last") };
    yield ctx.scheduleTimer(HOUR);
    const sum = yield ctx.scheduleActivity("Add", { a: total, b: left });
    ctx.setValue("last", `${left}:${sum}`);
    return yield ctx.continueAsNew({ left: left - 1, total: sum });
  });

  // External events, an event queue, and a race that the three-hour timer always wins.
  r.registerOrchestration("Approval", function* (ctx: OrchestrationContext) {
    const approval = yield ctx.waitForEvent("approve");
    const first = yield ctx.dequeueEvent("items");
    const second = yield ctx.dequeueEvent("items");
    const late = (yield ctx.race(ctx.waitForEvent("never"), ctx.scheduleTimer(3 * HOUR))) as {
      index: number;
    };
    return { approval, items: [first, second], timerWon: late.index === 1 };
  });

  // Waits for ever; the workload cancels it.
  r.registerOrchestration("Forever", function* (ctx: OrchestrationContext) {
    yield ctx.waitForEvent("never");
    return "unreachable";
  });
}

/**
 * Draws a workload of the sample's orchestrations: always a three-hour `Countdown`, then two to
 * five more instances of any kind, with the events, queue messages and cancellations they need.
 *
 * @example
 * ```ts
 * import { createSimRandom, sampleWorkload } from "@duroxide/pg/sim";
 *
 * const workload = sampleWorkload(createSimRandom(1));
 * console.assert(workload.starts[0].orchestration === "Countdown");
 * ```
 */
export function sampleWorkload(random: SimRandom): RuntimeWorkload {
  const workload: Required<RuntimeWorkload> = {
    starts: [{ instance: "countdown-0", orchestration: "Countdown", input: { left: 3, total: 0 } }],
    queueMessages: [],
    events: [],
    cancellations: [],
  };
  const more = random.between(2, 5);
  for (let i = 1; i <= more; i++) {
    const kind = random.pick(["Chain", "FanOut", "Parent", "Countdown", "Approval", "Forever"]);
    const instance = `${kind.toLowerCase()}-${i}`;
    switch (kind) {
      case "Chain":
      case "Parent":
        workload.starts.push({ instance, orchestration: kind, input: random.between(1, 9) });
        break;
      case "FanOut":
        workload.starts.push({ instance, orchestration: kind, input: random.between(1, 4) });
        break;
      case "Countdown":
        workload.starts.push({
          instance,
          orchestration: kind,
          input: { left: random.between(1, 3), total: 0 },
        });
        break;
      case "Approval":
        workload.starts.push({ instance, orchestration: kind });
        workload.queueMessages.push(
          { instance, queue: "items", data: `item-${i}-a` },
          { instance, queue: "items", data: `item-${i}-b` },
        );
        workload.events.push({ instance, name: "approve", data: { by: `user-${i}` } });
        break;
      case "Forever":
        workload.starts.push({ instance, orchestration: kind });
        workload.cancellations.push({ instance, reason: "no longer needed" });
        break;
    }
  }
  return workload;
}
