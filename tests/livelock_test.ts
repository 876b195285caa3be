/**
 * Regression tests for the lease livelock of duroxide-pg #21 / duroxide #46 and #47
 * (spec/postgres-lessons.md §2.3): dispatchers convoy on one hot instance, a fetch waits longer
 * than the lease inside the database, the lease it writes is computed from the clock read before
 * the wait and is already expired, every ack then fails and the message (poison included) is
 * retried forever.
 *
 * Here many dispatchers contend for one hot instance (and one hot activity queue) while the fault
 * kit stalls their calls inside the server for longer than the lease and delays them on the
 * client. Every lease write is audited by a trigger against the application clock, every
 * returned lease is checked by the caller, and all work must drain exactly once. A poisoned
 * message whose lease ran out must still be disposable.
 *
 * On PGlite statements run one at a time, so a stalled statement also holds back every call
 * queued behind it, after that call read its clock (no database can see that wait). The
 * dispatchers there take turns around each call instead, which keeps the contention and the
 * stalls but not that queueing (see docs/fault-injection.md).
 */

import assert from "node:assert/strict";
import { ProviderError } from "../src/errors.ts";
import { PostgresProvider } from "../src/postgres_provider.ts";
import type { Event, FetchedOrchestrationItem, WorkItem } from "../src/types.ts";
import {
  type ActiveFaultRule,
  procedureFaults,
  type SkewedClock,
  skewedClock,
} from "../sim/mod.ts";
import {
  activityItem,
  expectProviderError,
  makeEvent,
  sleep,
  startedEvent,
  startItem,
  testMetadata,
} from "../sim/validation/helpers.ts";
import { type BackendContext, backendTest } from "./_support/backends.ts";

// A single fetch, renew or ack may go through the batch procedure of the same operation.
const ORCH_FETCH = ["fetch_orchestration_item", "fetch_orchestration_items"];
const ORCH_ACK = ["ack_orchestration_item", "ack_orchestration_items"];
const WORK_FETCH = ["fetch_work_item", "fetch_work_items"];
const WORK_ACK = ["ack_work_item", "ack_work_items"];

/** The application clock of these tests runs an hour behind the database's. */
const APP_SKEW_MS = -3_600_000;

interface Profile {
  /** The lease every fetch and renewal asks for. */
  lockMs: number;
  /** Server-side stalls: longer than the lease. */
  stallMs: number;
  /** Client-side delays: well within the lease. */
  delayMs: number;
  dispatchers: number;
  messages: number;
}

const PROFILES: Record<string, Profile> = {
  // PGlite runs the stalls one after another, so they are kept short (but above the lease).
  pglite: { lockMs: 300, stallMs: 450, delayMs: 40, dispatchers: 4, messages: 12 },
  server: { lockMs: 500, stallMs: 800, delayMs: 60, dispatchers: 8, messages: 30 },
};

/** Calls run one at a time on PGlite (see the module comment), freely on the server. */
function callGate(backend: string): <T>(call: () => Promise<T>) => Promise<T> {
  if (backend !== "pglite") return (call) => call();
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(call: () => Promise<T>) => {
    const run = tail.then(call);
    tail = run.catch(() => {});
    return run;
  };
}

/**
 * Records every lease written to `instance_locks` and `worker_queue`, with the application time
 * of the write (the database clock plus the application's skew: both run on this machine).
 */
async function installLeaseAudit(t: BackendContext): Promise<void> {
  const s = `"${t.schema}"`;
  await t.driver.exec(`
    create table ${s}.lease_audit (
      tbl text not null, token text not null, locked_until bigint not null, written_at bigint not null);
    create function ${s}.audit_lease() returns trigger language plpgsql as $$
    begin
      if new.lock_token is not null and new.locked_until is not null then
        insert into ${s}.lease_audit values (tg_table_name, new.lock_token, new.locked_until,
          floor(extract(epoch from clock_timestamp()) * 1000)::bigint + (${APP_SKEW_MS}));
      end if;
      return null;
    end $$;
    create trigger audit_instance_lease after insert or update on ${s}.instance_locks
      for each row execute function ${s}.audit_lease();
    create trigger audit_work_lease after insert or update on ${s}.worker_queue
      for each row execute function ${s}.audit_lease();`);
}

/** Leases written already expired (`locked_until` not after the write), and all writes. */
async function auditedLeases(t: BackendContext): Promise<{ expired: string[]; writes: number }> {
  const rows = await t.sql<{ tbl: string; token: string; margin: string }>(
    `select tbl, token, (locked_until - written_at)::text as margin from "${t.schema}".lease_audit`,
  );
  return {
    expired: rows.filter((r) => Number(r.margin) <= 0).map((r) =>
      `${r.tbl} ${r.token}: ${r.margin} ms`
    ),
    writes: rows.length,
  };
}

/** The lease a token holds now, or `null` when no row holds it any more. */
async function leaseOf(t: BackendContext, table: string, token: string): Promise<number | null> {
  const rows = await t.sql<{ until: string }>(
    `select locked_until::text as until from "${t.schema}".${table} where lock_token = $1`,
    [token],
  );
  return rows.length === 1 ? Number(rows[0].until) : null;
}

function isLostLease(err: unknown): boolean {
  return err instanceof ProviderError &&
    (err.code === "INVALID_LOCK_TOKEN" || err.code === "LOCK_EXPIRED");
}

/** Strikes every `n`-th call it is asked about. */
function everyNth(n: number): () => boolean {
  let calls = 0;
  return () => ++calls % n === 0;
}

function externalEvent(instance: string, eventId: number, name: string): Event {
  return makeEvent(instance, 1, eventId, { type: "ExternalEvent", name, data: "{}" });
}

interface Contention {
  clock: SkewedClock;
  faults: ReturnType<typeof procedureFaults>;
  gate: <T>(call: () => Promise<T>) => Promise<T>;
  providers: PostgresProvider[];
  /** Problems the callers saw: returned leases that were already expired. */
  violations: string[];
}

async function openContention(t: BackendContext, profile: Profile): Promise<Contention> {
  await (await t.createProvider({ longPoll: { enabled: false } })).close(); // migrate first
  await installLeaseAudit(t);
  const clock = skewedClock(APP_SKEW_MS);
  const faults = procedureFaults(t.driver);
  const providers: PostgresProvider[] = [];
  for (let i = 0; i < profile.dispatchers; i++) {
    providers.push(
      await PostgresProvider.fromDriver(faults.driver, {
        schema: t.schema,
        clock,
        longPoll: { enabled: false },
      }),
    );
  }
  return { clock, faults, gate: callGate(t.backend), providers, violations: [] };
}

/** Fails the run when the lease a caller just got is not live by the application clock. */
async function checkReturnedLease(
  t: BackendContext,
  c: Contention,
  table: string,
  token: string,
): Promise<void> {
  const now = c.clock();
  const until = await leaseOf(t, table, token);
  if (until === null || until <= now) {
    c.violations.push(`${table} lease ${token} returned expired (${until} <= ${now})`);
  }
}

/** Runs `dispatch` on every provider until `done()`, failing after two minutes. */
async function runDispatchers(
  c: Contention,
  done: () => boolean,
  dispatch: (provider: PostgresProvider) => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  await Promise.all(c.providers.map(async (provider) => {
    while (!done()) {
      if (Date.now() > deadline) throw new Error("the work did not drain within two minutes");
      if (!(await dispatch(provider))) await sleep(2);
    }
  }));
}

backendTest(
  "livelock: dispatchers convoy on one hot instance; no lease is written expired",
  async (t) => {
    const profile = PROFILES[t.backend];
    const c = await openContention(t, profile);
    const { faults, gate } = c;
    try {
      // Every dispatcher's first fetch stalls past the lease (a convoy), then stalls and delays
      // keep striking renewals and acks.
      const stalls: ActiveFaultRule[] = [
        faults.inject(ORCH_FETCH, { stallMs: profile.stallMs, times: profile.dispatchers + 2 }),
        faults.inject("renew_orchestration_item_lock", { stallMs: profile.stallMs, times: 3 }),
        faults.inject(ORCH_ACK, { stallMs: profile.stallMs, times: 2 }),
      ];
      faults.inject(ORCH_FETCH, { delayMs: profile.delayMs, when: everyNth(4) });
      faults.inject(ORCH_ACK, { delayMs: profile.delayMs, when: everyNth(3) });
      faults.inject("renew_orchestration_item_lock", {
        delayMs: profile.delayMs,
        when: everyNth(2),
      });

      const instance = "hot";
      const total = profile.messages + 1; // the start and one event per message
      let finished = false;
      let lostTurns = 0;
      await c.providers[0].enqueueForOrchestrator(startItem(instance), null);

      await runDispatchers(c, () => finished, async (provider) => {
        const turn = await gate(async () => {
          const turn = await provider.fetchOrchestrationItem(profile.lockMs, 0);
          if (turn) await checkReturnedLease(t, c, "instance_locks", turn.lockToken);
          return turn;
        });
        if (!turn) return false;
        const { history, messages } = turn.item;
        const events = messages.map((m, i) =>
          m.type === "StartOrchestration"
            ? startedEvent(instance)
            : externalEvent(instance, history.length + 1 + i, (m as { name: string }).name)
        );
        const length = history.length + events.length;
        // Each turn asks for the next message, so the instance stays hot until all were sent.
        const next: WorkItem[] = length < total
          ? [{ type: "ExternalRaised", instance, name: `m${length}`, data: "{}" }]
          : [];
        try {
          await gate(() => provider.renewOrchestrationItemLock(turn.lockToken, profile.lockMs));
          await gate(() =>
            provider.ackOrchestrationItem(turn.lockToken, 1, events, [], next, testMetadata(), [])
          );
        } catch (err) {
          if (!isLostLease(err)) throw err; // a stall outlived the lease and another took over
          lostTurns++;
          return true;
        }
        if (length === total) finished = true;
        return true;
      });

      assert.deepEqual(c.violations, [], "a fetch returned a lease that was already expired");
      const audit = await auditedLeases(t);
      assert.deepEqual(audit.expired, [], "a lease was written already expired");
      assert.ok(audit.writes >= total, `${audit.writes} lease writes for ${total} turns`);
      for (const rule of stalls) assert.ok(rule.retired, "every planned stall struck");

      // Drained, each message exactly once, in order.
      const history = await c.providers[0].read(instance);
      assert.deepEqual(
        history.map((e) => e.eventId),
        Array.from({ length: total }, (_, i) => i + 1),
      );
      assert.deepEqual(
        history.slice(1).map((e) => (e as { name?: string }).name),
        Array.from({ length: profile.messages }, (_, i) => `m${i + 1}`),
      );
      const [left] = await t.sql<{ queued: number; locks: number }>(
        `select (select count(*) from "${t.schema}".orchestrator_queue)::int as queued,
              (select count(*) from "${t.schema}".instance_locks)::int as locks`,
      );
      assert.deepEqual(left, { queued: 0, locks: 0 });
      console.log(
        `  ${total} turns, ${audit.writes} lease writes, ${lostTurns} turns lost to stalls`,
      );
    } finally {
      for (const p of c.providers) await p.close();
    }
  },
);

backendTest(
  "livelock: workers contend for activities under stalls; each completes once",
  async (t) => {
    const profile = PROFILES[t.backend];
    const c = await openContention(t, profile);
    const { faults, gate } = c;
    try {
      const stalls = [
        faults.inject(WORK_FETCH, { stallMs: profile.stallMs, times: profile.dispatchers + 2 }),
        faults.inject("renew_work_item_lock", { stallMs: profile.stallMs, times: 2 }),
        faults.inject(WORK_ACK, { stallMs: profile.stallMs, times: 2 }),
      ];
      faults.inject(WORK_FETCH, { delayMs: profile.delayMs, when: everyNth(3) });
      faults.inject(WORK_ACK, { delayMs: profile.delayMs, when: everyNth(2) });
      const activities = profile.messages;
      for (let id = 1; id <= activities; id++) {
        await c.providers[0].enqueueForWorker(activityItem("w", 1, id));
      }
      let completed = 0;
      await runDispatchers(c, () => completed === activities, async (provider) => {
        const work = await gate(async () => {
          const work = await provider.fetchWorkItem(profile.lockMs, 0, null, { type: "Any" });
          if (work) await checkReturnedLease(t, c, "worker_queue", work.lockToken);
          return work;
        });
        if (!work) return false;
        const { id } = work.item as { id: number };
        try {
          await gate(() => provider.renewWorkItemLock(work.lockToken, profile.lockMs));
          await gate(() =>
            provider.ackWorkItem(work.lockToken, {
              type: "ActivityCompleted",
              instance: "w",
              executionId: 1,
              id,
              result: String(id),
            })
          );
          completed++;
        } catch (err) {
          if (!isLostLease(err)) throw err;
        }
        return true;
      });

      assert.deepEqual(c.violations, [], "a fetch returned a lease that was already expired");
      const audit = await auditedLeases(t);
      assert.deepEqual(audit.expired, [], "a lease was written already expired");
      for (const rule of stalls) assert.ok(rule.retired, "every planned stall struck");
      const rows = await t.sql<{ id: string }>(
        `select (work_item::jsonb -> 'ActivityCompleted' ->> 'id') as id
         from "${t.schema}".orchestrator_queue order by 1`,
      );
      assert.deepEqual(
        rows.map((r) => Number(r.id)).sort((a, b) => a - b),
        Array.from({ length: activities }, (_, i) => i + 1),
        "each activity completed exactly once",
      );
      const [left] = await t.sql<{ n: number }>(
        `select count(*)::int as n from "${t.schema}".worker_queue`,
      );
      assert.equal(left.n, 0);
    } finally {
      for (const p of c.providers) await p.close();
    }
  },
);

backendTest(
  "livelock: the audit catches a lease computed from the clock read before a wait",
  async (t) => {
    // The #21 bug planted in this test's schema: the procedures no longer count their wait.
    const profile = PROFILES[t.backend];
    const c = await openContention(t, { ...profile, dispatchers: 1 });
    try {
      await t.driver.exec(
        `create or replace function "${t.schema}".wait_ms() returns bigint
         language sql immutable as $$ select 0::bigint $$`,
      );
      const [provider] = c.providers;
      await provider.enqueueForOrchestrator(startItem("i"), null);
      c.faults.inject(ORCH_FETCH, { stallMs: profile.stallMs, times: 1 });
      const turn = await provider.fetchOrchestrationItem(profile.lockMs, 0);
      assert.ok(turn);
      await checkReturnedLease(t, c, "instance_locks", turn.lockToken);
      assert.equal(c.violations.length, 1, "the caller got a dead lease");
      assert.equal((await auditedLeases(t)).expired.length, 1, "the audit saw it written expired");
      // ...and every ack through it fails: the livelock.
      const err = await expectProviderError(
        provider.ackOrchestrationItem(
          turn.lockToken,
          1,
          [startedEvent("i")],
          [],
          [],
          testMetadata(),
          [],
        ),
        "an ack through a lease written expired",
      );
      assert.equal(err.code, "LOCK_EXPIRED");
    } finally {
      for (const p of c.providers) await p.close();
    }
  },
);

// --- poison -----------------------------------------------------------------------------------

const MAX_ATTEMPTS = 3;

/** Fetches and abandons until the next fetch would exceed `MAX_ATTEMPTS`. */
async function exhaustOrchestration(p: PostgresProvider, lockMs: number): Promise<void> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const turn = await p.fetchOrchestrationItem(lockMs, 0);
    assert.equal(turn?.attemptCount, attempt);
    await p.abandonOrchestrationItem(turn.lockToken, null, false);
  }
}

function poisonFailure(turn: FetchedOrchestrationItem): Event {
  return makeEvent(turn.item.instance, 1, 2, {
    type: "OrchestrationFailed",
    details: {
      type: "Poison",
      attemptCount: turn.attemptCount,
      maxAttempts: MAX_ATTEMPTS,
      messageType: { type: "Orchestration", instance: turn.item.instance, executionId: 1 },
      message: "{}",
    },
  });
}

backendTest(
  "livelock: a poisoned orchestration whose lease ran out can still be failed",
  async (t) => {
    const { lockMs, stallMs } = PROFILES[t.backend];
    const clock = skewedClock(0);
    const faults = procedureFaults(t.driver);
    const options = { schema: t.schema, clock, longPoll: { enabled: false } };
    await using holder = await PostgresProvider.fromDriver(faults.driver, options);
    await using other = await PostgresProvider.fromDriver(faults.driver, options);
    await holder.enqueueForOrchestrator(startItem("poison"), null);
    await exhaustOrchestration(holder, lockMs);

    const poisoned = await holder.fetchOrchestrationItem(lockMs, 0);
    assert.equal(poisoned?.attemptCount, MAX_ATTEMPTS + 1, "past the maximum: poison");
    clock.skewMs += lockMs + 1; // the dispatcher took too long: its lease ran out
    const dead = await expectProviderError(
      holder.ackOrchestrationItem(
        poisoned.lockToken,
        1,
        [startedEvent("poison"), poisonFailure(poisoned)],
        [],
        [],
        testMetadata({ status: "Failed" }),
        [],
      ),
      "a poison ack through the lapsed lease",
    );
    assert.equal(dead.code, "LOCK_EXPIRED");

    // The message is not stuck: a fetch that waits longer than the lease inside the database
    // still returns a live lease, and the failure commits through it.
    faults.inject(ORCH_FETCH, { stallMs, times: 1 });
    const again = await other.fetchOrchestrationItem(lockMs, 0);
    assert.equal(again?.attemptCount, MAX_ATTEMPTS + 2);
    const lease = await leaseOf(t, "instance_locks", again.lockToken);
    assert.ok(lease !== null && lease > clock(), "the refetch's lease is live");
    await other.ackOrchestrationItem(
      again.lockToken,
      1,
      [startedEvent("poison"), poisonFailure(again)],
      [],
      [],
      testMetadata({ status: "Failed", output: "poison" }),
      [],
    );
    const history = await other.read("poison");
    assert.deepEqual(history.map((e) => e.type), ["OrchestrationStarted", "OrchestrationFailed"]);
    assert.equal(await other.fetchOrchestrationItem(lockMs, 0), null, "disposed of for good");
    const info = await other.asManagementCapability().getInstanceInfo("poison");
    assert.equal(info.status, "Failed");
    // The lapsed token was taken over, so it cannot release anything any more.
    const stale = await expectProviderError(
      holder.abandonOrchestrationItem(poisoned.lockToken, null, false),
      "abandon through a token that was taken over",
    );
    assert.equal(stale.code, "INVALID_LOCK_TOKEN");
  },
);

/** The `ActivityFailed` the runtime acks for activity 7 of instance `i` when it is poison. */
function poisonedActivity(attemptCount: number): WorkItem {
  return {
    type: "ActivityFailed",
    instance: "i",
    executionId: 1,
    id: 7,
    details: {
      type: "Poison",
      attemptCount,
      maxAttempts: MAX_ATTEMPTS,
      messageType: {
        type: "Activity",
        instance: "i",
        executionId: 1,
        activityName: "TestActivity",
        activityId: 7,
      },
      message: "{}",
    },
  };
}

backendTest(
  "livelock: a poisoned activity whose lease ran out can be released and failed",
  async (t) => {
    const { lockMs, stallMs } = PROFILES[t.backend];
    const clock = skewedClock(0);
    const faults = procedureFaults(t.driver);
    await using provider = await PostgresProvider.fromDriver(faults.driver, {
      schema: t.schema,
      clock,
      longPoll: { enabled: false },
    });
    await provider.enqueueForWorker(activityItem("i", 1, 7));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const work = await provider.fetchWorkItem(lockMs, 0, null, { type: "Any" });
      assert.equal(work?.attemptCount, attempt);
      await provider.abandonWorkItem(work.lockToken, null, false);
    }
    const poisoned = await provider.fetchWorkItem(lockMs, 0, null, { type: "Any" });
    assert.equal(poisoned?.attemptCount, MAX_ATTEMPTS + 1);
    clock.skewMs += lockMs + 1;
    const dead = await expectProviderError(
      provider.ackWorkItem(poisoned.lockToken, poisonedActivity(poisoned.attemptCount)),
      "a poison ack through the lapsed lease",
    );
    assert.equal(dead.code, "LOCK_EXPIRED");
    // Nobody took the lapsed lease over, so its holder may still give the item back...
    await provider.abandonWorkItem(poisoned.lockToken, null, false);
    // ...and the next fetch, stalled past the lease, gets a live one to fail it through.
    faults.inject(WORK_FETCH, { stallMs, times: 1 });
    const again = await provider.fetchWorkItem(lockMs, 0, null, { type: "Any" });
    assert.equal(again?.attemptCount, MAX_ATTEMPTS + 2);
    const lease = await leaseOf(t, "worker_queue", again.lockToken);
    assert.ok(lease !== null && lease > clock(), "the refetch's lease is live");
    await provider.ackWorkItem(again.lockToken, poisonedActivity(again.attemptCount));
    assert.equal(await provider.fetchWorkItem(lockMs, 0, null, { type: "Any" }), null);
    const rows = await t.sql<{ kind: string }>(
      `select kind from "${t.schema}".orchestrator_queue where instance_id = 'i'`,
    );
    assert.deepEqual(
      rows.map((r) => r.kind),
      ["ActivityFailed"],
      "the poison failure was delivered",
    );
  },
);
