/**
 * One simulation step, end to end: the model predicts, the real provider acts, the tables the
 * call changed are read back (in the call's own statement, see `observers.ts`), the result and
 * the whole database are compared with the prediction, and the invariants are checked on the
 * database directly. Every step appends one line to the run's trace.
 *
 * @module
 */

import type { SimHarness } from "./harness.ts";
import { checkStepInvariants, createInvariantLedger, type InvariantLedger } from "./invariants.ts";
import {
  expectedRecoverable,
  probeRecoverable,
  type RecoverabilityProbe,
} from "./recoverability.ts";
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
import { createTokenRegistry, type TokenRegistry } from "./snapshot.ts";
import { EMPTY_FINGERPRINT, observationOf, observeStore } from "./observers.ts";

/** The tables of a view, in the order their digests make the state's digest. */
const TABLE_ORDER = Object.keys(emptyStore()) as (keyof StoreView)[];

/** The digest of an empty table. */
const EMPTY_TABLE = fnv1a("[]");

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
  /** Provider calls the steps made so far. */
  providerCalls: number;
  /** Whether the database changed since the recoverability probe last ran. */
  unprobed: boolean;
  /** The tables' fingerprint when {@linkcode SimContext.view} was read (see `observers.ts`). */
  fingerprint: string;
  /** Digest of each table of {@linkcode SimContext.view} (the trace shows their digest). */
  tableDigests: Record<keyof StoreView, string>;
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
    probeEvery: options.probeEvery ?? 10,
    coverage: {},
    providerCalls: 0,
    unprobed: false,
    fingerprint: EMPTY_FINGERPRINT,
    tableDigests: Object.fromEntries(TABLE_ORDER.map((t) => [t, EMPTY_TABLE])) as Record<
      keyof StoreView,
      string
    >,
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

/** The time the recoverability probe fetches at: past every lease the run can have taken. */
function probeTime(ctx: SimContext): number {
  return ctx.model.now + PROBE_HORIZON_MS;
}

/** Instances with how often each came back, e.g. `[i1 i2×1000]`. */
function tally(instances: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const i of instances) counts.set(i, (counts.get(i) ?? 0) + 1);
  return `[${[...counts].map(([i, n]) => n === 1 ? i : `${i}×${n}`).join(" ")}]`;
}

function checkProbe(
  view: StoreView,
  atMs: number,
  found: RecoverabilityProbe,
  problems: string[],
): void {
  const expected = expectedRecoverable(view, atMs);
  if (
    !same(expected.instances, [...found.instances].sort()) ||
    expected.activities !== found.activities
  ) {
    problems.push(
      `recoverability: past every lease a fetch reaches instances ${
        tally(found.instances)
      } and ${found.activities} activities, expected ${
        tally(expected.instances)
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
  const harness = ctx.harness;
  if (isCallOp(op)) ctx.providerCalls += 1;
  const callsBefore = harness.databaseCalls;
  harness.observeNextCall(ctx.fingerprint);
  const actual = await applyRealOp(harness, ctx.tokens, op);
  const fused = harness.takeObservation();
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
  let after = before;
  const calls = harness.databaseCalls - callsBefore;
  if (!harness.observed) {
    // Over a provider factory nothing reads the store: results are all that is checked, and
    // the model's store stands in for the views the coverage and the liveness drain use.
    after = canonicalStore(ctx.model.store);
    return finishStep(ctx, op, line, problems, before, after, skew, actual.result, actual.database);
  }
  // A step that sent no statement (a move of the clock, a crash, a call struck before it
  // reached the database) cannot have changed the database: there is nothing to read.
  if (calls > 0) {
    // Normally read in the call's own statement; a call that failed (or a step that sent more
    // than one statement) is observed with a call of its own.
    const observed = fused !== null && calls === 1
      ? observationOf(fused, ctx.tokens)
      : await observeStore(harness.db, harness.quotedSchema, ctx.tokens, ctx.fingerprint);
    ctx.fingerprint = observed.fingerprint;
    if (Object.keys(observed.changed).length) {
      after = { ...before, ...observed.changed };
      ctx.unprobed = true;
    }
    const probeDue = ctx.probeEvery > 0 && (ctx.trace.length + 1) % ctx.probeEvery === 0;
    // The probe depends only on what is stored: a state probed already needs no new probe.
    if (probeDue && ctx.unprobed) {
      const atMs = probeTime(ctx);
      const found = await probeRecoverable(harness.db, harness.quotedSchema, atMs);
      checkProbe(after, atMs, found, problems);
      ctx.unprobed = false;
    }
  }
  problems.push(...tableDiffs(canonicalStore(ctx.model.store), after));
  problems.push(
    ...checkStepInvariants(
      { op, now, before, after, database: actual.database },
      ctx.ledger,
    ),
  );
  return finishStep(ctx, op, line, problems, before, after, skew, actual.result, actual.database);
}

/** Counts the situations reached, records the step in the trace, and throws its problems. */
function finishStep(
  ctx: SimContext,
  op: SimOp,
  line: string,
  problems: string[],
  before: StoreView,
  after: StoreView,
  skew: number,
  result: SimResult,
  database: SimResult | null,
): SimResult {
  for (const key of stepCoverage(op, skew, result, database, before, after, ctx.ledger)) {
    ctx.coverage[key] = (ctx.coverage[key] ?? 0) + 1;
  }
  if (after !== before) {
    for (const table of Object.keys(after) as (keyof StoreView)[]) {
      if (after[table] !== before[table]) {
        ctx.tableDigests[table] = digest(JSON.stringify(after[table]));
      }
    }
  }
  const afterDigest = digest(TABLE_ORDER.map((t) => ctx.tableDigests[t]).join(""));
  ctx.view = after;
  ctx.trace.push(`${line}  #${afterDigest}`);
  if (problems.length) throw new SimulationFailure(line, problems);
  return result;
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
  const atMs = probeTime(ctx);
  const found = await probeRecoverable(ctx.harness.db, ctx.harness.quotedSchema, atMs);
  checkProbe(ctx.view, atMs, found, problems);
  if (problems.length) throw new SimulationFailure("recoverability probe", problems);
}
