/**
 * Contention across real connections: several providers, each with its own connection pool,
 * race over one schema. Every instance turn and every activity is processed exactly once.
 * (On PGlite the same code runs serialised through its single session.)
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { PostgresProvider } from "../src/postgres_provider.ts";
import { backendTest } from "./_support/backends.ts";
import { databaseUrl } from "./_support/factories.ts";
import { activityItem, startedEvent, startItem, testMetadata } from "../sim/validation/helpers.ts";

const INSTANCES = 120;
const ACTIVITIES = 240;
const PROVIDERS = 6;

backendTest("racing providers process each turn and each activity exactly once", async (t) => {
  const owner = await t.createProvider();
  const providers: PostgresProvider[] = [owner];
  const pools: postgres.Sql[] = [];
  for (let i = 1; i < PROVIDERS; i++) {
    if (t.backend === "server") {
      const sql = postgres(databaseUrl()!, { max: 2, onnotice: () => {} });
      pools.push(sql);
      providers.push(await PostgresProvider.fromPostgresJs(sql, { schema: t.schema }));
    } else {
      providers.push(await t.createProvider());
    }
  }
  try {
    for (let i = 0; i < INSTANCES; i++) {
      await owner.enqueueForOrchestrator(startItem(`i${i}`), null);
    }
    for (let i = 0; i < ACTIVITIES; i++) await owner.enqueueForWorker(activityItem("w", 1, i + 1));

    const turns = new Map<string, number>();
    const activities = new Map<number, number>();
    await Promise.all(providers.flatMap((p) =>
      [0, 1].map(async () => {
        for (;;) {
          const turn = await p.fetchOrchestrationItem(30_000, 0);
          if (!turn) break;
          turns.set(turn.item.instance, (turns.get(turn.item.instance) ?? 0) + 1);
          await p.ackOrchestrationItem(
            turn.lockToken,
            1,
            [startedEvent(turn.item.instance)],
            [],
            [],
            testMetadata({ status: "Completed", output: "done" }),
            [],
          );
        }
        for (;;) {
          const work = await p.fetchWorkItem(30_000, 0, null, { type: "Any" });
          if (!work) break;
          if (work.item.type !== "ActivityExecute") throw new Error("unexpected item");
          activities.set(work.item.id, (activities.get(work.item.id) ?? 0) + 1);
          await p.ackWorkItem(work.lockToken, null);
        }
      })
    ));

    assert.equal(turns.size, INSTANCES);
    assert.ok([...turns.values()].every((n) => n === 1), "an instance was fetched twice");
    assert.equal(activities.size, ACTIVITIES);
    assert.ok([...activities.values()].every((n) => n === 1), "an activity was fetched twice");
    const metrics = await owner.asManagementCapability().getSystemMetrics();
    assert.equal(metrics.completedInstances, INSTANCES);
    assert.equal(metrics.totalEvents, INSTANCES);
  } finally {
    for (const p of providers.slice(1)) await p.close();
    for (const sql of pools) await sql.end({ timeout: 5 });
  }
});
