/**
 * The workload of a runtime simulation: which orchestrations to start and which messages the
 * outside world sends them, and the client actor that sends it all. The client's calls are
 * steps like any other (interleaved with the nodes'), but never struck by faults: the
 * simulation compares business outcomes, so what the outside world sent must be certain.
 *
 * @module
 */

import { Client } from "../../src/client/client.ts";
import type { Provider } from "../../src/provider_api.ts";
import type { Event } from "../../src/types.ts";
import type { SimActor } from "./scheduler.ts";
import { gatedProvider } from "./app_provider.ts";

/** An orchestration the workload starts. */
export interface WorkloadStart {
  /** Instance id. */
  instance: string;
  /** Registered orchestration name. */
  orchestration: string;
  /** Its input (JSON). */
  input?: unknown;
  /** A specific registered version (default: the latest). */
  version?: string;
}

/** What the outside world does during a run. */
export interface RuntimeWorkload {
  /** Orchestrations to start, in order. */
  starts: WorkloadStart[];
  /** Messages for event queues (`dequeueEvent`), sent after the starts, in order. */
  queueMessages?: { instance: string; queue: string; data?: unknown }[];
  /**
   * External events (`waitForEvent`), each raised once its instance waits for it: the k-th
   * event of a name is raised when the instance's latest execution has subscribed to that
   * name k times (an event raised before anyone waits is dropped, by design, so raising on a
   * timetable would make the outcome depend on timing).
   */
  events?: { instance: string; name: string; data?: unknown }[];
  /** Cancellations (`cancelInstance`), sent after the queue messages. */
  cancellations?: { instance: string; reason?: string }[];
}

function subscriptions(history: readonly Event[], name: string): number {
  return history.filter((e) => e.type === "ExternalSubscribed" && e.name === name).length;
}

/**
 * The client of a run: starts the workload's orchestrations, sends its queue messages and
 * cancellations, then raises each event once its instance waits for it.
 *
 * @example
 * ```ts ignore
 * scheduler.spawn("", "client", (actor) => workloadClient(actor, harness.provider(DRAIN_WORKER), workload));
 * ```
 */
export async function workloadClient(
  actor: SimActor,
  provider: Provider,
  workload: RuntimeWorkload,
): Promise<void> {
  const app = gatedProvider(actor, provider);
  const client = new Client(app);
  for (const s of workload.starts) {
    if (s.version === undefined) {
      await client.startOrchestration(s.instance, s.orchestration, s.input);
    } else {
      await client.startOrchestrationVersioned(s.instance, s.orchestration, s.input, s.version);
    }
  }
  for (const q of workload.queueMessages ?? []) {
    await client.enqueueEvent(q.instance, q.queue, q.data);
  }
  for (const c of workload.cancellations ?? []) {
    await client.cancelInstance(c.instance, c.reason);
  }
  const pending = [...(workload.events ?? [])];
  const raised = new Map<string, number>();
  let idle = false;
  while (pending.length) {
    let progressed = false;
    const checked = new Map<string, readonly Event[]>();
    for (const e of [...pending]) {
      let history = checked.get(e.instance);
      if (!history) {
        history = await actor.call(`read(${e.instance})`, () => provider.read(e.instance), {
          idle,
          quiet: () => true,
          describe: (h) => `${h.length} events`,
        });
        idle = false;
        checked.set(e.instance, history);
      }
      const execution = history.at(-1)?.executionId ?? 1;
      const key = `${e.instance}\u0000${e.name}\u0000${execution}`;
      // Events of one name go in order: a later one waits for the earlier ones.
      if (pending.find((x) => x.instance === e.instance && x.name === e.name) !== e) continue;
      if (subscriptions(history, e.name) <= (raised.get(key) ?? 0)) continue;
      await client.raiseEvent(e.instance, e.name, e.data);
      raised.set(key, (raised.get(key) ?? 0) + 1);
      pending.splice(pending.indexOf(e), 1);
      progressed = true;
    }
    idle = !progressed;
  }
}
