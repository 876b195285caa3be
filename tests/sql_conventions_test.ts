/**
 * Static checks of the shipped SQL: the embedded copy is current, and no function reads the
 * database clock except `wait_ms`, which only measures a duration.
 */

import assert from "node:assert/strict";
import { renderEmbeddedMigrations } from "../scripts/embed_migrations.ts";
import { EMBEDDED_MIGRATIONS } from "../src/migrations/_embedded.ts";

Deno.test("src/migrations/_embedded.ts matches migrations/*.sql (run `deno task embed`)", async () => {
  const current = await Deno.readTextFile(
    new URL("../src/migrations/_embedded.ts", import.meta.url),
  );
  assert.equal(current, await renderEmbeddedMigrations());
});

Deno.test("migrations read no absolute database time", () => {
  const clockCalls =
    /\b(now\(\)|current_timestamp|current_date|localtimestamp|transaction_timestamp)\b/i;
  for (const m of EMBEDDED_MIGRATIONS) {
    const withoutComments = m.sql.replace(/--[^\n]*/g, "");
    assert.doesNotMatch(withoutComments, clockCalls, m.name);
    // clock_timestamp()/statement_timestamp() appear only inside wait_ms, as a difference.
    const uses = withoutComments.match(/\b(clock_timestamp|statement_timestamp)\(\)/g) ?? [];
    const inWaitMs = withoutComments.match(
      /create function @SCHEMA@\.wait_ms\(\)[\s\S]*?\$\$[\s\S]*?\$\$/,
    )?.[0] ?? "";
    const allowed = inWaitMs.match(/\b(clock_timestamp|statement_timestamp)\(\)/g) ?? [];
    assert.equal(uses.length, allowed.length, `${m.name} reads the database clock outside wait_ms`);
  }
});

Deno.test("timestamp columns have no defaults", () => {
  for (const m of EMBEDDED_MIGRATIONS) {
    assert.doesNotMatch(m.sql, /_ms\s+bigint\s+[^,\n]*default/i, m.name);
    assert.doesNotMatch(m.sql, /timestamptz/i, `${m.name}: times are epoch ms`);
  }
});

Deno.test("README lists the validation test count of every category", async () => {
  const { allValidationTests, countByCategory } = await import("../sim/mod.ts");
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const counts = countByCategory(allValidationTests);
  for (const [category, count] of Object.entries(counts)) {
    assert.match(readme, new RegExp(`\\| ${category}\\s+\\| ${count}\\s+\\|`), category);
  }
  assert.match(
    readme,
    new RegExp(`\\| \\*\\*total\\*\\*\\s+\\| ${allValidationTests.length}\\s+\\|`),
  );
});
