/**
 * Validation tests of the `long_polling` category, short-poll variants: with nothing queued, a
 * short-polling provider ignores `pollTimeoutMs` and returns `null` at once, and no provider
 * blocks far past the poll timeout. (Duroxide's two long-poll variants,
 * `test_long_poll_waits_for_timeout` and `test_long_poll_work_item_waits_for_timeout`, apply only
 * to long-polling providers and are not part of this list.)
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { defaultTags, THIRTY_SECONDS_MS } from "./_partA_util.ts";

/** An empty orchestration fetch with a 500 ms poll timeout returns under the threshold. */
async function testShortPollReturnsImmediately(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const threshold = factory.shortPollThresholdMs;

  const lockTimeout = THIRTY_SECONDS_MS;
  const pollTimeout = 500; // The provider should ignore this.

  const start = performance.now();
  const result = await provider.fetchOrchestrationItem(lockTimeout, pollTimeout, null);
  const elapsed = performance.now() - start;

  assert.equal(result, null, "Queue should be empty");
  assert.ok(
    elapsed < threshold,
    `Short polling provider should return immediately (elapsed: ${
      elapsed.toFixed(1)
    } ms, threshold: ${threshold} ms)`,
  );
}

/** An empty fetch returns before its poll timeout plus 200 ms of slack. */
async function testFetchRespectsTimeoutUpperBound(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  const lockTimeout = THIRTY_SECONDS_MS;
  const pollTimeout = 300;
  const tolerance = 200; // Slack for scheduling.

  const start = performance.now();
  const result = await provider.fetchOrchestrationItem(lockTimeout, pollTimeout, null);
  const elapsed = performance.now() - start;

  assert.equal(result, null, "Queue should be empty");
  assert.ok(
    elapsed < pollTimeout + tolerance,
    `Provider blocked too long (elapsed: ${elapsed.toFixed(1)} ms, max expected: ${
      pollTimeout + tolerance
    } ms)`,
  );
}

/** An empty worker fetch with a 500 ms poll timeout returns under the threshold. */
async function testShortPollWorkItemReturnsImmediately(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const threshold = factory.shortPollThresholdMs;

  const lockTimeout = THIRTY_SECONDS_MS;
  const pollTimeout = 500;

  const start = performance.now();
  const result = await provider.fetchWorkItem(lockTimeout, pollTimeout, null, defaultTags());
  const elapsed = performance.now() - start;

  assert.equal(result, null, "Worker queue should be empty");
  assert.ok(
    elapsed < threshold,
    `Short polling provider should return immediately (elapsed: ${
      elapsed.toFixed(1)
    } ms, threshold: ${threshold} ms)`,
  );
}

/**
 * The `long_polling` category for short-polling providers (3 of Duroxide's 5 tests: the two
 * short-poll variants and the universal upper-bound test, as the SQLite wiring runs them).
 */
export const longPollingTests: ValidationTest[] = [
  {
    category: "long_polling",
    name: "test_short_poll_returns_immediately",
    run: testShortPollReturnsImmediately,
  },
  {
    category: "long_polling",
    name: "test_fetch_respects_timeout_upper_bound",
    run: testFetchRespectsTimeoutUpperBound,
  },
  {
    category: "long_polling",
    name: "test_short_poll_work_item_returns_immediately",
    run: testShortPollWorkItemReturnsImmediately,
  },
];
