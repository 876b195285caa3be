/**
 * Starts `../_nodes/runtime_node.ts` as a child process and follows what it announces: when it
 * is ready, which activities and held turns it has in flight, and its final counters. A node
 * is stopped by closing its stdin (graceful) or killed with SIGKILL.
 *
 * @module
 */

import type { NodeEvent } from "../_nodes/runtime_node.ts";

const NODE_SCRIPT = new URL("../_nodes/runtime_node.ts", import.meta.url).pathname;
const REPO_ROOT = new URL("../../../", import.meta.url).pathname;

/** How a node runs; every field but the first three is optional. */
export interface NodeOptions {
  /** Server URL (the node adds its own `application_name`). */
  url: string;
  /** The shared schema. */
  schema: string;
  /** Node id: in effect rows, backend names (`chaos_node_<id>`) and reports. */
  id: string;
  /** `"runtime"` (both dispatchers), `"orchestrator"` or `"worker"` only. @default {"runtime"} */
  role?: "runtime" | "orchestrator" | "worker";
  /** Added to the node's clock (provider and runtime). @default {0} */
  skewMs?: number;
  /** LISTEN/NOTIFY long polling. @default {true} */
  longPoll?: boolean;
  /** The long-poll refresh interval. @default {30000} */
  refreshMs?: number;
  /** The provider's pool size. @default {10} */
  maxConnections?: number;
  /** Orchestration dispatcher slots. @default {4} */
  orchestrationConcurrency?: number;
  /** Worker slots. @default {8} */
  workerConcurrency?: number;
  /** Instance lock timeout. @default {5000} */
  orchestratorLockMs?: number;
  /** Activity lock timeout. @default {30000} */
  workerLockMs?: number;
  /** The runtime's idle poll interval. @default {100} */
  pollIntervalMs?: number;
  /** Announce activity starts, acks and turns on stdout (the in-flight bookkeeping). */
  announce?: boolean;
  /** Hold every turn this long before its ack (announced), to kill a node mid-turn. */
  ackHoldMs?: number;
}

function nodeArgs(o: NodeOptions): string[] {
  const args = [`--url=${o.url}`, `--schema=${o.schema}`, `--node=${o.id}`];
  const add = (flag: string, v: string | number | undefined) => {
    if (v !== undefined) args.push(`--${flag}=${v}`);
  };
  add("role", o.role);
  add("skew-ms", o.skewMs);
  if (o.longPoll !== undefined) add("long-poll", o.longPoll ? "on" : "off");
  add("refresh-ms", o.refreshMs);
  add("max-connections", o.maxConnections);
  add("orch-concurrency", o.orchestrationConcurrency);
  add("worker-concurrency", o.workerConcurrency);
  add("orch-lock-ms", o.orchestratorLockMs);
  add("worker-lock-ms", o.workerLockMs);
  add("poll-ms", o.pollIntervalMs);
  add("ack-hold-ms", o.ackHoldMs);
  if (o.announce || o.ackHoldMs) args.push("--announce");
  return args;
}

/** An activity or turn a node holds, as announced. */
export interface InFlight {
  /** The instance. */
  instance: string;
  /** The activity id, or `null` for a held turn. */
  activityId: number | null;
}

/** A running node process. */
export class NodeProcess {
  /** The node id. */
  readonly id: string;
  /** The options it was started with. */
  readonly options: NodeOptions;
  /** Resolves when the runtime runs (rejects if the process exits first). */
  readonly ready: Promise<void>;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number>;
  /** The runtime's counters, after a graceful stop. */
  stats: Record<string, number> | null = null;
  /** Activities announced and not yet acked, by `instance#id`. */
  readonly activities = new Map<string, InFlight>();
  /** Turns held before their ack, by lock token. */
  readonly turns = new Map<string, InFlight>();
  /** Activities this node started, in total. */
  activitiesStarted = 0;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderr: string[] = [];
  readonly #listeners = new Set<(e: NodeEvent) => void>();
  #running = true;
  #expectedExit = false;

  private constructor(options: NodeOptions) {
    this.id = options.id;
    this.options = options;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", NODE_SCRIPT, ...nodeArgs(options)],
      cwd: REPO_ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.exited = this.#child.status.then((s) => {
      this.#running = false;
      return s.code;
    });
    let onReady: () => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      this.exited.then((code) =>
        reject(new Error(`node ${this.id} exited (${code}) before it was ready:\n${this.log()}`))
      );
    });
    this.ready.catch(() => {}); // observed by whoever awaits it
    this.#follow(this.#child.stdout, (line) => {
      let event: NodeEvent;
      try {
        event = JSON.parse(line);
      } catch {
        this.#keep(`stdout: ${line}`);
        return;
      }
      this.#apply(event);
      if (event.ev === "ready") onReady();
      for (const listener of this.#listeners) listener(event);
    });
    this.#follow(this.#child.stderr, (line) => this.#keep(line));
  }

  /** Starts a node; await {@linkcode NodeProcess.ready} before counting on it. */
  static spawn(options: NodeOptions): NodeProcess {
    return new NodeProcess(options);
  }

  /** Whether the process still runs. */
  get running(): boolean {
    return this.#running;
  }

  /** Whether the process ended without being stopped or killed by the test (a crash). */
  get crashed(): boolean {
    return !this.#running && !this.#expectedExit;
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** What the node has in flight: announced activities and held turns. */
  inFlight(): InFlight[] {
    return [...this.activities.values(), ...this.turns.values()];
  }

  /** Calls `listener` for every event from now on; returns a function that removes it. */
  onEvent(listener: (e: NodeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once `predicate` holds (checked now and after every event), or the node exits. */
  until(predicate: () => boolean): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const off = this.onEvent(() => {
        if (predicate()) {
          off();
          resolve(true);
        }
      });
      this.exited.then(() => {
        off();
        resolve(predicate());
      });
    });
  }

  /** SIGKILL: no shutdown, no lock released, nothing flushed. */
  async kill(): Promise<void> {
    this.#expectedExit = true;
    if (this.#running) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await this.exited;
    await this.#stdin.close().catch(() => {});
  }

  /** Graceful stop (stdin closed): waits up to `timeoutMs`, then kills. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.#expectedExit = true;
    await this.#stdin.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), timeoutMs));
    const result = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (result === "late") await this.kill();
  }

  /** The last lines of the node's stderr (and stray stdout), for failure messages. */
  log(): string {
    return this.#stderr.join("\n");
  }

  #keep(line: string): void {
    this.#stderr.push(line);
    if (this.#stderr.length > 40) this.#stderr.shift();
  }

  #apply(e: NodeEvent): void {
    switch (e.ev) {
      case "act":
        this.activitiesStarted++;
        this.activities.set(`${e.inst}#${e.id}`, { instance: e.inst, activityId: e.id });
        break;
      case "acked":
        this.activities.delete(`${e.inst}#${e.id}`);
        break;
      case "hold":
        this.turns.set(e.token, { instance: e.inst, activityId: null });
        break;
      case "turn":
        this.turns.delete(e.token);
        break;
      case "stats":
        this.stats = e.metrics;
        break;
    }
  }

  async #follow(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
    let buffered = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line) onLine(line);
        }
      }
    } catch {
      // the process was killed mid-write
    }
    if (buffered) onLine(buffered);
  }
}

/** Stops every node still running (gracefully, in parallel). */
export async function stopAll(nodes: Iterable<NodeProcess>): Promise<void> {
  await Promise.all([...nodes].map((n) => n.running ? n.stop() : n.kill()));
}
