/**
 * Test registration for the multi-node and chaos suites. `multiNodeTest` runs on the shared
 * server at `DATABASE_URL` in a schema of its own; `chaosTest` creates a private cluster for
 * the test (the shared server is never restarted or starved). Both hand the test a
 * {@linkcode Run} and a node factory, and stop every node and clean up afterwards. In CI both
 * always run, so a missing server or missing binaries fail instead of skipping.
 *
 * @module
 */

import { databaseUrl, serverTestsIgnored, uniqueSchema } from "../../_support/factories.ts";
import { type NodeOptions, NodeProcess, stopAll } from "./node_process.ts";
import {
  PrivateCluster,
  type PrivateClusterOptions,
  privateClusterUnavailable,
} from "./private_cluster.ts";
import { Run } from "./run.ts";

/** What a multi-node or chaos test gets. */
export interface NodeTestContext {
  /** The server URL the nodes use. */
  url: string;
  /** The run's schema, migrated, with the effects table. */
  run: Run;
  /**
   * Starts a node on the run's schema and waits until it is ready; it is stopped after the
   * test if it still runs.
   */
  node(options: Omit<NodeOptions, "url" | "schema">): Promise<NodeProcess>;
  /** Every node started so far. */
  nodes: NodeProcess[];
}

async function withNodes(
  url: string,
  run: Run,
  fn: (ctx: NodeTestContext) => Promise<void>,
): Promise<void> {
  const nodes: NodeProcess[] = [];
  try {
    await fn({
      url,
      run,
      nodes,
      async node(options) {
        const node = NodeProcess.spawn({ url, schema: run.schema, ...options });
        nodes.push(node);
        await node.ready;
        return node;
      },
    });
  } catch (err) {
    for (const n of nodes) {
      const log = n.log();
      if (log) console.error(`--- node ${n.id} (last lines)\n${log}`);
    }
    throw err;
  } finally {
    await stopAll(nodes);
  }
}

/** Registers a test that runs nodes on the shared server (ignored without one, outside CI). */
export function multiNodeTest(name: string, fn: (ctx: NodeTestContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: serverTestsIgnored(),
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const url = databaseUrl();
      if (!url) throw new Error("DATABASE_URL is not set: the multi-node tests need a server");
      const run = await Run.open(url, uniqueSchema("mn"));
      try {
        await withNodes(url, run, fn);
      } finally {
        await run.close();
      }
    },
  });
}

/** What a chaos test gets in addition: its private cluster. */
export interface ChaosTestContext extends NodeTestContext {
  /** The test's own PostgreSQL cluster. */
  cluster: PrivateCluster;
}

/**
 * Registers a test on a private cluster of its own (ignored where one cannot be created,
 * outside CI, or with `ignore`).
 */
export function chaosTest(
  name: string,
  fn: (ctx: ChaosTestContext) => Promise<void>,
  options: PrivateClusterOptions & { ignore?: boolean } = {},
): void {
  const { ignore = false, ...clusterOptions } = options;
  Deno.test({
    name,
    ignore: ignore || (privateClusterUnavailable() !== null && !Deno.env.get("CI")),
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await using cluster = await PrivateCluster.start(clusterOptions);
      const run = await Run.open(cluster.url, "chaos", false);
      try {
        await withNodes(cluster.url, run, (ctx) => fn({ ...ctx, cluster }));
      } finally {
        await run.close();
      }
    },
  });
}
