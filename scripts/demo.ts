/**
 * A durable order workflow on the embedded database: activities, a fan-out, a durable timer,
 * an external event and a sub-orchestration. State lives in `.demo-data/` (PGlite on disk):
 * stop the demo with Ctrl-C at any point and run it again, and the order resumes where it
 * stopped instead of starting over. `--fresh` starts a new order (on a server it drops the
 * `demo` schema first); with DATABASE_URL set the demo runs on that PostgreSQL server instead.
 *
 * Run: `deno task demo`
 *
 * @module
 */

import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { Client, type OrchestrationContext, PostgresProvider, Runtime } from "../mod.ts";

const DATA_DIR = ".demo-data";
const DEMO_SCHEMA = "demo";
const ORDER_ID = "order-1001";
const url = Deno.env.get("DATABASE_URL");
const fresh = Deno.args.includes("--fresh");

if (fresh && !url) await Deno.remove(DATA_DIR, { recursive: true }).catch(() => {});
if (fresh && url) {
  // Start over on the server too: drop the demo's schema before the provider recreates it.
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql.unsafe(`drop schema if exists ${DEMO_SCHEMA} cascade`);
  await sql.end();
}
const db = url ? undefined : await PGlite.create({ dataDir: DATA_DIR });
const provider = db
  ? await PostgresProvider.fromPGlite(db, { schema: DEMO_SCHEMA })
  : await PostgresProvider.connect(url!, { schema: DEMO_SCHEMA });
const client = new Client(provider);
const runtime = new Runtime(provider, { logLevel: "warn" });
const log = (message: string) => console.log(`  ${message}`);

// --- activities: plain async functions, run (at least once) by the worker dispatcher ---------
runtime.registerActivity("ValidateOrder", (_ctx, order) => {
  const { items } = order as { items: string[] };
  log(`activity ValidateOrder: ${items.length} items`);
  return items.length > 0;
});
runtime.registerActivity("ReserveItem", async (_ctx, item) => {
  await new Promise((resolve) => setTimeout(resolve, 300));
  log(`activity ReserveItem: ${item}`);
  return `${item}:reserved`;
});
runtime.registerActivity("ChargeCard", (_ctx, amount) => {
  log(`activity ChargeCard: ${amount}`);
  return `receipt-${amount}`;
});
runtime.registerActivity("Ship", (_ctx, order) => {
  log(`activity Ship: ${JSON.stringify(order)}`);
  return "tracking-42";
});

// --- orchestrations: generator functions, replayed from history after any restart ------------
runtime.registerOrchestration("ShipOrder", function* (ctx: OrchestrationContext, order) {
  const tracking = yield ctx.scheduleActivity("Ship", order);
  return { tracking };
});

runtime.registerOrchestration("ProcessOrder", function* (ctx: OrchestrationContext, input) {
  const order = input as { id: string; items: string[]; amount: number };
  if (!(yield ctx.scheduleActivity("ValidateOrder", order))) return { status: "rejected" };

  ctx.setCustomStatus("reserving items");
  const reserved = yield ctx.all(
    order.items.map((item) => ctx.scheduleActivity("ReserveItem", item)),
  );

  ctx.setCustomStatus("waiting 5 s for the warehouse (durable timer)");
  yield ctx.scheduleTimer(5_000);

  ctx.setCustomStatus("awaiting payment approval");
  const approval = yield ctx.waitForEvent("PaymentApproved");
  const receipt = yield ctx.scheduleActivity("ChargeCard", order.amount);

  ctx.setCustomStatus("shipping");
  const shipment = yield ctx.scheduleSubOrchestration("ShipOrder", order);
  ctx.setCustomStatus("done");
  return { reserved, approval, receipt, shipment };
});

// --- the client: start the order (once), approve payment when asked, wait for the result -----
let stopping = false;
Deno.addSignalListener("SIGINT", async () => {
  if (stopping) Deno.exit(130);
  stopping = true;
  console.log("\ninterrupted: stopping; run `deno task demo` again to resume the order");
  await runtime.shutdown(2_000);
  await provider.close();
  await db?.close();
  Deno.exit(130);
});

console.log(`duroxide on ${url ? "PostgreSQL" : `embedded PGlite (${DATA_DIR}/)`}`);
await runtime.start();

const before = await client.getStatus(ORDER_ID);
if (before.status === "NotFound") {
  console.log(`starting ${ORDER_ID}`);
  await client.startOrchestration(ORDER_ID, "ProcessOrder", {
    id: ORDER_ID,
    items: ["book", "lamp", "mug"],
    amount: 42,
  });
} else {
  console.log(
    `${ORDER_ID} is ${before.status}${
      before.customStatus ? ` (${before.customStatus})` : ""
    }: resuming from its history`,
  );
}

let seen = 0;
for (;;) {
  const status = await client.waitForStatusChange(ORDER_ID, seen, 2_000, 120_000);
  seen = status.customStatusVersion;
  if (status.status === "Completed" || status.status === "Failed") {
    console.log(`${ORDER_ID} ${status.status}:`, status.output ?? status.error);
    break;
  }
  console.log(`status: ${status.customStatus}`);
  if (status.customStatus === "awaiting payment approval") {
    await client.raiseEvent(ORDER_ID, "PaymentApproved", { by: "demo", at: Date.now() });
  }
}
console.log(`history: ${(await provider.read(ORDER_ID)).map((e) => e.type).join(" → ")}`);
console.log("run `deno task demo -- --fresh` to start over");

await runtime.shutdown(2_000);
await provider.close();
await db?.close();
