/**
 * Management at scale: a whole tree goes in one call, and bulk delete/prune over 10,000
 * instances honour limits and filters in one round trip each.
 */

import assert from "node:assert/strict";
import { ProviderError } from "../src/errors.ts";
import { PostgresProvider } from "../src/postgres_provider.ts";
import type { Event, WorkItem } from "../src/types.ts";
import { backendTest } from "./_support/backends.ts";
import { countingDriver } from "./_support/counting_driver.ts";
import { activityItem, makeEvent } from "../sim/validation/helpers.ts";

const TABLES = [
  "instances",
  "executions",
  "history",
  "orchestrator_queue",
  "worker_queue",
  "instance_locks",
  "kv_store",
  "kv_delta",
];

/** Starts `instance` (as a child of `parent`) and acks its first turn with a KV write. */
async function startInstance(
  provider: PostgresProvider,
  instance: string,
  parent: string | null,
  complete: boolean,
): Promise<void> {
  const start: WorkItem = {
    type: "StartOrchestration",
    instance,
    orchestration: "Tree",
    input: "{}",
    version: "1.0.0",
    parentInstance: parent,
    parentId: parent ? 2 : null,
    executionId: 1,
  };
  await provider.enqueueForOrchestrator(start, null);
  const turn = await provider.fetchOrchestrationItem(60_000, 0);
  assert.equal(turn?.item.instance, instance);
  const delta: Event[] = [
    makeEvent(instance, 1, 1, {
      type: "OrchestrationStarted",
      name: "Tree",
      version: "1.0.0",
      input: "{}",
      parentInstance: parent,
      parentId: parent ? 2 : null,
    }),
    makeEvent(instance, 1, 2, {
      type: "KeyValueSet",
      key: "k",
      value: instance,
      lastUpdatedAtMs: 1,
    }),
  ];
  if (complete) {
    delta.push(makeEvent(instance, 1, 3, { type: "OrchestrationCompleted", output: "" }));
  }
  await provider.ackOrchestrationItem(
    turn!.lockToken,
    1,
    delta,
    complete ? [] : [activityItem(instance, 1, 3)],
    [],
    {
      orchestrationName: "Tree",
      orchestrationVersion: "1.0.0",
      parentInstanceId: parent,
      status: complete ? "Completed" : null,
      output: complete ? "" : null,
    },
    [],
  );
}

backendTest("deleteInstance() removes a 200-instance, 3-level tree in one call", async (t) => {
  const counter = countingDriver(t.driver);
  const provider = await PostgresProvider.fromDriver(counter.driver, {
    schema: t.schema,
    longPoll: { enabled: false },
  });
  const admin = provider.asManagementCapability();
  const ids: string[] = ["root"];
  await startInstance(provider, "root", null, false);
  for (let c = 0; c < 9; c++) {
    const child = `root/c${c}`;
    ids.push(child);
    await startInstance(provider, child, "root", false);
    for (let g = 0; g < 22 && ids.length < 200; g++) {
      const grandchild = `${child}/g${g}`;
      ids.push(grandchild);
      await startInstance(provider, grandchild, child, g % 2 === 0);
    }
  }
  assert.equal(ids.length, 200);
  // Pending work of every kind: a queued event, a held lock, a current-execution KV write.
  await provider.enqueueForOrchestrator(
    { type: "ExternalRaised", instance: "root", name: "e", data: "" },
    null,
  );
  await provider.enqueueForOrchestrator(
    { type: "ExternalRaised", instance: "root/c3", name: "e", data: "" },
    null,
  );
  assert.ok(await provider.fetchOrchestrationItem(60_000, 0));
  const rowsOf = async () => {
    const counts: Record<string, number> = {};
    for (const table of TABLES) {
      const [row] = await t.sql<{ n: number }>(
        `select count(*)::int as n from "${t.schema}".${table} where instance_id = any($1::text[])`,
        [ids],
      );
      counts[table] = row.n;
    }
    return counts;
  };
  const before = await rowsOf();
  for (const table of TABLES) assert.ok(before[table] > 0, `fixture has no ${table} rows`);

  // A sub-orchestration cannot be deleted on its own; nothing changes.
  await assert.rejects(
    admin.deleteInstance("root/c4", true),
    (err) => err instanceof ProviderError && err.code === "NOT_ROOT" && /root/.test(err.message),
  );
  assert.deepEqual(await rowsOf(), before);

  const callsBefore = counter.calls;
  const result = await admin.deleteInstance("root", true);
  assert.equal(counter.calls - callsBefore, 1);
  assert.equal(result.instancesDeleted, 200);
  assert.equal(result.executionsDeleted, before.executions);
  assert.equal(result.eventsDeleted, before.history);
  assert.equal(result.queueMessagesDeleted, before.orchestrator_queue + before.worker_queue);
  assert.deepEqual(await rowsOf(), Object.fromEntries(TABLES.map((table) => [table, 0])));
});

const SEEDED = 10_000;
const BASE_MS = 1_700_000_000_000;

/**
 * Seeds SEEDED completed root instances directly in SQL (the provider API would take minutes):
 * three executions each (two ContinuedAsNew, the current one Completed), two events per
 * execution, completion times one second apart in id order.
 */
async function seedCompleted(t: { sql: (text: string) => Promise<unknown[]>; schema: string }) {
  const s = `"${t.schema}"`;
  await t.sql(
    `insert into ${s}.instances (instance_id, orchestration_name, orchestration_version,
       current_execution_id, status, created_at_ms, updated_at_ms)
     select 'bulk-' || lpad(n::text, 5, '0'), 'Bulk', '1.0.0', 3, 'Completed',
            ${BASE_MS} + n * 1000, ${BASE_MS} + n * 1000
       from generate_series(1, ${SEEDED}) n`,
  );
  await t.sql(
    `insert into ${s}.executions (instance_id, execution_id, status, output, started_at_ms,
       completed_at_ms, event_count)
     select 'bulk-' || lpad(n::text, 5, '0'), x,
            case when x = 3 then 'Completed' else 'ContinuedAsNew' end, '',
            ${BASE_MS} + n * 1000, ${BASE_MS} + n * 1000, 2
       from generate_series(1, ${SEEDED}) n, generate_series(1, 3) x`,
  );
  await t.sql(
    `insert into ${s}.history (instance_id, execution_id, event_id, event_type, event_data,
       created_at_ms)
     select 'bulk-' || lpad(n::text, 5, '0'), x, e, 'Seeded', '{}', ${BASE_MS}
       from generate_series(1, ${SEEDED}) n, generate_series(1, 3) x, generate_series(1, 2) e`,
  );
}

backendTest(
  "bulk delete and prune over 10,000 instances: limits, filters, one round trip",
  async (t) => {
    await t.createProvider(); // migrates the schema
    await seedCompleted(t);
    const counter = countingDriver(t.driver);
    const provider = await PostgresProvider.fromDriver(counter.driver, {
      schema: t.schema,
      longPoll: { enabled: false },
    });
    const admin = provider.asManagementCapability();
    async function oneTrip<T>(call: () => Promise<T>): Promise<T> {
      const before = counter.calls;
      const result = await call();
      assert.equal(counter.calls - before, 1, "expected exactly one round trip");
      return result;
    }

    // Prune: keep the current execution only, 1,000 instances per call (the default limit).
    const pruned = await oneTrip(() => admin.pruneExecutionsBulk({}, {}));
    assert.deepEqual(pruned, {
      instancesProcessed: 1000,
      executionsDeleted: 2000,
      eventsDeleted: 4000,
    });
    const prunedLimited = await oneTrip(() =>
      admin.pruneExecutionsBulk({ limit: 250 }, { keepLast: 2 })
    );
    assert.equal(prunedLimited.instancesProcessed, 250);
    assert.equal(prunedLimited.executionsDeleted, 0, "the first 1,000 were pruned already");

    // Delete with a limit: exactly that many instances, oldest first.
    const limited = await oneTrip(() => admin.deleteInstanceBulk({ limit: 500 }));
    assert.equal(limited.instancesDeleted, 500);
    // Filter by completion time: instances 501..2000 complete before BASE + 2000.5 s.
    const byTime = await oneTrip(() =>
      admin.deleteInstanceBulk({ completedBefore: BASE_MS + 2_000_500, limit: 5000 })
    );
    assert.equal(byTime.instancesDeleted, 1500);
    // Filter by ids (ANDed with the time filter): only listed ids that qualify.
    const byIds = await oneTrip(() =>
      admin.deleteInstanceBulk({
        instanceIds: ["bulk-00001", "bulk-05000", "bulk-09999", "no-such-instance"],
        completedBefore: BASE_MS + 9_000_000,
      })
    );
    assert.equal(byIds.instancesDeleted, 1); // only bulk-05000: 00001 is gone, 09999 too late
    assert.equal(byIds.executionsDeleted, 3);
    assert.equal(byIds.eventsDeleted, 6);

    const metrics = await oneTrip(() => admin.getSystemMetrics());
    assert.equal(metrics.totalInstances, SEEDED - 2001);
    assert.equal(metrics.completedInstances, SEEDED - 2001);
    assert.equal(metrics.totalEvents, metrics.totalExecutions * 2);
    const page = await oneTrip(() => admin.listInstancesPage({ status: "Completed", limit: 3 }));
    assert.deepEqual(page.instanceIds, ["bulk-02001", "bulk-02002", "bulk-02003"]);
    const next = await oneTrip(() =>
      admin.listInstancesPage({ status: "Completed", limit: 3, cursor: page.nextCursor })
    );
    assert.deepEqual(next.instanceIds, ["bulk-02004", "bulk-02005", "bulk-02006"]);
  },
);
