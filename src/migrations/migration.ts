/**
 * What a shipped migration is.
 *
 * @module
 */

/** One migration file, embedded in the module. */
export interface EmbeddedMigration {
  /** The file's number (1 for `0001_baseline.sql`). */
  version: number;
  /** The file name without `.sql`. */
  name: string;
  /** SHA-256 of the file text, hex. */
  checksum: string;
  /** The file text; `@SCHEMA@` stands for the quoted schema name. */
  sql: string;
}
