/** callWithRetry() retries only failures that were certainly rolled back. */

import assert from "node:assert/strict";
import { ProviderError } from "../src/errors.ts";
import { callWithRetry, MAX_ATTEMPTS } from "../src/stored_procedures.ts";
import { toProviderError } from "../src/sqlstate.ts";

function failing(codes: string[]): { attempts: number; run: () => Promise<string> } {
  const state = {
    attempts: 0,
    run: () => {
      const code = codes[state.attempts++];
      return code ? Promise.reject({ code, message: `sqlstate ${code}` }) : Promise.resolve("ok");
    },
  };
  return state;
}

Deno.test("callWithRetry() retries a replaced cached plan and a deadlock, then succeeds", async () => {
  const call = failing(["0A000", "40P01"]);
  assert.equal(await callWithRetry("op", call.run), "ok");
  assert.equal(call.attempts, 3);
});

Deno.test("callWithRetry() gives up after MAX_ATTEMPTS with the classified error", async () => {
  const call = failing(Array(10).fill("40001"));
  await assert.rejects(
    callWithRetry("op", call.run),
    (err) => err instanceof ProviderError && err.code === "CONFLICT" && err.retryable,
  );
  assert.equal(call.attempts, MAX_ATTEMPTS);
});

Deno.test("callWithRetry() never retries a lost connection or a permanent error", async () => {
  for (const code of ["57P01", "CONNECTION_CLOSED", "DX001", "23505"]) {
    const call = failing([code]);
    await assert.rejects(callWithRetry("op", call.run), ProviderError);
    assert.equal(call.attempts, 1, code);
  }
});

Deno.test("a function dropped and re-created during the call's lookup is retried, other XX000 not", () => {
  const replaced = toProviderError("enqueue_for_orchestrator", {
    code: "XX000",
    routine: "func_get_detail",
    message: "cache lookup failed for function 463856",
  });
  assert.equal(replaced.code, "PLAN_CHANGED");
  assert.equal(replaced.retryable, true);
  const internal = toProviderError("enqueue_for_orchestrator", {
    code: "XX000",
    routine: "heap_update",
    message: "tuple concurrently updated",
  });
  assert.equal(internal.code, "DATABASE");
  assert.equal(internal.retryable, false);
});
