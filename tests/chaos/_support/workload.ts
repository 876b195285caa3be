/**
 * The fixed workload of the multi-node, chaos and stress runs: one orchestration, `Work`, that
 * runs a chain of activities, a fan-out, optionally a buffered event and a durable timer, and
 * returns a sum the test can predict from its input. Every activity records each completed
 * attempt in a side table (`chaos_effects`), so a run can count executions, not only results.
 *
 * @module
 */

import type { JoinResult, OrchestrationContext, Runtime } from "../../../src/runtime/mod.ts";

/** The input of one `Work` orchestration. */
export interface WorkInput {
  /** Distinguishes instances; every activity value derives from it. */
  seed: number;
  /** Activities run one after another. */
  steps: number;
  /** Activities run in parallel (`ctx.all`) after the chain; 0 for none. */
  width: number;
  /** A durable timer before a last activity; 0 for none. */
  timerMs: number;
  /** How long each activity sleeps before it records its effect. */
  holdMs: number;
  /** Whether the orchestration takes one message of its `go` queue (sent by the test). */
  event: boolean;
}

/** What `Work` returns. */
export interface WorkOutput {
  /** The input's seed. */
  seed: number;
  /** Sum of every activity's value (plus the event's value). */
  sum: number;
}

/** The value the `go` event carries; the orchestration adds it to the sum. */
export const EVENT_VALUE = 7;

/** The side table of effects, in the run's schema. */
export const EFFECTS_TABLE = "chaos_effects";

/** Creates the effects table in `schema` (which the provider has already migrated). */
export function effectsTableDdl(schema: string): string {
  return `create table if not exists "${schema}".${EFFECTS_TABLE} (
    instance_id text not null,
    activity_id bigint not null,
    node_id text not null,
    at_ms bigint not null
  )`;
}

/** What the `Step` activity computes from its argument. */
function stepValue(x: number): number {
  return 3 * x + 1;
}

/** The output `Work` must produce for `input`. */
export function expectedOutput(input: WorkInput): WorkOutput {
  let sum = 0;
  for (let i = 0; i < input.steps; i++) sum += stepValue(input.seed + i);
  for (let j = 0; j < input.width; j++) sum += stepValue(input.seed + 100 + j);
  if (input.event) sum += EVENT_VALUE;
  if (input.timerMs > 0) sum += stepValue(input.seed + 1000);
  return { seed: input.seed, sum };
}

/** How many activities one `Work` instance runs. */
export function expectedActivities(input: WorkInput): number {
  return input.steps + input.width + (input.timerMs > 0 ? 1 : 0);
}

/** A `WorkInput` with defaults for the fields not given. */
export function workInput(seed: number, fields: Partial<Omit<WorkInput, "seed">> = {}): WorkInput {
  return { seed, steps: 2, width: 0, timerMs: 0, holdMs: 0, event: false, ...fields };
}

/** Records one completed attempt of an activity; retried by the caller's loop. */
export type RecordEffect = (instanceId: string, activityId: number) => Promise<void>;

/** Hooks a node passes to the workload. */
export interface WorkloadHooks {
  /** Writes the effect row (it retries until it succeeds or the activity is cancelled). */
  recordEffect: RecordEffect;
  /** Called when an activity starts (for announcements). */
  onActivityStart?(instanceId: string, activityId: number): void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Registers `Work` and its `Step` activity on a runtime. */
export function registerWorkload(runtime: Runtime, hooks: WorkloadHooks): void {
  runtime.registerActivity("Step", async (ctx, raw) => {
    const { x, holdMs } = raw as { x: number; holdMs: number };
    hooks.onActivityStart?.(ctx.instanceId, ctx.activityId);
    await sleep(holdMs, ctx.signal);
    if (ctx.isCancelled()) throw new Error("cancelled before its effect");
    await hooks.recordEffect(ctx.instanceId, ctx.activityId);
    return stepValue(x);
  });

  runtime.registerOrchestration("Work", function* (ctx: OrchestrationContext, raw: unknown) {
    const w = raw as WorkInput;
    const step = (x: number) => ctx.scheduleActivity("Step", { x, holdMs: w.holdMs });
    let sum = 0;
    for (let i = 0; i < w.steps; i++) sum += (yield step(w.seed + i)) as number;
    if (w.width > 0) {
      const fan = Array.from({ length: w.width }, (_, j) => step(w.seed + 100 + j));
      for (const r of (yield ctx.all(fan)) as JoinResult[]) {
        if ("err" in r) throw new Error(`fan-out activity failed: ${r.err}`);
        sum += r.ok as number;
      }
    }
    if (w.event) sum += Number(yield ctx.dequeueEvent("go"));
    if (w.timerMs > 0) {
      yield ctx.scheduleTimer(w.timerMs);
      sum += (yield step(w.seed + 1000)) as number;
    }
    return { seed: w.seed, sum } satisfies WorkOutput;
  });
}
