/**
 * Runs a test on every backend (shared PGlite always; the server at DATABASE_URL when set, and
 * always in CI), each time in a fresh schema that is dropped afterwards.
 *
 * @module
 */

import { pgliteDriver } from "../../src/driver/pglite.ts";
import { postgresJsDriver } from "../../src/driver/postgres_js.ts";
import type { SqlDriver } from "../../src/driver/driver.ts";
import { PostgresProvider, type PostgresProviderOptions } from "../../src/postgres_provider.ts";
import { serverTestsIgnored, sharedPgliteDb, sharedServerSql, uniqueSchema } from "./factories.ts";

/** What a backend test gets. */
export interface BackendContext {
  /** `"pglite"` or `"server"`. */
  backend: string;
  /** A driver over the shared database (closing it is a no-op). */
  driver: SqlDriver;
  /** A fresh schema name for this test. */
  schema: string;
  /** Creates a provider in this test's schema (closed after the test). */
  createProvider(options?: PostgresProviderOptions): Promise<PostgresProvider>;
  /** Runs one statement and returns its rows. */
  sql<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
}

async function driverFor(backend: string): Promise<SqlDriver> {
  return backend === "pglite"
    ? pgliteDriver(await sharedPgliteDb(), false)
    : postgresJsDriver(sharedServerSql(), false);
}

/**
 * Registers `fn` once per backend as `"<backend> <name>"`: on PGlite, and on the server unless
 * `server` is false.
 */
export function backendTest(
  name: string,
  fn: (ctx: BackendContext) => Promise<void>,
  options: { server?: boolean } = {},
): void {
  const backends = options.server === false ? ["pglite"] : ["pglite", "server"];
  for (const backend of backends) {
    Deno.test({
      name: `${backend} ${name}`,
      ignore: backend === "server" && serverTestsIgnored(),
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const driver = await driverFor(backend);
        const schema = uniqueSchema(backend === "pglite" ? "pgl" : "srv");
        const providers: PostgresProvider[] = [];
        try {
          await fn({
            backend,
            driver,
            schema,
            async createProvider(options = {}) {
              const provider = await PostgresProvider.fromDriver(driver, { schema, ...options });
              providers.push(provider);
              return provider;
            },
            sql: (text, params = []) => driver.query(text, params),
          });
        } finally {
          for (const p of providers) await p.close();
          await driver.exec(`drop schema if exists "${schema}" cascade`);
        }
      },
    });
  }
}
