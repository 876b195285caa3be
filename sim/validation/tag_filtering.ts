/**
 * Tag filtering validation tests: `fetchWorkItem` returns only activities whose tag matches
 * the worker's `TagFilter`, and tags survive enqueue, abandon and the
 * `ackOrchestrationItem` path.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TagFilter } from "../../src/types.ts";
import type { ProviderFactory, ValidationTest } from "./harness.ts";
import { startedEvent, startItem } from "./helpers.ts";
import { asActivity, expectSome, taggedActivity, tagOf, tagsFilter } from "./_partC_util.ts";

const DEFAULT_ONLY: TagFilter = { type: "DefaultOnly" };
const ANY: TagFilter = { type: "Any" };

async function testDefaultOnlyFetchesUntagged(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(taggedActivity("inst-1", 1, null));
  await provider.enqueueForWorker(taggedActivity("inst-1", 2, "gpu"));
  await provider.enqueueForWorker(taggedActivity("inst-1", 3, null));

  // DefaultOnly only returns untagged items.
  const r1 = await provider.fetchWorkItem(5_000, 0, null, DEFAULT_ONLY);
  assert.ok(r1 !== null, "Should fetch first untagged item");
  const item1 = asActivity(r1.item);
  assert.equal(item1.id, 1);
  assert.equal(tagOf(item1), null);

  const r2 = await provider.fetchWorkItem(5_000, 0, null, DEFAULT_ONLY);
  assert.ok(r2 !== null, "Should fetch second untagged item");
  const item2 = asActivity(r2.item);
  assert.equal(item2.id, 3);
  assert.equal(tagOf(item2), null);

  // No untagged items left.
  const r3 = await provider.fetchWorkItem(5_000, 0, null, DEFAULT_ONLY);
  assert.equal(r3, null, "No more untagged items should be available");
}

async function testTagsFetchesOnlyMatching(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(taggedActivity("inst-1", 1, null));
  await provider.enqueueForWorker(taggedActivity("inst-1", 2, "gpu"));
  await provider.enqueueForWorker(taggedActivity("inst-1", 3, "cpu"));
  await provider.enqueueForWorker(taggedActivity("inst-1", 4, "gpu"));

  const filter = tagsFilter("gpu");

  const r1 = await provider.fetchWorkItem(5_000, 0, null, filter);
  assert.ok(r1 !== null);
  const item1 = asActivity(r1.item);
  assert.equal(item1.id, 2);
  assert.equal(tagOf(item1), "gpu");

  const r2 = await provider.fetchWorkItem(5_000, 0, null, filter);
  assert.ok(r2 !== null);
  const item2 = asActivity(r2.item);
  assert.equal(item2.id, 4);
  assert.equal(tagOf(item2), "gpu");

  // No gpu items left.
  const r3 = await provider.fetchWorkItem(5_000, 0, null, filter);
  assert.equal(r3, null);
}

async function testDefaultAndFetchesUntaggedAndMatching(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(taggedActivity("inst-1", 1, null));
  await provider.enqueueForWorker(taggedActivity("inst-1", 2, "gpu"));
  await provider.enqueueForWorker(taggedActivity("inst-1", 3, "cpu"));

  const filter: TagFilter = { type: "DefaultAnd", tags: ["gpu"] };

  // Untagged (1) first, then gpu (2), but never cpu (3).
  const r1 = expectSome(
    await provider.fetchWorkItem(5_000, 0, null, filter),
    "Should fetch untagged item",
  );
  assert.equal(asActivity(r1.item).id, 1);

  const r2 = expectSome(
    await provider.fetchWorkItem(5_000, 0, null, filter),
    "Should fetch gpu item",
  );
  const item2 = asActivity(r2.item);
  assert.equal(item2.id, 2);
  assert.equal(tagOf(item2), "gpu");

  // The cpu item is not fetchable.
  const r3 = await provider.fetchWorkItem(5_000, 0, null, filter);
  assert.equal(r3, null, "cpu-tagged item should not be fetched by DefaultAnd([gpu])");
}

async function testNoneFilterReturnsNothing(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(taggedActivity("inst-1", 1, null));
  await provider.enqueueForWorker(taggedActivity("inst-1", 2, "gpu"));

  const r = await provider.fetchWorkItem(5_000, 0, null, { type: "None" });
  assert.equal(r, null, "TagFilter::None should never return items");
}

async function testMultiTagFilter(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(taggedActivity("inst-1", 1, "gpu"));
  await provider.enqueueForWorker(taggedActivity("inst-1", 2, "tpu"));
  await provider.enqueueForWorker(taggedActivity("inst-1", 3, "cpu"));
  await provider.enqueueForWorker(taggedActivity("inst-1", 4, null));

  const filter = tagsFilter("gpu", "tpu");

  const r1 = expectSome(
    await provider.fetchWorkItem(5_000, 0, null, filter),
    "Should fetch gpu item",
  );
  assert.equal(tagOf(asActivity(r1.item)), "gpu");

  const r2 = expectSome(
    await provider.fetchWorkItem(5_000, 0, null, filter),
    "Should fetch tpu item",
  );
  assert.equal(tagOf(asActivity(r2.item)), "tpu");

  // Neither cpu nor untagged items are returned.
  const r3 = await provider.fetchWorkItem(5_000, 0, null, filter);
  assert.equal(r3, null);
}

async function testTagRoundTripPreservation(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(taggedActivity("inst-1", 1, "gpu"));

  const fetched = expectSome(
    await provider.fetchWorkItem(5_000, 0, null, tagsFilter("gpu")),
    "Should fetch tagged item",
  );
  const item = asActivity(fetched.item);
  assert.equal(tagOf(item), "gpu", "Tag should be preserved");
  assert.equal(item.name, "Activity1");
}

async function testAnyFilterFetchesEverything(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(taggedActivity("inst-1", 1, null));
  await provider.enqueueForWorker(taggedActivity("inst-2", 2, "gpu"));
  await provider.enqueueForWorker(taggedActivity("inst-3", 3, "cpu"));

  // All three are returned, whatever their tag.
  const r1 = await provider.fetchWorkItem(5_000, 0, null, ANY);
  assert.ok(r1 !== null, "Any filter should fetch untagged item");

  const r2 = await provider.fetchWorkItem(5_000, 0, null, ANY);
  assert.ok(r2 !== null, "Any filter should fetch gpu-tagged item");

  const r3 = await provider.fetchWorkItem(5_000, 0, null, ANY);
  assert.ok(r3 !== null, "Any filter should fetch cpu-tagged item");

  // The queue is empty now.
  const r4 = await provider.fetchWorkItem(5_000, 0, null, ANY);
  assert.equal(r4, null, "Queue should be empty");
}

async function testTagSurvivesAbandonAndRefetch(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  await provider.enqueueForWorker(taggedActivity("inst-1", 1, "gpu"));
  await provider.enqueueForWorker(taggedActivity("inst-1", 2, null));

  // Fetch the gpu item.
  const filter = tagsFilter("gpu");
  const first = expectSome(
    await provider.fetchWorkItem(5_000, 0, null, filter),
    "Should fetch gpu item",
  );
  const item = asActivity(first.item);
  assert.equal(item.id, 1);
  assert.equal(tagOf(item), "gpu");

  // Abandon it.
  await provider.abandonWorkItem(first.lockToken, null, false);

  // Refetch with the same filter: the tag is intact.
  const second = expectSome(
    await provider.fetchWorkItem(5_000, 0, null, filter),
    "Abandoned item should reappear",
  );
  const item2 = asActivity(second.item);
  assert.equal(item2.id, 1, "Should get the same item back");
  assert.equal(tagOf(item2), "gpu", "Tag must survive abandon");
  assert.ok(second.attemptCount >= 2, "Attempt count should increase after abandon");
  assert.notEqual(first.lockToken, second.lockToken, "Lock token should differ");

  // DefaultOnly sees only the untagged item, never the gpu item.
  const untagged = expectSome(
    await provider.fetchWorkItem(5_000, 0, null, DEFAULT_ONLY),
    "Untagged item should be available",
  );
  const item3 = asActivity(untagged.item);
  assert.equal(item3.id, 2);
  assert.equal(tagOf(item3), null);
}

async function testMultiRuntimeTagIsolation(factory: ProviderFactory): Promise<void> {
  const provider = await factory.createProvider();

  // A queue with diverse tags.
  await provider.enqueueForWorker(taggedActivity("inst-1", 1, null)); // untagged
  await provider.enqueueForWorker(taggedActivity("inst-2", 2, "gpu"));
  await provider.enqueueForWorker(taggedActivity("inst-3", 3, "cpu"));
  await provider.enqueueForWorker(taggedActivity("inst-4", 4, "fpga"));
  await provider.enqueueForWorker(taggedActivity("inst-5", 5, "gpu")); // second gpu

  // Mutually exclusive: DefaultOnly sees only the untagged item.
  const r = expectSome(
    await provider.fetchWorkItem(30_000, 0, null, DEFAULT_ONLY),
    "DefaultOnly should get untagged item",
  );
  const untagged = asActivity(r.item);
  assert.equal(untagged.id, 1);
  assert.equal(tagOf(untagged), null);
  assert.equal(
    await provider.fetchWorkItem(30_000, 0, null, DEFAULT_ONLY),
    null,
    "No more untagged items",
  );

  // Partial overlap: gpu+cpu takes gpu (2) and cpu (3).
  const gpuCpu = tagsFilter("gpu", "cpu");
  const got1 = expectSome(
    await provider.fetchWorkItem(30_000, 0, null, gpuCpu),
    "gpu+cpu filter should find item",
  );
  const id1 = asActivity(got1.item).id;
  const got2 = expectSome(
    await provider.fetchWorkItem(30_000, 0, null, gpuCpu),
    "gpu+cpu filter should find second item",
  );
  const id2 = asActivity(got2.item).id;
  const fetchedIds = [id1, id2].sort((a, b) => a - b);
  assert.deepEqual(fetchedIds, [2, 3], "gpu+cpu filter should get gpu(2) and cpu(3)");

  // Partial overlap: cpu+fpga finds only fpga (4), since cpu (3) is locked.
  const cpuFpga = tagsFilter("cpu", "fpga");
  const got3 = expectSome(
    await provider.fetchWorkItem(30_000, 0, null, cpuFpga),
    "cpu+fpga filter should find fpga item",
  );
  const fpga = asActivity(got3.item);
  assert.equal(fpga.id, 4);
  assert.equal(tagOf(fpga), "fpga");
  assert.equal(
    await provider.fetchWorkItem(30_000, 0, null, cpuFpga),
    null,
    "cpu locked + fpga consumed = nothing for cpu+fpga",
  );

  // Full overlap: Any picks up the remaining gpu (5), as 1–4 are locked.
  const got4 = expectSome(
    await provider.fetchWorkItem(30_000, 0, null, ANY),
    "Any filter should find remaining gpu item",
  );
  const gpu = asActivity(got4.item);
  assert.equal(gpu.id, 5);
  assert.equal(tagOf(gpu), "gpu");

  // Everything is consumed or locked.
  assert.equal(
    await provider.fetchWorkItem(30_000, 0, null, ANY),
    null,
    "All items consumed or locked",
  );
}

async function testTagPreservedThroughAckOrchestrationItem(
  factory: ProviderFactory,
): Promise<void> {
  const provider = await factory.createProvider();

  // An orchestration turn to ack.
  await provider.enqueueForOrchestrator(startItem("tag-ack-inst"), null);
  const fetched = expectSome(
    await provider.fetchOrchestrationItem(30_000, 0, null),
    "should get orchestration item",
  );

  // Ack it with two worker items: one tagged "gpu", one untagged.
  await provider.ackOrchestrationItem(
    fetched.lockToken,
    1,
    [startedEvent("tag-ack-inst")],
    [
      {
        type: "ActivityExecute",
        instance: "tag-ack-inst",
        executionId: 1,
        id: 10,
        name: "GpuWork",
        input: '"model-v3"',
        tag: "gpu",
      },
      {
        type: "ActivityExecute",
        instance: "tag-ack-inst",
        executionId: 1,
        id: 11,
        name: "CpuWork",
        input: '"data"',
      },
    ],
    [],
    {},
    [],
  );

  // DefaultOnly fetches only the untagged item.
  const defaultResult = expectSome(
    await provider.fetchWorkItem(30_000, 0, null, DEFAULT_ONLY),
    "DefaultOnly should get the untagged activity",
  );
  const cpu = asActivity(defaultResult.item);
  assert.equal(cpu.name, "CpuWork", "DefaultOnly must return untagged item");
  assert.equal(tagOf(cpu), null, "DefaultOnly item must have no tag");
  await provider.ackWorkItem(defaultResult.lockToken, null);

  // Only the gpu item is left, and DefaultOnly must not see it.
  const empty = await provider.fetchWorkItem(30_000, 0, null, DEFAULT_ONLY);
  assert.equal(
    empty,
    null,
    `DefaultOnly must NOT see gpu-tagged item — got ${JSON.stringify(empty)}`,
  );

  // Tags(["gpu"]) fetches it, with its tag intact.
  const gpuResult = expectSome(
    await provider.fetchWorkItem(30_000, 0, null, tagsFilter("gpu")),
    "Tags([gpu]) should get the gpu-tagged activity",
  );
  const gpu = asActivity(gpuResult.item);
  assert.equal(gpu.name, "GpuWork", "Tags([gpu]) must return gpu item");
  assert.equal(tagOf(gpu), "gpu", "tag must be preserved as 'gpu'");
}

function test(name: string, run: (factory: ProviderFactory) => Promise<void>): ValidationTest {
  return { category: "tag_filtering", name, run };
}

/**
 * The `tag_filtering` validation tests (10, as in Duroxide): `DefaultOnly`, `Tags`,
 * `DefaultAnd`, `Any` and `None` filters, tag preservation through enqueue, abandon and
 * `ackOrchestrationItem`, and isolation between workers with overlapping filters.
 */
export const tagFilteringTests: ValidationTest[] = [
  test("test_default_only_fetches_untagged", testDefaultOnlyFetchesUntagged),
  test("test_tags_fetches_only_matching", testTagsFetchesOnlyMatching),
  test("test_default_and_fetches_untagged_and_matching", testDefaultAndFetchesUntaggedAndMatching),
  test("test_none_filter_returns_nothing", testNoneFilterReturnsNothing),
  test("test_multi_tag_filter", testMultiTagFilter),
  test("test_tag_round_trip_preservation", testTagRoundTripPreservation),
  test("test_any_filter_fetches_everything", testAnyFilterFetchesEverything),
  test("test_tag_survives_abandon_and_refetch", testTagSurvivesAbandonAndRefetch),
  test("test_multi_runtime_tag_isolation", testMultiRuntimeTagIsolation),
  test(
    "test_tag_preserved_through_ack_orchestration_item",
    testTagPreservedThroughAckOrchestrationItem,
  ),
];
