/**
 * Shared helpers of the runtime tests (this file registers no tests of its own).
 *
 * `runtimeTest(name, fn)` runs `fn` on the shared PGlite (and, with `{ server: true }`, also on
 * the server at DATABASE_URL) in a fresh schema, with a `Client` and a factory for runtimes
 * that are shut down and providers that are closed afterwards; the schema is dropped.
 *
 * @module
 */

import { Client } from "../src/client/client.ts";
import { PostgresProvider } from "../src/postgres_provider.ts";
import { Runtime, type RuntimeOptions } from "../src/runtime/mod.ts";
import type { Event } from "../src/types.ts";
import { driverFor } from "./_support/backends.ts";
import { serverTestsIgnored, uniqueSchema } from "./_support/factories.ts";

/** What a runtime test gets. */
export interface RuntimeFixture {
  /** `"pglite"` or `"server"`. */
  backend: string;
  /** The test's schema. */
  schema: string;
  /** A provider on the test's schema. */
  provider: PostgresProvider;
  /** A client on `provider`. */
  client: Client;
  /** Runs one SQL statement on the test's database. */
  sql<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** A new (not started) runtime on `provider` (or another provider), shut down afterwards. */
  runtime(options?: RuntimeOptions, provider?: PostgresProvider): Runtime;
  /** Another provider on the same schema (a second "process"), closed afterwards. */
  newProvider(): Promise<PostgresProvider>;
}

/** Quiet, small runtimes for tests. */
export const TEST_RUNTIME_OPTIONS: RuntimeOptions = {
  orchestrationConcurrency: 2,
  workerConcurrency: 2,
  logLevel: "off",
};

/** Registers a runtime test on PGlite (and the server with `server: true`). */
export function runtimeTest(
  name: string,
  fn: (f: RuntimeFixture) => Promise<void>,
  opts: { server?: boolean } = {},
): void {
  const backends = opts.server ? ["pglite", "server"] : ["pglite"];
  for (const backend of backends) {
    Deno.test({
      name: `${backend} ${name}`,
      ignore: backend === "server" && serverTestsIgnored(),
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const driver = await driverFor(backend);
        const schema = uniqueSchema(backend === "pglite" ? "rtp" : "rts");
        const providers: PostgresProvider[] = [];
        const runtimes: Runtime[] = [];
        const newProvider = async () => {
          const p = await PostgresProvider.fromDriver(driver, { schema });
          providers.push(p);
          return p;
        };
        try {
          const provider = await newProvider();
          await fn({
            backend,
            schema,
            provider,
            client: new Client(provider),
            sql: (text, params = []) => driver.query(text, params),
            runtime(options = {}, p = provider) {
              const rt = new Runtime(p, { ...TEST_RUNTIME_OPTIONS, ...options });
              runtimes.push(rt);
              return rt;
            },
            newProvider,
          });
        } finally {
          for (const rt of runtimes) await rt.shutdown(2_000);
          for (const p of providers) await p.close();
          await driver.exec(`drop schema if exists "${schema}" cascade`);
        }
      },
    });
  }
}

/** The event types of a history, in order. */
export function eventTypes(history: readonly Event[]): string[] {
  return history.map((e) => e.type);
}
