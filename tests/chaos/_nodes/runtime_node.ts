/**
 * One runtime node of the multi-node, chaos and stress runs, as its own OS process: a
 * provider with its own pool (and, if asked, a skewed clock) on a shared schema, and a
 * {@linkcode Runtime} with the fixed workload of `../_support/workload.ts`. It runs until its
 * stdin closes (then it shuts down gracefully and prints its metrics) or it is killed.
 *
 * Usage: `deno run -A tests/chaos/_nodes/runtime_node.ts --url=URL --schema=S --node=ID
 * [--role=runtime|orchestrator|worker] [--skew-ms=N] [--long-poll=on|off] [--refresh-ms=N]
 * [--max-connections=N] [--orch-concurrency=N] [--worker-concurrency=N] [--orch-lock-ms=N]
 * [--worker-lock-ms=N] [--poll-ms=N] [--announce] [--ack-hold-ms=N]`
 *
 * It writes one JSON object per line on stdout (see {@linkcode NodeEvent}); runtime warnings
 * go to stderr.
 *
 * @module
 */

import postgres from "postgres";
import { ProviderError } from "../../../src/errors.ts";
import { PostgresProvider } from "../../../src/postgres_provider.ts";
import type { Provider } from "../../../src/provider_api.ts";
import { Runtime, type RuntimeOptions } from "../../../src/runtime/mod.ts";
import type { FetchedOrchestrationItem, WorkItem } from "../../../src/types.ts";
import { EFFECTS_TABLE, registerWorkload } from "../_support/workload.ts";

/** A line a node prints on stdout. */
export type NodeEvent =
  | { ev: "ready"; pid: number }
  /** An activity started (with `--announce`). */
  | { ev: "act"; inst: string; id: number }
  /** An activity's completion was acked (with `--announce`). */
  | { ev: "acked"; inst: string; id: number }
  /** A turn is about to be held before its ack (with `--ack-hold-ms`). */
  | { ev: "hold"; inst: string; token: string }
  /** A turn was acked (with `--announce`). */
  | { ev: "turn"; inst: string; token: string }
  /** The runtime's counters, printed after a graceful shutdown. */
  | { ev: "stats"; metrics: Record<string, number> };

/** The node's parsed command line. */
interface NodeArgs {
  url: string;
  schema: string;
  node: string;
  role: "runtime" | "orchestrator" | "worker";
  skewMs: number;
  longPoll: boolean;
  refreshMs: number;
  maxConnections: number;
  runtime: RuntimeOptions;
  announce: boolean;
  ackHoldMs: number;
}

function parseArgs(argv: string[]): NodeArgs {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new TypeError(`Unexpected argument: ${arg}`);
    flags.set(m[1], m[2] ?? "true");
  }
  const str = (name: string, fallback?: string): string => {
    const v = flags.get(name) ?? fallback;
    if (v === undefined) throw new TypeError(`Missing --${name}`);
    return v;
  };
  const int = (name: string, fallback: number): number => {
    const v = Number(flags.get(name) ?? fallback);
    if (!Number.isSafeInteger(v)) throw new RangeError(`Invalid --${name}: ${flags.get(name)}`);
    return v;
  };
  const role = str("role", "runtime");
  if (role !== "runtime" && role !== "orchestrator" && role !== "worker") {
    throw new RangeError(`Invalid --role: ${role}`);
  }
  const skewMs = int("skew-ms", 0);
  return {
    url: str("url"),
    schema: str("schema"),
    node: str("node"),
    role,
    skewMs,
    longPoll: str("long-poll", "on") !== "off",
    refreshMs: int("refresh-ms", 30_000),
    maxConnections: int("max-connections", 10),
    runtime: {
      orchestrationConcurrency: int("orch-concurrency", 4),
      workerConcurrency: int("worker-concurrency", 8),
      orchestratorLockTimeoutMs: int("orch-lock-ms", 5_000),
      workerLockTimeoutMs: int("worker-lock-ms", 30_000),
      dispatcherPollIntervalMs: int("poll-ms", 100),
      // An orchestrator-only node starts no worker slots at all.
      workerTagFilter: role === "orchestrator" ? "none" : "defaultOnly",
    },
    announce: flags.has("announce"),
    ackHoldMs: int("ack-hold-ms", 0),
  };
}

function emit(event: NodeEvent): void {
  console.log(JSON.stringify(event));
}

function withApplicationName(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set("application_name", name);
  return u.toString();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects, retrying while the server refuses (restarting, or out of connection slots). */
async function connectProvider(args: NodeArgs, clock: () => number): Promise<PostgresProvider> {
  for (let attempt = 1;; attempt++) {
    try {
      return await PostgresProvider.connect(
        withApplicationName(args.url, `chaos_node_${args.node}`),
        {
          schema: args.schema,
          clock,
          maxConnections: args.maxConnections,
          longPoll: { enabled: args.longPoll, refreshIntervalMs: args.refreshMs },
        },
      );
    } catch (err) {
      const transient = !(err instanceof ProviderError) || err.retryable;
      if (!transient || attempt >= 60) throw err;
      console.error(`node ${args.node}: connect failed (${(err as Error).message}), retrying`);
      await sleep(500);
    }
  }
}

type Call = (...args: unknown[]) => Promise<unknown>;

/**
 * The provider the runtime sees: the real one, with the role's restriction (a worker-only
 * node never receives orchestration turns) and the announcements the tests follow. Both the
 * single-item calls and, when the provider has them, the batch calls are wrapped, so the
 * runtime keeps the code path it would take on the bare provider.
 */
function nodeProvider(provider: PostgresProvider, args: NodeArgs): Provider {
  const real = provider as unknown as Record<string, Call | undefined>;
  const call = (name: string, a: unknown[]) => real[name]!.apply(provider, a);
  const instanceOf = new Map<string, string>();
  const remember = (item: FetchedOrchestrationItem) =>
    instanceOf.set(item.lockToken, item.item.instance);
  const park = (signal: unknown) =>
    new Promise<void>((resolve) => {
      // A worker-only node's orchestration slots wait for shutdown and never take a turn.
      const s = signal as AbortSignal | undefined;
      if (!s || s.aborted) return resolve();
      s.addEventListener("abort", () => resolve(), { once: true });
    });
  const beforeTurnAcks = async (tokens: string[]) => {
    if (args.ackHoldMs <= 0) return;
    for (const token of tokens) emit({ ev: "hold", inst: instanceOf.get(token) ?? "?", token });
    await sleep(args.ackHoldMs);
  };
  const afterTurnAck = (token: string, committed: boolean) => {
    if (committed && args.announce) {
      emit({ ev: "turn", inst: instanceOf.get(token) ?? "?", token });
    }
    instanceOf.delete(token);
  };
  const afterWorkAck = (completion: WorkItem | null) => {
    if (args.announce && completion && "id" in completion && "instance" in completion) {
      emit({ ev: "acked", inst: completion.instance, id: completion.id });
    }
  };

  const overrides: Record<string, Call> = {
    fetchOrchestrationItem: async (...a) => {
      if (args.role === "worker") return await park(a[3]).then(() => null);
      const item = await call("fetchOrchestrationItem", a) as FetchedOrchestrationItem | null;
      if (item) remember(item);
      return item;
    },
    ackOrchestrationItem: async (...a) => {
      const token = a[0] as string;
      await beforeTurnAcks([token]);
      try {
        await call("ackOrchestrationItem", a);
        afterTurnAck(token, true);
      } catch (err) {
        afterTurnAck(token, false);
        throw err;
      }
    },
    abandonOrchestrationItem: async (...a) => {
      instanceOf.delete(a[0] as string);
      return await call("abandonOrchestrationItem", a);
    },
    ackWorkItem: async (...a) => {
      await call("ackWorkItem", a);
      afterWorkAck(a[1] as WorkItem | null);
    },
  };
  if (real.fetchOrchestrationItems) {
    overrides.fetchOrchestrationItems = async (...a) => {
      if (args.role === "worker") return await park(a[4]).then(() => []);
      const items = await call("fetchOrchestrationItems", a) as FetchedOrchestrationItem[];
      items.forEach(remember);
      return items;
    };
  }
  if (real.ackOrchestrationItems) {
    overrides.ackOrchestrationItems = async (...a) => {
      const tokens = (a[0] as { lockToken: string }[]).map((x) => x.lockToken);
      await beforeTurnAcks(tokens);
      const outcomes = await call("ackOrchestrationItems", a) as unknown[];
      tokens.forEach((token, i) => afterTurnAck(token, outcomes[i] === null));
      return outcomes;
    };
  }
  if (real.ackWorkItems) {
    overrides.ackWorkItems = async (...a) => {
      const acks = a[0] as { completion: WorkItem | null }[];
      const outcomes = await call("ackWorkItems", a) as unknown[];
      acks.forEach((x, i) => outcomes[i] === null && afterWorkAck(x.completion));
      return outcomes;
    };
  }
  return new Proxy(provider, {
    get(target, prop) {
      if (typeof prop === "string" && prop in overrides) return overrides[prop];
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as unknown as Provider;
}

/**
 * Writes effect rows over a connection of its own, opened at start (before the provider's
 * pool, so a server short of connections starves the system under test, not the bookkeeping)
 * and retried through outages.
 */
async function effectRecorder(args: NodeArgs, clock: () => number) {
  const sql = postgres(withApplicationName(args.url, `chaos_fx_${args.node}`), {
    max: 1,
    onnotice: () => {},
  });
  const table = `"${args.schema}".${EFFECTS_TABLE}`;
  const run = async (text: string, params: (string | number)[] = []): Promise<void> => {
    for (;;) {
      try {
        await sql.unsafe(text, params);
        return;
      } catch {
        // The server restarts or the connection was killed: an activity must not fail for
        // that, and a duplicate row only counts an attempt twice.
        await sleep(100);
      }
    }
  };
  await run("select 1");
  return {
    record: (instanceId: string, activityId: number) =>
      run(
        `insert into ${table} (instance_id, activity_id, node_id, at_ms) values ($1, $2, $3, $4)`,
        [instanceId, activityId, args.node, clock()],
      ),
    close: () => sql.end({ timeout: 2 }),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  const clock = () => Date.now() + args.skewMs;
  const effects = await effectRecorder(args, clock);
  const provider = await connectProvider(args, clock);
  const runtime = new Runtime(nodeProvider(provider, args), {
    ...args.runtime,
    clock,
    logLevel: "warn",
    logger: (r) => console.error(`node ${args.node} ${r.level}: ${r.message}`),
  });
  registerWorkload(runtime, {
    recordEffect: (inst, id) => effects.record(inst, id),
    onActivityStart: args.announce ? (inst, id) => emit({ ev: "act", inst, id }) : undefined,
  });
  await runtime.start();
  emit({ ev: "ready", pid: Deno.pid });

  // Stop when the parent closes stdin (or dies): a node never outlives its test.
  for await (const _ of Deno.stdin.readable) {
    // input is ignored; only the end of the stream matters
  }
  await runtime.shutdown(5_000);
  emit({ ev: "stats", metrics: { ...runtime.metricsSnapshot() } });
  await provider.close();
  await effects.close();
}

if (import.meta.main) {
  // Name the statement behind an unhandled driver error before the process dies of it.
  globalThis.addEventListener("unhandledrejection", (e) => {
    const query = (e.reason as { query?: unknown })?.query;
    if (query !== undefined) console.error(`unhandled rejection of the statement: ${query}`);
  });
  try {
    await main();
  } catch (err) {
    console.error(`node failed: ${err instanceof Error ? err.stack : err}`);
    Deno.exit(1);
  }
}
