/**
 * Deliberately broken variants of the provider, to check that the simulation catches real
 * bugs (mutation testing of the kit itself). Never use them outside tests.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";
import type { Provider } from "../../src/provider_api.ts";
import { procedureOf } from "./faults.ts";

/**
 * A driver that drops the cancellation list of every orchestration ack: cancelled activities
 * stay queued and their holders can still renew and ack them.
 *
 * @example
 * ```ts ignore
 * const report = await runSimulation({ seed: 1, wrapDriver: dropAckCancellations });
 * console.assert(!report.ok);
 * ```
 */
export function dropAckCancellations(driver: SqlDriver): SqlDriver {
  return {
    ...driver,
    query<Row>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
      if (procedureOf(sql) !== "ack_orchestration_item") return driver.query<Row>(sql, params);
      return driver.query<Row>(sql, [...params.slice(0, -1), "[]"]);
    },
  };
}

/**
 * A provider whose orchestration acks never fail: errors (an expired lease, a duplicate event)
 * are swallowed, so the caller believes a turn committed that did not.
 *
 * @example
 * ```ts ignore
 * const report = await runSimulation({ seed: 1, wrapProvider: swallowAckFailures });
 * console.assert(!report.ok);
 * ```
 */
export function swallowAckFailures(provider: Provider): Provider {
  return new Proxy(provider, {
    get(target, property) {
      if (property === "ackOrchestrationItem") {
        return async (...args: Parameters<Provider["ackOrchestrationItem"]>) => {
          try {
            await target.ackOrchestrationItem(...args);
          } catch {
            // the planted bug: the failure never reaches the caller
          }
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
