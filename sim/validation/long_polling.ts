/**
 * Validation tests of the `long_polling` category. With nothing queued, a short-polling
 * provider ignores `pollTimeoutMs` and returns `null` at once, a long-polling provider waits for
 * the poll timeout, and no provider blocks far past it. Register the list that matches the
 * provider: {@linkcode longPollingTests} or {@linkcode shortPollingTests}.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { DEFAULT_TAG_FILTER, LONG_LOCK_MS } from "./helpers.ts";

/** An empty orchestration fetch with a 500 ms poll timeout returns under the threshold. */
async function testShortPollReturnsImmediately(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const threshold = factory.shortPollThresholdMs;

  const lockTimeout = LONG_LOCK_MS;
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

  const lockTimeout = LONG_LOCK_MS;
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

  const lockTimeout = LONG_LOCK_MS;
  const pollTimeout = 500;

  const start = performance.now();
  const result = await provider.fetchWorkItem(lockTimeout, pollTimeout, null, DEFAULT_TAG_FILTER);
  const elapsed = performance.now() - start;

  assert.equal(result, null, "Worker queue should be empty");
  assert.ok(
    elapsed < threshold,
    `Short polling provider should return immediately (elapsed: ${
      elapsed.toFixed(1)
    } ms, threshold: ${threshold} ms)`,
  );
}

/** An empty orchestration fetch of a long-polling provider waits for its 500 ms poll timeout. */
async function testLongPollWaitsForTimeout(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const pollTimeout = 500;

  const start = performance.now();
  const result = await provider.fetchOrchestrationItem(LONG_LOCK_MS, pollTimeout, null);
  const elapsed = performance.now() - start;

  assert.equal(result, null, "Queue should be empty");
  assert.ok(
    elapsed >= pollTimeout,
    `Long polling provider should wait for timeout (elapsed: ${elapsed} ms, expected: ${pollTimeout} ms)`,
  );
}

/** An empty worker fetch of a long-polling provider waits for its 500 ms poll timeout. */
async function testLongPollWorkItemWaitsForTimeout(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();
  const pollTimeout = 500;

  const start = performance.now();
  const result = await provider.fetchWorkItem(LONG_LOCK_MS, pollTimeout, null, DEFAULT_TAG_FILTER);
  const elapsed = performance.now() - start;

  assert.equal(result, null, "Worker queue should be empty");
  assert.ok(
    elapsed >= pollTimeout,
    `Long polling provider should wait for timeout (elapsed: ${elapsed} ms, expected: ${pollTimeout} ms)`,
  );
}

const upperBound: ValidationTest = {
  category: "long_polling",
  name: "test_fetch_respects_timeout_upper_bound",
  run: testFetchRespectsTimeoutUpperBound,
};

/**
 * The `long_polling` category for long-polling providers: the two long-poll variants and the
 * universal upper-bound test.
 */
export const longPollingTests: ValidationTest[] = [
  {
    category: "long_polling",
    name: "test_long_poll_waits_for_timeout",
    run: testLongPollWaitsForTimeout,
  },
  upperBound,
  {
    category: "long_polling",
    name: "test_long_poll_work_item_waits_for_timeout",
    run: testLongPollWorkItemWaitsForTimeout,
  },
];

/**
 * The `long_polling` category for short-polling providers (as the SQLite wiring runs it): the
 * two short-poll variants and the universal upper-bound test.
 */
export const shortPollingTests: ValidationTest[] = [
  {
    category: "long_polling",
    name: "test_short_poll_returns_immediately",
    run: testShortPollReturnsImmediately,
  },
  upperBound,
  {
    category: "long_polling",
    name: "test_short_poll_work_item_returns_immediately",
    run: testShortPollWorkItemReturnsImmediately,
  },
];
