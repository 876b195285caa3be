/**
 * The listener behind long polling: one LISTEN subscription per provider (postgres.js keeps
 * it on one dedicated connection and re-subscribes after a reconnect), local timers for work
 * that becomes visible later, and a periodic refresh query for work that becomes available
 * without any write (an expired lease after a crash, an expired session).
 *
 * Notifications only decide *when* fetchers query; correctness never depends on them. A lost
 * notification delays work by at most the refresh interval, a duplicated one costs one query.
 *
 * @module
 */

import type { SqlDriver, Unlisten } from "../driver/driver.ts";
import { TimerQueue } from "./timer_queue.ts";
import { WakeSignal } from "./wake_signal.ts";

/** Long-polling settings of a provider. */
export interface LongPollOptions {
  /**
   * Whether fetches wait for notifications (up to their `pollTimeoutMs`). When disabled, or
   * while the listener is unhealthy, every fetch is a single query.
   * @default {true}
   */
  enabled?: boolean;
  /**
   * How often the listener runs its refresh query, in ms: the longest a lost notification,
   * a crashed worker's expired lease or an expired session can delay work. One query per
   * interval is also the whole database load of an idle provider.
   * @default {30000}
   */
  refreshIntervalMs?: number;
  /**
   * Added to every future visibility time before waking, in ms, so that a small clock skew
   * between nodes does not wake fetchers before the work is visible to them.
   * @default {25}
   */
  timerGraceMs?: number;
}

/** {@linkcode LongPollOptions} with every default applied. */
export type ResolvedLongPollOptions = Required<LongPollOptions>;

/** Applies the defaults and validates the values. */
export function resolveLongPollOptions(options: LongPollOptions = {}): ResolvedLongPollOptions {
  const resolved = {
    enabled: options.enabled ?? true,
    refreshIntervalMs: options.refreshIntervalMs ?? 30_000,
    timerGraceMs: options.timerGraceMs ?? 25,
  };
  if (!Number.isSafeInteger(resolved.refreshIntervalMs) || resolved.refreshIntervalMs < 10) {
    throw new RangeError(
      `Invalid refreshIntervalMs: expected an integer >= 10, got ${resolved.refreshIntervalMs}`,
    );
  }
  if (!Number.isSafeInteger(resolved.timerGraceMs) || resolved.timerGraceMs < 0) {
    throw new RangeError(
      `Invalid timerGraceMs: expected an integer >= 0, got ${resolved.timerGraceMs}`,
    );
  }
  return resolved;
}

/** How long start-up waits for its first ping to come back before starting unhealthy. */
const STARTUP_PING_WAIT_MS = 2_000;

interface RefreshResult {
  orch_due: boolean;
  orch_times: number[];
  work_due: boolean;
  work_times: number[];
}

interface Channels {
  orch: string;
  work: string;
  status: string;
}

/** Wakes a provider's waiting fetchers when their queue may have work. */
export class Notifier {
  /** Orchestration fetchers: one is woken per notification. */
  readonly orchestrations: WakeSignal = new WakeSignal();
  /** Worker fetchers: all are woken (sessions and tags mean any slot may be the right one). */
  readonly work: WakeSignal = new WakeSignal();

  readonly #driver: SqlDriver;
  readonly #schema: string;
  readonly #clock: () => number;
  readonly #options: ResolvedLongPollOptions;
  readonly #orchTimers: TimerQueue;
  readonly #workTimers: TimerQueue;
  readonly #statusWaiters = new Map<string, Set<() => void>>();
  readonly #closed = new AbortController();
  #channels: Channels | undefined;
  #unlisten: Unlisten[] = [];
  #healthy = false;
  #pendingPing: string | undefined;
  #pingCounter = 0;
  #pongWaiters: (() => void)[] = [];
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<void> | undefined;

  private constructor(
    driver: SqlDriver,
    quotedSchema: string,
    clock: () => number,
    options: ResolvedLongPollOptions,
  ) {
    this.#driver = driver;
    this.#schema = quotedSchema;
    this.#clock = clock;
    this.#options = options;
    this.#orchTimers = new TimerQueue(
      clock,
      options.timerGraceMs,
      () => this.orchestrations.wakeOne(),
    );
    this.#workTimers = new TimerQueue(clock, options.timerGraceMs, () => this.work.wakeAll());
  }

  /**
   * Subscribes to the schema's channels and starts the refresh cycle. A failure to subscribe
   * leaves the notifier unhealthy (fetches then query every time); it retries at each refresh.
   */
  static async start(
    driver: SqlDriver,
    quotedSchema: string,
    clock: () => number,
    options: ResolvedLongPollOptions,
  ): Promise<Notifier> {
    const notifier = new Notifier(driver, quotedSchema, clock, options);
    await notifier.#subscribe();
    // The first refresh pings the subscription; it is healthy once the ping comes back.
    await notifier.#refresh();
    await notifier.#pong(STARTUP_PING_WAIT_MS);
    notifier.#scheduleRefresh(options.refreshIntervalMs);
    return notifier;
  }

  /** Whether notifications are known to arrive; fetches skip queries only while healthy. */
  get healthy(): boolean {
    return this.#healthy && !this.#closed.signal.aborted;
  }

  /** Fires when the notifier is closed; waits end with it. */
  get closedSignal(): AbortSignal {
    return this.#closed.signal;
  }

  /**
   * Resolves `true` when `instance` changes status or custom status, `false` after
   * `timeoutMs`, when `abort` fires or when the notifier closes. The wait is registered
   * when this is called, so a change right after the call is not missed.
   */
  waitForInstanceChange(
    instance: string,
    timeoutMs: number,
    abort?: AbortSignal,
  ): Promise<boolean> {
    if (this.#closed.signal.aborted || abort?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiters = this.#statusWaiters.get(instance) ?? new Set();
      this.#statusWaiters.set(instance, waiters);
      const finish = (changed: boolean) => {
        clearTimeout(timer);
        this.#closed.signal.removeEventListener("abort", onStop);
        abort?.removeEventListener("abort", onStop);
        waiters.delete(onChange);
        if (waiters.size === 0) this.#statusWaiters.delete(instance);
        resolve(changed);
      };
      const onChange = () => finish(true);
      const onStop = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.#closed.signal.addEventListener("abort", onStop);
      abort?.addEventListener("abort", onStop);
      waiters.add(onChange);
    });
  }

  /** Wakes everyone and refreshes now (used after a reconnect, and by fault injection). */
  resync(): void {
    this.orchestrations.wakeAll();
    this.work.wakeAll();
    this.#scheduleRefresh(0);
  }

  /** Stops listening and ends every wait. */
  async close(): Promise<void> {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort();
    clearTimeout(this.#refreshTimer);
    this.#orchTimers.clear();
    this.#workTimers.clear();
    this.orchestrations.wakeAll();
    this.work.wakeAll();
    await this.#refreshing;
    await Promise.allSettled(this.#unlisten.map((unlisten) => unlisten()));
    this.#unlisten = [];
  }

  async #subscribe(): Promise<void> {
    try {
      if (!this.#channels) {
        const [row] = await this.#driver.query<Channels>(
          `select ${this.#schema}.notify_channel('orch') as orch,
                  ${this.#schema}.notify_channel('work') as work,
                  ${this.#schema}.notify_channel('status') as status`,
        );
        this.#channels = row;
      }
      const { orch, work, status } = this.#channels;
      const onReconnect = () => {
        // Subscribed again, but notifications sent while disconnected are lost: everyone
        // re-queries, and the refresh pings the new subscription.
        this.resync();
      };
      this.#unlisten = [
        await this.#driver.listen(orch, (p) => this.#onQueue(p, "orch"), onReconnect),
        await this.#driver.listen(work, (p) => this.#onQueue(p, "work"), onReconnect),
        await this.#driver.listen(status, (p) => this.#onStatus(p), onReconnect),
      ];
    } catch {
      this.#healthy = false;
      await Promise.allSettled(this.#unlisten.map((unlisten) => unlisten()));
      this.#unlisten = [];
    }
  }

  #onQueue(payload: string, queue: "orch" | "work"): void {
    this.#healthy = true; // a notification arrived, so the subscription works
    if (payload.startsWith("ping:")) {
      if (payload === this.#pendingPing) this.#pendingPing = undefined;
      const waiters = this.#pongWaiters;
      this.#pongWaiters = [];
      for (const wake of waiters) wake();
      return;
    }
    const visibleAt = Number(payload);
    const signal = queue === "orch" ? this.orchestrations : this.work;
    if (!Number.isFinite(visibleAt) || visibleAt <= this.#clock()) {
      if (queue === "orch") signal.wakeOne();
      else signal.wakeAll();
    } else {
      (queue === "orch" ? this.#orchTimers : this.#workTimers).schedule(visibleAt);
    }
  }

  #onStatus(instance: string): void {
    this.#healthy = true;
    for (const wake of this.#statusWaiters.get(instance) ?? []) wake();
  }

  /** Resolves when the pending ping has come back, or after `timeoutMs`. */
  #pong(timeoutMs: number): Promise<void> {
    if (this.#pendingPing === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#pongWaiters.push(done);
    });
  }

  #scheduleRefresh(delayMs: number): void {
    if (this.#closed.signal.aborted) return;
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => {
      this.#refreshing = this.#refresh().finally(() => {
        this.#refreshing = undefined;
        this.#scheduleRefresh(this.#options.refreshIntervalMs);
      });
    }, delayMs);
  }

  async #refresh(): Promise<void> {
    if (this.#pendingPing !== undefined) {
      // The last refresh's ping never came back: the subscription is dead, so fall back to
      // querying on every fetch and subscribe again (healthy again once a ping arrives).
      this.#healthy = false;
      this.orchestrations.wakeAll();
      this.work.wakeAll();
      await Promise.allSettled(this.#unlisten.map((unlisten) => unlisten()));
      this.#unlisten = [];
    }
    if (this.#unlisten.length === 0) await this.#subscribe();
    const ping = `ping:${++this.#pingCounter}`;
    this.#pendingPing = this.#unlisten.length > 0 ? ping : undefined;
    let result: RefreshResult;
    try {
      const rows = await this.#driver.query<{ r: RefreshResult }>(
        `select ${this.#schema}.long_poll_refresh($1::bigint, $2::bigint, $3::text) as r`,
        [this.#clock(), this.#options.refreshIntervalMs + this.#options.timerGraceMs, ping],
      );
      result = rows[0].r;
    } catch {
      this.#pendingPing = undefined; // the database is unreachable, not the subscription
      return;
    }
    if (result.orch_due) this.orchestrations.wakeAll();
    if (result.work_due) this.work.wakeAll();
    for (const at of result.orch_times) this.#orchTimers.schedule(at);
    for (const at of result.work_times) this.#workTimers.schedule(at);
  }
}
