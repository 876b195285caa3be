/**
 * The {@linkcode SqlDriver} over postgres.js, for a PostgreSQL server.
 *
 * @module
 */

import type { Sql, TransactionSql } from "postgres";
import type { SqlDriver, SqlExecutor, Unlisten } from "./driver.ts";

type Param = Parameters<Sql["unsafe"]>[1];

function executor(sql: Sql | TransactionSql): SqlExecutor {
  return {
    async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
      // Named prepared statements: one parse per connection, then bind/execute only.
      const rows = await sql.unsafe(text, params as Param, { prepare: true });
      return Array.from(rows) as Row[]; // a plain array, like PGlite's
    },
    async exec(script: string): Promise<void> {
      // Without parameters postgres.js uses the simple protocol, which allows many statements.
      await sql.unsafe(script);
    },
  };
}

/**
 * Wraps a postgres.js instance. With `owned`, {@linkcode SqlDriver.close} ends its pool.
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { postgresJsDriver } from "./postgres_js.ts";
 * const driver = postgresJsDriver(postgres("postgres://postgres@127.0.0.1:5432/postgres"), true);
 * await driver.query("select 1");
 * await driver.close();
 * ```
 */
export function postgresJsDriver(sql: Sql, owned: boolean): SqlDriver {
  const base = executor(sql);
  return {
    ...base,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return await sql.begin((tx) => fn(executor(tx))) as T;
    },
    async listen(channel, onPayload, onReconnect): Promise<Unlisten> {
      let subscribed = false;
      const sub = await sql.listen(channel, onPayload, () => {
        // postgres.js calls this after the first LISTEN and after every reconnect.
        if (subscribed) onReconnect?.();
        subscribed = true;
      });
      return () => sub.unlisten();
    },
    async close(): Promise<void> {
      if (owned) await sql.end({ timeout: 5 });
    },
  };
}
