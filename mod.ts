/**
 * A Duroxide provider on PostgreSQL for Deno: orchestration history and peek-lock queues in
 * stored procedures, on a PostgreSQL server (postgres.js) or embedded PGlite.
 *
 * Every provider operation is one stored-procedure call; every timestamp comes from the
 * application clock; errors are {@linkcode ProviderError}s with a stable `code`.
 *
 * @example Run a turn on embedded PGlite
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { PostgresProvider } from "@duroxide/pg";
 *
 * const db = await PGlite.create();
 * await using provider = await PostgresProvider.fromPGlite(db);
 * await provider.enqueueForOrchestrator({
 *   type: "StartOrchestration", instance: "hello-1", orchestration: "Hello",
 *   input: '"world"', version: "1.0.0", parentInstance: null, parentId: null, executionId: 1,
 * }, null);
 * const turn = await provider.fetchOrchestrationItem(30_000, 0);
 * if (turn) {
 *   await provider.ackOrchestrationItem(turn.lockToken, 1, [{
 *     eventId: 1, sourceEventId: null, instanceId: "hello-1", executionId: 1,
 *     timestampMs: Date.now(), duroxideVersion: "0.1.26", type: "OrchestrationStarted",
 *     name: "Hello", version: "1.0.0", input: '"world"', parentInstance: null, parentId: null,
 *   }], [], [], { orchestrationName: "Hello", orchestrationVersion: "1.0.0" }, []);
 * }
 * console.assert((await provider.read("hello-1")).length === 1);
 * await db.close();
 * ```
 *
 * @module
 */

export {
  type ConnectOptions,
  PostgresProvider,
  type PostgresProviderOptions,
  PROVIDER_VERSION,
} from "./src/postgres_provider.ts";
export type {
  InstancePage,
  ListInstancesPageOptions,
  PostgresAdmin,
} from "./src/postgres_admin.ts";
export { type ErrorCode, ProviderError, type ProviderErrorOptions } from "./src/errors.ts";
export type { LongPollOptions } from "./src/long_poll/notifier.ts";
export {
  DbMetrics,
  type DbMetricsSnapshot,
  DURATION_BUCKETS_MS,
  type FetchMetrics,
  type ProcedureMetrics,
  withDbMetrics,
} from "./src/metrics/db_metrics.ts";
export {
  Client,
  ClientError,
  type ClientErrorCode,
  type HistoryEventView,
  type OrchestrationStatus,
  type OrchestrationStatusName,
} from "./src/client/client.ts";
export { displayMessage } from "./src/error_details.ts";
export * from "./src/runtime/mod.ts";
export type * from "./src/types.ts";
export type * from "./src/provider_api.ts";
export {
  CodecError,
  decodeErrorDetails,
  decodeEvent,
  decodeWorkItem,
  encodeErrorDetails,
  encodeEvent,
  encodeWorkItem,
  eventWireType,
} from "./src/codec.ts";
export type { SqlDriver, SqlExecutor, Unlisten } from "./src/driver/driver.ts";
export { postgresJsDriver } from "./src/driver/postgres_js.ts";
export { pgliteDriver, type PGliteExecutorLike, type PGliteLike } from "./src/driver/pglite.ts";
export {
  migrate,
  type MigrateOptions,
  type MigrationMode,
  type MigrationReport,
} from "./src/migrations/runner.ts";
export type { EmbeddedMigration } from "./src/migrations/migration.ts";
export { grantRuntimeRole, revokeRuntimeRole } from "./src/security/grant.ts";
export {
  type AckOutcome,
  type BatchProvider,
  MAX_BATCH_ITEMS,
  type OrchestrationItemAck,
  supportsBatches,
  type WorkItemAck,
} from "./src/batch_api.ts";
