/**
 * The provider validation suite: Duroxide's provider contract tests, ported with the same
 * names and assertions, for any implementation of the `Provider` contract.
 *
 * @example Run the suite against your provider with `deno test`
 * ```ts ignore
 * import { allValidationTests, registerValidationTests } from "@duroxide/pg/sim";
 * registerValidationTests(allValidationTests, async () => myFactoryLease());
 * ```
 *
 * @module
 */

import { atomicityTests } from "./atomicity.ts";
import { bulkDeletionTests } from "./bulk_deletion.ts";
import { cancellationTests } from "./cancellation.ts";
import { capabilityFilteringTests } from "./capability_filtering.ts";
import { customStatusTests } from "./custom_status.ts";
import { deletionTests } from "./deletion.ts";
import { errorHandlingTests } from "./error_handling.ts";
import type { ValidationTest } from "./harness.ts";
import { instanceCreationTests } from "./instance_creation.ts";
import { instanceLockingTests } from "./instance_locking.ts";
import { instanceStatsTests } from "./instance_stats.ts";
import { kvStoreTests } from "./kv_store.ts";
import { lockExpirationTests } from "./lock_expiration.ts";
import { longPollingTests, shortPollingTests } from "./long_polling.ts";
import { managementTests } from "./management.ts";
import { multiExecutionTests } from "./multi_execution.ts";
import { poisonMessageTests } from "./poison_message.ts";
import { pruneTests } from "./prune.ts";
import { queueSemanticsTests } from "./queue_semantics.ts";
import { sessionsTests } from "./sessions.ts";
import { tagFilteringTests } from "./tag_filtering.ts";

export {
  type OpenProviderFactory,
  type ProviderFactory,
  type ProviderFactoryLease,
  type RegisterOptions,
  registerValidationTests,
  type ValidationTest,
} from "./harness.ts";
export {
  atomicityTests,
  bulkDeletionTests,
  cancellationTests,
  capabilityFilteringTests,
  customStatusTests,
  deletionTests,
  errorHandlingTests,
  instanceCreationTests,
  instanceLockingTests,
  instanceStatsTests,
  kvStoreTests,
  lockExpirationTests,
  longPollingTests,
  managementTests,
  multiExecutionTests,
  poisonMessageTests,
  pruneTests,
  queueSemanticsTests,
  sessionsTests,
  shortPollingTests,
  tagFilteringTests,
};

/**
 * Every ported validation test, category by category, for a long-polling provider (swap
 * `longPollingTests` for `shortPollingTests` for a short-polling one).
 */
export const allValidationTests: readonly ValidationTest[] = [
  ...atomicityTests,
  ...errorHandlingTests,
  ...instanceCreationTests,
  ...instanceLockingTests,
  ...lockExpirationTests,
  ...multiExecutionTests,
  ...queueSemanticsTests,
  ...poisonMessageTests,
  ...cancellationTests,
  ...capabilityFilteringTests,
  ...customStatusTests,
  ...sessionsTests,
  ...tagFilteringTests,
  ...kvStoreTests,
  ...longPollingTests,
  ...instanceStatsTests,
  ...managementTests,
  ...deletionTests,
  ...pruneTests,
  ...bulkDeletionTests,
];

/** How many tests each category has, e.g. `{ atomicity: 4, … }`. */
export function countByCategory(tests: readonly ValidationTest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const test of tests) counts[test.category] = (counts[test.category] ?? 0) + 1;
  return counts;
}
