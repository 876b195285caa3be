/**
 * Names of the system activities behind `newGuid`, `utcNow` and `getValueFromInstance`. They
 * run on the worker queue like user activities, so their results are recorded in history.
 *
 * @module
 */

/** The prefix reserved for system activities; user activities may not use it. */
export const SYSCALL_PREFIX = "__duroxide_syscall:";
/** Returns a new GUID (input `""`). */
export const SYSCALL_NEW_GUID = "__duroxide_syscall:new_guid";
/** Returns the current time in epoch ms as a decimal string (input `""`). */
export const SYSCALL_UTC_NOW_MS = "__duroxide_syscall:utc_now_ms";
/** Returns JSON `null` or a JSON string (input `{"instance_id":…,"key":…}`). */
export const SYSCALL_GET_KV_VALUE = "__duroxide_syscall:get_kv_value";

/**
 * Whether `name` is reserved for system activities.
 *
 * @example
 * ```ts
 * import { isSystemActivity } from "./system_activities.ts";
 * console.assert(isSystemActivity("__duroxide_syscall:new_guid"));
 * console.assert(!isSystemActivity("Charge"));
 * ```
 */
export function isSystemActivity(name: string): boolean {
  return name.startsWith(SYSCALL_PREFIX);
}
