/**
 * Testing tools for Duroxide providers: the provider validation suite, runnable against any
 * implementation of the provider contract, and its test builders; and the deterministic
 * simulation kit: seeded, replayable, model-based property tests of the PostgreSQL provider on
 * in-process PGlite (a simulated clock, logical workers interleaved call by call, injected
 * faults, a reference model and invariants checked after every step, a liveness drain, and a
 * determinism self-check). `deno task sim` runs it; see the README's "Deterministic simulation".
 *
 * @example Register the validation suite against the embedded PGlite backend
 * ```ts ignore
 * import { PGlite } from "@electric-sql/pglite";
 * import { PostgresProvider } from "@duroxide/pg";
 * import { allValidationTests, registerValidationTests } from "@duroxide/pg/sim";
 *
 * const db = await PGlite.create();
 * let n = 0;
 * registerValidationTests(allValidationTests, async () => {
 *   const schema = `validation_${++n}`;
 *   return {
 *     lockTimeoutMs: 1000,
 *     shortPollThresholdMs: 500,
 *     createProvider: () => PostgresProvider.fromPGlite(db, { schema }),
 *     corruptInstanceHistory: async (id) => {
 *       await db.query(`update ${schema}.history set event_data = '{' where instance_id = $1`, [id]);
 *     },
 *     getMaxAttemptCount: async (id) =>
 *       (await db.query<{ n: number }>(
 *         `select coalesce(max(attempt_count), 0)::int as n from ${schema}.orchestrator_queue where instance_id = $1`,
 *         [id],
 *       )).rows[0].n,
 *     [Symbol.asyncDispose]: async () => { await db.exec(`drop schema ${schema} cascade`); },
 *   };
 * });
 * ```
 *
 * @example Simulate: 20 seeded runs, each step checked against the model and the invariants
 * ```ts ignore
 * import { PGlite } from "@electric-sql/pglite";
 * import { formatSimulationReport, runSimulation } from "@duroxide/pg/sim";
 *
 * const db = await PGlite.create();
 * const report = await runSimulation({ db, seed: 42, numRuns: 20 });
 * console.log(formatSimulationReport(report)); // on failure: seed, replay paths, trace
 * await db.close();
 * ```
 *
 * @module
 */

export * from "./validation/mod.ts";
export type * from "../src/types.ts";
export type * from "../src/provider_api.ts";
export type { ErrorCode } from "../src/errors.ts";
export * from "./validation/helpers.ts";
export * from "./kit/mod.ts";
export * from "./runtime/mod.ts";
export * from "./faults/mod.ts";
