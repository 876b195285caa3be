/**
 * The migration diff documents: every migration has one and each is what
 * `scripts/migration_diff.ts` renders now; the line diff behind them; the rendering of
 * table, index and function changes.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type CatalogSnapshot,
  diffDocumentPath,
  diffLines,
  emptySnapshot,
  type FunctionSnapshot,
  loadMigrationFiles,
  normalizeSchemaName,
  renderAllMigrationDiffs,
  renderDiffDocument,
  renderMigrationDiff,
  unifiedDiff,
} from "../scripts/migration_diff.ts";
import type { EmbeddedMigration } from "../src/migrations/migration.ts";
import { backendTest } from "./_support/backends.ts";

const ROOT = new URL("../", import.meta.url);

// --- the committed documents ------------------------------------------------------------------

Deno.test("every migration file has its diff document, and every document its migration", async () => {
  const sql: string[] = [];
  const docs: string[] = [];
  for await (const entry of Deno.readDir(new URL("migrations/", ROOT))) {
    const match = /^(\d{4})_(.+)$/.exec(entry.name);
    if (!entry.isFile || !match) continue;
    if (match[2] === "diff.md") docs.push(match[1]);
    else if (entry.name.endsWith(".sql")) sql.push(match[1]);
  }
  sql.sort();
  docs.sort();
  const missing = sql.filter((v) => !docs.includes(v)).map((v) => diffDocumentPath(Number(v)));
  assert.deepEqual(missing, [], `missing: run \`deno task migration-diff --all\``);
  assert.deepEqual(docs.filter((v) => !sql.includes(v)), [], "a diff document without migration");
});

backendTest("each committed diff document is what the generator renders now", async (t) => {
  const migrations = await loadMigrationFiles(ROOT);
  const rendered = await renderAllMigrationDiffs(t.driver, migrations, { schemaPrefix: t.schema });
  const stale: string[] = [];
  for (const [version, text] of rendered) {
    const path = diffDocumentPath(version);
    const committed = await Deno.readTextFile(new URL(path, ROOT)).catch(() => null);
    if (committed !== text) stale.push(path);
  }
  assert.deepEqual(stale, [], "stale: run `deno task migration-diff --all`");

  // The single-migration path (two fresh schemas) renders the same latest document.
  const latest = migrations.at(-1)!.version;
  const single = await renderMigrationDiff(t.driver, migrations, latest, {
    schemaPrefix: t.schema,
  });
  assert.equal(single, rendered.get(latest));
  const left = await t.sql(`select 1 from pg_namespace where nspname like $1`, [`${t.schema}_%`]);
  assert.equal(left.length, 0, "the generator must drop its scratch schemas");
});

// --- the line diff ----------------------------------------------------------------------------

Deno.test("unifiedDiff: identical input gives no hunk", () => {
  assert.deepEqual(unifiedDiff([], []), []);
  assert.deepEqual(unifiedDiff(["a", "b", "c"], ["a", "b", "c"]), []);
  assert.ok(diffLines(["a", "b"], ["a", "b"]).every((line) => line.op === " "));
});

Deno.test("unifiedDiff: pure insertions", () => {
  assert.deepEqual(unifiedDiff([], ["a", "b"]), ["@@ -0,0 +1,2 @@", "+a", "+b"]);
  const before = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];
  const after = [...before.slice(0, 5), "new", ...before.slice(5)];
  assert.deepEqual(unifiedDiff(before, after), [
    "@@ -3,6 +3,7 @@",
    " 3",
    " 4",
    " 5",
    "+new",
    " 6",
    " 7",
    " 8",
  ]);
  assert.deepEqual(unifiedDiff(["a"], ["a", "b"]), ["@@ -1 +1,2 @@", " a", "+b"]);
});

Deno.test("unifiedDiff: deletions", () => {
  assert.deepEqual(unifiedDiff(["a", "b"], []), ["@@ -1,2 +0,0 @@", "-a", "-b"]);
  assert.deepEqual(unifiedDiff(["a", "b", "c"], ["a", "c"], 0), ["@@ -2 +1,0 @@", "-b"]);
  assert.deepEqual(unifiedDiff(["x", "a"], ["a"]), ["@@ -1,2 +1 @@", "-x", " a"]);
});

Deno.test("unifiedDiff: a changed line is removed before its replacement is added", () => {
  assert.deepEqual(unifiedDiff(["a", "b", "c"], ["a", "B", "c"]), [
    "@@ -1,3 +1,3 @@",
    " a",
    "-b",
    "+B",
    " c",
  ]);
  assert.deepEqual(diffLines(["x", "y"], ["p", "q"]).map((l) => l.op + l.text), [
    "-x",
    "-y",
    "+p",
    "+q",
  ]);
});

Deno.test("unifiedDiff: hunk headers, and hunks merged when their context overlaps", () => {
  const before = Array.from({ length: 20 }, (_, i) => `l${i + 1}`);
  const far = before.map((l) => l === "l2" || l === "l18" ? l.toUpperCase() : l);
  assert.deepEqual(unifiedDiff(before, far).filter((l) => l.startsWith("@@")), [
    "@@ -1,5 +1,5 @@",
    "@@ -15,6 +15,6 @@",
  ]);
  // Six unchanged lines between two changes: still one hunk (the contexts touch).
  const near = before.map((l) => l === "l5" || l === "l12" ? l.toUpperCase() : l);
  assert.deepEqual(unifiedDiff(before, near).filter((l) => l.startsWith("@@")), [
    "@@ -2,14 +2,14 @@",
  ]);
  // Seven: two hunks.
  const apart = before.map((l) => l === "l5" || l === "l13" ? l.toUpperCase() : l);
  assert.deepEqual(unifiedDiff(before, apart).filter((l) => l.startsWith("@@")), [
    "@@ -2,7 +2,7 @@",
    "@@ -10,7 +10,7 @@",
  ]);
});

/** Applies a unified diff to `lines`, checking every context and removed line. */
function applyUnifiedDiff(lines: readonly string[], diff: readonly string[]): string[] {
  const out: string[] = [];
  let next = 0; // index in `lines` of the next line not yet copied
  for (const line of diff) {
    const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$/.exec(line);
    if (header) {
      const count = header[2] === undefined ? 1 : Number(header[2]);
      const start = count === 0 ? Number(header[1]) : Number(header[1]) - 1;
      assert.ok(start >= next, "hunks out of order");
      out.push(...lines.slice(next, start));
      next = start;
      assert.equal(
        out.length,
        Number(header[4] ?? 1) === 0 ? Number(header[3]) : Number(header[3]) - 1,
      );
    } else if (line[0] === "+") {
      out.push(line.slice(1));
    } else {
      assert.equal(lines[next], line.slice(1), "context or removed line does not match");
      if (line[0] === " ") out.push(lines[next]);
      next++;
    }
  }
  return [...out, ...lines.slice(next)];
}

Deno.test("unifiedDiff: applying the diff turns the old lines into the new (property)", () => {
  const lines = fc.array(fc.constantFrom("a", "b", "c", "d", ""), { maxLength: 30 });
  fc.assert(
    fc.property(lines, lines, fc.integer({ min: 0, max: 4 }), (a, b, context) => {
      assert.deepEqual(applyUnifiedDiff(a, unifiedDiff(a, b, context)), b);
      const ops = diffLines(a, b);
      assert.deepEqual(ops.filter((l) => l.op !== "+").map((l) => l.text), a);
      assert.deepEqual(ops.filter((l) => l.op !== "-").map((l) => l.text), b);
    }),
    { numRuns: 300 },
  );
});

// --- rendering --------------------------------------------------------------------------------

Deno.test("normalizeSchemaName replaces the quoted and the bare name, whole words only", () => {
  assert.equal(
    normalizeSchemaName(`select "s1".f(), s1.t, s1x.u, xs1.v`, "s1"),
    "select SCHEMA.f(), SCHEMA.t, s1x.u, xs1.v",
  );
});

function fn(name: string, args: string, body: string): [string, FunctionSnapshot] {
  const definition =
    `CREATE OR REPLACE FUNCTION SCHEMA.${name}(${args})\n RETURNS jsonb\n LANGUAGE sql\nAS $function$\n${body}\n$function$`;
  return [`${name}(${args})`, { name, args, definition }];
}

function snapshot(parts: Partial<CatalogSnapshot>): CatalogSnapshot {
  return { ...emptySnapshot(), ...parts };
}

function migrationsUpTo(n: number): EmbeddedMigration[] {
  return Array.from({ length: n }, (_, i) => ({
    version: i + 1,
    name: `000${i + 1}_m${i + 1}`,
    checksum: "",
    sql: "",
  }));
}

Deno.test("renderDiffDocument: the baseline of a changed function is the migration that last changed it", () => {
  const f1 = fn("f", "p text", "  select 1");
  const f2 = fn("f", "p text", "  select 2");
  const g = fn("g", "", "  select 1");
  const h1 = fn("h", "a bigint", "  select 1");
  const h2 = fn("h", "a bigint, b bigint", "  select 1");
  const history = [
    emptySnapshot(),
    snapshot({ functions: Object.fromEntries([f1, g, h1]) }),
    snapshot({ functions: Object.fromEntries([f1, h1]) }), // 2 drops g
    snapshot({ functions: Object.fromEntries([f2, h2]) }), // 3 changes f and h's signature
    snapshot({ functions: Object.fromEntries([fn("f", "p text", "  select 4"), h2]) }),
  ];
  const migrations = migrationsUpTo(4);
  const third = renderDiffDocument(history, 3, migrations);
  assert.match(third, /^### `f` — body modified \(baseline: 0001\)$/m);
  assert.match(third, /^### `h` — signature changed \(baseline: 0001\)$/m);
  assert.ok(third.includes("\n-  select 1\n+  select 2\n"));
  assert.match(
    third,
    /\*\*Summary:\*\* 1 function added, 1 function changed, 1 function dropped\./,
  );
  const second = renderDiffDocument(history, 2, migrations);
  assert.match(second, /### Dropped functions\n\n- `g\(\)`/);
  assert.match(
    renderDiffDocument(history, 4, migrations),
    /^### `f` — body modified \(baseline: 0003\)$/m,
  );
  const first = renderDiffDocument(history, 1, migrations);
  assert.match(first, /Compared with the empty schema/);
  assert.match(first, /^### `g` — new\n\n```sql\nCREATE OR REPLACE FUNCTION SCHEMA\.g\(\)$/m);
  assert.equal(renderDiffDocument(history, 3, migrations), third, "deterministic");
});

Deno.test("renderDiffDocument: new and changed tables, indexes and triggers", () => {
  const column = (name: string, type: string, notNull = true, def: string | null = null) => ({
    name,
    type,
    notNull,
    default: def,
  });
  const before = snapshot({
    tables: { t: { columns: [column("id", "bigint"), column("old", "text")], constraints: {} } },
    indexes: { t_old_idx: "CREATE INDEX t_old_idx ON SCHEMA.t USING btree (old)" },
  });
  const after = snapshot({
    tables: {
      t: {
        columns: [
          column("id", "bigint"),
          column("old", "text", false),
          column("n", "integer", true, "0"),
        ],
        constraints: {},
      },
      u: { columns: [column("k", "text")], constraints: { u_pkey: "PRIMARY KEY (k)" } },
    },
    indexes: { t_n_idx: "CREATE INDEX t_n_idx ON SCHEMA.t USING btree (n)" },
    triggers: {
      "u.u_trg":
        "CREATE TRIGGER u_trg BEFORE INSERT ON SCHEMA.u FOR EACH ROW EXECUTE FUNCTION SCHEMA.f()",
    },
  });
  const doc = renderDiffDocument([emptySnapshot(), before, after], 2, migrationsUpTo(2));
  assert.ok(doc.includes(
    "### New table `u`\n\n```sql\ncreate table SCHEMA.u (\n  k text not null,\n  constraint u_pkey PRIMARY KEY (k)\n);\n```",
  ));
  assert.ok(doc.includes(
    "### Changed table `t`\n\n```diff\n  id bigint not null\n- old text not null\n+ old text\n+ n integer not null default 0\n```",
  ));
  assert.ok(
    doc.includes(
      "## New indexes\n\n```sql\nCREATE INDEX t_n_idx ON SCHEMA.t USING btree (n);\n```",
    ),
  );
  assert.ok(doc.includes("## Dropped indexes\n\n- `t_old_idx`"));
  assert.ok(doc.includes("### New triggers\n\n```sql\nCREATE TRIGGER u_trg"));
  assert.ok(doc.includes("## Function changes\n\nNone.\n"));
});
