/**
 * {@linkcode ActivityContext}: what an activity receives. It names the work item, logs traces,
 * and reports cancellation (the orchestration ended or the activity's lock was lost).
 *
 * @module
 */

import { Client } from "../client/client.ts";
import type { Provider } from "../provider_api.ts";
import type { Log } from "./logger.ts";

/** Identity of one activity execution. */
export interface ActivityIdentity {
  /** Instance that scheduled it. */
  instanceId: string;
  /** Execution that scheduled it. */
  executionId: number;
  /** Activity name. */
  activityName: string;
  /** Event id of its `ActivityScheduled` event. */
  activityId: number;
  /** The worker slot running it. */
  workerId: string;
  /** Session id, if scheduled on a session. */
  sessionId: string | null;
  /** Routing tag, if any. */
  tag: string | null;
}

/**
 * The context of one activity execution.
 *
 * @example
 * ```ts ignore
 * runtime.registerActivity("Download", async (ctx, url) => {
 *   ctx.traceInfo(`fetching ${url} for ${await ctx.orchestrationName()}`);
 *   const res = await fetch(String(url), { signal: ctx.signal });
 *   return await res.text();
 * });
 * ```
 */
export class ActivityContext {
  readonly #log: Log;
  readonly #provider: Provider;
  readonly #cancel = new AbortController();
  /** Instance that scheduled it. */
  readonly instanceId: string;
  /** Execution that scheduled it. */
  readonly executionId: number;
  /** Activity name. */
  readonly activityName: string;
  /** Event id of its `ActivityScheduled` event. */
  readonly activityId: number;
  /** The worker slot running it. */
  readonly workerId: string;
  /** Session id, if scheduled on a session. */
  readonly sessionId: string | null;
  readonly #tag: string | null;
  #orchestration: Promise<{ name: string; version: string } | null> | null = null;

  /** Created by the runtime for every activity execution. */
  constructor(identity: ActivityIdentity, log: Log, provider: Provider) {
    this.#log = log;
    this.#provider = provider;
    this.instanceId = identity.instanceId;
    this.executionId = identity.executionId;
    this.activityName = identity.activityName;
    this.activityId = identity.activityId;
    this.workerId = identity.workerId;
    this.sessionId = identity.sessionId;
    this.#tag = identity.tag;
  }

  /** The routing tag the activity was scheduled with, or `null`. */
  tag(): string | null {
    return this.#tag;
  }

  /**
   * The name of the orchestration that scheduled this activity, or `null` when its execution
   * is gone (deleted or pruned). Read from that execution's history on first use.
   */
  async orchestrationName(): Promise<string | null> {
    return (await this.#started())?.name ?? null;
  }

  /** The version of the orchestration that scheduled this activity (see `orchestrationName`). */
  async orchestrationVersion(): Promise<string | null> {
    return (await this.#started())?.version ?? null;
  }

  /** One history read per context, and only for activities that ask. */
  #started(): Promise<{ name: string; version: string } | null> {
    this.#orchestration ??= this.#provider.readWithExecution(this.instanceId, this.executionId)
      .then((history) => {
        const first = history[0];
        return first?.type === "OrchestrationStarted"
          ? { name: first.name, version: first.version }
          : null;
      }, (err) => {
        this.#orchestration = null; // a failed read may be retried
        throw err;
      });
    return this.#orchestration;
  }

  /** A client on the runtime's provider (to start or signal other orchestrations). */
  getClient(): Client {
    return new Client(this.#provider);
  }

  /** Whether the activity was cancelled; its result will be discarded. */
  isCancelled(): boolean {
    return this.#cancel.signal.aborted;
  }

  /** Aborts when the activity is cancelled (pass it to `fetch` and friends). */
  get signal(): AbortSignal {
    return this.#cancel.signal;
  }

  /** Marks the activity cancelled (called by the runtime). */
  cancel(reason: string): void {
    this.#cancel.abort(new Error(reason));
  }

  /** Logs at info level. */
  traceInfo(message: string): void {
    this.#trace("info", message);
  }

  /** Logs at warn level. */
  traceWarn(message: string): void {
    this.#trace("warn", message);
  }

  /** Logs at error level. */
  traceError(message: string): void {
    this.#trace("error", message);
  }

  /** Logs at debug level. */
  traceDebug(message: string): void {
    this.#trace("debug", message);
  }

  #trace(level: "info" | "warn" | "error" | "debug", message: string): void {
    this.#log({
      level,
      message,
      source: "activity",
      instanceId: this.instanceId,
      executionId: this.executionId,
      activityName: this.activityName,
    });
  }
}
