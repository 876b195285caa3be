/**
 * A driver wrapper that counts round trips (queries, scripts and transactions), for tests
 * that show how many a call makes.
 *
 * @module
 */

import type { SqlDriver } from "../../src/driver/driver.ts";

/** A wrapped driver and its round-trip count. */
export interface CountingDriver {
  /** The wrapped driver. */
  driver: SqlDriver;
  /** Round trips so far. */
  readonly calls: number;
}

/** Wraps `inner`, counting every `query`, `exec` and `transaction`. */
export function countingDriver(inner: SqlDriver): CountingDriver {
  let calls = 0;
  const count = <T>(result: T): T => {
    calls++;
    return result;
  };
  return {
    get calls() {
      return calls;
    },
    driver: {
      query: (text, params) => count(inner.query(text, params)),
      exec: (script) => count(inner.exec(script)),
      transaction: (fn) => count(inner.transaction(fn)),
      listen: (channel, onPayload, onReconnect) => inner.listen(channel, onPayload, onReconnect),
      close: () => inner.close(),
    },
  };
}
