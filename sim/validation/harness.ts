/**
 * The harness of the provider validation suite: what a provider under test must supply
 * ({@linkcode ProviderFactory}) and how the tests are registered with `Deno.test`.
 *
 * @module
 */

import type { Provider } from "../../src/provider_api.ts";

/**
 * Creates providers for one validation test. As in Duroxide's suite, every call of
 * `createProvider` returns a provider over a new, empty store, so a test that needs a second
 * provider gets one that cannot see the first one's data.
 */
export interface ProviderFactory {
  /** A provider over a new, empty store. */
  createProvider(): Promise<Provider>;
  /** The lock timeout the tests use, in ms. */
  readonly lockTimeoutMs: number;
  /** An empty fetch must return faster than this, in ms. */
  readonly shortPollThresholdMs: number;
  /** Makes the stored history of an instance undecodable (in every store of this factory). */
  corruptInstanceHistory(instance: string): Promise<void>;
  /** The highest `attempt_count` over the instance's orchestrator-queue rows (all stores). */
  getMaxAttemptCount(instance: string): Promise<number>;
}

/** A factory that owns its stores and removes them when disposed. */
export interface ProviderFactoryLease extends ProviderFactory, AsyncDisposable {}

/** Opens a factory for the named test. */
export type OpenProviderFactory = (testName: string) => Promise<ProviderFactoryLease>;

/** One validation test, named as in Duroxide's suite. */
export interface ValidationTest {
  /** The category (module) name, e.g. `"instance_locking"`. */
  category: string;
  /** The test function's name, e.g. `"test_exclusive_instance_lock"`. */
  name: string;
  /** Runs the test; throws on failure. */
  run(factory: ProviderFactory): Promise<void>;
}

/** Options of {@linkcode registerValidationTests}. */
export interface RegisterOptions {
  /** Prefix of every registered test name, e.g. the backend. @default {""} */
  prefix?: string;
  /** Skip every test (for example when the backend is unavailable). @default {false} */
  ignore?: boolean;
}

/**
 * Registers each test with `Deno.test`, giving each its own factory, disposed afterwards.
 *
 * @example Register the whole suite against your own provider
 * ```ts ignore
 * import { allValidationTests, registerValidationTests } from "@duroxide/pg/sim";
 * registerValidationTests(allValidationTests, openMyFactory, { prefix: "mydb" });
 * ```
 */
export function registerValidationTests(
  tests: readonly ValidationTest[],
  open: OpenProviderFactory,
  options: RegisterOptions = {},
): void {
  const { prefix = "", ignore = false } = options;
  for (const test of tests) {
    const name = `${prefix ? prefix + " " : ""}${test.category}::${test.name}`;
    Deno.test({
      name,
      ignore,
      // Stores share a connection pool (or one PGlite) across tests, so connections outlive
      // the test that first opened them.
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        await using factory = await open(name);
        await test.run(factory);
      },
    });
  }
}
