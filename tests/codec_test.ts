/**
 * Golden tests for `src/codec.ts` against the JSON examples of the provider contract (§4.1–§4.3),
 * plus round trips of every variant, lenient decoding and rejection of malformed input.
 */

import assert from "node:assert/strict";
import {
  CodecError,
  decodeErrorDetails,
  decodeEvent,
  decodeWorkItem,
  encodeErrorDetails,
  encodeEvent,
  encodeWorkItem,
  eventWireType,
} from "../src/codec.ts";
import type {
  ErrorDetails,
  Event,
  EventCommon,
  EventKind,
  EventType,
  WorkItem,
  WorkItemType,
} from "../src/types.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/** The common fields the contract abbreviates as `...` (after event_id and source_event_id). */
const C = String
  .raw`"instance_id":"order-1","execution_id":1,"timestamp_ms":1767225600000,"duroxide_version":"0.1.26"`;

/** The TS form of {@linkcode C} for an event with the given ids. */
function common(eventId: number, sourceEventId: number | null = null): EventCommon {
  return {
    eventId,
    sourceEventId,
    instanceId: "order-1",
    executionId: 1,
    timestampMs: 1767225600000,
    duroxideVersion: "0.1.26",
  };
}

/** An event with the {@linkcode common} fields. */
function ev(eventId: number, sourceEventId: number | null, kind: EventKind): Event {
  return { ...common(eventId, sourceEventId), ...kind };
}

/** Asserts that `fn` throws a CodecError whose message matches `message`. */
function assertCodecError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CodecError, `expected a CodecError, got ${e}`);
    assert.equal(e.name, "CodecError");
    assert.match(e.message, message);
    return true;
  });
}

// §4.1, verbatim.
const WORK_ITEM_GOLDENS: [string, WorkItem][] = [
  [
    String
      .raw`{"StartOrchestration":{"instance":"order-1","orchestration":"ProcessOrder","input":"{\"id\":1}","version":null,"parent_instance":null,"parent_id":null,"execution_id":1}}`,
    {
      type: "StartOrchestration",
      instance: "order-1",
      orchestration: "ProcessOrder",
      input: '{"id":1}',
      version: null,
      parentInstance: null,
      parentId: null,
      executionId: 1,
    },
  ],
  [
    String
      .raw`{"StartOrchestration":{"instance":"order-1::sub::4","orchestration":"Child","input":"x","version":null,"parent_instance":"order-1","parent_id":4,"execution_id":1}}`,
    {
      type: "StartOrchestration",
      instance: "order-1::sub::4",
      orchestration: "Child",
      input: "x",
      version: null,
      parentInstance: "order-1",
      parentId: 4,
      executionId: 1,
    },
  ],
  [
    String
      .raw`{"ActivityExecute":{"instance":"order-1","execution_id":1,"id":2,"name":"Charge","input":"{\"amt\":5}"}}`,
    {
      type: "ActivityExecute",
      instance: "order-1",
      executionId: 1,
      id: 2,
      name: "Charge",
      input: '{"amt":5}',
    },
  ],
  [
    String
      .raw`{"ActivityExecute":{"instance":"order-1","execution_id":1,"id":2,"name":"Build","input":"{}","session_id":"s-1","tag":"gpu"}}`,
    {
      type: "ActivityExecute",
      instance: "order-1",
      executionId: 1,
      id: 2,
      name: "Build",
      input: "{}",
      sessionId: "s-1",
      tag: "gpu",
    },
  ],
  [
    String
      .raw`{"ActivityCompleted":{"instance":"order-1","execution_id":1,"id":2,"result":"charged"}}`,
    { type: "ActivityCompleted", instance: "order-1", executionId: 1, id: 2, result: "charged" },
  ],
  [
    String
      .raw`{"ActivityFailed":{"instance":"order-1","execution_id":1,"id":2,"details":{"Application":{"kind":"ActivityFailed","message":"card declined","retryable":false}}}}`,
    {
      type: "ActivityFailed",
      instance: "order-1",
      executionId: 1,
      id: 2,
      details: {
        type: "Application",
        kind: "ActivityFailed",
        message: "card declined",
        retryable: false,
      },
    },
  ],
  [
    String
      .raw`{"TimerFired":{"instance":"order-1","execution_id":1,"id":3,"fire_at_ms":1767225600000}}`,
    { type: "TimerFired", instance: "order-1", executionId: 1, id: 3, fireAtMs: 1767225600000 },
  ],
  [
    String.raw`{"ExternalRaised":{"instance":"order-1","name":"Approval","data":"{\"ok\":true}"}}`,
    { type: "ExternalRaised", instance: "order-1", name: "Approval", data: '{"ok":true}' },
  ],
  [
    String.raw`{"QueueMessage":{"instance":"chat-1","name":"inbox","data":"hello"}}`,
    { type: "QueueMessage", instance: "chat-1", name: "inbox", data: "hello" },
  ],
  [
    String
      .raw`{"SubOrchCompleted":{"parent_instance":"order-1","parent_execution_id":1,"parent_id":4,"result":"child-done"}}`,
    {
      type: "SubOrchCompleted",
      parentInstance: "order-1",
      parentExecutionId: 1,
      parentId: 4,
      result: "child-done",
    },
  ],
  [
    String
      .raw`{"SubOrchFailed":{"parent_instance":"order-1","parent_execution_id":1,"parent_id":4,"details":{"Application":{"kind":"OrchestrationFailed","message":"boom","retryable":false}}}}`,
    {
      type: "SubOrchFailed",
      parentInstance: "order-1",
      parentExecutionId: 1,
      parentId: 4,
      details: {
        type: "Application",
        kind: "OrchestrationFailed",
        message: "boom",
        retryable: false,
      },
    },
  ],
  [
    String
      .raw`{"ContinueAsNew":{"instance":"loop-1","orchestration":"Loop","input":"5","version":null,"carry_forward_events":[["inbox","m1"],["inbox","m2"]],"initial_custom_status":"step 4"}}`,
    {
      type: "ContinueAsNew",
      instance: "loop-1",
      orchestration: "Loop",
      input: "5",
      version: null,
      carryForwardEvents: [["inbox", "m1"], ["inbox", "m2"]],
      initialCustomStatus: "step 4",
    },
  ],
  [
    String
      .raw`{"ContinueAsNew":{"instance":"loop-1","orchestration":"Loop","input":"5","version":null,"carry_forward_events":[]}}`,
    {
      type: "ContinueAsNew",
      instance: "loop-1",
      orchestration: "Loop",
      input: "5",
      version: null,
      carryForwardEvents: [],
    },
  ],
  [
    String.raw`{"CancelInstance":{"instance":"order-1","reason":"user requested"}}`,
    { type: "CancelInstance", instance: "order-1", reason: "user requested" },
  ],
];

// §4.2, with `...` filled in by C, and the CAN-started OrchestrationStarted.
const EVENT_GOLDENS: [string, Event][] = [
  [
    String
      .raw`{"event_id":1,"source_event_id":null,"instance_id":"order-1","execution_id":1,"timestamp_ms":1767225600000,"duroxide_version":"0.1.26","type":"OrchestrationStarted","name":"ProcessOrder","version":"1.0.0","input":"{\"id\":1}","parent_instance":null,"parent_id":null}`,
    ev(1, null, {
      type: "OrchestrationStarted",
      name: "ProcessOrder",
      version: "1.0.0",
      input: '{"id":1}',
      parentInstance: null,
      parentId: null,
    }),
  ],
  [
    String
      .raw`{"event_id":2,"source_event_id":null,"instance_id":"order-1","execution_id":1,"timestamp_ms":1767225600001,"duroxide_version":"0.1.26","type":"ActivityScheduled","name":"Charge","input":"{\"amt\":5}"}`,
    {
      ...common(2),
      timestampMs: 1767225600001,
      type: "ActivityScheduled",
      name: "Charge",
      input: '{"amt":5}',
    },
  ],
  [
    String
      .raw`{"event_id":3,"source_event_id":2,"instance_id":"order-1","execution_id":1,"timestamp_ms":1767225601000,"duroxide_version":"0.1.26","type":"ActivityCompleted","result":"charged"}`,
    { ...common(3, 2), timestampMs: 1767225601000, type: "ActivityCompleted", result: "charged" },
  ],
  [
    String
      .raw`{"event_id":4,"source_event_id":null,${C},"type":"TimerCreated","fire_at_ms":1767225660000}`,
    ev(4, null, { type: "TimerCreated", fireAtMs: 1767225660000 }),
  ],
  [
    String
      .raw`{"event_id":6,"source_event_id":4,${C},"type":"TimerFired","fire_at_ms":1767225660000}`,
    ev(6, 4, { type: "TimerFired", fireAtMs: 1767225660000 }),
  ],
  [
    String
      .raw`{"event_id":7,"source_event_id":null,${C},"type":"ExternalSubscribed","name":"Approval"}`,
    ev(7, null, { type: "ExternalSubscribed", name: "Approval" }),
  ],
  [
    String
      .raw`{"event_id":8,"source_event_id":null,${C},"type":"ExternalEvent","name":"Approval","data":"{\"ok\":true}"}`,
    ev(8, null, { type: "ExternalEvent", name: "Approval", data: '{"ok":true}' }),
  ],
  [
    String
      .raw`{"event_id":9,"source_event_id":null,${C},"type":"SubOrchestrationScheduled","name":"Child","instance":"sub::9","input":"x"}`,
    ev(9, null, {
      type: "SubOrchestrationScheduled",
      name: "Child",
      instance: "sub::9",
      input: "x",
    }),
  ],
  [
    String
      .raw`{"event_id":10,"source_event_id":9,${C},"type":"SubOrchestrationCompleted","result":"child-done"}`,
    ev(10, 9, { type: "SubOrchestrationCompleted", result: "child-done" }),
  ],
  [
    String
      .raw`{"event_id":11,"source_event_id":null,${C},"type":"CustomStatusUpdated","status":"50%"}`,
    ev(11, null, { type: "CustomStatusUpdated", status: "50%" }),
  ],
  [
    String
      .raw`{"event_id":12,"source_event_id":null,${C},"type":"KeyValueSet","key":"count","value":"3","last_updated_at_ms":1767225700000}`,
    ev(12, null, {
      type: "KeyValueSet",
      key: "count",
      value: "3",
      lastUpdatedAtMs: 1767225700000,
    }),
  ],
  [
    String
      .raw`{"event_id":13,"source_event_id":null,${C},"type":"OrchestrationContinuedAsNew","input":"5"}`,
    ev(13, null, { type: "OrchestrationContinuedAsNew", input: "5" }),
  ],
  [
    String
      .raw`{"event_id":5,"source_event_id":null,${C},"type":"OrchestrationCancelRequested","reason":"user requested"}`,
    ev(5, null, { type: "OrchestrationCancelRequested", reason: "user requested" }),
  ],
  [
    String
      .raw`{"event_id":6,"source_event_id":null,${C},"type":"OrchestrationFailed","details":{"Application":{"kind":{"Cancelled":{"reason":"user requested"}},"message":"","retryable":false}}}`,
    ev(6, null, {
      type: "OrchestrationFailed",
      details: {
        type: "Application",
        kind: { type: "Cancelled", reason: "user requested" },
        message: "",
        retryable: false,
      },
    }),
  ],
  [
    String
      .raw`{"event_id":7,"source_event_id":null,${C},"type":"OrchestrationCompleted","output":"done"}`,
    ev(7, null, { type: "OrchestrationCompleted", output: "done" }),
  ],
  [
    String
      .raw`{"event_id":1,"source_event_id":null,${C},"type":"OrchestrationStarted","name":"Loop","version":"1.0.0","input":"5","parent_instance":null,"parent_id":null,"carry_forward_events":[["inbox","m1"]],"initial_custom_status":"step 4"}`,
    ev(1, null, {
      type: "OrchestrationStarted",
      name: "Loop",
      version: "1.0.0",
      input: "5",
      parentInstance: null,
      parentId: null,
      carryForwardEvents: [["inbox", "m1"]],
      initialCustomStatus: "step 4",
    }),
  ],
];

// §4.3, verbatim.
const ERROR_DETAILS_GOLDENS: [string, ErrorDetails][] = [
  [
    String
      .raw`{"Configuration":{"kind":"Nondeterminism","resource":"","message":"no matching schedule for completion id=5"}}`,
    {
      type: "Configuration",
      kind: "Nondeterminism",
      resource: "",
      message: "no matching schedule for completion id=5",
    },
  ],
  [
    String
      .raw`{"Infrastructure":{"operation":"ack_orchestration_item","message":"...","retryable":false}}`,
    {
      type: "Infrastructure",
      operation: "ack_orchestration_item",
      message: "...",
      retryable: false,
    },
  ],
  [
    String
      .raw`{"Poison":{"attempt_count":11,"max_attempts":10,"message_type":{"Activity":{"instance":"i","execution_id":1,"activity_name":"A","activity_id":2}},"message":"<json of the work item>"}}`,
    {
      type: "Poison",
      attemptCount: 11,
      maxAttempts: 10,
      messageType: {
        type: "Activity",
        instance: "i",
        executionId: 1,
        activityName: "A",
        activityId: 2,
      },
      message: "<json of the work item>",
    },
  ],
];

/** Every ErrorDetails shape: all variants, all AppErrorKinds, all PoisonMessageTypes. */
const ALL_ERROR_DETAILS: ErrorDetails[] = [
  { type: "Infrastructure", operation: "fetch", message: "db down", retryable: true },
  { type: "Configuration", kind: "Nondeterminism", resource: "A", message: null },
  { type: "Configuration", kind: "Nondeterminism", resource: "", message: "mismatch" },
  { type: "Application", kind: "ActivityFailed", message: "m", retryable: false },
  { type: "Application", kind: "OrchestrationFailed", message: "m", retryable: true },
  { type: "Application", kind: "Panicked", message: "oops", retryable: false },
  {
    type: "Application",
    kind: { type: "Cancelled", reason: "orchestration_terminal_failed" },
    message: "",
    retryable: false,
  },
  {
    type: "Poison",
    attemptCount: 3,
    maxAttempts: 2,
    messageType: { type: "Orchestration", instance: "o-1", executionId: 2 },
    message: "{}",
  },
  {
    type: "Poison",
    attemptCount: 4294967295,
    maxAttempts: 0,
    messageType: {
      type: "Activity",
      instance: "o-1",
      executionId: 1,
      activityName: "Charge",
      activityId: 7,
    },
    message: "{}",
  },
  {
    type: "Poison",
    attemptCount: 11,
    maxAttempts: 10,
    messageType: {
      type: "FailedDeserialization",
      instance: "o-1",
      executionId: 3,
      error: "unknown variant `Nope`",
    },
    message: "",
  },
];

/** One sample of every WorkItem variant (the mapped type makes the compiler demand all). */
const WORK_ITEM_SAMPLES: { [K in WorkItemType]: Extract<WorkItem, { type: K }> } = {
  StartOrchestration: {
    type: "StartOrchestration",
    instance: "i",
    orchestration: "O",
    input: "",
    version: "2.0.0",
    parentInstance: "p",
    parentId: 0,
    executionId: 3,
  },
  ActivityExecute: {
    type: "ActivityExecute",
    instance: "i",
    executionId: 1,
    id: 2,
    name: "A",
    input: "in",
    tag: "gpu",
  },
  ActivityCompleted: {
    type: "ActivityCompleted",
    instance: "i",
    executionId: 1,
    id: 2,
    result: "",
  },
  ActivityFailed: {
    type: "ActivityFailed",
    instance: "i",
    executionId: 1,
    id: 2,
    details: ALL_ERROR_DETAILS[0],
  },
  TimerFired: { type: "TimerFired", instance: "i", executionId: 1, id: 3, fireAtMs: 0 },
  ExternalRaised: { type: "ExternalRaised", instance: "i", name: "n", data: "d" },
  SubOrchCompleted: {
    type: "SubOrchCompleted",
    parentInstance: "p",
    parentExecutionId: 2,
    parentId: 5,
    result: "r",
  },
  SubOrchFailed: {
    type: "SubOrchFailed",
    parentInstance: "p",
    parentExecutionId: 2,
    parentId: 5,
    details: ALL_ERROR_DETAILS[9],
  },
  CancelInstance: { type: "CancelInstance", instance: "i", reason: "r" },
  ContinueAsNew: {
    type: "ContinueAsNew",
    instance: "i",
    orchestration: "O",
    input: "",
    version: "1.0.0",
    carryForwardEvents: [["a", "b"]],
  },
  QueueMessage: { type: "QueueMessage", instance: "i", name: "n", data: "d" },
};

/** One sample of every EventKind variant (the mapped type makes the compiler demand all). */
const EVENT_KIND_SAMPLES: { [K in EventType]: Extract<EventKind, { type: K }> } = {
  OrchestrationStarted: {
    type: "OrchestrationStarted",
    name: "O",
    version: "1.0.0",
    input: "",
    parentInstance: "p",
    parentId: 4,
    carryForwardEvents: [],
  },
  OrchestrationCompleted: { type: "OrchestrationCompleted", output: "o" },
  OrchestrationFailed: { type: "OrchestrationFailed", details: ALL_ERROR_DETAILS[1] },
  ActivityScheduled: { type: "ActivityScheduled", name: "A", input: "", sessionId: "s" },
  ActivityCompleted: { type: "ActivityCompleted", result: "r" },
  ActivityFailed: { type: "ActivityFailed", details: ALL_ERROR_DETAILS[5] },
  ActivityCancelRequested: { type: "ActivityCancelRequested", reason: "dropped_future" },
  TimerCreated: { type: "TimerCreated", fireAtMs: 1 },
  TimerFired: { type: "TimerFired", fireAtMs: 1 },
  ExternalSubscribed: { type: "ExternalSubscribed", name: "n" },
  ExternalEvent: { type: "ExternalEvent", name: "n", data: "d" },
  OrchestrationChained: { type: "OrchestrationChained", name: "O", instance: "x", input: "" },
  SubOrchestrationScheduled: {
    type: "SubOrchestrationScheduled",
    name: "C",
    instance: "sub::2",
    input: "",
  },
  SubOrchestrationCompleted: { type: "SubOrchestrationCompleted", result: "r" },
  SubOrchestrationFailed: { type: "SubOrchestrationFailed", details: ALL_ERROR_DETAILS[8] },
  SubOrchestrationCancelRequested: { type: "SubOrchestrationCancelRequested", reason: "r" },
  OrchestrationContinuedAsNew: { type: "OrchestrationContinuedAsNew", input: "i" },
  OrchestrationCancelRequested: { type: "OrchestrationCancelRequested", reason: "r" },
  ExternalSubscribedCancelled: { type: "ExternalSubscribedCancelled", reason: "r" },
  QueueSubscribed: { type: "QueueSubscribed", name: "inbox" },
  QueueEventDelivered: { type: "QueueEventDelivered", name: "inbox", data: "m" },
  QueueSubscriptionCancelled: { type: "QueueSubscriptionCancelled", reason: "dropped_future" },
  CustomStatusUpdated: { type: "CustomStatusUpdated", status: null },
  KeyValueSet: { type: "KeyValueSet", key: "k", value: "v", lastUpdatedAtMs: 0 },
  KeyValueCleared: { type: "KeyValueCleared", key: "k" },
  KeyValuesCleared: { type: "KeyValuesCleared" },
};

// ---------------------------------------------------------------------------------------------
// Golden examples
// ---------------------------------------------------------------------------------------------

Deno.test("decodeWorkItem() and encodeWorkItem() match every §4.1 example byte for byte", async (t) => {
  for (const [json, expected] of WORK_ITEM_GOLDENS) {
    await t.step(json.slice(0, 70), () => {
      const decoded = decodeWorkItem(json);
      assert.deepEqual(decoded, expected);
      assert.equal(encodeWorkItem(decoded), json);
      assert.equal(encodeWorkItem(expected), json);
    });
  }
});

Deno.test("decodeEvent() and encodeEvent() match every §4.2 example byte for byte", async (t) => {
  for (const [json, expected] of EVENT_GOLDENS) {
    await t.step(json.slice(json.indexOf('"type"'), json.indexOf('"type"') + 60), () => {
      const decoded = decodeEvent(json);
      assert.deepEqual(decoded, expected);
      assert.equal(encodeEvent(decoded), json);
      assert.equal(encodeEvent(expected), json);
    });
  }
});

Deno.test("decodeErrorDetails() and encodeErrorDetails() match every §4.3 example", async (t) => {
  for (const [json, expected] of ERROR_DETAILS_GOLDENS) {
    await t.step(json.slice(0, 40), () => {
      const decoded = decodeErrorDetails(JSON.parse(json));
      assert.deepEqual(decoded, expected);
      assert.equal(JSON.stringify(encodeErrorDetails(decoded)), json);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Null vs omitted
// ---------------------------------------------------------------------------------------------

Deno.test("encodeWorkItem() writes ActivityExecute without session_id and tag when absent", () => {
  const json = encodeWorkItem({
    type: "ActivityExecute",
    instance: "i",
    executionId: 1,
    id: 2,
    name: "A",
    input: "x",
  });
  assert.equal(
    json,
    '{"ActivityExecute":{"instance":"i","execution_id":1,"id":2,"name":"A","input":"x"}}',
  );
});

Deno.test("encodeWorkItem() writes StartOrchestration's absent version and parent as null", () => {
  const json = encodeWorkItem({
    type: "StartOrchestration",
    instance: "i",
    orchestration: "O",
    input: "",
    version: null,
    parentInstance: null,
    parentId: null,
    executionId: 1,
  });
  assert.match(json, /"version":null,"parent_instance":null,"parent_id":null,"execution_id":1/);
});

Deno.test("encodeWorkItem() always writes ContinueAsNew carry_forward_events, omits absent initial_custom_status", () => {
  const json = encodeWorkItem({
    type: "ContinueAsNew",
    instance: "i",
    orchestration: "O",
    input: "",
    version: null,
    carryForwardEvents: [],
  });
  assert.equal(
    json,
    '{"ContinueAsNew":{"instance":"i","orchestration":"O","input":"","version":null,"carry_forward_events":[]}}',
  );
});

Deno.test("encodeEvent() writes null source_event_id and null CustomStatusUpdated status", () => {
  const json = encodeEvent(ev(3, null, { type: "CustomStatusUpdated", status: null }));
  assert.equal(
    json,
    `{"event_id":3,"source_event_id":null,${C},"type":"CustomStatusUpdated","status":null}`,
  );
});

Deno.test("encodeEvent() omits absent OrchestrationStarted carry_forward_events and initial_custom_status", () => {
  const json = encodeEvent(
    ev(1, null, {
      type: "OrchestrationStarted",
      name: "O",
      version: "1.0.0",
      input: "",
      parentInstance: null,
      parentId: null,
    }),
  );
  assert.ok(json.endsWith(',"parent_instance":null,"parent_id":null}'), json);
});

Deno.test("encodeEvent() writes KeyValuesCleared as the common fields plus type", () => {
  const json = encodeEvent(ev(2, null, { type: "KeyValuesCleared" }));
  assert.equal(json, `{"event_id":2,"source_event_id":null,${C},"type":"KeyValuesCleared"}`);
  assert.deepEqual(decodeEvent(json), ev(2, null, { type: "KeyValuesCleared" }));
});

Deno.test("encodeErrorDetails() writes an absent Configuration message as null", () => {
  assert.equal(
    JSON.stringify(encodeErrorDetails(ALL_ERROR_DETAILS[1])),
    '{"Configuration":{"kind":"Nondeterminism","resource":"A","message":null}}',
  );
});

Deno.test("encodeErrorDetails() writes AppErrorKind Cancelled as an object and Panicked as a string", () => {
  assert.equal(
    JSON.stringify(encodeErrorDetails(ALL_ERROR_DETAILS[6])),
    '{"Application":{"kind":{"Cancelled":{"reason":"orchestration_terminal_failed"}},"message":"","retryable":false}}',
  );
  assert.equal(
    JSON.stringify(encodeErrorDetails(ALL_ERROR_DETAILS[5])),
    '{"Application":{"kind":"Panicked","message":"oops","retryable":false}}',
  );
});

Deno.test("encodeEvent() escapes payload strings as serde_json does", () => {
  const data = 'q"b\\s/\n\t\r\b\f\u0001\u001f\u007fé€😀';
  const json = encodeEvent(ev(8, null, { type: "ExternalEvent", name: "n", data }));
  assert.ok(
    json.endsWith(String.raw`"data":"q\"b\\s/\n\t\r\b\f\u0001\u001f` + '\u007fé€😀"}'),
    json,
  );
  assert.equal((decodeEvent(json) as { data: string }).data, data);
});

// ---------------------------------------------------------------------------------------------
// Round trips of every variant
// ---------------------------------------------------------------------------------------------

Deno.test("encodeWorkItem() and decodeWorkItem() round-trip every WorkItem variant", async (t) => {
  for (const item of Object.values(WORK_ITEM_SAMPLES) as WorkItem[]) {
    await t.step(item.type, () => {
      const json = encodeWorkItem(item);
      assert.ok(json.startsWith(`{"${item.type}":{`), json);
      const decoded = decodeWorkItem(json);
      assert.deepEqual(decoded, item);
      assert.equal(encodeWorkItem(decoded), json);
    });
  }
});

Deno.test("encodeEvent() and decodeEvent() round-trip every EventKind variant", async (t) => {
  for (const kind of Object.values(EVENT_KIND_SAMPLES) as EventKind[]) {
    await t.step(kind.type, () => {
      const event = ev(5, 4, kind);
      const json = encodeEvent(event);
      assert.equal(JSON.parse(json).type, eventWireType(kind.type));
      const decoded = decodeEvent(json);
      assert.deepEqual(decoded, event);
      assert.equal(encodeEvent(decoded), json);
    });
  }
});

Deno.test("encodeErrorDetails() and decodeErrorDetails() round-trip every variant, kind and poison type", async (t) => {
  for (const details of ALL_ERROR_DETAILS) {
    const value = encodeErrorDetails(details);
    await t.step(JSON.stringify(value).slice(0, 80), () => {
      assert.deepEqual(decodeErrorDetails(JSON.parse(JSON.stringify(value))), details);
      // …and inside a work item and an event.
      const item: WorkItem = {
        type: "ActivityFailed",
        instance: "i",
        executionId: 1,
        id: 2,
        details,
      };
      assert.deepEqual(decodeWorkItem(encodeWorkItem(item)), item);
      const event = ev(3, 2, { type: "ActivityFailed", details });
      assert.deepEqual(decodeEvent(encodeEvent(event)), event);
    });
  }
});

Deno.test("eventWireType() renames the three persistent-queue kinds and keeps the rest", () => {
  assert.equal(eventWireType("QueueSubscribed"), "ExternalSubscribedPersistent");
  assert.equal(eventWireType("QueueEventDelivered"), "ExternalEventPersistent");
  assert.equal(
    eventWireType("QueueSubscriptionCancelled"),
    "ExternalSubscribedPersistentCancelled",
  );
  for (const type of Object.keys(EVENT_KIND_SAMPLES) as EventType[]) {
    if (!type.startsWith("Queue")) assert.equal(eventWireType(type), type);
  }
});

Deno.test("decodeEvent() maps the renamed wire types back to their TS names", () => {
  const cases: [string, string, EventKind][] = [
    ["ExternalSubscribedPersistent", '"name":"inbox"', { type: "QueueSubscribed", name: "inbox" }],
    ["ExternalEventPersistent", '"name":"inbox","data":"m"', {
      type: "QueueEventDelivered",
      name: "inbox",
      data: "m",
    }],
    ["ExternalSubscribedPersistentCancelled", '"reason":"r"', {
      type: "QueueSubscriptionCancelled",
      reason: "r",
    }],
  ];
  for (const [wire, fields, kind] of cases) {
    const json = `{"event_id":9,"source_event_id":null,${C},"type":"${wire}",${fields}}`;
    assert.deepEqual(decodeEvent(json), ev(9, null, kind));
    assert.equal(encodeEvent(ev(9, null, kind)), json);
  }
  // The TS names are not wire names.
  assertCodecError(
    () =>
      decodeEvent(`{"event_id":9,"source_event_id":null,${C},"type":"QueueSubscribed","name":"x"}`),
    /unknown variant "QueueSubscribed"/,
  );
});

// ---------------------------------------------------------------------------------------------
// Lenient decoding
// ---------------------------------------------------------------------------------------------

Deno.test("decodeWorkItem() reads omitted nullable fields as null and serde defaults", () => {
  assert.deepEqual(
    decodeWorkItem(
      '{"StartOrchestration":{"instance":"i","orchestration":"O","input":"","execution_id":1}}',
    ),
    {
      type: "StartOrchestration",
      instance: "i",
      orchestration: "O",
      input: "",
      version: null,
      parentInstance: null,
      parentId: null,
      executionId: 1,
    },
  );
  const can = decodeWorkItem('{"ContinueAsNew":{"instance":"i","orchestration":"O","input":""}}');
  assert.deepEqual(can, {
    type: "ContinueAsNew",
    instance: "i",
    orchestration: "O",
    input: "",
    version: null,
    carryForwardEvents: [],
  });
  assert.ok(!("initialCustomStatus" in can));
});

Deno.test("decodeWorkItem() leaves absent or null skip-if-none fields unset", () => {
  const item = decodeWorkItem(
    '{"ActivityExecute":{"instance":"i","execution_id":1,"id":2,"name":"A","input":"","session_id":null}}',
  );
  assert.ok(!("sessionId" in item) && !("tag" in item), JSON.stringify(item));
  assert.equal(
    encodeWorkItem(item),
    '{"ActivityExecute":{"instance":"i","execution_id":1,"id":2,"name":"A","input":""}}',
  );
});

Deno.test("decodeWorkItem() ignores unknown fields", () => {
  assert.deepEqual(
    decodeWorkItem('{"CancelInstance":{"instance":"i","reason":"r","extra":{"x":[1]},"n":null}}'),
    { type: "CancelInstance", instance: "i", reason: "r" },
  );
});

Deno.test("decodeEvent() reads omitted nullable fields as null and ignores unknown fields", () => {
  const started = decodeEvent(
    `{"event_id":1,${C},"type":"OrchestrationStarted","name":"O","version":"1","input":"","future":1}`,
  );
  assert.deepEqual(
    started,
    ev(1, null, {
      type: "OrchestrationStarted",
      name: "O",
      version: "1",
      input: "",
      parentInstance: null,
      parentId: null,
    }),
  );
  assert.ok(!("carryForwardEvents" in started) && !("initialCustomStatus" in started));
  assert.deepEqual(
    decodeEvent(`{"event_id":2,${C},"type":"CustomStatusUpdated"}`),
    ev(2, null, { type: "CustomStatusUpdated", status: null }),
  );
  const scheduled = decodeEvent(
    `{"event_id":3,"source_event_id":null,${C},"type":"ActivityScheduled","name":"A","input":"","tag":null}`,
  );
  assert.ok(!("sessionId" in scheduled) && !("tag" in scheduled));
});

Deno.test("decodeEvent() reads a missing KeyValueSet last_updated_at_ms as 0", () => {
  assert.deepEqual(
    decodeEvent(
      `{"event_id":4,"source_event_id":null,${C},"type":"KeyValueSet","key":"k","value":"v"}`,
    ),
    ev(4, null, { type: "KeyValueSet", key: "k", value: "v", lastUpdatedAtMs: 0 }),
  );
});

Deno.test("decodeErrorDetails() reads a missing Configuration message as null", () => {
  assert.deepEqual(
    decodeErrorDetails({ Configuration: { kind: "Nondeterminism", resource: "r" } }),
    { type: "Configuration", kind: "Nondeterminism", resource: "r", message: null },
  );
});

// ---------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------

Deno.test("decodeWorkItem() throws CodecError on malformed input", () => {
  const cases: [string, RegExp][] = [
    ["not json", /invalid JSON/],
    ["", /invalid JSON/],
    ["null", /expected an object/],
    ['["CancelInstance"]', /expected an object/],
    ['"CancelInstance"', /expected an object/],
    ["{}", /exactly one variant/],
    ['{"CancelInstance":{"instance":"i","reason":"r"},"QueueMessage":{}}', /exactly one variant/],
    ['{"Nope":{}}', /unknown variant "Nope"/],
    ['{"ExternalRaised2":{"instance":"i","name":"n","topic":"t","data":"d"}}', /unknown variant/],
    ['{"toString":{}}', /unknown variant "toString"/],
    ['{"CancelInstance":["i","r"]}', /CancelInstance: expected an object/],
    ['{"CancelInstance":{"instance":"i"}}', /CancelInstance: missing field `reason`/],
    ['{"CancelInstance":{"instance":"i","reason":null}}', /reason: expected a string, got null/],
    ['{"CancelInstance":{"instance":5,"reason":"r"}}', /instance: expected a string, got 5/],
    [
      '{"TimerFired":{"instance":"i","execution_id":1,"id":-3,"fire_at_ms":0}}',
      /TimerFired\.id: expected a non-negative integer, got -3/,
    ],
    [
      '{"TimerFired":{"instance":"i","execution_id":1.5,"id":3,"fire_at_ms":0}}',
      /execution_id: expected a non-negative integer, got 1\.5/,
    ],
    [
      '{"TimerFired":{"instance":"i","execution_id":"1","id":3,"fire_at_ms":0}}',
      /execution_id: expected a non-negative integer/,
    ],
    [
      '{"TimerFired":{"instance":"i","execution_id":1,"id":3,"fire_at_ms":18446744073709551615}}',
      /fire_at_ms: expected a non-negative integer/,
    ],
    [
      '{"StartOrchestration":{"instance":"i","orchestration":"O","input":"","parent_id":-1,"execution_id":1}}',
      /parent_id: expected a non-negative integer, got -1/,
    ],
    [
      '{"ContinueAsNew":{"instance":"i","orchestration":"O","input":"","carry_forward_events":[["a"]]}}',
      /carry_forward_events: expected an array of \[string, string\] pairs/,
    ],
    [
      '{"ContinueAsNew":{"instance":"i","orchestration":"O","input":"","carry_forward_events":null}}',
      /carry_forward_events: expected an array/,
    ],
    [
      '{"ActivityExecute":{"instance":"i","execution_id":1,"id":2,"name":"A","input":"","tag":7}}',
      /tag: expected a string, got 7/,
    ],
    [
      '{"ActivityFailed":{"instance":"i","execution_id":1,"id":2,"details":{"Oops":{}}}}',
      /ActivityFailed\.details: unknown variant "Oops"/,
    ],
    [
      '{"ActivityFailed":{"instance":"i","execution_id":1,"id":2,"details":{"Application":{"kind":"Boom","message":"","retryable":false}}}}',
      /kind: unknown AppErrorKind "Boom"/,
    ],
    [
      '{"ActivityFailed":{"instance":"i","execution_id":1,"id":2,"details":{"Application":{"kind":{"Cancelled":{}},"message":"","retryable":false}}}}',
      /Cancelled: missing field `reason`/,
    ],
    [
      '{"ActivityFailed":{"instance":"i","execution_id":1,"id":2,"details":{"Application":{"kind":"Panicked","message":"","retryable":"no"}}}}',
      /retryable: expected a boolean/,
    ],
  ];
  for (const [text, message] of cases) assertCodecError(() => decodeWorkItem(text), message);
});

Deno.test("decodeEvent() throws CodecError on malformed input", () => {
  const kind = '"type":"ActivityCompleted","result":"r"';
  const cases: [string, RegExp][] = [
    ["{", /invalid JSON/],
    ["[]", /expected an object/],
    [`{"event_id":1,"source_event_id":null,${C},"result":"r"}`, /missing field `type`/],
    [`{"event_id":1,"source_event_id":null,${C},"type":3}`, /ill-typed field `type`/],
    [`{"event_id":1,"source_event_id":null,${C},"type":"Nope"}`, /unknown variant "Nope"/],
    [`{"source_event_id":null,${C},${kind}}`, /missing field `event_id`/],
    [`{"event_id":-1,"source_event_id":null,${C},${kind}}`, /event_id: expected a non-negative/],
    [
      `{"event_id":1,"source_event_id":-2,${C},${kind}}`,
      /source_event_id: expected a non-negative/,
    ],
    [
      `{"event_id":1,"source_event_id":null,${C},"type":"ActivityCompleted"}`,
      /missing field `result`/,
    ],
    [
      `{"event_id":1,"source_event_id":null,"instance_id":"i","execution_id":1,"timestamp_ms":0,${kind}}`,
      /missing field `duroxide_version`/,
    ],
    [
      `{"event_id":1,"source_event_id":null,${C},"type":"KeyValueSet","key":"k","value":"v","last_updated_at_ms":null}`,
      /last_updated_at_ms: expected a non-negative integer, got null/,
    ],
    [
      `{"event_id":1,"source_event_id":null,${C},"type":"OrchestrationFailed","details":{"Configuration":{"kind":"Other","resource":"","message":null}}}`,
      /kind: expected "Nondeterminism"/,
    ],
    [
      `{"event_id":1,"source_event_id":null,${C},"type":"OrchestrationFailed","details":"Application"}`,
      /details: expected an object/,
    ],
  ];
  for (const [text, message] of cases) assertCodecError(() => decodeEvent(text), message);
});

Deno.test("decodeErrorDetails() throws CodecError on malformed values", () => {
  assertCodecError(() => decodeErrorDetails(null), /ErrorDetails: expected an object/);
  assertCodecError(() => decodeErrorDetails({ Poison: {} }), /missing field `attempt_count`/);
  assertCodecError(
    () =>
      decodeErrorDetails({
        Poison: { attempt_count: 4294967296, max_attempts: 1, message_type: {}, message: "" },
      }),
    /attempt_count: expected a non-negative 32-bit integer/,
  );
  assertCodecError(
    () =>
      decodeErrorDetails({
        Poison: {
          attempt_count: 1,
          max_attempts: 1,
          message_type: { Workflow: { instance: "i", execution_id: 1 } },
          message: "",
        },
      }),
    /message_type: unknown variant "Workflow"/,
  );
  assertCodecError(
    () =>
      decodeErrorDetails({
        Poison: {
          attempt_count: 1,
          max_attempts: 1,
          message_type: { Activity: { instance: "i", execution_id: 1, activity_name: "A" } },
          message: "",
        },
      }),
    /Activity: missing field `activity_id`/,
  );
});

Deno.test("encodeWorkItem() and encodeEvent() throw CodecError on values outside the model", () => {
  assertCodecError(
    () => encodeWorkItem({ type: "Nope" } as unknown as WorkItem),
    /WorkItem: unknown variant "Nope"/,
  );
  assertCodecError(
    () =>
      encodeWorkItem({ type: "TimerFired", instance: "i", executionId: NaN, id: 1, fireAtMs: 0 }),
    /executionId: expected a non-negative integer/,
  );
  assertCodecError(
    () => encodeWorkItem({ type: "CancelInstance", instance: "i" } as unknown as WorkItem),
    /reason: expected a string, got undefined/,
  );
  assertCodecError(
    () => encodeEvent({ ...common(1), type: "Nope" } as unknown as Event),
    /Event: unknown variant "Nope"/,
  );
  assertCodecError(
    () => encodeEvent({ ...common(-1), type: "KeyValuesCleared" }),
    /eventId: expected a non-negative integer, got -1/,
  );
  assertCodecError(
    () =>
      encodeErrorDetails(
        {
          type: "Application",
          kind: "Nope",
          message: "",
          retryable: false,
        } as unknown as ErrorDetails,
      ),
    /unknown AppErrorKind "Nope"/,
  );
});

Deno.test("CodecError is an Error named CodecError", () => {
  const err = new CodecError("x");
  assert.ok(err instanceof Error);
  assert.equal(err.name, "CodecError");
  assert.equal(err.message, "x");
});
