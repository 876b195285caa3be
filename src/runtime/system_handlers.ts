/**
 * The handlers of the system activities (`newGuid`, `utcNow`, `getValueFromInstance`). They
 * return raw result strings, exactly as Duroxide records them.
 *
 * @module
 */

import type { RuntimeCore } from "./core.ts";
import {
  SYSCALL_GET_KV_VALUE,
  SYSCALL_NEW_GUID,
  SYSCALL_UTC_NOW_MS,
} from "./replay/system_activities.ts";

/** A system activity: raw input in, raw result out. */
export type SystemHandler = (core: RuntimeCore, input: string) => Promise<string>;

const HANDLERS: Record<string, SystemHandler> = {
  [SYSCALL_NEW_GUID]: () => Promise.resolve(crypto.randomUUID()),
  [SYSCALL_UTC_NOW_MS]: (core) => Promise.resolve(String(core.options.clock())),
  [SYSCALL_GET_KV_VALUE]: async (core, input) => {
    const { instance_id: instance, key } = JSON.parse(input) as {
      instance_id: string;
      key: string;
    };
    return JSON.stringify(await core.provider.getKvValue(instance, key));
  },
};

/**
 * The handler of a system activity, if `name` is one.
 *
 * @example
 * ```ts
 * import { systemHandler } from "./system_handlers.ts";
 * console.assert(systemHandler("__duroxide_syscall:new_guid") !== undefined);
 * console.assert(systemHandler("Charge") === undefined);
 * ```
 */
export function systemHandler(name: string): SystemHandler | undefined {
  return Object.hasOwn(HANDLERS, name) ? HANDLERS[name] : undefined;
}
