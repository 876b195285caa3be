/**
 * Scheduling: binds the tasks orchestration code yields to recorded or new actions, emits the
 * work of new ones (activities, timers, child starts), and cancels the losers of a race.
 *
 * @module
 */

import type { Event, EventKind, WorkItem } from "../../types.ts";
import type { ActionLog, EventStamp } from "./action_log.ts";
import type { BoundTask } from "./bound_task.ts";
import type { Outputs } from "./finish.ts";
import { MAX_TAG_NAME_BYTES, utf8Length } from "./limits.ts";
import type { Subscriptions } from "./subscriptions.ts";
import { SYSCALL_GET_KV_VALUE, SYSCALL_NEW_GUID, SYSCALL_UTC_NOW_MS } from "./system_activities.ts";
import type { ScheduledTask } from "./tasks.ts";
import { composableTask, resolvedTask, single, type Waiter } from "./waiters.ts";

/**
 * The tasks of one turn: binds what the code yields and keeps each task under the id of the
 * event that scheduled it, where history delivers its outcome.
 *
 * @example
 * ```ts ignore
 * const scheduler = new Scheduler(log, outputs, stamp, subscriptions, reportLimit);
 * const waiter = scheduler.schedule(yieldedTask);
 * ```
 */
export class Scheduler {
  readonly #log: ActionLog;
  readonly #out: Outputs;
  readonly #stamp: EventStamp;
  readonly #subscriptions: Subscriptions;
  readonly #limit: (message: string) => void;
  readonly #tasks = new Map<number, BoundTask>();
  /** What each yielded descriptor was bound to: yielding it again waits for the same work. */
  readonly #byDescriptor = new WeakMap<object, Waiter>();

  /** Schedules into `log` and `out`; `limit` reports a broken size limit. */
  constructor(
    log: ActionLog,
    out: Outputs,
    stamp: EventStamp,
    subscriptions: Subscriptions,
    limit: (message: string) => void,
  ) {
    this.#log = log;
    this.#out = out;
    this.#stamp = stamp;
    this.#subscriptions = subscriptions;
    this.#limit = limit;
  }

  /** The task scheduled by event `eventId`, if any. */
  task(eventId: number): BoundTask | undefined {
    return this.#tasks.get(eventId);
  }

  /** Every task bound this turn. */
  tasks(): BoundTask[] {
    return [...this.#tasks.values()];
  }

  #register(kind: BoundTask["kind"], event: Event, isNew: boolean, extra = {}): BoundTask {
    const task: BoundTask = { kind, eventId: event.eventId, isNew, status: "pending", ...extra };
    this.#tasks.set(event.eventId, task);
    return task;
  }

  #activity(
    name: string,
    input: string,
    kind: BoundTask["kind"],
    sessionId?: string,
    tag?: string,
  ): BoundTask {
    const ev: EventKind = { type: "ActivityScheduled", name, input };
    if (sessionId !== undefined) ev.sessionId = sessionId;
    if (tag !== undefined) ev.tag = tag;
    const { event, isNew } = this.#log.bind(ev);
    if (isNew) {
      if (tag !== undefined && utf8Length(tag) > MAX_TAG_NAME_BYTES) {
        this.#limit(`tag of activity ${name} exceeds ${MAX_TAG_NAME_BYTES} bytes`);
      }
      const item: WorkItem = {
        type: "ActivityExecute",
        instance: this.#stamp.instance,
        executionId: this.#stamp.executionId,
        id: event.eventId,
        name,
        input,
      };
      if (sessionId !== undefined) item.sessionId = sessionId;
      if (tag !== undefined) item.tag = tag;
      this.#out.workerItems.push(item);
    }
    return this.#register(kind, event, isNew);
  }

  /**
   * Emits the actions of a single task and returns what to wait for. A descriptor yielded
   * again is the same task (e.g. one deadline timer raced by several waits), not a new one.
   */
  #primitive(task: ScheduledTask): Waiter {
    const known = typeof task === "object" && task !== null
      ? this.#byDescriptor.get(task)
      : undefined;
    if (known) {
      if (known.mode === "single" && known.task.status === "dropped") {
        throw new TypeError("Cannot wait for a task that a race cancelled");
      }
      return known;
    }
    const waiter = this.#bindPrimitive(task);
    if (typeof task === "object" && task !== null) this.#byDescriptor.set(task, waiter);
    return waiter;
  }

  #bindPrimitive(task: ScheduledTask): Waiter {
    switch (task?.type) {
      case "activity":
        return single(this.#activity(task.name, task.input, "activity", task.sessionId, task.tag));
      case "newGuid":
        return single(this.#activity(SYSCALL_NEW_GUID, "", "guid"));
      case "utcNow":
        return single(this.#activity(SYSCALL_UTC_NOW_MS, "", "now"));
      case "getValueFromInstance": {
        const input = JSON.stringify({ instance_id: task.instanceId, key: task.key });
        return single(this.#activity(SYSCALL_GET_KV_VALUE, input, "kvRead"));
      }
      case "timer": {
        const delay = Math.max(0, Math.floor(Number(task.delayMs) || 0));
        const { event, isNew } = this.#log.bind({
          type: "TimerCreated",
          fireAtMs: this.#stamp.nowMs + delay,
        });
        if (isNew) {
          this.#out.orchestratorItems.push({
            type: "TimerFired",
            instance: this.#stamp.instance,
            executionId: this.#stamp.executionId,
            id: event.eventId,
            fireAtMs: (event as Event & { type: "TimerCreated" }).fireAtMs,
          });
        }
        return single(this.#register("timer", event, isNew));
      }
      case "waitEvent": {
        const { event, isNew } = this.#log.bind({ type: "ExternalSubscribed", name: task.name });
        const t = this.#register("wait", event, isNew, { name: task.name });
        this.#subscriptions.addWait(t);
        return single(t);
      }
      case "dequeueEvent": {
        const { event, isNew } = this.#log.bind({ type: "QueueSubscribed", name: task.queueName });
        const t = this.#register("dequeue", event, isNew, { name: task.queueName });
        this.#subscriptions.addDequeue(t);
        return single(t);
      }
      case "subOrchestration": {
        const { event, isNew } = this.#log.bind({
          type: "SubOrchestrationScheduled",
          name: task.name,
          instance: task.instanceId ?? "",
          input: task.input,
        });
        const shortId = task.instanceId ?? `sub::${event.eventId}`;
        const child = task.instanceId ?? `${this.#stamp.instance}::sub::${event.eventId}`;
        if (isNew) {
          (event as Event & { type: "SubOrchestrationScheduled" }).instance = shortId;
          this.#out.orchestratorItems.push({
            type: "StartOrchestration",
            instance: child,
            orchestration: task.name,
            input: task.input,
            version: task.version,
            parentInstance: this.#stamp.instance,
            parentId: event.eventId,
            executionId: 1,
          });
        }
        return single(this.#register("subOrch", event, isNew, { childInstance: child }));
      }
      case "orchestration": {
        const { isNew } = this.#log.bind({
          type: "OrchestrationChained",
          name: task.name,
          instance: task.instanceId,
          input: task.input,
        });
        if (isNew) {
          this.#out.detached.push({
            type: "StartOrchestration",
            instance: task.instanceId,
            orchestration: task.name,
            input: task.input,
            version: task.version,
            parentInstance: null,
            parentId: null,
            executionId: 1,
          });
        }
        return { mode: "value", value: null };
      }
      default:
        throw new TypeError(
          `Cannot yield ${describeYield(task)}: yield a task from the orchestration context`,
        );
    }
  }

  /**
   * Binds what the code yielded (a task, `all` or `race`) and returns what it waits for.
   *
   * @throws {TypeError} for something that is not a task (thrown into the code).
   */
  schedule(task: ScheduledTask): Waiter {
    if (task?.type !== "join" && task?.type !== "select") return this.#primitive(task);
    const tasks = (task.tasks ?? []).map((t) => {
      const w = this.#primitive(composableTask(t, task.type));
      return w.mode === "single" ? w.task : resolvedTask(w);
    });
    if (task.type === "select" && tasks.length === 0) {
      throw new TypeError("Cannot race zero tasks");
    }
    return task.type === "join" ? { mode: "all", tasks } : { mode: "race", tasks };
  }

  /** Cancels the pending losers of a race (recorded, so replay re-checks them). */
  dropLosers(w: Waiter): void {
    if (w.mode !== "race") return;
    for (const t of w.tasks) {
      if (t.status === "pending") this.#cancelTask(t, "dropped_future");
    }
  }

  #cancelTask(t: BoundTask, reason: string): void {
    // A timer is not cancelled: nothing is recorded for it, and it may still be raced again.
    if (t.kind === "timer") return;
    t.status = "dropped";
    switch (t.kind) {
      case "wait":
      case "dequeue": {
        const type = t.kind === "wait"
          ? "ExternalSubscribedCancelled"
          : "QueueSubscriptionCancelled";
        this.#log.bind({ type, reason }, t.eventId);
        return;
      }
      case "subOrch": {
        const { isNew } = this.#log.bind(
          { type: "SubOrchestrationCancelRequested", reason },
          t.eventId,
        );
        if (isNew) {
          this.#out.orchestratorItems.push({
            type: "CancelInstance",
            instance: t.childInstance!,
            reason: "parent dropped sub-orchestration future",
          });
        }
        return;
      }
      default: {
        const { isNew } = this.#log.bind({ type: "ActivityCancelRequested", reason }, t.eventId);
        if (isNew) {
          this.#out.cancelled.push({
            instance: this.#stamp.instance,
            executionId: this.#stamp.executionId,
            activityId: t.eventId,
          });
        }
      }
    }
  }
}

function describeYield(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  const type = (value as { type?: unknown }).type;
  return type === undefined ? "a non-task object" : `an unknown task type ${String(type)}`;
}
