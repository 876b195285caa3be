/**
 * Converts the camelCase model of `src/types.ts` to and from Duroxide's JSON wire format
 * (Rust `serde_json`), byte for byte.
 *
 * Two tagging styles meet here:
 * - {@linkcode WorkItem}, {@linkcode ErrorDetails}, `PoisonMessageType`, `AppErrorKind` and
 *   `ConfigErrorKind` are externally tagged: `{"Variant":{...fields}}`, unit variants as bare
 *   strings.
 * - {@linkcode Event} is one flat object: the common fields, then `"type"`, then the kind's
 *   fields. Three kinds carry a different name on the wire (see {@linkcode eventWireType}).
 *
 * Every struct variant is described once, in a table, by its fields in Rust declaration order
 * (which is the order serde writes them in). Each field has a value type and a presence rule
 * for when the value is absent; the wire name is the snake_case form of the TS name.
 *
 * @module
 */

import type {
  AppErrorKind,
  ErrorDetails,
  Event,
  EventKind,
  EventType,
  PoisonMessageType,
  WorkItem,
} from "./types.ts";

// The types in the signatures below, with what they reference, re-exported so that this module
// documents itself (`deno doc --lint`).
export type {
  AppErrorKind,
  ErrorDetails,
  Event,
  EventCommon,
  EventKind,
  EventType,
  PoisonMessageType,
  WorkItem,
} from "./types.ts";

/**
 * Thrown for anything that cannot be decoded (or encoded): invalid JSON, an unknown variant, a
 * missing or ill-typed field. The message names the offending variant and field.
 *
 * @example Tell a codec failure apart
 * ```ts
 * try {
 *   decodeWorkItem('{"Nope":{}}');
 * } catch (e) {
 *   console.assert(e instanceof CodecError && e.name === "CodecError");
 * }
 * ```
 */
export class CodecError extends Error {
  /** Always `"CodecError"`. */
  override readonly name = "CodecError";
}

// ---------------------------------------------------------------------------------------------
// Field tables
// ---------------------------------------------------------------------------------------------

/** The JSON shape of one field's value. */
type ValueType =
  | "string"
  | "u64"
  | "u32"
  | "bool"
  | "pairs" // Vec<(String, String)>: [["a","b"], ...]
  | "details" // ErrorDetails
  | "appKind" // AppErrorKind
  | "configKind" // ConfigErrorKind: only "Nondeterminism"
  | "poison"; // PoisonMessageType

/**
 * What happens when a field's value is absent.
 * - `required`: never absent; missing or `null` on the wire is an error.
 * - `nullable`: `Option<T>` written as `null`; reads missing or `null` as `null`.
 * - `omit`: `Option<T>` with `skip_serializing_if`; not written, and not set on decode.
 * - `default`: `#[serde(default)]`; always written, a missing wire field reads as the default.
 */
type Presence = "required" | "nullable" | "omit" | "default";

/** One field: its TS name (the wire name is derived), value type and presence rule. */
type Field<Name extends string = string> = readonly [
  ts: Name,
  type: ValueType,
  presence?: Presence,
];

/** The field names of variant `K` of the tagged union `U`, without the `type` tag. */
type FieldName<U extends { type: string }, K extends U["type"]> = Exclude<
  Extract<keyof Extract<U, { type: K }>, string>,
  "type"
>;

/** A field list for every variant of `U`, checked against the TS model at compile time. */
type VariantTable<U extends { type: string }> = {
  readonly [K in U["type"]]: readonly Field<FieldName<U, K>>[];
};

const WORK_ITEM_FIELDS: VariantTable<WorkItem> = {
  StartOrchestration: [
    ["instance", "string"],
    ["orchestration", "string"],
    ["input", "string"],
    ["version", "string", "nullable"],
    ["parentInstance", "string", "nullable"],
    ["parentId", "u64", "nullable"],
    ["executionId", "u64"],
  ],
  ActivityExecute: [
    ["instance", "string"],
    ["executionId", "u64"],
    ["id", "u64"],
    ["name", "string"],
    ["input", "string"],
    ["sessionId", "string", "omit"],
    ["tag", "string", "omit"],
  ],
  ActivityCompleted: [
    ["instance", "string"],
    ["executionId", "u64"],
    ["id", "u64"],
    ["result", "string"],
  ],
  ActivityFailed: [
    ["instance", "string"],
    ["executionId", "u64"],
    ["id", "u64"],
    ["details", "details"],
  ],
  TimerFired: [
    ["instance", "string"],
    ["executionId", "u64"],
    ["id", "u64"],
    ["fireAtMs", "u64"],
  ],
  ExternalRaised: [["instance", "string"], ["name", "string"], ["data", "string"]],
  SubOrchCompleted: [
    ["parentInstance", "string"],
    ["parentExecutionId", "u64"],
    ["parentId", "u64"],
    ["result", "string"],
  ],
  SubOrchFailed: [
    ["parentInstance", "string"],
    ["parentExecutionId", "u64"],
    ["parentId", "u64"],
    ["details", "details"],
  ],
  CancelInstance: [["instance", "string"], ["reason", "string"]],
  ContinueAsNew: [
    ["instance", "string"],
    ["orchestration", "string"],
    ["input", "string"],
    ["version", "string", "nullable"],
    ["carryForwardEvents", "pairs", "default"],
    ["initialCustomStatus", "string", "omit"],
  ],
  QueueMessage: [["instance", "string"], ["name", "string"], ["data", "string"]],
};

const ERROR_DETAILS_FIELDS: VariantTable<ErrorDetails> = {
  Infrastructure: [["operation", "string"], ["message", "string"], ["retryable", "bool"]],
  Configuration: [
    ["kind", "configKind"],
    ["resource", "string"],
    ["message", "string", "nullable"],
  ],
  Application: [["kind", "appKind"], ["message", "string"], ["retryable", "bool"]],
  Poison: [
    ["attemptCount", "u32"],
    ["maxAttempts", "u32"],
    ["messageType", "poison"],
    ["message", "string"],
  ],
};

const POISON_FIELDS: VariantTable<PoisonMessageType> = {
  Orchestration: [["instance", "string"], ["executionId", "u64"]],
  Activity: [
    ["instance", "string"],
    ["executionId", "u64"],
    ["activityName", "string"],
    ["activityId", "u64"],
  ],
  FailedDeserialization: [["instance", "string"], ["executionId", "u64"], ["error", "string"]],
};

/** The `Event` struct's own fields, written before `"type"`. */
const EVENT_COMMON_FIELDS: readonly Field[] = [
  ["eventId", "u64"],
  ["sourceEventId", "u64", "nullable"],
  ["instanceId", "string"],
  ["executionId", "u64"],
  ["timestampMs", "u64"],
  ["duroxideVersion", "string"],
];

const EVENT_KIND_FIELDS: VariantTable<EventKind> = {
  OrchestrationStarted: [
    ["name", "string"],
    ["version", "string"],
    ["input", "string"],
    ["parentInstance", "string", "nullable"],
    ["parentId", "u64", "nullable"],
    ["carryForwardEvents", "pairs", "omit"],
    ["initialCustomStatus", "string", "omit"],
  ],
  OrchestrationCompleted: [["output", "string"]],
  OrchestrationFailed: [["details", "details"]],
  ActivityScheduled: [
    ["name", "string"],
    ["input", "string"],
    ["sessionId", "string", "omit"],
    ["tag", "string", "omit"],
  ],
  ActivityCompleted: [["result", "string"]],
  ActivityFailed: [["details", "details"]],
  ActivityCancelRequested: [["reason", "string"]],
  TimerCreated: [["fireAtMs", "u64"]],
  TimerFired: [["fireAtMs", "u64"]],
  ExternalSubscribed: [["name", "string"]],
  ExternalEvent: [["name", "string"], ["data", "string"]],
  OrchestrationChained: [["name", "string"], ["instance", "string"], ["input", "string"]],
  SubOrchestrationScheduled: [["name", "string"], ["instance", "string"], ["input", "string"]],
  SubOrchestrationCompleted: [["result", "string"]],
  SubOrchestrationFailed: [["details", "details"]],
  SubOrchestrationCancelRequested: [["reason", "string"]],
  OrchestrationContinuedAsNew: [["input", "string"]],
  OrchestrationCancelRequested: [["reason", "string"]],
  ExternalSubscribedCancelled: [["reason", "string"]],
  QueueSubscribed: [["name", "string"]],
  QueueEventDelivered: [["name", "string"], ["data", "string"]],
  QueueSubscriptionCancelled: [["reason", "string"]],
  CustomStatusUpdated: [["status", "string", "nullable"]],
  KeyValueSet: [["key", "string"], ["value", "string"], ["lastUpdatedAtMs", "u64", "default"]],
  KeyValueCleared: [["key", "string"]],
  KeyValuesCleared: [],
};

/** Event kinds whose `"type"` on the wire differs from the Rust variant name (`#[serde(rename)]`). */
const EVENT_RENAMES: Partial<Record<EventType, string>> = {
  QueueSubscribed: "ExternalSubscribedPersistent",
  QueueEventDelivered: "ExternalEventPersistent",
  QueueSubscriptionCancelled: "ExternalSubscribedPersistentCancelled",
};

/** Wire `"type"` → TS event type, the inverse of {@linkcode eventWireType}. */
const EVENT_TYPES_BY_WIRE: ReadonlyMap<string, EventType> = new Map(
  (Object.keys(EVENT_KIND_FIELDS) as EventType[]).map((t) => [eventWireType(t), t]),
);

const APP_ERROR_UNIT_KINDS: readonly string[] = [
  "ActivityFailed",
  "OrchestrationFailed",
  "Panicked",
];

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * Serializes a work item as Duroxide writes it: `{"Variant":{...}}`, keys in Rust field order.
 *
 * @example Encode an activity without session or tag
 * ```ts
 * const json = encodeWorkItem({
 *   type: "ActivityCompleted",
 *   instance: "order-1",
 *   executionId: 1,
 *   id: 2,
 *   result: "charged",
 * });
 * console.assert(
 *   json ===
 *     '{"ActivityCompleted":{"instance":"order-1","execution_id":1,"id":2,"result":"charged"}}',
 * );
 * ```
 */
export function encodeWorkItem(item: WorkItem): string {
  return JSON.stringify(encodeTagged(WORK_ITEM_FIELDS, item, "WorkItem"));
}

/**
 * Parses a work item written by Duroxide (or {@linkcode encodeWorkItem}).
 *
 * @throws {CodecError} when the text is not a well-formed work item.
 * @example Decode a cancellation
 * ```ts
 * const item = decodeWorkItem('{"CancelInstance":{"instance":"order-1","reason":"stop"}}');
 * console.assert(item.type === "CancelInstance" && item.reason === "stop");
 * ```
 */
export function decodeWorkItem(text: string): WorkItem {
  return decodeTagged(WORK_ITEM_FIELDS, parseJson(text, "WorkItem"), "WorkItem") as WorkItem;
}

/**
 * Serializes a history event as Duroxide writes it: common fields, `"type"` (the wire name),
 * then the kind's fields.
 *
 * @example Encode a completed orchestration
 * ```ts
 * const json = encodeEvent({
 *   eventId: 7,
 *   sourceEventId: null,
 *   instanceId: "order-1",
 *   executionId: 1,
 *   timestampMs: 1767225600000,
 *   duroxideVersion: "0.1.26",
 *   type: "OrchestrationCompleted",
 *   output: "done",
 * });
 * console.assert(json.endsWith('"type":"OrchestrationCompleted","output":"done"}'));
 * ```
 */
export function encodeEvent(event: Event): string {
  const fields = lookup(EVENT_KIND_FIELDS, event?.type, "Event");
  const out: Record<string, unknown> = {};
  writeFields(out, EVENT_COMMON_FIELDS, event, "Event");
  out.type = eventWireType(event.type);
  writeFields(out, fields, event, `Event.${event.type}`);
  return JSON.stringify(out);
}

/**
 * Parses a history event written by Duroxide (or {@linkcode encodeEvent}).
 *
 * @throws {CodecError} when the text is not a well-formed event.
 * @example Decode a renamed kind
 * ```ts
 * const event = decodeEvent(
 *   '{"event_id":3,"source_event_id":null,"instance_id":"chat-1","execution_id":1,' +
 *     '"timestamp_ms":0,"duroxide_version":"0.1.26",' +
 *     '"type":"ExternalSubscribedPersistent","name":"inbox"}',
 * );
 * console.assert(event.type === "QueueSubscribed");
 * ```
 */
export function decodeEvent(text: string): Event {
  const wire = expectObject(parseJson(text, "Event"), "Event");
  const wireType = wire.type;
  if (typeof wireType !== "string") {
    throw new CodecError(
      `Event: ${wireType === undefined ? "missing" : "ill-typed"} field \`type\``,
    );
  }
  const type = EVENT_TYPES_BY_WIRE.get(wireType);
  if (type === undefined) throw new CodecError(`Event: unknown variant ${show(wireType)}`);
  const out: Record<string, unknown> = {};
  readFields(out, EVENT_COMMON_FIELDS, wire, "Event");
  out.type = type;
  readFields(out, EVENT_KIND_FIELDS[type], wire, `Event.${type}`);
  return out as unknown as Event; // the tables mirror the TS model
}

/**
 * Converts error details to their JSON value (`{"Variant":{...}}`), ready for `JSON.stringify`.
 *
 * @example Encode an application failure
 * ```ts
 * const value = encodeErrorDetails({
 *   type: "Application",
 *   kind: "Panicked",
 *   message: "oops",
 *   retryable: false,
 * });
 * console.assert(
 *   JSON.stringify(value) ===
 *     '{"Application":{"kind":"Panicked","message":"oops","retryable":false}}',
 * );
 * ```
 */
export function encodeErrorDetails(d: ErrorDetails): unknown {
  return encodeTagged(ERROR_DETAILS_FIELDS, d, "ErrorDetails");
}

/**
 * Converts a parsed JSON value (`{"Variant":{...}}`) to error details.
 *
 * @throws {CodecError} when the value is not well-formed error details.
 * @example Decode a nondeterminism error
 * ```ts
 * const d = decodeErrorDetails({
 *   Configuration: { kind: "Nondeterminism", resource: "", message: null },
 * });
 * console.assert(d.type === "Configuration" && d.message === null);
 * ```
 */
export function decodeErrorDetails(v: unknown): ErrorDetails {
  return decodeTagged(ERROR_DETAILS_FIELDS, v, "ErrorDetails") as ErrorDetails;
}

/**
 * The `"type"` tag Duroxide writes for an event kind: the variant name, except for the three
 * persistent-queue kinds, which are renamed.
 *
 * @example Look up the wire name of a queue subscription
 * ```ts
 * console.assert(eventWireType("QueueSubscribed") === "ExternalSubscribedPersistent");
 * console.assert(eventWireType("TimerFired") === "TimerFired");
 * ```
 */
export function eventWireType(type: EventType): string {
  return EVENT_RENAMES[type] ?? type;
}

// ---------------------------------------------------------------------------------------------
// Tagged unions and field lists
// ---------------------------------------------------------------------------------------------

/** Encodes `{type: "V", ...}` as the externally tagged `{"V":{...}}`. */
function encodeTagged<U extends { type: string }>(
  table: VariantTable<U>,
  value: U,
  what: string,
): Record<string, unknown> {
  const fields = lookup(table, value?.type, what);
  const body: Record<string, unknown> = {};
  writeFields(body, fields, value, `${what}.${value.type}`);
  return { [value.type]: body };
}

/** Decodes the externally tagged `{"V":{...}}` into `{type: "V", ...}`. */
function decodeTagged<U extends { type: string }>(
  table: VariantTable<U>,
  wire: unknown,
  what: string,
): Record<string, unknown> {
  const obj = expectObject(wire, what);
  const keys = Object.keys(obj);
  if (keys.length !== 1) {
    throw new CodecError(`${what}: expected an object with exactly one variant key`);
  }
  const type = keys[0];
  const fields = lookup(table, type, what);
  const out: Record<string, unknown> = { type };
  readFields(out, fields, expectObject(obj[type], `${what}.${type}`), `${what}.${type}`);
  return out;
}

/** The field list of `type` in `table`, or a CodecError for an unknown variant. */
function lookup<U extends { type: string }>(
  table: VariantTable<U>,
  type: unknown,
  what: string,
): readonly Field[] {
  if (typeof type === "string" && Object.hasOwn(table, type)) {
    return table[type as U["type"]];
  }
  throw new CodecError(`${what}: unknown variant ${show(type)}`);
}

/** Writes `fields` of the TS object `src` into the wire object `out`, in table order. */
function writeFields(
  out: Record<string, unknown>,
  fields: readonly Field[],
  src: object,
  at: string,
) {
  const values = src as Record<string, unknown>;
  for (const [ts, type, presence = "required"] of fields) {
    const wire = snakeCase(ts);
    const value = values[ts];
    if (value === undefined || value === null) {
      if (presence === "omit") continue;
      if (presence === "nullable") {
        out[wire] = null;
        continue;
      }
      if (presence === "default" && value === undefined) {
        out[wire] = defaultValue(type);
        continue;
      }
    }
    out[wire] = encodeValue(type, value, `${at}.${ts}`);
  }
}

/** Reads `fields` from the wire object `wire` into the TS object `out`. */
function readFields(
  out: Record<string, unknown>,
  fields: readonly Field[],
  wire: Record<string, unknown>,
  at: string,
) {
  for (const [ts, type, presence = "required"] of fields) {
    const name = snakeCase(ts);
    const value = Object.hasOwn(wire, name) ? wire[name] : undefined;
    if (value === undefined) {
      if (presence === "required") throw new CodecError(`${at}: missing field \`${name}\``);
      if (presence === "nullable") out[ts] = null;
      if (presence === "default") out[ts] = defaultValue(type);
      continue;
    }
    // serde reads `null` as `None` for any Option, skipped-if-none or not.
    if (value === null && presence === "nullable") {
      out[ts] = null;
      continue;
    }
    if (value === null && presence === "omit") continue;
    out[ts] = decodeValue(type, value, `${at}.${name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** Converts one TS field value to its JSON value, checking its type on the way. */
function encodeValue(type: ValueType, value: unknown, at: string): unknown {
  switch (type) {
    case "details":
      return encodeTagged(ERROR_DETAILS_FIELDS, value as ErrorDetails, at);
    case "poison":
      return encodeTagged(POISON_FIELDS, value as PoisonMessageType, at);
    case "appKind":
      return encodeAppErrorKind(value, at);
    default:
      return checkPlain(type, value, at); // the rest look the same in TS and JSON
  }
}

/** Converts one JSON value to its TS field value, or throws a CodecError. */
function decodeValue(type: ValueType, value: unknown, at: string): unknown {
  switch (type) {
    case "details":
      return decodeTagged(ERROR_DETAILS_FIELDS, value, at);
    case "poison":
      return decodeTagged(POISON_FIELDS, value, at);
    case "appKind":
      return decodeAppErrorKind(value, at);
    default:
      return checkPlain(type, value, at);
  }
}

/** Returns a value whose TS and JSON forms coincide (copying pairs), or throws a CodecError. */
function checkPlain(type: ValueType, value: unknown, at: string): unknown {
  switch (type) {
    case "string":
      if (typeof value === "string") return value;
      break;
    case "bool":
      if (typeof value === "boolean") return value;
      break;
    case "u64":
    case "u32":
      if (
        typeof value === "number" && Number.isSafeInteger(value) && value >= 0 &&
        (type === "u64" || value <= 0xffff_ffff)
      ) return value;
      break;
    case "configKind":
      if (value === "Nondeterminism") return value;
      break;
    case "pairs":
      if (Array.isArray(value) && value.every(isStringPair)) {
        return value.map(([a, b]: [string, string]) => [a, b]);
      }
      break;
  }
  throw new CodecError(`${at}: expected ${describe(type)}, got ${show(value)}`);
}

function encodeAppErrorKind(kind: unknown, at: string): unknown {
  if (typeof kind === "string" && APP_ERROR_UNIT_KINDS.includes(kind)) return kind;
  if (isRecord(kind) && kind.type === "Cancelled") {
    return { Cancelled: { reason: checkPlain("string", kind.reason, `${at}.reason`) } };
  }
  throw new CodecError(`${at}: unknown AppErrorKind ${show(kind)}`);
}

function decodeAppErrorKind(wire: unknown, at: string): AppErrorKind {
  if (typeof wire === "string" && APP_ERROR_UNIT_KINDS.includes(wire)) {
    return wire as AppErrorKind;
  }
  if (isRecord(wire) && Object.keys(wire).length === 1 && isRecord(wire.Cancelled)) {
    const reason = wire.Cancelled.reason;
    if (reason === undefined) throw new CodecError(`${at}.Cancelled: missing field \`reason\``);
    return {
      type: "Cancelled",
      reason: checkPlain("string", reason, `${at}.Cancelled.reason`) as string,
    };
  }
  throw new CodecError(`${at}: unknown AppErrorKind ${show(wire)}`);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CodecError(`${what}: invalid JSON: ${(e as Error).message}`);
  }
}

function expectObject(value: unknown, at: string): Record<string, unknown> {
  if (isRecord(value)) return value;
  throw new CodecError(`${at}: expected an object, got ${show(value)}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringPair(value: unknown): value is [string, string] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === "string" &&
    typeof value[1] === "string";
}

function defaultValue(type: ValueType): unknown {
  return type === "pairs" ? [] : 0;
}

/** `executionId` → `execution_id`. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function describe(type: ValueType): string {
  switch (type) {
    case "u64":
      return "a non-negative integer";
    case "u32":
      return "a non-negative 32-bit integer";
    case "bool":
      return "a boolean";
    case "pairs":
      return "an array of [string, string] pairs";
    case "configKind":
      return '"Nondeterminism"';
    default:
      return `a ${type}`;
  }
}

/** A short rendering of a value for error messages. */
function show(value: unknown): string {
  const text = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
