/**
 * Helpers of the end-to-end tests (`tests/e2e_*_test.ts`): every e2e test runs on PGlite and
 * on the server, with a fresh schema, and gets the runtime harness's fixture.
 *
 * @module
 */

import { Client, type Event, type Provider, Runtime } from "../../mod.ts";
import { type RuntimeFixture, TEST_RUNTIME_OPTIONS } from "../runtime_harness_test.ts";
import { backendTest } from "./backends.ts";

export type { RuntimeFixture };

/**
 * Registers an end-to-end test on both backends: a fresh schema, a provider and client on it,
 * runtimes shut down and providers closed afterwards (as `runtimeTest` does).
 */
export function e2eTest(name: string, fn: (f: RuntimeFixture) => Promise<void>): void {
  backendTest(`e2e: ${name}`, async (t) => {
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
  });
}

/** Polls `probe` every 25 ms until it returns a truthy value (at most 20 s). */
export async function until<T>(
  probe: () => Promise<T | null | undefined | false>,
  what = "condition",
): Promise<T> {
  for (let i = 0; i < 800; i++) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} not met within 20 s`);
}

/** Waits until the instance's latest execution has `count` events of `type`; returns it. */
export function historyWith(
  provider: Provider,
  instance: string,
  type: Event["type"],
  count = 1,
): Promise<Event[]> {
  return until(async () => {
    const history = await provider.read(instance);
    return history.filter((e) => e.type === type).length >= count ? history : null;
  }, `${count} ${type} event(s) in ${instance}`);
}

/** The events of one type, narrowed. */
export function eventsOf<T extends Event["type"]>(
  history: readonly Event[],
  type: T,
): Extract<Event, { type: T }>[] {
  return history.filter((e): e is Extract<Event, { type: T }> => e.type === type);
}

/** The activity names a history scheduled, in order. */
export function scheduledActivities(history: readonly Event[]): string[] {
  return eventsOf(history, "ActivityScheduled").map((e) => e.name);
}
