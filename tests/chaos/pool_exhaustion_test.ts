/**
 * Chaos: connections run out. First on the client: each process has a pool of one connection
 * for 24 dispatcher slots, so fetches, acks and renewals queue for it. Then on the server:
 * `max_connections` is below what the processes' pools want, so new connections are refused
 * ("too many clients", SQLSTATE 53300) for the whole run. Either way every orchestration
 * completes with its result.
 */

import { chaosTest, type ChaosTestContext } from "./_support/harness.ts";
import { stopAll } from "./_support/node_process.ts";
import { assertNoLoss, report } from "./_support/report.ts";
import { scaled } from "./_support/run.ts";
import { type WorkInput, workInput } from "./_support/workload.ts";

const LEASES = { orchestratorLockMs: 4_000, workerLockMs: 4_000, refreshMs: 1_000 };
const SERVER_MAX_CONNECTIONS = 16;

async function runStarved(
  t: ChaosTestContext,
  scenario: string,
  { nodes, maxConnections, serverMaxConnections }: {
    nodes: number;
    maxConnections: number;
    serverMaxConnections: number;
  },
) {
  const started = await Promise.all(Array.from({ length: nodes }, (_, i) =>
    t.node({
      id: `p${i}`,
      maxConnections,
      orchestrationConcurrency: 8,
      workerConcurrency: 16,
      ...LEASES,
    })));
  const instances: [string, WorkInput][] = Array.from({ length: scaled(40) }, (_, i) => [
    `starved-${i}`,
    workInput(i * 10_000, { steps: 2, width: 4, holdMs: 50, timerMs: i % 4 === 0 ? 200 : 0 }),
  ]);
  const t0 = Date.now();
  await t.run.start(instances);
  await t.run.waitForAll(180_000);
  const elapsedMs = Date.now() - t0;
  const outcome = await t.run.outcome();
  const [sessions] = await t.run.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where backend_type = 'client backend'`,
  );
  await stopAll(started); // graceful: each prints its counters
  await report(scenario, outcome, {
    processes: nodes,
    poolSizePerProcess: maxConnections,
    dispatcherSlotsPerProcess: 24,
    serverMaxConnections,
    serverSessionsAtEnd: sessions.n,
    failedProviderCalls: started.reduce((n, node) => n + (node.stats?.providerErrors ?? 0), 0),
    elapsedMs,
    leases: JSON.stringify(LEASES),
  });
  assertNoLoss(outcome);
}

chaosTest(
  "chaos: a pool of one connection for 24 dispatcher slots",
  (t) =>
    runStarved(t, "chaos: client pool exhausted (1 connection, 24 slots)", {
      nodes: 2,
      maxConnections: 1,
      serverMaxConnections: 100,
    }),
);

chaosTest(
  "chaos: the server refuses connections (max_connections below demand)",
  (t) =>
    runStarved(t, "chaos: server out of connections (max_connections 16)", {
      nodes: 3,
      maxConnections: 10,
      serverMaxConnections: SERVER_MAX_CONNECTIONS,
    }),
  { settings: { max_connections: SERVER_MAX_CONNECTIONS, superuser_reserved_connections: 0 } },
);
