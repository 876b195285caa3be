/**
 * The driver boundary: the few things the provider needs from a PostgreSQL connection.
 * Everything above it is one code path, whether a server (postgres.js) or an in-process
 * PGlite is underneath.
 *
 * @module
 */

/** Runs statements on one connection or transaction. */
export interface SqlExecutor {
  /** Runs one parameterised statement and returns its rows. */
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements without parameters. */
  exec(script: string): Promise<void>;
}

/** Stops a subscription started with {@linkcode SqlDriver.listen}. */
export type Unlisten = () => Promise<void>;

/** A database the provider can talk to. */
export interface SqlDriver extends SqlExecutor {
  /** Runs `fn` in a transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel (the name is quoted by the driver). `onReconnect` runs after
   * the subscription was re-established, since notifications sent meanwhile were lost.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onReconnect?: () => void,
  ): Promise<Unlisten>;
  /** Releases what the driver owns (a pool it created); borrowed connections stay open. */
  close(): Promise<void>;
}
