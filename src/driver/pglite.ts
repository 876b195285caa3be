/**
 * The {@linkcode SqlDriver} over an in-process PGlite database.
 *
 * PGlite runs one session: statements are serialised, `SKIP LOCKED` never skips, and a
 * transaction must use its own handle (calling the outer instance inside it deadlocks).
 *
 * @module
 */

import type { SqlDriver, SqlExecutor, Unlisten } from "./driver.ts";

/** The part of a PGlite transaction handle the driver uses. */
export interface PGliteExecutorLike {
  /** Runs one statement. */
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs a script. */
  exec(script: string): Promise<unknown>;
}

/** The part of a PGlite instance the driver uses (structural, so PGlite stays optional). */
export interface PGliteLike extends PGliteExecutorLike {
  /** Runs `fn` in a transaction. */
  transaction<T>(fn: (tx: PGliteExecutorLike) => Promise<T>): Promise<T>;
  /** Subscribes to a channel; the name is sent as written. */
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
  /** Closes the database. */
  close(): Promise<void>;
}

function executor(db: PGliteExecutorLike): SqlExecutor {
  return {
    async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
      const result = await db.query<Row>(text, [...params]);
      return result.rows;
    },
    async exec(script: string): Promise<void> {
      await db.exec(script);
    },
  };
}

/**
 * Wraps a PGlite instance. With `owned`, {@linkcode SqlDriver.close} closes it.
 *
 * @example
 * ```ts ignore
 * import { PGlite } from "@electric-sql/pglite";
 * import { pgliteDriver } from "./pglite.ts";
 * const driver = pgliteDriver(await PGlite.create(), true);
 * await driver.query("select 1");
 * await driver.close();
 * ```
 */
export function pgliteDriver(db: PGliteLike, owned: boolean): SqlDriver {
  return {
    ...executor(db),
    transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(executor(tx)));
    },
    async listen(channel, onPayload): Promise<Unlisten> {
      // PGlite sends `LISTEN <channel>` verbatim, so quote the identifier here.
      return await db.listen(`"${channel.replaceAll('"', '""')}"`, onPayload);
    },
    async close(): Promise<void> {
      if (owned) await db.close();
    },
  };
}
