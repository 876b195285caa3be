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
import type { PostgresProvider } from "../src/postgres_provider.ts";
import { Runtime, type RuntimeOptions } from "../src/runtime/mod.ts";
import type { Event } from "../src/types.ts";
import { backendTest } from "./_support/backends.ts";

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
  backendTest(name, async (t) => {
    const runtimes: Runtime[] = [];
    try {
      const provider = await t.createProvider();
      await fn({
        backend: t.backend,
        schema: t.schema,
        provider,
        client: new Client(provider),
        sql: t.sql,
        runtime(options = {}, p = provider) {
          const rt = new Runtime(p, { ...TEST_RUNTIME_OPTIONS, ...options });
          runtimes.push(rt);
          return rt;
        },
        newProvider: () => t.createProvider(),
      });
    } finally {
      // Runtimes stop before backendTest closes their providers and drops the schema.
      for (const rt of runtimes) await rt.shutdown(2_000);
    }
  }, { server: opts.server ?? false });
}

/** The event types of a history, in order. */
export function eventTypes(history: readonly Event[]): string[] {
  return history.map((e) => e.type);
}
