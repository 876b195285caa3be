/**
 * The simulation harness: one schema on an in-process PGlite, one provider per logical worker
 * (each with its own view of the simulated clock), all going through a fault-injecting driver,
 * and a fast reset between runs. Everything the providers do goes through the same PGlite
 * session, so the order of calls fully determines the outcome.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";
import { pgliteDriver, type PGliteLike } from "../../src/driver/pglite.ts";
import { PostgresProvider } from "../../src/postgres_provider.ts";
import type { Provider } from "../../src/provider_api.ts";
import { quoteSchemaName } from "../../src/schema_name.ts";
import { createSimClock, SIM_EPOCH_MS, type SimClock } from "./clock.ts";
import { createFaultSwitch, type FaultSwitch, faultyDriver } from "./faults.ts";
import { fuseObservation, installSimObservers } from "./observers.ts";
import { installMutant, type StoredProcedureMutant } from "./sp_mutants.ts";

/** The worker that drains all work in the liveness phase; it never sees faults or skew. */
export const DRAIN_WORKER = "drain";

/** The provider's tables, cleared between runs. */
const TABLES = [
  "instances",
  "executions",
  "history",
  "orchestrator_queue",
  "worker_queue",
  "instance_locks",
  "sessions",
  "kv_store",
  "kv_delta",
];

/** Options of {@linkcode openSimHarness}. */
export interface SimHarnessOptions {
  /** The PGlite database to simulate on (one per process: creating one takes seconds). */
  db: PGliteLike;
  /**
   * The schema to create (and drop first, if it exists).
   * @default {"dx_sim_<n>"}
   */
  schema?: string;
  /**
   * The logical workers. {@linkcode DRAIN_WORKER} is always added.
   * @default {["w1", "w2", "w3"]}
   */
  workers?: readonly string[];
  /** Wraps the driver under the providers (below the fault injection), e.g. to plant a bug. */
  wrapDriver?: (driver: SqlDriver) => SqlDriver;
  /** Wraps each worker's provider, e.g. to plant a bug. */
  wrapProvider?: (provider: Provider, worker: string) => Provider;
  /** A broken stored procedure to install over the migrated one (see `sp_mutants.ts`). */
  mutant?: StoredProcedureMutant;
  /**
   * Install the observers (`observers.ts`: the read functions the model-based steps need).
   * @default {true}
   */
  observers?: boolean;
}

/**
 * An open harness.
 *
 * @example
 * ```ts ignore
 * await using harness = await openSimHarness({ db });
 * await harness.reset(SIM_EPOCH_MS);
 * await harness.provider("w1").fetchOrchestrationItem(1_000, 0);
 * ```
 */
export interface SimHarness extends AsyncDisposable {
  /** The schema in use. */
  readonly schema: string;
  /** The schema as a quoted identifier. */
  readonly quotedSchema: string;
  /** The database, without faults or planted bugs (for reading state). */
  readonly db: SqlDriver;
  /**
   * Whether the steps read the store (a PGlite harness with observers): only then are stored
   * rows compared with the model and the stored-state invariants checked.
   */
  readonly observed: boolean;
  /** The simulated clock every provider reads. */
  readonly clock: SimClock;
  /** The fault switch every provider call goes through. */
  readonly faults: FaultSwitch;
  /** The logical workers, {@linkcode DRAIN_WORKER} included. */
  readonly workers: readonly string[];
  /**
   * How many statements the providers sent that reached the database (a call struck by a fault
   * "before" does not): a step that sent none cannot have changed anything.
   */
  readonly databaseCalls: number;
  /**
   * Fuses an observation (`observers.ts`) into the next provider statement that reaches the
   * database: what it changed since the fingerprint `since` is read in the same statement.
   * Does nothing on a harness that is not {@linkcode SimHarness.observed}.
   */
  observeNextCall(since: string): void;
  /** The fused observation's text, if the armed statement ran and succeeded; disarms. */
  takeObservation(): string | null;
  /** The provider a worker calls. */
  provider(worker: string): Provider;
  /** Empties every table, resets the clock to `startMs` and disarms faults. */
  reset(startMs?: number): Promise<void>;
  /** Drops the schema. */
  close(): Promise<void>;
}

let schemaCounter = 0;

/**
 * Creates the schema (migrating it through the provider), one provider per worker, installs
 * the kit's observer functions (`observers.ts`) and the `mutant` if any, and pins the schema's
 * `wait_ms()` to 0. `wait_ms()` is the only place the stored procedures read the
 * database clock (to lengthen a lease by time a call spent blocked); in the simulation nothing
 * ever blocks, and a slow host must not change a lease, so the simulated clock stays the only
 * source of time.
 *
 * @example
 * ```ts ignore
 * import { PGlite } from "@electric-sql/pglite";
 * import { openSimHarness } from "@duroxide/pg/sim";
 *
 * await using harness = await openSimHarness({ db: await PGlite.create() });
 * console.log(harness.schema, harness.workers);
 * ```
 */
export async function openSimHarness(options: SimHarnessOptions): Promise<SimHarness> {
  const {
    db,
    schema = `dx_sim_${++schemaCounter}`,
    workers = ["w1", "w2", "w3"],
    wrapDriver = (d: SqlDriver) => d,
    wrapProvider = (p: Provider) => p,
    mutant,
    observers = true,
  } = options;
  const quotedSchema = quoteSchemaName(schema);
  const base = pgliteDriver(db, false);
  await base.exec(`drop schema if exists ${quotedSchema} cascade`);
  const clock = createSimClock(SIM_EPOCH_MS);
  const faults = createFaultSwitch();
  let databaseCalls = 0;
  let observeSince: string | null = null;
  let observation: string | null = null;
  // Below the faults and planted bugs, so it counts (and observes) what reached the database.
  const counted: SqlDriver = {
    ...base,
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
      databaseCalls += 1;
      const since = observeSince;
      observeSince = null;
      const fused = since === null ? null : fuseObservation(quotedSchema, sql, params, since);
      if (!fused) return await base.query<Row>(sql, params);
      const rows = await base.query<Row & { sim_observation?: string }>(fused.sql, fused.params);
      observation = rows[0]?.sim_observation ?? null;
      return rows;
    },
  };
  const driver = faultyDriver(wrapDriver(counted), faults.options);
  const all = [...workers.filter((w) => w !== DRAIN_WORKER), DRAIN_WORKER];
  const providers = new Map<string, Provider>();
  const owned: PostgresProvider[] = [];
  for (const worker of all) {
    // Long polling stays off: its listener would run queries of its own, outside the steps.
    const provider = await PostgresProvider.fromDriver(driver, {
      schema,
      clock: clock.clockFor(worker),
      longPoll: { enabled: false },
    });
    owned.push(provider);
    providers.set(worker, wrapProvider(provider, worker));
  }
  await base.exec(
    `create or replace function ${quotedSchema}.wait_ms() returns bigint
       language sql immutable as $$ select 0::bigint $$`,
  );
  if (observers) await installSimObservers(base, quotedSchema);
  if (mutant) await installMutant(base, quotedSchema, mutant);
  const harness: SimHarness = {
    schema,
    quotedSchema,
    db: base,
    observed: observers,
    clock,
    faults,
    workers: all,
    get databaseCalls() {
      return databaseCalls;
    },
    observeNextCall(since) {
      observeSince = observers ? since : null;
      observation = null;
    },
    takeObservation() {
      const taken = observation;
      observeSince = null;
      observation = null;
      return taken;
    },
    provider(worker) {
      const provider = providers.get(worker);
      if (!provider) throw new RangeError(`Unknown simulated worker: ${worker}`);
      return provider;
    },
    async reset(startMs = SIM_EPOCH_MS) {
      await base.exec(TABLES.map((t) => `delete from ${quotedSchema}.${t};`).join("\n"));
      clock.reset(startMs);
      faults.arm(null);
    },
    async close() {
      for (const provider of owned) await provider.close();
      await base.exec(`drop schema if exists ${quotedSchema} cascade`);
    },
    [Symbol.asyncDispose]: () => harness.close(),
  };
  return harness;
}
