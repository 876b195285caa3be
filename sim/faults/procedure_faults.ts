/**
 * Fault rules keyed by stored-procedure name: "stall the next two fetches", "fail every ack
 * after it committed", "raise a deadlock once before `renew_work_item_lock`". A test adds and
 * removes rules while the provider runs on the wrapped driver.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";
import {
  checkFaultAction,
  type FaultAction,
  type InjectedFault,
  withFaults,
} from "./fault_driver.ts";
import type { StoredProcedureCall } from "./procedure_call.ts";

/** A rule: a {@linkcode FaultAction}, which calls it strikes, and how often. */
export interface FaultRule extends FaultAction {
  /** Strikes only the calls this accepts (e.g. one lock token among the parameters). */
  when?: (call: StoredProcedureCall) => boolean;
  /** How many calls the rule strikes before it retires. @default {Infinity} */
  times?: number;
}

/** A rule in force; see {@linkcode ProcedureFaults.inject}. */
export interface ActiveFaultRule {
  /** The procedures the rule is keyed by (`"*"` = every procedure call). */
  readonly procedures: readonly string[];
  /** How many calls it has struck so far. */
  readonly hits: number;
  /** Whether it has struck `times` calls (or was removed) and strikes no more. */
  readonly retired: boolean;
  /** Retires the rule at once. */
  remove(): void;
}

/** A driver with procedure fault rules; see {@linkcode procedureFaults}. */
export interface ProcedureFaults {
  /** The wrapped driver: build the provider under test on it. */
  readonly driver: SqlDriver;
  /**
   * Adds a rule for calls of `procedure` (a name, several, or `"*"` for every procedure call).
   * When several rules match a call, the oldest one in force strikes it. An empty rule only
   * counts the calls.
   *
   * @throws {TypeError} for an empty procedure name.
   * @throws {RangeError} for a negative delay, stall or `times`.
   */
  inject(procedure: string | readonly string[], rule?: FaultRule): ActiveFaultRule;
  /** Retires every rule. */
  clear(): void;
  /** Every failure injected so far, oldest first, with what the database did. */
  readonly injected: readonly InjectedFault[];
}

interface RuleState extends ActiveFaultRule {
  rule: FaultRule;
  hits: number;
  retired: boolean;
}

/**
 * Wraps a driver with procedure fault rules. The wrapper is all there is: a provider built on
 * the unwrapped driver carries no fault code at all.
 *
 * @example Lose the connection right after the first ack of a turn committed
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { pgliteDriver, PostgresProvider, ProviderError } from "@duroxide/pg";
 * import { procedureFaults } from "@duroxide/pg/sim";
 *
 * const db = await PGlite.create();
 * const faults = procedureFaults(pgliteDriver(db, false));
 * const provider = await PostgresProvider.fromDriver(faults.driver, { longPoll: { enabled: false } });
 * await provider.enqueueForOrchestrator({
 *   type: "StartOrchestration", instance: "i", orchestration: "O", input: "{}",
 *   version: "1.0.0", parentInstance: null, parentId: null, executionId: 1,
 * }, null);
 * const turn = await provider.fetchOrchestrationItem(30_000, 0);
 * const rule = faults.inject("ack_orchestration_item", { fail: "after", times: 1 });
 * const err = await provider.ackOrchestrationItem(turn!.lockToken, 1, [], [], [], {}, [])
 *   .catch((e) => e);
 * console.assert(err instanceof ProviderError && err.code === "CONNECTION" && rule.hits === 1);
 * console.assert(await provider.fetchOrchestrationItem(30_000, 0) === null); // it committed
 * await provider.close();
 * await db.close();
 * ```
 */
export function procedureFaults(driver: SqlDriver): ProcedureFaults {
  const rules: RuleState[] = [];
  const injected: InjectedFault[] = [];
  const faulty = withFaults(driver, {
    decide(call) {
      if (call.procedure === "") return null;
      const state = rules.find((r) =>
        !r.retired &&
        (r.procedures.includes(call.procedure) || r.procedures.includes("*")) &&
        (r.rule.when?.(call) ?? true)
      );
      if (!state) return null;
      state.hits++;
      if (state.hits >= (state.rule.times ?? Infinity)) state.retired = true;
      return state.rule;
    },
    onFault: (fault) => injected.push(fault),
  });
  return {
    driver: faulty,
    inject(procedure, rule = {}) {
      const procedures = typeof procedure === "string" ? [procedure] : [...procedure];
      if (procedures.length === 0 || procedures.some((p) => typeof p !== "string" || p === "")) {
        throw new TypeError('Invalid procedure: expected a procedure name or "*"');
      }
      checkFaultAction(rule);
      const times = rule.times ?? Infinity;
      if (!(times >= 0) || (Number.isFinite(times) && !Number.isInteger(times))) {
        throw new RangeError(`Invalid times: expected a non-negative integer, got ${times}`);
      }
      const state: RuleState = {
        procedures,
        rule: { ...rule },
        hits: 0,
        retired: times === 0,
        remove() {
          state.retired = true;
        },
      };
      rules.push(state);
      return state;
    },
    clear() {
      for (const rule of rules) rule.retired = true;
      rules.length = 0;
    },
    injected,
  };
}
