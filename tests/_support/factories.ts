/**
 * Validation-suite factories for this repository's tests: one shared PGlite per test process
 * and one shared postgres.js pool for the real server, with a fresh schema per test.
 *
 * @module
 */

import postgres from "postgres";
import type { Sql } from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { PostgresProvider, type PostgresProviderOptions } from "../../src/postgres_provider.ts";
import type { OpenProviderFactory, ProviderFactoryLease } from "../../sim/validation/harness.ts";

/** Lock timeout used by the suite on these backends. */
export const TEST_LOCK_TIMEOUT_MS = 1000;

let schemaCounter = 0;

/** A schema name unique to this process and test. */
export function uniqueSchema(prefix: string): string {
  const random = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
  return `${prefix}_${Deno.pid}_${++schemaCounter}_${random}`;
}

let sharedPglite: Promise<PGlite> | undefined;

/** The process-wide PGlite instance (creating one costs seconds and hundreds of MB). */
export function sharedPgliteDb(): Promise<PGlite> {
  sharedPglite ??= PGlite.create();
  return sharedPglite;
}

let sharedSql: Sql | undefined;

/** The server URL, from DATABASE_URL. */
export function databaseUrl(): string | undefined {
  return Deno.env.get("DATABASE_URL") || undefined;
}

/** The process-wide postgres.js pool for DATABASE_URL. */
export function sharedServerSql(): Sql {
  const url = databaseUrl();
  if (!url) throw new Error("DATABASE_URL is not set: the real-server tests need a server");
  sharedSql ??= postgres(url, { max: 10, onnotice: () => {} });
  return sharedSql;
}

/** Whether the real-server tests should be registered as ignored (never in CI). */
export function serverTestsIgnored(): boolean {
  return !databaseUrl() && !Deno.env.get("CI");
}

type Query = (text: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * A factory whose every `createProvider` call opens a new schema (a new, empty store); the
 * schemas are dropped when the lease is disposed.
 */
function makeLease(
  prefix: string,
  create: (schema: string) => Promise<PostgresProvider>,
  query: Query,
): ProviderFactoryLease {
  const providers: PostgresProvider[] = [];
  const schemas: string[] = [];
  return {
    lockTimeoutMs: TEST_LOCK_TIMEOUT_MS,
    shortPollThresholdMs: 500,
    async createProvider() {
      const schema = uniqueSchema(prefix);
      schemas.push(schema);
      const provider = await create(schema);
      providers.push(provider);
      return provider;
    },
    async corruptInstanceHistory(instance: string) {
      for (const schema of schemas) {
        await query(
          `update "${schema}".history set event_data = '{"not a valid event' where instance_id = $1`,
          [instance],
        );
      }
    },
    async getMaxAttemptCount(instance: string) {
      let max = 0;
      for (const schema of schemas) {
        const rows = await query(
          `select coalesce(max(attempt_count), 0)::int as n from "${schema}".orchestrator_queue
            where instance_id = $1`,
          [instance],
        );
        max = Math.max(max, Number(rows[0].n));
      }
      return max;
    },
    async [Symbol.asyncDispose]() {
      for (const p of providers) await p.close();
      for (const schema of schemas) await query(`drop schema if exists "${schema}" cascade`, []);
    },
  };
}

/** A factory whose stores are schemas on the shared PGlite, with these provider options. */
export function pgliteFactoryWith(options: PostgresProviderOptions = {}): OpenProviderFactory {
  return async () => {
    const db = await sharedPgliteDb();
    return makeLease(
      "pgl",
      (schema) => PostgresProvider.fromPGlite(db, { ...options, schema }),
      async (text, params) => (await db.query<Record<string, unknown>>(text, params)).rows,
    );
  };
}

/** A factory whose stores are schemas on the server at DATABASE_URL, with these options. */
export function serverFactoryWith(options: PostgresProviderOptions = {}): OpenProviderFactory {
  return () => {
    const sql = sharedServerSql();
    return Promise.resolve(makeLease(
      "srv",
      (schema) => PostgresProvider.fromPostgresJs(sql, { ...options, schema }),
      async (text, params) =>
        await sql.unsafe(text, params as Parameters<Sql["unsafe"]>[1]) as unknown as Record<
          string,
          unknown
        >[],
    ));
  };
}

/** Stores on the shared PGlite, default provider options. */
export const openPgliteFactory: OpenProviderFactory = pgliteFactoryWith();

/** Stores on the server at DATABASE_URL, default provider options. */
export const openServerFactory: OpenProviderFactory = serverFactoryWith();
