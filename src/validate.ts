/**
 * Argument checks shared by the provider's public methods. Bad arguments are programming
 * errors, so they throw `TypeError`/`RangeError` before anything reaches the database.
 *
 * @module
 */

/** Throws `RangeError` unless `value` is a non-negative safe integer. */
export function requireNonNegativeInt(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid ${name}: expected a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** Throws `RangeError` unless `value` is a positive safe integer. */
export function requirePositiveInt(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Invalid ${name}: expected a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Throws `TypeError` unless `value` is a string. */
export function requireString(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`Invalid ${name}: expected a string, got ${typeof value}`);
  }
  return value;
}

/** Throws `RangeError` unless `value` is null/undefined or a non-negative integer. */
export function optionalNonNegativeInt(name: string, value: unknown): number | null {
  return value === null || value === undefined ? null : requireNonNegativeInt(name, value);
}

/** Throws `RangeError` unless `value` is an integer in 1..1000 (the batch procedures' range). */
export function requireBatchSize(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > 1000) {
    throw new RangeError(`Invalid ${name}: expected an integer in 1..1000, got ${String(value)}`);
  }
  return value;
}
