/**
 * The fast-check side of the simulation: the weighted arbitrary of intents (a BUGGIFY-style
 * bias toward rare states: few instances, lapsing leases, faults, clock jumps and skew), the
 * command sequences built from it, and one fast-check check of a property over them. fast-check
 * types stay inside this file, so the kit's API does not expose them.
 *
 * @module
 */

import fc from "fast-check";
import type { FaultPoint } from "./faults.ts";
import type { SimMessageKind, SimTagFilter } from "./ops.ts";
import { SELF_TARGET, type SimCommand, simCommand, type SimIntent } from "./commands.ts";
import type { SimContext } from "./step.ts";

/** What the commands draw from. */
export interface SimCommandConfig {
  /** Logical workers. */
  workers: readonly string[];
  /** Instance ids. */
  instances: readonly string[];
  /** Session ids. */
  sessions: readonly string[];
  /** Whether to inject faults, clock jumps back and skew. */
  faults: boolean;
}

function chance(oneIn: number): fc.Arbitrary<boolean> {
  return fc.integer({ min: 0, max: oneIn - 1 }).map((x) => x === oneIn - 1);
}

function hundreds(min: number, max: number): fc.Arbitrary<number> {
  return fc.integer({ min, max }).map((x) => x * 100);
}

function weighted<T>(...entries: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> {
  return fc.oneof(...entries.map(([weight, arbitrary]) => ({ weight, arbitrary })));
}

/** The arbitrary of single intents: what a step may do, with weights. */
function simIntents(config: SimCommandConfig): fc.Arbitrary<SimIntent> {
  const worker = fc.constantFrom(...config.workers);
  const instance = fc.constantFrom(...config.instances);
  const fault: fc.Arbitrary<FaultPoint | null> = config.faults
    ? weighted<FaultPoint | null>(
      [12, fc.constant(null)],
      [1, fc.constant("before")],
      [1, fc.constant("after")],
    )
    : fc.constant(null);
  const pick = weighted([3, fc.constant(0)], [1, fc.integer({ min: 1, max: 3 })]);
  const delay = weighted<number | null>([3, fc.constant(null)], [1, hundreds(1, 20)]);
  const session = config.sessions.length
    ? weighted<string | null>([2, fc.constant(null)], [1, fc.constantFrom(...config.sessions)])
    : fc.constant(null);
  const tag = weighted<string | null>([3, fc.constant(null)], [1, fc.constantFrom("gpu", "cpu")]);
  const lockMs = fc.constantFrom(1_000, 2_500);
  const call = { worker, fault };
  const intents: [number, fc.Arbitrary<SimIntent>][] = [
    [
      5,
      fc.record({
        type: fc.constant("enqueueOrch" as const),
        ...call,
        instance,
        kind: weighted<Exclude<SimMessageKind, "ActivityCompleted">>(
          [4, fc.constant("StartOrchestration")],
          [2, fc.constant("ExternalRaised")],
          [1, fc.constant("QueueMessage")],
          [1, fc.constant("TimerFired")],
          [1, fc.constant("CancelInstance")],
        ),
        delayMs: delay,
      }),
    ],
    [2, fc.record({ type: fc.constant("enqueueWork" as const), ...call, instance, session, tag })],
    [6, fc.record({ type: fc.constant("fetchOrch" as const), ...call, lockMs })],
    [
      6,
      fc.record({
        type: fc.constant("ackOrch" as const),
        ...call,
        pick,
        events: fc.integer({ min: 0, max: 3 }),
        duplicate: chance(8),
        customStatus: chance(4),
        metadata: chance(2),
        status: weighted<string | null>(
          [4, fc.constant(null)],
          [1, fc.constant("Running")],
          [1, fc.constant("Completed")],
        ),
        nextExecution: chance(8),
        activities: fc.array(fc.record({ session, tag }), { maxLength: 2 }),
        messages: fc.array(
          fc.record({
            kind: fc.constantFrom(
              "ExternalRaised" as const,
              "TimerFired" as const,
              "StartOrchestration" as const,
            ),
            target: weighted([1, fc.constant(SELF_TARGET)], [1, instance]),
            delayMs: hundreds(1, 20),
          }),
          { maxLength: 2 },
        ),
        cancel: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
        cancelOutstanding: chance(3),
      }),
    ],
    [
      2,
      fc.record({
        type: fc.constant("abandonOrch" as const),
        ...call,
        pick,
        delayMs: delay,
        ignoreAttempt: chance(3),
      }),
    ],
    [
      2,
      fc.record({
        type: fc.constant("renewOrch" as const),
        ...call,
        pick,
        extendMs: hundreds(5, 30),
      }),
    ],
    [
      4,
      fc.record({
        type: fc.constant("fetchWork" as const),
        ...call,
        lockMs,
        session: chance(2),
        tagFilter: weighted<SimTagFilter>(
          [3, fc.constant("DefaultOnly")],
          [3, fc.constant("Any")],
          [1, fc.constant("Tags")],
          [1, fc.constant("DefaultAnd")],
          [1, fc.constant("None")],
        ),
      }),
    ],
    [
      2,
      fc.record({
        type: fc.constant("ackWork" as const),
        ...call,
        pick,
        complete: weighted([2, fc.constant(true)], [1, fc.constant(false)]),
      }),
    ],
    [
      3,
      fc.record({
        type: fc.constant("renewWork" as const),
        ...call,
        pick,
        extendMs: hundreds(5, 30),
      }),
    ],
    [
      2,
      fc.record({
        type: fc.constant("abandonWork" as const),
        ...call,
        pick,
        delayMs: delay,
        ignoreAttempt: chance(3),
      }),
    ],
    [
      1,
      fc.record({
        type: fc.constant("renewSessions" as const),
        ...call,
        extendMs: hundreds(5, 30),
        idleMs: hundreds(1, 30),
      }),
    ],
    [1, fc.record({ type: fc.constant("cleanupSessions" as const), ...call })],
    [4, fc.record({ type: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 400 }) })],
    [2, fc.record({ type: fc.constant("advance" as const), ms: hundreds(10, 40) })],
    [1, fc.record({ type: fc.constant("crash" as const), worker })],
  ];
  if (config.faults) {
    intents.push(
      [1, fc.record({ type: fc.constant("advance" as const), ms: hundreds(-15, -1) })],
      [1, fc.record({ type: fc.constant("skew" as const), worker, ms: hundreds(-4, 4) })],
    );
  }
  return weighted(...intents);
}

/** Options of {@linkcode checkCommandProperty}. */
export interface CommandPropertyOptions {
  /** The seed. */
  seed: number;
  /** Runs to generate. */
  numRuns: number;
  /** Most commands per run. */
  maxCommands: number;
  /** Stop at the first failure without shrinking. */
  endOnFailure: boolean;
  /** fast-check's counterexample path, to replay one run. */
  path?: string;
  /** fast-check's commands replay path. */
  replayPath?: string;
}

/** What {@linkcode checkCommandProperty} found. */
export interface CommandPropertyDetails {
  /** Whether a run failed. */
  failed: boolean;
  /** Runs generated (up to the first failure). */
  numRuns: number;
  /** Successful shrinks. */
  numShrinks: number;
  /** fast-check's counterexample path, or `null`. */
  path: string | null;
  /** The commands replay path of the counterexample, or `null`. */
  replayPath: string | null;
  /** The error of the counterexample, or `null`. */
  error: unknown;
}

function replayPathOf(counterexample: string): string | null {
  const match = /\/\*replayPath=("(?:[^"\\]|\\.)*")\*\/\s*$/.exec(counterexample);
  return match ? JSON.parse(match[1]) : null;
}

/**
 * Checks `body` over generated command sequences with fast-check (shrinking failures), and
 * reports the outcome with the paths that replay the counterexample.
 *
 * @example
 * ```ts
 * import { checkCommandProperty } from "./generators.ts";
 *
 * const details = await checkCommandProperty(
 *   { workers: ["w1"], instances: ["i1"], sessions: [], faults: false },
 *   { seed: 1, numRuns: 3, maxCommands: 5, endOnFailure: true },
 *   async (commands) => {
 *     if ([...commands].length > 5) throw new Error("too long");
 *   },
 * );
 * console.assert(!details.failed && details.numRuns === 3);
 * ```
 */
export async function checkCommandProperty(
  config: SimCommandConfig,
  options: CommandPropertyOptions,
  body: (commands: Iterable<SimCommand>) => Promise<void>,
): Promise<CommandPropertyDetails> {
  const constraints: fc.CommandsContraints = { maxCommands: options.maxCommands, size: "max" };
  if (options.replayPath !== undefined) constraints.replayPath = options.replayPath;
  const commands = fc.commands<SimContext, SimContext, false>(
    [simIntents(config).map(simCommand)],
    constraints,
  );
  const parameters: fc.Parameters<[Iterable<SimCommand>]> = {
    seed: options.seed,
    numRuns: options.numRuns,
    endOnFailure: options.endOnFailure,
  };
  if (options.path !== undefined) parameters.path = options.path;
  const details = await fc.check(fc.asyncProperty(commands, body), parameters);
  return {
    failed: details.failed,
    numRuns: details.numRuns,
    numShrinks: details.numShrinks,
    path: details.failed ? details.counterexamplePath : null,
    replayPath: details.failed && details.counterexample
      ? replayPathOf(String(details.counterexample[0]))
      : null,
    error: details.failed ? details.errorInstance : null,
  };
}
