/** The driver boundary behaves the same on both adapters. */

import assert from "node:assert/strict";
import { backendTest } from "./_support/backends.ts";
import { serverTestsIgnored, sharedServerSql } from "./_support/factories.ts";
import { postgresJsDriver } from "../src/driver/postgres_js.ts";

backendTest("query, exec and transactions", async ({ driver, schema }) => {
  await driver.exec(
    `create schema "${schema}"; create table "${schema}".t (id int primary key, v text);`,
  );
  const rows = await driver.query<{ id: number; v: string }>(
    `insert into "${schema}".t values ($1, $2) returning id, v`,
    [1, "one"],
  );
  assert.deepEqual(rows, [{ id: 1, v: "one" }]);
  assert.ok(Array.isArray(rows) && Object.getPrototypeOf(rows) === Array.prototype);

  const committed = await driver.transaction(async (tx) => {
    await tx.query(`insert into "${schema}".t values (2, 'two')`);
    return "done";
  });
  assert.equal(committed, "done");
  await assert.rejects(
    driver.transaction(async (tx) => {
      await tx.query(`insert into "${schema}".t values (3, 'three')`);
      throw new Error("abort");
    }),
    /abort/,
  );
  const ids = await driver.query<{ id: number }>(`select id from "${schema}".t order by id`);
  assert.deepEqual(ids.map((r) => r.id), [1, 2]);
});

backendTest("listen receives notifications on a quoted channel", async ({ driver, schema }) => {
  const channel = `${schema}.Work-Queue`; // needs quoting: dot, dash and capitals
  const received: string[] = [];
  let wake: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (wake = resolve));
  const unlisten = await driver.listen(channel, (payload) => {
    received.push(payload);
    wake();
  });
  try {
    await driver.query(`select pg_notify($1, $2)`, [channel, "1795330000000"]);
    await Promise.race([
      arrived,
      new Promise((_, reject) => setTimeout(() => reject(new Error("no notification")), 5000)),
    ]);
    assert.deepEqual(received, ["1795330000000"]);
  } finally {
    await unlisten();
  }
});

Deno.test({
  name: "server concurrent queries run on several connections of the pool",
  ignore: serverTestsIgnored(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const driver = postgresJsDriver(sharedServerSql(), false);
    const pids = await Promise.all(
      Array.from(
        { length: 8 },
        () => driver.query<{ pid: number }>(`select pg_backend_pid() as pid, pg_sleep(0.05)`),
      ),
    );
    const distinct = new Set(pids.map((rows) => rows[0].pid));
    assert.ok(distinct.size > 1, `all queries ran on one connection`);
  },
});
