/**
 * The custom status and KV store as orchestration code sees them: every change is recorded
 * (or matched on replay) as an event, and new values are checked against the size limits.
 *
 * @module
 */

import type { Event, EventKind, KvEntry } from "../../types.ts";
import { MAX_CUSTOM_STATUS_BYTES, MAX_KV_KEYS, MAX_KV_VALUE_BYTES, utf8Length } from "./limits.ts";

/** How the state records its changes (implemented by the turn engine). */
export interface StateRecorder {
  /** Matches the change against history or records it as new. */
  bind(kind: EventKind): { event: Event; isNew: boolean };
  /** Reports a broken size limit (the turn then fails). */
  limit(message: string): void;
  /** The turn's time, epoch ms. */
  readonly nowMs: number;
}

/**
 * Custom status and KV values of one turn, seeded from the execution's start and the KV of
 * earlier executions.
 *
 * @example
 * ```ts ignore
 * const state = new DurableState(recorder, input.kvSnapshot, started.initialCustomStatus ?? null);
 * state.setValue("k", "v");
 * ```
 */
export class DurableState {
  readonly #recorder: StateRecorder;
  #customStatus: string | null;
  readonly #kv = new Map<string, KvEntry>();

  /** Seeds the state. */
  constructor(
    recorder: StateRecorder,
    kvSnapshot: Readonly<Record<string, KvEntry>>,
    customStatus: string | null,
  ) {
    this.#recorder = recorder;
    this.#customStatus = customStatus;
    for (const [key, entry] of Object.entries(kvSnapshot)) this.#kv.set(key, { ...entry });
  }

  /** Records a custom status change (`null` clears it). */
  setCustomStatus(status: string | null): void {
    const { isNew } = this.#recorder.bind({ type: "CustomStatusUpdated", status });
    if (isNew && status !== null && utf8Length(status) > MAX_CUSTOM_STATUS_BYTES) {
      this.#recorder.limit(`custom status exceeds ${MAX_CUSTOM_STATUS_BYTES} bytes`);
    }
    this.#customStatus = status;
  }

  /** The custom status at this point of the code. */
  getCustomStatus(): string | null {
    return this.#customStatus;
  }

  /** Records a KV write; its time is the turn that first made it. */
  setValue(key: string, value: string): void {
    const { event, isNew } = this.#recorder.bind({
      type: "KeyValueSet",
      key,
      value,
      lastUpdatedAtMs: this.#recorder.nowMs,
    });
    const at = (event as Event & { type: "KeyValueSet" }).lastUpdatedAtMs;
    this.#kv.set(key, { value, lastUpdatedAtMs: at });
    if (isNew && utf8Length(value) > MAX_KV_VALUE_BYTES) {
      this.#recorder.limit(`KV value of key ${key} exceeds ${MAX_KV_VALUE_BYTES} bytes`);
    }
    if (isNew && this.#kv.size > MAX_KV_KEYS) {
      this.#recorder.limit(`KV store exceeds ${MAX_KV_KEYS} keys`);
    }
  }

  /** Records a KV delete. */
  clearValue(key: string): void {
    this.#recorder.bind({ type: "KeyValueCleared", key });
    this.#kv.delete(key);
  }

  /** Records a delete of every key. */
  clearAllValues(): void {
    this.#recorder.bind({ type: "KeyValuesCleared" });
    this.#kv.clear();
  }

  /** Current KV values with their write times. */
  kvEntries(): ReadonlyMap<string, KvEntry> {
    return this.#kv;
  }
}
