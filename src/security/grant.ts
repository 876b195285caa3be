/**
 * Grants (and revokes) the privileges a run-time role needs to use a provider schema that
 * another role migrated: USAGE on the schema, EXECUTE on the provider's functions, and SELECT
 * on the migrations tracking table (so it can start with `migrations: "verify"`). Nothing else:
 * the operations run with their owner's rights (migration 0005), so the role needs no access
 * to any table. See `docs/security.md`.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { SqlDriver } from "../driver/driver.ts";
import { postgresJsDriver } from "../driver/postgres_js.ts";
import { EMBEDDED_MIGRATIONS } from "../migrations/_embedded.ts";
import { migrate, shippedObjectNames } from "../migrations/runner.ts";
import { quoteSchemaName } from "../schema_name.ts";
import { toProviderError } from "../sqlstate.ts";

const TRACKING_TABLE = "_duroxide_migrations";
const MAX_ROLE_NAME_BYTES = 63;

/**
 * The role name as a quoted identifier.
 *
 * @throws {TypeError} for an empty name, one longer than 63 bytes or with a NUL, `public`
 * (which would grant to every role) or a name starting with `pg_` (PostgreSQL's own roles).
 */
function quoteRoleName(role: unknown): string {
  if (typeof role !== "string" || role === "" || role.includes("\0")) {
    throw new TypeError(`Invalid role name: expected a non-empty string, got ${String(role)}`);
  }
  if (new TextEncoder().encode(role).length > MAX_ROLE_NAME_BYTES) {
    throw new TypeError(`Invalid role name: longer than ${MAX_ROLE_NAME_BYTES} bytes`);
  }
  if (role === "public" || role.startsWith("pg_")) {
    throw new TypeError(`Invalid role name: "${role}" is reserved`);
  }
  return `"${role.replaceAll('"', '""')}"`;
}

function driverOf(driverOrSql: SqlDriver | Sql): SqlDriver {
  return "unsafe" in driverOrSql ? postgresJsDriver(driverOrSql, false) : driverOrSql;
}

/** Runs one GRANT or REVOKE script over the provider's objects of `schema`. */
async function changePrivileges(
  operation: string,
  driverOrSql: SqlDriver | Sql,
  schema: string,
  role: string,
  verb: "grant" | "revoke",
): Promise<void> {
  const quotedSchema = quoteSchemaName(schema);
  const quotedRole = quoteRoleName(role);
  const driver = driverOf(driverOrSql);
  // Typed errors (SCHEMA_NOT_READY, SCHEMA_TOO_NEW) for a schema this code cannot serve; a
  // revoke works on any version.
  if (verb === "grant") await migrate(driver, schema, { mode: "verify" });
  const to = verb === "grant" ? "to" : "from";
  try {
    await driver.transaction(async (tx) => {
      const functions = await tx.query<{ signature: string }>(
        `select format('%s.%I(%s)', $1::text, p.proname,
                       pg_get_function_identity_arguments(p.oid)) as signature
           from pg_proc p
          where p.pronamespace = $1::text::regnamespace
            and p.proname in (select jsonb_array_elements_text($2::text::jsonb))
          order by 1`,
        [quotedSchema, JSON.stringify(shippedObjectNames("function", EMBEDDED_MIGRATIONS))],
      );
      const statements = [
        `${verb} usage on schema ${quotedSchema} ${to} ${quotedRole};`,
        `${verb} select on ${quotedSchema}.${TRACKING_TABLE} ${to} ${quotedRole};`,
        ...functions.map((f) => `${verb} execute on function ${f.signature} ${to} ${quotedRole};`),
      ];
      await tx.exec(statements.join("\n"));
    });
  } catch (err) {
    throw toProviderError(operation, err);
  }
}

/**
 * Lets `role` run the provider on `schema`, which must be migrated to this module's version:
 * grants USAGE on the schema, EXECUTE on the provider's functions and SELECT on the tracking
 * table, and nothing more. Run it as the role that ran the migrations (the owner), once per
 * role, and again after migrations that add functions; it is idempotent. The role then uses the
 * provider with `migrations: "verify"`.
 *
 * @param driverOrSql A driver, or a postgres.js instance (left open), connected as the owner.
 * @throws {TypeError} for an invalid schema or role name (`public` and `pg_*` are refused).
 * @throws {ProviderError} `SCHEMA_NOT_READY` when the schema is not migrated, `DATABASE` when
 * the role does not exist or the caller may not grant.
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { grantRuntimeRole, PostgresProvider } from "@duroxide/pg";
 *
 * // Once, as the owner: migrate, then grant (the role exists: CREATE ROLE app_runtime LOGIN).
 * const owner = postgres("postgres://migrator@db/app");
 * await (await PostgresProvider.fromPostgresJs(owner, { schema: "duroxide" })).close();
 * await grantRuntimeRole(owner, "duroxide", "app_runtime");
 * await owner.end();
 *
 * // At run time, as the runtime role: no DDL, no table access.
 * const provider = await PostgresProvider.connect("postgres://app_runtime@db/app", {
 *   schema: "duroxide",
 *   migrations: "verify",
 * });
 * ```
 */
export async function grantRuntimeRole(
  driverOrSql: SqlDriver | Sql,
  schema: string,
  role: string,
): Promise<void> {
  await changePrivileges("grant_runtime_role", driverOrSql, schema, role, "grant");
}

/**
 * Takes back what {@linkcode grantRuntimeRole} granted, e.g. before dropping the role or when
 * rotating to another one, whatever the schema's version. Privileges granted by other means are
 * left alone.
 *
 * @param driverOrSql A driver, or a postgres.js instance (left open), connected as the owner.
 * @throws {TypeError} for an invalid schema or role name.
 * @throws {ProviderError} `DATABASE` when the schema or the role does not exist or the caller
 * may not revoke.
 *
 * @example
 * ```ts ignore
 * import { revokeRuntimeRole } from "@duroxide/pg";
 *
 * await revokeRuntimeRole(owner, "duroxide", "app_runtime");
 * ```
 */
export async function revokeRuntimeRole(
  driverOrSql: SqlDriver | Sql,
  schema: string,
  role: string,
): Promise<void> {
  await changePrivileges("revoke_runtime_role", driverOrSql, schema, role, "revoke");
}
