/**
 * Logging: orchestration and activity traces plus runtime diagnostics, as structured records
 * handed to a sink (the console unless the runtime is given a `logger`).
 *
 * @module
 */

/** Severity of a record. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** One log record. */
export interface LogRecord {
  /** Severity. */
  level: LogLevel;
  /** The text. */
  message: string;
  /** `"orchestration"`, `"activity"` or `"runtime"`. */
  source: "orchestration" | "activity" | "runtime";
  /** The service name from the runtime options. */
  service: string;
  /** Instance the record is about, if any. */
  instanceId?: string;
  /** Execution the record is about, if any. */
  executionId?: number;
  /** Activity name, for activity traces. */
  activityName?: string;
}

const RANK: Record<LogLevel | "off", number> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };

/** Writes records at or above a level to a sink. */
export type Log = (record: Omit<LogRecord, "service">) => void;

function consoleSink(r: LogRecord): void {
  const where = r.instanceId ? ` [${r.instanceId}${r.executionId ? `#${r.executionId}` : ""}]` : "";
  const line = `${r.service} ${r.level.toUpperCase()} ${r.source}${where}: ${r.message}`;
  if (r.level === "error") console.error(line);
  else if (r.level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * Creates a {@linkcode Log} that filters by level and adds the service name.
 *
 * @example
 * ```ts
 * import { createLog } from "./logger.ts";
 * const seen: string[] = [];
 * const log = createLog("warn", (r) => seen.push(r.message), "svc");
 * log({ level: "info", message: "dropped", source: "runtime" });
 * log({ level: "error", message: "kept", source: "runtime" });
 * console.assert(seen.length === 1 && seen[0] === "kept");
 * ```
 */
export function createLog(
  minLevel: LogLevel | "off",
  sink: ((record: LogRecord) => void) | null,
  service: string,
): Log {
  const min = RANK[minLevel];
  const out = sink ?? consoleSink;
  return (record) => {
    if (RANK[record.level] < min) return;
    try {
      out({ ...record, service });
    } catch {
      // a failing log sink must not break the runtime
    }
  };
}
