/**
 * Schema names are interpolated into SQL, so they are validated once and quoted.
 *
 * @module
 */

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Returns the schema name as a quoted SQL identifier.
 *
 * @throws {TypeError} when the name is not 1–63 letters, digits or underscores starting with a
 * letter or underscore, or starts with `pg_` (reserved by PostgreSQL).
 *
 * @example
 * ```ts
 * import { quoteSchemaName } from "./schema_name.ts";
 * console.assert(quoteSchemaName("tenant_a") === '"tenant_a"');
 * ```
 */
export function quoteSchemaName(schema: string): string {
  if (typeof schema !== "string" || !SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      `Invalid schema name: expected 1-63 letters, digits or underscores, not starting with a digit: ${
        JSON.stringify(schema)
      }`,
    );
  }
  if (schema.toLowerCase().startsWith("pg_")) {
    throw new TypeError(`Invalid schema name: the pg_ prefix is reserved: "${schema}"`);
  }
  return `"${schema}"`;
}
