/**
 * One simulation step, end to end: the model predicts, the real provider acts, the results and
 * the whole database are compared with the prediction, and the invariants are checked on the
 * database directly. Every step appends one line to the run's trace.
 *
 * @module
 */

import type { SimHarness } from "./harness.ts";
import { checkStepInvariants, createInvariantLedger, type InvariantLedger } from "./invariants.ts";
import { expectedRecoverable, probeRecoverable } from "./recoverability.ts";
import { applyModelOp } from "./model.ts";
import {
  canonicalStore,
  createModelState,
  emptyStore,
  modelNowOf,
  type ModelState,
  type StoreView,
} from "./model_state.ts";
import { formatOp, formatResult, isCallOp, type SimOp, type SimResult } from "./ops.ts";
import { applyRealOp } from "./real.ts";
import { stepCoverage } from "./coverage.ts";
import { createTokenRegistry, readStoreView, type TokenRegistry } from "./snapshot.ts";

/** How far past the last recorded time the recoverability probe looks, ms. */
const PROBE_HORIZON_MS = 1_000_000_000;

/** Everything one simulation run works with. */
export interface SimContext {
  /** The real system. */
  harness: SimHarness;
  /** The reference model. */
  model: ModelState;
  /** Lock tokens seen so far. */
  tokens: TokenRegistry;
  /** Facts the invariants remember. */
  ledger: InvariantLedger;
  /** The database after the last step. */
  view: StoreView;
  /** One line per step. */
  trace: string[];
  /** The generated commands that ran, as printed (the run as a script). */
  script: string[];
  /** Run the recoverability probe after every this many steps (0: never). */
  probeEvery: number;
  /** How often each situation was reached (see `SIM_SOMETIMES`). */
  coverage: Record<string, number>;
  /** Digest of the database the recoverability probe last checked. */
  probed: string;
}

/**
 * A step that went wrong: what was expected and what happened, with the step that did it.
 *
 * @example
 * ```ts
 * import { SimulationFailure } from "@duroxide/pg/sim";
 *
 * const failure = new SimulationFailure("3. w1 fetchOrch(lock 1000ms)", ["result: expected none, got i1@lock#1"]);
 * console.assert(failure.problems.length === 1);
 * ```
 */
export class SimulationFailure extends Error {
  /** Always `"SimulationFailure"`. */
  override readonly name = "SimulationFailure";
  /** The trace line of the failing step. */
  readonly step: string;
  /** What went wrong. */
  readonly problems: readonly string[];

  /** Creates the failure of `step`. */
  constructor(step: string, problems: readonly string[]) {
    super(`${step}\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.step = step;
    this.problems = problems;
  }
}

/**
 * A fresh context on a reset harness.
 *
 * @example
 * ```ts ignore
 * await harness.reset();
 * const ctx = createSimContext(harness, { probeEvery: 1 });
 * ```
 */
export function createSimContext(
  harness: SimHarness,
  options: { probeEvery?: number } = {},
): SimContext {
  return {
    harness,
    model: createModelState(harness.clock.now(), harness.workers),
    tokens: createTokenRegistry(),
    ledger: createInvariantLedger(),
    view: emptyStore(),
    trace: [],
    script: [],
    probeEvery: options.probeEvery ?? 1,
    coverage: {},
    probed: "",
  };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * A short, stable digest of a text (FNV-1a, 32 bits, hex).
 *
 * @example
 * ```ts
 * import { digest } from "@duroxide/pg/sim";
 *
 * console.assert(digest("abc") === digest("abc") && digest("abc") !== digest("abd"));
 * ```
 */
export function digest(text: string): string {
  return fnv1a(text);
}

function tableDiffs(model: StoreView, db: StoreView): string[] {
  const diffs: string[] = [];
  for (const table of Object.keys(model) as (keyof StoreView)[]) {
    const m = model[table] as unknown[];
    const d = db[table] as unknown[];
    if (same(m, d)) continue;
    const onlyModel = m.filter((x) => !d.some((y) => same(x, y))).map((x) => JSON.stringify(x));
    const onlyDb = d.filter((y) => !m.some((x) => same(x, y))).map((y) => JSON.stringify(y));
    diffs.push(
      `${table} differs from the model:` +
        (onlyModel.length
          ? `\n      model only:    ${onlyModel.join("\n                     ")}`
          : "") +
        (onlyDb.length ? `\n      database only: ${onlyDb.join("\n                     ")}` : "") +
        (!onlyModel.length && !onlyDb.length ? " (order)" : ""),
    );
  }
  return diffs;
}

async function checkRecoverable(ctx: SimContext, problems: string[]): Promise<void> {
  const at = ctx.model.now + PROBE_HORIZON_MS;
  const expected = expectedRecoverable(ctx.view, at);
  const found = await probeRecoverable(ctx.harness.db, ctx.harness.quotedSchema, at);
  if (
    !same(expected.instances, [...found.instances].sort()) ||
    expected.activities !== found.activities
  ) {
    problems.push(
      `recoverability: past every lease a fetch reaches instances ${
        JSON.stringify(found.instances)
      } and ${found.activities} activities, expected ${
        JSON.stringify(expected.instances)
      } and ${expected.activities}`,
    );
  }
}

/**
 * Runs one step: predicts it, performs it, compares result and database with the prediction,
 * checks the invariants, and appends the step to the trace. Returns the real result.
 *
 * @throws {SimulationFailure} when anything disagrees.
 *
 * @example
 * ```ts ignore
 * await runStep(ctx, { type: "fetchOrch", worker: "w1", fault: null, lockMs: 1_000 });
 * ```
 */
export async function runStep(ctx: SimContext, op: SimOp): Promise<SimResult> {
  const now = isCallOp(op) ? modelNowOf(ctx.model, op.worker) : ctx.model.now;
  const skew = isCallOp(op) ? now - ctx.model.now : 0;
  const expected = applyModelOp(ctx.model, op);
  const actual = await applyRealOp(ctx.harness, ctx.tokens, op);
  const line = `${ctx.trace.length + 1}. ${formatOp(op)} -> ${formatResult(actual.result)}`;
  const problems: string[] = [];
  if (!same(expected.result, actual.result)) {
    problems.push(`result: the model expected ${formatResult(expected.result)}`);
  } else if (!same(expected.database, actual.database)) {
    problems.push(
      `database outcome (hidden by the fault): expected ${
        expected.database ? formatResult(expected.database) : "no call"
      }, got ${actual.database ? formatResult(actual.database) : "no call"}`,
    );
  }
  const before = ctx.view;
  const after = await readStoreView(ctx.harness.db, ctx.harness.quotedSchema, ctx.tokens);
  problems.push(...tableDiffs(canonicalStore(ctx.model.store), after));
  problems.push(
    ...checkStepInvariants(
      { op, now, before, after, database: actual.database },
      ctx.ledger,
    ),
  );
  for (
    const key of stepCoverage(op, skew, actual.result, actual.database, before, after, ctx.ledger)
  ) {
    ctx.coverage[key] = (ctx.coverage[key] ?? 0) + 1;
  }
  ctx.view = after;
  const state = digest(JSON.stringify(after));
  // The probe depends only on what is stored: a step that changed nothing needs no new probe.
  if (ctx.probeEvery > 0 && (ctx.trace.length + 1) % ctx.probeEvery === 0 && state !== ctx.probed) {
    await checkRecoverable(ctx, problems);
    ctx.probed = state;
  }
  ctx.trace.push(`${line}  #${state}`);
  if (problems.length) throw new SimulationFailure(line, problems);
  return actual.result;
}

/**
 * Runs the recoverability probe now (also done after every `probeEvery` steps).
 *
 * @throws {SimulationFailure} when some work could not be fetched past every lease.
 *
 * @example
 * ```ts ignore
 * await assertRecoverable(ctx);
 * ```
 */
export async function assertRecoverable(ctx: SimContext): Promise<void> {
  const problems: string[] = [];
  await checkRecoverable(ctx, problems);
  if (problems.length) throw new SimulationFailure("recoverability probe", problems);
}
