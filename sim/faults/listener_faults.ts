/**
 * Notifier faults, injected by wrapping the driver's `listen`: LISTEN refused, a listener that
 * dies without anyone noticing, a connection that drops notifications and then reconnects. The
 * provider's long polling must survive all of them: notifications only decide when fetchers
 * query, never whether work is found.
 *
 * @module
 */

import type { SqlDriver, Unlisten } from "../../src/driver/driver.ts";
import { SimulatedConnectionError } from "./errors.ts";

/** A driver whose LISTEN subscriptions can be faulted; see {@linkcode listenerFaults}. */
export interface ListenerFaults {
  /** The wrapped driver: build the provider under test on it. */
  readonly driver: SqlDriver;
  /** Live subscriptions (a provider with long polling holds three). */
  readonly subscriptions: number;
  /** Notifications dropped so far (while disconnected, or arriving at a dead subscription). */
  readonly dropped: number;
  /**
   * Disables the notifier: every live subscription dies and every new LISTEN fails with a
   * connection error, until {@linkcode ListenerFaults.enable}. The provider notices at its next
   * refresh and falls back to one query per fetch.
   */
  disable(): Promise<void>;
  /** Lets LISTEN succeed again (the provider re-subscribes at its next refresh). */
  enable(): void;
  /**
   * Crashes the listener: every live subscription goes silent without an error or a reconnect
   * (a half-open connection). New LISTENs work, so the provider recovers once its refresh
   * notices that its ping never came back.
   */
  crash(): Promise<void>;
  /** Drops every notification from now on, as a connection that went down would. */
  disconnect(): void;
  /**
   * Ends a {@linkcode ListenerFaults.disconnect}: notifications flow again and every live
   * subscription's reconnect callback runs, as the driver does after re-subscribing.
   */
  reconnect(): void;
  /** A forced reconnect: {@linkcode ListenerFaults.disconnect} then at once reconnect. */
  forceReconnect(): void;
}

interface Subscription {
  dead: boolean;
  onReconnect?: () => void;
  unlisten: Unlisten;
}

/**
 * Wraps a driver so that its LISTEN subscriptions can be disabled, crashed, disconnected and
 * reconnected. Everything else passes through.
 *
 * @example A provider whose listener crashes still gets work through its refresh
 * ```ts ignore
 * import { PGlite } from "@electric-sql/pglite";
 * import { pgliteDriver, PostgresProvider } from "@duroxide/pg";
 * import { listenerFaults } from "@duroxide/pg/sim";
 *
 * const db = await PGlite.create();
 * const listener = listenerFaults(pgliteDriver(db, false));
 * const provider = await PostgresProvider.fromDriver(listener.driver, {
 *   longPoll: { refreshIntervalMs: 50 },
 * });
 * await listener.crash();
 * const waiting = provider.fetchOrchestrationItem(30_000, 10_000);
 * await provider.enqueueForOrchestrator({
 *   type: "StartOrchestration", instance: "i", orchestration: "O", input: "{}",
 *   version: "1.0.0", parentInstance: null, parentId: null, executionId: 1,
 * }, null);
 * console.assert((await waiting)?.item.instance === "i"); // woken by the refresh, not a NOTIFY
 * await provider.close();
 * await db.close();
 * ```
 */
export function listenerFaults(driver: SqlDriver): ListenerFaults {
  const live = new Set<Subscription>();
  let refused = false;
  let connected = true;
  let dropped = 0;

  const kill = async (sub: Subscription) => {
    if (!live.delete(sub)) return;
    sub.dead = true;
    await sub.unlisten().catch(() => {});
  };
  const killAll = async () => {
    await Promise.all([...live].map(kill));
  };

  const faulty: SqlDriver = {
    query: (sql, params) => driver.query(sql, params),
    exec: (script) => driver.exec(script),
    transaction: (fn) => driver.transaction(fn),
    close: () => driver.close(),
    async listen(channel, onPayload, onReconnect): Promise<Unlisten> {
      if (refused) throw new SimulatedConnectionError("LISTEN", "before");
      const sub: Subscription = { dead: false, onReconnect, unlisten: () => Promise.resolve() };
      sub.unlisten = await driver.listen(
        channel,
        (payload) => {
          if (sub.dead || !connected) dropped++;
          else onPayload(payload);
        },
        () => {
          if (!sub.dead) onReconnect?.();
        },
      );
      if (refused) {
        // Disabled while this LISTEN was under way: it never took effect.
        await sub.unlisten().catch(() => {});
        throw new SimulatedConnectionError("LISTEN", "before");
      }
      live.add(sub);
      return () => kill(sub);
    },
  };

  const disconnect = () => {
    connected = false;
  };
  const reconnect = () => {
    connected = true;
    for (const sub of [...live]) sub.onReconnect?.();
  };
  return {
    driver: faulty,
    get subscriptions() {
      return live.size;
    },
    get dropped() {
      return dropped;
    },
    async disable() {
      refused = true;
      await killAll();
    },
    enable() {
      refused = false;
    },
    crash: killAll,
    disconnect,
    reconnect,
    forceReconnect() {
      disconnect();
      reconnect();
    },
  };
}
