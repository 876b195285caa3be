/**
 * End to end, wake-ups: a message committed while its instance's turn is being acked must
 * still wake the dispatcher once the ack commits. Server only (the race needs two concurrent
 * transactions); the ack's commit is held at a gate so the interleaving is exact.
 *
 * The race: the message's NOTIFY is consumed by a fetch that still sees the instance lock,
 * and the ack's unlock trigger ran before the message committed. The provider that acked
 * therefore wakes its own fetchers after every committed turn (and after an abandon).
 */

import assert from "node:assert/strict";
import {
  Client,
  type FetchedOrchestrationItem,
  type OrchestrationContext,
  PostgresProvider,
  Runtime,
} from "../mod.ts";
import { sharedServerSql, uniqueSchema } from "./_support/factories.ts";
import { until } from "./_support/e2e.ts";

Deno.test({
  name: "server e2e: a message that arrives while its turn is acked still wakes the dispatcher",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sql = sharedServerSql();
    const schema = uniqueSchema("srv");
    const gateKey = 700_000_000 + Math.floor(Math.random() * 1_000_000);
    const gate = await sql.reserve();
    const providers: PostgresProvider[] = [];
    let runtime: Runtime | undefined;
    try {
      const provider = await PostgresProvider.fromPostgresJs(sql, { schema });
      providers.push(provider);
      // Holds the commit of every transaction that releases an instance lock while the gate
      // is closed: its unlock notification has then already been decided.
      await sql.unsafe(`
        create function "${schema}".test_commit_gate() returns trigger language plpgsql as $$
        begin perform pg_advisory_xact_lock_shared(${gateKey}); return null; end $$;
        create constraint trigger test_commit_gate after delete on "${schema}".instance_locks
          deferrable initially deferred for each row
          execute function "${schema}".test_commit_gate();`);
      let fetches = 0;
      const counted = new Proxy(provider, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (typeof value !== "function") return value;
          if (prop !== "fetchOrchestrationItems") return value.bind(target);
          return (...args: unknown[]): Promise<FetchedOrchestrationItem[]> => {
            fetches++;
            return value.apply(target, args);
          };
        },
      });
      runtime = new Runtime(counted, { orchestrationConcurrency: 2, logLevel: "off" });
      runtime.registerOrchestration("Inbox", function* (ctx: OrchestrationContext) {
        return [yield ctx.dequeueEvent("q"), yield ctx.dequeueEvent("q")];
      });
      await runtime.start();
      const client = new Client(provider);
      await client.startOrchestration("inbox-1", "Inbox");
      await until(async () =>
        (await provider.read("inbox-1")).some((e) => e.type === "QueueSubscribed")
      );

      await gate`select pg_advisory_lock(${gateKey})`;
      await client.enqueueEvent("inbox-1", "q", "m1");
      // The turn that takes m1 is acked up to its commit, which waits at the gate.
      await until(async () => {
        const [row] = await sql`select count(*)::int as n from pg_locks
          where locktype = 'advisory' and not granted and objid = ${gateKey}`;
        return row.n > 0;
      }, "the ack waiting at the gate");
      // m2 comes from another process: only its NOTIFY can wake the dispatcher, whose fetch
      // still sees the instance locked.
      const before = fetches;
      const other = await PostgresProvider.fromPostgresJs(sql, { schema });
      providers.push(other);
      await new Client(other).enqueueEvent("inbox-1", "q", "m2");
      await until(() => Promise.resolve(fetches > before), "the dispatcher woken by m2");
      await gate`select pg_advisory_unlock(${gateKey})`;

      const status = await client.waitForOrchestration("inbox-1", 10_000);
      assert.deepEqual(status.output, ["m1", "m2"]);
    } finally {
      await runtime?.shutdown(2_000);
      await gate`select pg_advisory_unlock_all()`;
      gate.release();
      for (const p of providers) await p.close();
      await sql.unsafe(`drop schema if exists "${schema}" cascade`);
    }
  },
});
