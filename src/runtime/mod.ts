/**
 * The durable runtime: write orchestrations as generator functions and activities as async
 * functions, and run them on a {@linkcode Provider} (duroxide-node's API, Duroxide 0.1.26
 * semantics).
 *
 * @example
 * ```ts ignore
 * import { Runtime, type OrchestrationContext } from "./mod.ts";
 *
 * const runtime = new Runtime(provider, { orchestrationConcurrency: 4 });
 * runtime.registerActivity("Greet", (_ctx, name) => `Hello, ${name}!`);
 * runtime.registerOrchestration("Flow", function* (ctx: OrchestrationContext, name) {
 *   const greeting = yield ctx.scheduleActivity("Greet", name);
 *   const [a, b] = (yield ctx.all([ctx.scheduleActivity("Greet", "A"),
 *     ctx.scheduleActivity("Greet", "B")])) as unknown[];
 *   return { greeting, a, b };
 * });
 * await runtime.start();
 * // ... later
 * await runtime.shutdown(1_000);
 * ```
 *
 * @module
 */

export { Runtime } from "./runtime.ts";
export type { RuntimeOptions, WorkerTagFilter } from "./options.ts";
export type { RuntimeMetrics } from "./core.ts";
export type { ActivityFunction } from "./registry.ts";
export { ActivityContext } from "./activity_context.ts";
export type { LogLevel, LogRecord } from "./logger.ts";
export { OrchestrationContext, type TraceLevel } from "./replay/context.ts";
export type { OrchestrationFunction } from "./replay/turn.ts";
export { TaskFailedError } from "./replay/bound_task.ts";
export type {
  ActivityTask,
  ActivityWithRetryTask,
  BackoffStrategy,
  ContinueAsNewTask,
  DequeueEventTask,
  DetachedOrchestrationTask,
  GetValueFromInstanceTask,
  JoinResult,
  JoinTask,
  NewGuidTask,
  RaceResult,
  RetryPolicy,
  ScheduledTask,
  SelectTask,
  SubOrchestrationTask,
  TimerTask,
  UtcNowTask,
  WaitEventTask,
} from "./replay/tasks.ts";
export {
  MAX_KV_KEYS,
  MAX_KV_VALUE_BYTES,
  MAX_TAG_NAME_BYTES,
  MAX_WORKER_TAGS,
} from "./replay/limits.ts";
export { DUROXIDE_VERSION } from "./version.ts";
export { displayMessage } from "./replay/error_details.ts";
export type { AppErrorKind, ErrorDetails, PoisonMessageType } from "../types.ts";
