/** WakeSignal and TimerQueue, the building blocks of long polling. */

import assert from "node:assert/strict";
import { TimerQueue } from "../src/long_poll/timer_queue.ts";
import { WakeSignal } from "../src/long_poll/wake_signal.ts";

Deno.test("WakeSignal.wakeOne() wakes the longest waiter only", async () => {
  const signal = new WakeSignal();
  const since = signal.generation;
  const first = signal.wait(since, 1000);
  const second = signal.wait(since, 50);
  signal.wakeOne();
  assert.equal(await first, true);
  assert.equal(await second, false);
  assert.equal(signal.waiting, 0);
});

Deno.test("WakeSignal.wakeAll() wakes everyone and bumps the generation", async () => {
  const signal = new WakeSignal();
  const since = signal.generation;
  const waits = [signal.wait(since, 1000), signal.wait(since, 1000), signal.wait(since, 1000)];
  signal.wakeAll();
  assert.deepEqual(await Promise.all(waits), [true, true, true]);
  assert.equal(signal.generation, since + 1);
});

Deno.test("WakeSignal.wait() returns at once after a wake it missed, and ends on abort", async () => {
  const signal = new WakeSignal();
  const since = signal.generation;
  signal.wakeOne(); // nobody waiting: only the generation moves
  assert.equal(await signal.wait(since, 1000), true);
  const abort = new AbortController();
  const pending = signal.wait(signal.generation, 10_000, abort.signal);
  abort.abort();
  assert.equal(await pending, false);
});

Deno.test("TimerQueue fires due times in order, once per batch, deduplicated", async () => {
  const start = Date.now();
  const fired: number[] = [];
  const timers = new TimerQueue(Date.now, 0, () => fired.push(Date.now() - start));
  timers.schedule(start + 60);
  timers.schedule(start + 20);
  timers.schedule(start + 20);
  timers.schedule(start + 40);
  assert.equal(timers.size, 3);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(timers.size, 0);
  assert.ok(fired.length >= 1 && fired.length <= 3, `fired ${fired.length} times`);
  assert.ok(fired[0] >= 20, "a timer fired early");
  timers.clear();
});

Deno.test("TimerQueue.clear() cancels pending times", async () => {
  let fired = 0;
  const timers = new TimerQueue(Date.now, 0, () => fired++);
  timers.schedule(Date.now() + 20);
  timers.clear();
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(fired, 0);
});
