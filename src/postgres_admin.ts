/**
 * The management capability of {@linkcode PostgresProvider}: listing, inspection, deletion and
 * pruning, each one stored-procedure call (trees are walked by a recursive query, bulk
 * operations are set-based).
 *
 * @module
 */

import type {
  DeleteInstanceResult,
  ExecutionInfo,
  InstanceFilter,
  InstanceInfo,
  InstanceTree,
  ProviderAdmin,
  PruneOptions,
  PruneResult,
  QueueDepths,
  SystemMetrics,
} from "./provider_api.ts";
import {
  decodeHistory,
  type ProcedureArg,
  type ProcedureCaller,
  type ProcedureName,
} from "./stored_procedures.ts";
import type { Event } from "./types.ts";
import { optionalNonNegativeInt, requirePositiveInt, requireString } from "./validate.ts";

const DEFAULT_BULK_LIMIT = 1000;

type Row = Record<string, unknown>;

function deleteResult(r: Row): DeleteInstanceResult {
  return {
    instancesDeleted: Number(r.instances_deleted),
    executionsDeleted: Number(r.executions_deleted),
    eventsDeleted: Number(r.events_deleted),
    queueMessagesDeleted: Number(r.queue_messages_deleted),
  };
}

function pruneResult(r: Row): PruneResult {
  return {
    instancesProcessed: Number(r.instances_processed),
    executionsDeleted: Number(r.executions_deleted),
    eventsDeleted: Number(r.events_deleted),
  };
}

/** Options of {@linkcode PostgresAdmin.listInstancesPage}. */
export interface ListInstancesPageOptions {
  /** Only instances whose current execution has this status. */
  status?: string | null;
  /** The `nextCursor` of the previous page; omit for the first page. */
  cursor?: string | null;
  /** Page size, 1–10,000. @default {100} */
  limit?: number;
}

/** One page of instance ids. */
export interface InstancePage {
  /** Instance ids in id order. */
  instanceIds: string[];
  /** Pass to the next call to continue; `null` after the last page. */
  nextCursor: string | null;
}

/** Implements {@linkcode ProviderAdmin} with the management stored procedures. */
export class PostgresAdmin implements ProviderAdmin {
  readonly #sp: ProcedureCaller;
  readonly #clock: () => number;

  /** Calls the management procedures through `sp` (the provider's procedure caller). */
  constructor(sp: ProcedureCaller, clock: () => number) {
    this.#sp = sp;
    this.#clock = clock;
  }

  /** Calls a management procedure; they all return a value (errors are raised). */
  async #call<T>(operation: string, name: ProcedureName, args: ProcedureArg[]): Promise<T> {
    return await this.#sp.call<T>(operation, name, args) as T;
  }

  /** All instance ids, newest first. */
  listInstances(): Promise<string[]> {
    return this.#call("list_instances", "list_instances", [null]);
  }

  /** Instance ids whose current execution has `status`. */
  listInstancesByStatus(status: string): Promise<string[]> {
    requireString("status", status);
    return this.#call("list_instances_by_status", "list_instances", [status]);
  }

  /**
   * One page of instance ids in id order (a key cursor, stable while instances come and go).
   *
   * @example Walk every completed instance
   * ```ts ignore
   * const admin = provider.asManagementCapability();
   * let cursor: string | null = null;
   * do {
   *   const page = await admin.listInstancesPage({ status: "Completed", cursor, limit: 500 });
   *   console.log(page.instanceIds);
   *   cursor = page.nextCursor;
   * } while (cursor !== null);
   * ```
   */
  async listInstancesPage(options: ListInstancesPageOptions = {}): Promise<InstancePage> {
    const { status = null, cursor = null, limit = 100 } = options;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
      throw new RangeError(`Invalid limit: expected an integer from 1 to 10000, got ${limit}`);
    }
    const r = await this.#call<{ instance_ids: string[]; next_cursor: string | null }>(
      "list_instances_page",
      "list_instances_page",
      [status, cursor, limit],
    );
    return { instanceIds: r.instance_ids, nextCursor: r.next_cursor };
  }

  /** Execution ids of an instance, ascending. */
  listExecutions(instance: string): Promise<number[]> {
    requireString("instance", instance);
    return this.#call("list_executions", "list_executions", [instance]);
  }

  /** One execution's history. */
  async readHistoryWithExecutionId(instance: string, executionId: number): Promise<Event[]> {
    requireString("instance", instance);
    requirePositiveInt("executionId", executionId);
    const op = "read_history_with_execution_id";
    const rows = await this.#call<string[]>(op, "read_history", [
      instance,
      executionId,
    ]);
    return decodeHistory(op, instance, rows);
  }

  /** The latest execution's history. */
  async readHistory(instance: string): Promise<Event[]> {
    requireString("instance", instance);
    const rows = await this.#call<string[]>("read_history", "read_history", [
      instance,
      null,
    ]);
    return decodeHistory("read_history", instance, rows);
  }

  /** The highest execution id, or 1 when the instance has none. */
  async latestExecutionId(instance: string): Promise<number> {
    const ids = await this.listExecutions(instance);
    return ids.at(-1) ?? 1;
  }

  /** An instance and its current execution's status; `NOT_FOUND` for an unknown instance. */
  async getInstanceInfo(instance: string): Promise<InstanceInfo> {
    requireString("instance", instance);
    const r = await this.#call<Row>("get_instance_info", "get_instance_info", [instance]);
    return {
      instanceId: r.instance_id as string,
      orchestrationName: r.orchestration_name as string,
      orchestrationVersion: r.orchestration_version as string,
      currentExecutionId: Number(r.current_execution_id),
      status: r.status as string,
      output: (r.output ?? null) as string | null,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      parentInstanceId: (r.parent_instance_id ?? null) as string | null,
    };
  }

  /** One execution; `NOT_FOUND` when it does not exist. */
  async getExecutionInfo(instance: string, executionId: number): Promise<ExecutionInfo> {
    requireString("instance", instance);
    requirePositiveInt("executionId", executionId);
    const r = await this.#call<Row>("get_execution_info", "get_execution_info", [
      instance,
      executionId,
    ]);
    return {
      executionId: Number(r.execution_id),
      status: r.status as string,
      output: (r.output ?? null) as string | null,
      startedAt: Number(r.started_at),
      completedAt: r.completed_at === null ? null : Number(r.completed_at),
      eventCount: Number(r.event_count),
    };
  }

  /** Totals over the store. */
  async getSystemMetrics(): Promise<SystemMetrics> {
    const r = await this.#call<Row>("get_system_metrics", "get_system_metrics", []);
    return {
      totalInstances: Number(r.total_instances),
      totalExecutions: Number(r.total_executions),
      runningInstances: Number(r.running_instances),
      completedInstances: Number(r.completed_instances),
      failedInstances: Number(r.failed_instances),
      totalEvents: Number(r.total_events),
    };
  }

  /** Visible, unheld rows per queue. */
  async getQueueDepths(): Promise<QueueDepths> {
    const r = await this.#call<Row>("get_queue_depths", "get_queue_depths", [
      this.#clock(),
    ]);
    return {
      orchestratorQueue: Number(r.orchestrator_queue),
      workerQueue: Number(r.worker_queue),
      timerQueue: 0,
    };
  }

  /** Direct children of an instance. */
  listChildren(instance: string): Promise<string[]> {
    requireString("instance", instance);
    return this.#call("list_children", "list_children", [instance]);
  }

  /** The parent of an instance, `null` for a root; `NOT_FOUND` for an unknown instance. */
  async getParentId(instance: string): Promise<string | null> {
    requireString("instance", instance);
    const r = await this.#call<Row>("get_parent_id", "get_parent_id", [instance]);
    return (r.parent_instance_id ?? null) as string | null;
  }

  /** The instance and all its descendants. */
  async getInstanceTree(instance: string): Promise<InstanceTree> {
    requireString("instance", instance);
    const r = await this.#call<Row>("get_instance_tree", "get_instance_tree", [
      instance,
    ]);
    return { rootId: r.root_id as string, allIds: r.all_ids as string[] };
  }

  /** Deletes these instances atomically (see the codes `INSTANCE_RUNNING`, `ORPHAN_DETECTED`). */
  async deleteInstancesAtomic(ids: string[], force: boolean): Promise<DeleteInstanceResult> {
    ids.forEach((id, i) => requireString(`ids[${i}]`, id));
    const r = await this.#call<Row>("delete_instances_atomic", "delete_instances_json", [
      JSON.stringify(ids),
      Boolean(force),
    ]);
    return deleteResult(r);
  }

  /** Deletes a root instance with its whole tree (`NOT_ROOT` for a sub-orchestration). */
  async deleteInstance(instance: string, force: boolean): Promise<DeleteInstanceResult> {
    requireString("instance", instance);
    const r = await this.#call<Row>("delete_instance", "delete_instance", [
      instance,
      Boolean(force),
    ]);
    return deleteResult(r);
  }

  /** Deletes up to `limit` terminal root instances (with their trees) matching the filter. */
  async deleteInstanceBulk(filter: InstanceFilter): Promise<DeleteInstanceResult> {
    const r = await this.#call<Row>("delete_instance_bulk", "delete_instance_bulk", [
      filter.instanceIds ? JSON.stringify(filter.instanceIds) : null,
      optionalNonNegativeInt("completedBefore", filter.completedBefore),
      optionalNonNegativeInt("limit", filter.limit) ?? DEFAULT_BULK_LIMIT,
    ]);
    return deleteResult(r);
  }

  /** Deletes old executions of an instance; `NOT_FOUND` for an unknown instance. */
  async pruneExecutions(instance: string, options: PruneOptions): Promise<PruneResult> {
    requireString("instance", instance);
    const r = await this.#call<Row>("prune_executions", "prune_executions", [
      instance,
      optionalNonNegativeInt("keepLast", options.keepLast),
      optionalNonNegativeInt("completedBefore", options.completedBefore),
    ]);
    return pruneResult(r);
  }

  /** Prunes up to `limit` instances (running ones included) matching the filter. */
  async pruneExecutionsBulk(filter: InstanceFilter, options: PruneOptions): Promise<PruneResult> {
    const r = await this.#call<Row>("prune_executions_bulk", "prune_executions_bulk", [
      filter.instanceIds ? JSON.stringify(filter.instanceIds) : null,
      optionalNonNegativeInt("completedBefore", filter.completedBefore),
      optionalNonNegativeInt("limit", filter.limit) ?? DEFAULT_BULK_LIMIT,
      optionalNonNegativeInt("keepLast", options.keepLast),
      optionalNonNegativeInt("completedBefore", options.completedBefore),
    ]);
    return pruneResult(r);
  }
}
