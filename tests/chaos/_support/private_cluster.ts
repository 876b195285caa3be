/**
 * A throwaway PostgreSQL cluster for the chaos tests: `initdb` in a temporary directory,
 * started on a free loopback port, restarted, crashed or stopped at will, and removed at the
 * end. The chaos tests never touch the shared server at 127.0.0.1:5432, which other test runs
 * use at the same time.
 *
 * The server binaries run as the `postgres` OS user (through `su` when this process is root).
 *
 * @module
 */

/** Options of {@linkcode PrivateCluster.start}. */
export interface PrivateClusterOptions {
  /** Extra `postgresql.conf` settings, e.g. `{ max_connections: 20 }`. */
  settings?: Record<string, string | number>;
}

/** The directory of the newest installed PostgreSQL server binaries, or `null`. */
function serverBinDir(): string | null {
  const fromEnv = Deno.env.get("PG_BINDIR");
  if (fromEnv) return fromEnv;
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((e) => e.name)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      try {
        Deno.statSync(`${dir}/initdb`);
        return dir;
      } catch {
        // an incomplete install: try the next version
      }
    }
  } catch {
    // no Debian layout
  }
  return null;
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * Why a private cluster cannot be created here, or `null` when it can (server binaries and
 * either root or the `postgres` user are needed).
 */
export function privateClusterUnavailable(): string | null {
  if (Deno.build.os !== "linux") return "private clusters are set up for Linux only";
  if (!serverBinDir()) return "no PostgreSQL server binaries (set PG_BINDIR)";
  if (!isRoot() && Deno.env.get("USER") !== "postgres") {
    return "initdb needs root (to run as postgres) or the postgres user";
  }
  return null;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Runs a server binary as the postgres user; throws with its output when it fails. */
async function asPostgres(binary: string, args: string[]): Promise<string> {
  const dir = serverBinDir();
  if (!dir) throw new Error("no PostgreSQL server binaries");
  const argv = [`${dir}/${binary}`, ...args];
  const command = isRoot()
    ? new Deno.Command("su", { args: ["postgres", "-c", argv.map(shellQuote).join(" ")] })
    : new Deno.Command(argv[0], { args: argv.slice(1) });
  const out = await command.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${binary} ${args.join(" ")} failed:\n${text}`);
  return text;
}

const PREFIX = "duroxide-chaos-";
/** Holds the pid of the test process that owns the cluster. */
const OWNER_FILE = "owner.pid";

/** Stops and deletes clusters whose owning process is gone (killed before its cleanup). */
async function removeAbandoned(): Promise<void> {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  for await (const entry of Deno.readDir(tmp)) {
    if (!entry.isDirectory || !entry.name.startsWith(PREFIX)) continue;
    const dir = `${tmp}/${entry.name}`;
    let owner: string;
    try {
      owner = (await Deno.readTextFile(`${dir}/${OWNER_FILE}`)).trim();
    } catch {
      continue; // being created right now, or not ours
    }
    if (await Deno.stat(`/proc/${owner}`).then(() => true, () => false)) continue;
    await asPostgres("pg_ctl", ["stop", "-D", `${dir}/data`, "-m", "immediate", "-w"])
      .catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A PostgreSQL cluster owned by one test. */
export class PrivateCluster implements AsyncDisposable {
  /** The temporary directory holding data, socket and log. */
  readonly dir: string;
  /** The loopback port it listens on. */
  readonly port: number;
  #destroyed = false;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /**
   * Creates and starts a cluster (about a second). Clusters left behind by test processes
   * that died before cleaning up are stopped and removed first.
   */
  static async start(options: PrivateClusterOptions = {}): Promise<PrivateCluster> {
    const reason = privateClusterUnavailable();
    if (reason) throw new Error(`Cannot create a private cluster: ${reason}`);
    await removeAbandoned();
    const dir = await Deno.makeTempDir({ prefix: PREFIX });
    await Deno.writeTextFile(`${dir}/${OWNER_FILE}`, String(Deno.pid));
    const cluster = new PrivateCluster(dir, freePort());
    try {
      if (isRoot()) {
        const chown = await new Deno.Command("chown", { args: ["postgres:postgres", dir] })
          .output();
        if (!chown.success) throw new Error(`chown of ${dir} failed`);
      }
      await asPostgres("initdb", ["-D", `${dir}/data`, "-A", "trust", "-U", "postgres", "-N"]);
      const settings: Record<string, string | number> = {
        port: cluster.port,
        listen_addresses: "127.0.0.1",
        unix_socket_directories: dir,
        ...options.settings,
      };
      const conf = Object.entries(settings)
        .map(([k, v]) => `${k} = ${typeof v === "number" ? v : shellQuote(v)}`)
        .join("\n");
      // Appending keeps the file's owner (postgres).
      await Deno.writeTextFile(`${dir}/data/postgresql.conf`, `\n${conf}\n`, { append: true });
      await cluster.#pgCtl("start");
      return cluster;
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
  }

  /**
   * Restarts the server: `"fast"` disconnects every session and shuts down cleanly,
   * `"immediate"` kills the server without a checkpoint (a crash; WAL recovery on start).
   * Resolves once it accepts connections again.
   */
  async restart(mode: "fast" | "immediate" = "fast"): Promise<void> {
    await this.#pgCtl("restart", ["-m", mode]);
  }

  /** Stops the server (it keeps its data; {@linkcode PrivateCluster.startAgain} resumes). */
  async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
    await this.#pgCtl("stop", ["-m", mode]);
  }

  /** Starts a stopped server again. */
  async startAgain(): Promise<void> {
    await this.#pgCtl("start");
  }

  /** Stops the server (immediately) and deletes its directory; safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      await this.#pgCtl("stop", ["-m", "immediate"]);
    } catch {
      // not running (or never started)
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** Same as {@linkcode PrivateCluster.destroy}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  async #pgCtl(action: string, extra: string[] = []): Promise<void> {
    await asPostgres("pg_ctl", [
      action,
      "-D",
      `${this.dir}/data`,
      "-l",
      `${this.dir}/server.log`,
      "-w",
      "-t",
      "60",
      ...extra,
    ]);
  }
}
