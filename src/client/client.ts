/**
 * {@linkcode Client}: starts orchestrations, sends them events, reads their status and waits
 * for them, with duroxide-node's method names. It talks only to the provider.
 *
 * Inputs and event data are JSON-encoded on the way in; outputs are JSON-decoded on the way
 * out (an output that is not JSON comes back as the string).
 *
 * @module
 */

import { displayMessage } from "../error_details.ts";
import type {
  DeleteInstanceResult,
  ExecutionInfo,
  InstanceFilter,
  InstanceInfo,
  InstanceTree,
  Provider,
  ProviderAdmin,
  PruneOptions,
  PruneResult,
  QueueDepths,
  SystemMetrics,
} from "../provider_api.ts";
import type { Event, SystemStats, WorkItem } from "../types.ts";
import { requireNonNegativeInt, requireString } from "../validate.ts";
import { decodePayload, encodePayload } from "../runtime/replay/payload.ts";

/** Where an orchestration stands. */
export type OrchestrationStatusName = "Running" | "Completed" | "Failed" | "NotFound";

/** The status of an orchestration, as {@linkcode Client.getStatus} reports it. */
export interface OrchestrationStatus {
  /** `"Running"`, `"Completed"`, `"Failed"` or `"NotFound"`. */
  status: OrchestrationStatusName;
  /** The decoded output of a completed orchestration. */
  output?: unknown;
  /** The error message of a failed orchestration. */
  error?: string;
  /** The custom status, when one is set. */
  customStatus?: string | null;
  /** Incremented by every change of the custom status (0 when never set). */
  customStatusVersion: number;
}

/** A history event as {@linkcode Client.readExecutionHistory} lists it. */
export interface HistoryEventView {
  /** The event id. */
  eventId: number;
  /** The event's type, e.g. `"ActivityCompleted"`. */
  kind: string;
  /** The scheduling event of a completion, else `null`. */
  sourceEventId: number | null;
  /** When the runtime recorded the event, epoch ms. */
  timestampMs: number;
  /** The kind-specific fields as JSON text. */
  data: string;
}

/** Why a client call failed (storage failures are `ProviderError`s instead). */
export type ClientErrorCode = "TIMEOUT" | "MANAGEMENT_NOT_AVAILABLE";

/** A failure of the client itself. */
export class ClientError extends Error {
  /** Always `"ClientError"`. */
  override readonly name = "ClientError";
  /** What went wrong. */
  readonly code: ClientErrorCode;

  /** Creates an error with a code. */
  constructor(code: ClientErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** A provider that can announce instance changes (as `PostgresProvider` does). */
interface ChangeAnnouncingProvider extends Provider {
  waitForInstanceChange(instance: string, timeoutMs: number, abort?: AbortSignal): Promise<boolean>;
  readonly longPollHealthy?: boolean;
}

/** Whether change notifications are available right now (else the client polls). */
function announcesChanges(provider: Provider): provider is ChangeAnnouncingProvider {
  const candidate = provider as Partial<ChangeAnnouncingProvider>;
  return typeof candidate.waitForInstanceChange === "function" &&
    candidate.longPollHealthy !== false;
}

/** How long a notified wait trusts notifications before reading again anyway. */
const FALLBACK_POLL_MS = 2_000;
/** Polling of providers without notifications: 5 ms, doubling up to 100 ms. */
const POLL_START_MS = 5;
const POLL_MAX_MS = 100;

const DEFAULT_WAIT_MS = 30_000;

function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      abort?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort?.addEventListener("abort", done);
  });
}

/**
 * Starts and observes orchestrations through a provider.
 *
 * @example
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { Client, PostgresProvider } from "@duroxide/pg";
 *
 * const db = await PGlite.create();
 * await using provider = await PostgresProvider.fromPGlite(db);
 * const client = new Client(provider);
 * await client.startOrchestration("order-1", "ProcessOrder", { id: 1 });
 * console.assert((await client.getStatus("order-1")).status === "NotFound"); // no turn yet
 * await db.close();
 * ```
 */
export class Client {
  readonly #provider: Provider;

  /** Binds the client to a provider. */
  constructor(provider: Provider) {
    this.#provider = provider;
  }

  // --- starting and signalling ----------------------------------------------------------------

  /** Starts an orchestration (its latest registered version) with a JSON input. */
  async startOrchestration(instanceId: string, name: string, input?: unknown): Promise<void> {
    await this.#start(instanceId, name, input, null);
  }

  /** Starts a specific version of an orchestration. */
  async startOrchestrationVersioned(
    instanceId: string,
    name: string,
    input: unknown,
    version: string,
  ): Promise<void> {
    requireString("version", version);
    await this.#start(instanceId, name, input, version);
  }

  /** {@linkcode Client.startOrchestration} with a typed input. */
  startOrchestrationTyped<T>(instanceId: string, name: string, input: T): Promise<void> {
    return this.startOrchestration(instanceId, name, input);
  }

  /** Raises an external event, delivered to a matching `waitForEvent`. */
  async raiseEvent(instanceId: string, name: string, data?: unknown): Promise<void> {
    requireString("instanceId", instanceId);
    requireString("name", name);
    await this.#provider.enqueueForOrchestrator(
      { type: "ExternalRaised", instance: instanceId, name, data: encodePayload(data) },
      null,
    );
  }

  /** {@linkcode Client.raiseEvent} with typed data. */
  raiseEventTyped<T>(instanceId: string, name: string, data: T): Promise<void> {
    return this.raiseEvent(instanceId, name, data);
  }

  /** Appends a message to an instance's persistent event queue (read with `dequeueEvent`). */
  async enqueueEvent(instanceId: string, queue: string, data?: unknown): Promise<void> {
    requireString("instanceId", instanceId);
    requireString("queue", queue);
    await this.#provider.enqueueForOrchestrator(
      { type: "QueueMessage", instance: instanceId, name: queue, data: encodePayload(data) },
      null,
    );
  }

  /** {@linkcode Client.enqueueEvent} with typed data. */
  enqueueEventTyped<T>(instanceId: string, queue: string, data: T): Promise<void> {
    return this.enqueueEvent(instanceId, queue, data);
  }

  /** Asks an orchestration (and its children) to cancel. */
  async cancelInstance(instanceId: string, reason = ""): Promise<void> {
    requireString("instanceId", instanceId);
    await this.#provider.enqueueForOrchestrator(
      { type: "CancelInstance", instance: instanceId, reason },
      null,
    );
  }

  // --- status ---------------------------------------------------------------------------------

  /** The status of the instance's latest execution, with its custom status. */
  async getStatus(instanceId: string): Promise<OrchestrationStatus> {
    requireString("instanceId", instanceId);
    const [history, custom] = await Promise.all([
      this.#provider.read(instanceId),
      this.#provider.getCustomStatus(instanceId, 0),
    ]);
    const customFields = custom
      ? { customStatus: custom.status, customStatusVersion: custom.version }
      : { customStatusVersion: 0 };
    for (let i = history.length - 1; i >= 0; i--) {
      const event = history[i];
      if (event.type === "OrchestrationCompleted") {
        return { status: "Completed", output: decodePayload(event.output), ...customFields };
      }
      if (event.type === "OrchestrationFailed") {
        return { status: "Failed", error: displayMessage(event.details), ...customFields };
      }
      if (event.type === "OrchestrationStarted") return { status: "Running", ...customFields };
    }
    return { status: "NotFound", ...customFields };
  }

  /**
   * Waits until the orchestration completes or fails and returns its status.
   *
   * On a provider with notifications (`PostgresProvider` with long polling) it wakes when the
   * instance changes and reads again at most every 2 s as a fallback; on others it polls
   * (5 ms, doubling to 100 ms).
   *
   * @throws {ClientError} `TIMEOUT` when `timeoutMs` passes first.
   */
  async waitForOrchestration(
    instanceId: string,
    timeoutMs: number = DEFAULT_WAIT_MS,
  ): Promise<OrchestrationStatus> {
    requireNonNegativeInt("timeoutMs", timeoutMs);
    return await this.#waitUntil(instanceId, timeoutMs, FALLBACK_POLL_MS, async () => {
      const status = await this.getStatus(instanceId);
      return status.status === "Completed" || status.status === "Failed" ? status : null;
    });
  }

  /** {@linkcode Client.waitForOrchestration}, with the output typed. */
  async waitForOrchestrationTyped<T>(
    instanceId: string,
    timeoutMs?: number,
  ): Promise<OrchestrationStatus & { output?: T }> {
    return await this.waitForOrchestration(instanceId, timeoutMs) as OrchestrationStatus & {
      output?: T;
    };
  }

  /**
   * Waits until the custom status version is newer than `lastSeenVersion` (or the
   * orchestration finished) and returns the status.
   *
   * @throws {ClientError} `TIMEOUT` when `timeoutMs` passes first.
   */
  async waitForStatusChange(
    instanceId: string,
    lastSeenVersion: number,
    pollIntervalMs: number = FALLBACK_POLL_MS,
    timeoutMs: number = DEFAULT_WAIT_MS,
  ): Promise<OrchestrationStatus> {
    requireNonNegativeInt("lastSeenVersion", lastSeenVersion);
    requireNonNegativeInt("pollIntervalMs", pollIntervalMs);
    requireNonNegativeInt("timeoutMs", timeoutMs);
    return await this.#waitUntil(instanceId, timeoutMs, pollIntervalMs, async () => {
      const status = await this.getStatus(instanceId);
      const finished = status.status === "Completed" || status.status === "Failed";
      return status.customStatusVersion > lastSeenVersion || finished ? status : null;
    });
  }

  /**
   * Reads until `check` returns a value. Each round first registers for the instance's
   * change notification, then reads, so a change between the read and the wait is not missed.
   */
  async #waitUntil<T>(
    instanceId: string,
    timeoutMs: number,
    fallbackMs: number,
    check: () => Promise<T | null>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let pollMs = POLL_START_MS;
    for (;;) {
      const remaining = deadline - Date.now();
      const stop = new AbortController();
      const changed = announcesChanges(this.#provider)
        ? this.#provider.waitForInstanceChange(
          instanceId,
          Math.max(0, Math.min(remaining, fallbackMs)),
          stop.signal,
        )
        : null;
      try {
        const result = await check();
        if (result !== null) return result;
        if (remaining <= 0) {
          throw new ClientError(
            "TIMEOUT",
            `Timed out after ${timeoutMs} ms waiting for orchestration ${instanceId}`,
          );
        }
        if (changed) await changed;
        else {
          await sleep(Math.min(pollMs, remaining));
          pollMs = Math.min(pollMs * 2, POLL_MAX_MS);
        }
      } finally {
        stop.abort();
      }
    }
  }

  // --- KV ------------------------------------------------------------------------------------

  /** One KV value of an instance, or `null`. */
  getValue(instanceId: string, key: string): Promise<string | null> {
    return this.#provider.getKvValue(instanceId, key);
  }

  /**
   * Waits until the key has a value and returns it.
   *
   * @throws {ClientError} `TIMEOUT` when `timeoutMs` passes first.
   */
  async waitForValue(
    instanceId: string,
    key: string,
    timeoutMs: number = DEFAULT_WAIT_MS,
  ): Promise<string> {
    requireNonNegativeInt("timeoutMs", timeoutMs);
    const deadline = Date.now() + timeoutMs;
    let pollMs = POLL_START_MS;
    for (;;) {
      const value = await this.#provider.getKvValue(instanceId, key);
      if (value !== null) return value;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new ClientError("TIMEOUT", `Timed out after ${timeoutMs} ms waiting for ${key}`);
      }
      await sleep(Math.min(pollMs, remaining));
      pollMs = Math.min(pollMs * 2, POLL_MAX_MS);
    }
  }

  /** All KV values of an instance. */
  getKvAllValues(instanceId: string): Promise<Record<string, string>> {
    return this.#provider.getKvAllValues(instanceId);
  }

  // --- management -----------------------------------------------------------------------------

  /** Whether the provider offers the management API. */
  hasManagementCapability(): boolean {
    return this.#provider.asManagementCapability() !== null;
  }

  #admin(): ProviderAdmin {
    const admin = this.#provider.asManagementCapability();
    if (!admin) {
      throw new ClientError("MANAGEMENT_NOT_AVAILABLE", "The provider has no management API");
    }
    return admin;
  }

  /** Totals over the store. */
  getSystemMetrics(): Promise<SystemMetrics> {
    return this.#admin().getSystemMetrics();
  }

  /** Queue depths. */
  getQueueDepths(): Promise<QueueDepths> {
    return this.#admin().getQueueDepths();
  }

  /** Storage figures of an instance's current execution, or `null` for an unknown instance. */
  getOrchestrationStats(instanceId: string): Promise<SystemStats | null> {
    return this.#provider.getInstanceStats(instanceId);
  }

  /** All instance ids. */
  listAllInstances(): Promise<string[]> {
    return this.#admin().listInstances();
  }

  /** Instance ids whose current execution has `status`. */
  listInstancesByStatus(status: string): Promise<string[]> {
    return this.#admin().listInstancesByStatus(status);
  }

  /** An instance and its current execution's status. */
  getInstanceInfo(instanceId: string): Promise<InstanceInfo> {
    return this.#admin().getInstanceInfo(instanceId);
  }

  /** One execution of an instance. */
  getExecutionInfo(instanceId: string, executionId: number): Promise<ExecutionInfo> {
    return this.#admin().getExecutionInfo(instanceId, executionId);
  }

  /** Execution ids of an instance, ascending. */
  listExecutions(instanceId: string): Promise<number[]> {
    return this.#admin().listExecutions(instanceId);
  }

  /** One execution's history, one entry per event. */
  async readExecutionHistory(
    instanceId: string,
    executionId: number,
  ): Promise<HistoryEventView[]> {
    const events = await this.#admin().readHistoryWithExecutionId(instanceId, executionId);
    return events.map(viewOf);
  }

  /** The instance and all its descendants. */
  getInstanceTree(instanceId: string): Promise<InstanceTree> {
    return this.#admin().getInstanceTree(instanceId);
  }

  /** Deletes a root instance with its whole tree (`force` also deletes running ones). */
  deleteInstance(instanceId: string, force = false): Promise<DeleteInstanceResult> {
    return this.#admin().deleteInstance(instanceId, force);
  }

  /** Deletes terminal root instances matching the filter. */
  deleteInstanceBulk(filter: InstanceFilter = {}): Promise<DeleteInstanceResult> {
    return this.#admin().deleteInstanceBulk(filter);
  }

  /** Deletes old executions of an instance. */
  pruneExecutions(instanceId: string, options: PruneOptions = {}): Promise<PruneResult> {
    return this.#admin().pruneExecutions(instanceId, options);
  }

  /** Deletes old executions of every instance matching the filter. */
  pruneExecutionsBulk(
    filter: InstanceFilter = {},
    options: PruneOptions = {},
  ): Promise<PruneResult> {
    return this.#admin().pruneExecutionsBulk(filter, options);
  }

  async #start(instanceId: string, name: string, input: unknown, version: string | null) {
    requireString("instanceId", instanceId);
    requireString("name", name);
    const item: WorkItem = {
      type: "StartOrchestration",
      instance: instanceId,
      orchestration: name,
      input: encodePayload(input),
      version,
      parentInstance: null,
      parentId: null,
      executionId: 1,
    };
    await this.#provider.enqueueForOrchestrator(item, null);
  }
}

const COMMON_FIELDS = new Set([
  "eventId",
  "sourceEventId",
  "instanceId",
  "executionId",
  "timestampMs",
  "duroxideVersion",
  "type",
]);

function viewOf(event: Event): HistoryEventView {
  const fields = Object.fromEntries(
    Object.entries(event).filter(([key]) => !COMMON_FIELDS.has(key)),
  );
  return {
    eventId: event.eventId,
    kind: event.type,
    sourceEventId: event.sourceEventId,
    timestampMs: event.timestampMs,
    data: JSON.stringify(fields),
  };
}
