/**
 * A process supervisor for chaos runs, as a deployment would have one (systemd, Kubernetes):
 * a node that exits on its own (a crash) is started again under a new id, and the crash is
 * recorded with the node's last error line, so a run can report crashes instead of hanging.
 *
 * @module
 */

import type { NodeOptions, NodeProcess } from "./node_process.ts";

/** One crash: the node, its exit code and the first error line of its log. */
export interface Crash {
  /** The crashed node's id. */
  id: string;
  /** Its exit code. */
  code: number;
  /** The first line of its log that names an error. */
  error: string;
  /** The end of its log. */
  log: string;
}

type StartNode = (options: Omit<NodeOptions, "url" | "schema">) => Promise<NodeProcess>;

/** Keeps a set of nodes running. */
export class Supervisor {
  /** Every crash so far. */
  readonly crashes: Crash[] = [];
  readonly #start: StartNode;
  readonly #live = new Set<NodeProcess>();
  readonly #restarts: Promise<unknown>[] = [];
  #stopping = false;

  /** Supervises nodes started with `start` (the test context's `node`). */
  constructor(start: StartNode) {
    this.#start = start;
  }

  /** The nodes running now. */
  get live(): NodeProcess[] {
    return [...this.#live];
  }

  /** Starts a node and restarts it whenever it crashes (during its start-up too). */
  async add(options: Omit<NodeOptions, "url" | "schema">, generation = 0): Promise<NodeProcess> {
    for (;; generation++) {
      const id = generation ? `${options.id}.${generation}` : options.id;
      let node: NodeProcess;
      try {
        node = await this.#start({ ...options, id });
      } catch (err) {
        // It died before it was ready; its log is in the message.
        if (this.#stopping) throw err;
        this.#record(id, -1, String((err as Error).message).split("\n").slice(1));
        continue;
      }
      this.#live.add(node);
      node.exited.then((code) => {
        this.#live.delete(node);
        if (this.#stopping || !node.crashed) return;
        this.#record(node.id, code, node.log().split("\n"));
        this.#restarts.push(this.add(options, generation + 1).catch(() => {}));
      });
      return node;
    }
  }

  #record(id: string, code: number, log: string[]): void {
    this.crashes.push({
      id,
      code,
      error: log.find((l) => /error|Error/.test(l) && !/ warn: /.test(l)) ?? log.at(-1) ?? "",
      log: log.filter((l) => !/ warn: /.test(l)).join("\n"),
    });
  }

  /** Stops restarting; waits for restarts in progress (the test context stops the nodes). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#restarts);
  }
}
