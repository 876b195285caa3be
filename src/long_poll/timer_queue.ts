/**
 * Due times waiting to fire, with one real timer armed for the earliest. Many equal or
 * close times cost one entry each and one `setTimeout` in all.
 *
 * @module
 */

/** Calls `onDue` for each scheduled time once it has passed (plus a grace period). */
export class TimerQueue {
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #onDue: () => void;
  #due: number[] = []; // ascending, distinct
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  /** `now` is the application clock; `onDue` runs once per batch of times that came due. */
  constructor(now: () => number, graceMs: number, onDue: () => void) {
    this.#now = now;
    this.#graceMs = graceMs;
    this.#onDue = onDue;
  }

  /** How many times are pending. */
  get size(): number {
    return this.#due.length;
  }

  /** Schedules a wake at `atMs` (epoch ms, application clock). */
  schedule(atMs: number): void {
    let lo = 0;
    let hi = this.#due.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#due[mid] < atMs) lo = mid + 1;
      else hi = mid;
    }
    if (this.#due[lo] !== atMs) this.#due.splice(lo, 0, atMs);
    this.#arm();
  }

  /** Cancels everything. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    this.#due = [];
  }

  #arm(): void {
    const next = this.#due[0];
    if (next === undefined || next >= this.#armedFor) return;
    clearTimeout(this.#timer);
    this.#armedFor = next;
    const delay = Math.max(0, next - this.#now()) + this.#graceMs;
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.#now();
    let passed = 0;
    while (passed < this.#due.length && this.#due[passed] <= now) passed++;
    this.#due.splice(0, passed);
    if (passed > 0) this.#onDue();
    this.#arm();
  }
}
