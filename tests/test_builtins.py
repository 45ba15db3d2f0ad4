"""The built-in routines, each run in a real flow on a real runtime."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from routilux_nb.builtins import (
    Aggregator,
    Batcher,
    Collector,
    ConditionalRouter,
    DataSource,
    Debouncer,
    Filter,
    Mapper,
    RetryHandler,
    Splitter,
)
from routilux_nb.core import (
    DSLError,
    Flow,
    FunctionRoutine,
    JobContext,
    Routine,
    Runtime,
    policies,
    registry,
)
from routilux_nb.core.dsl import load_yaml


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown()


def pipeline(flow_id: str, *routines: tuple[str, Routine], sink: str | None = "sink") -> Flow:
    """A flow ``r1.output -> r2.input -> ... -> sink.input`` (the first routine is the entry)."""
    flow = Flow(flow_id)
    for rid, routine in routines:
        flow.add_routine(routine, rid)
    if sink:
        flow.add_routine(Collector(), sink)
    ids = [rid for rid, _ in routines] + ([sink] if sink else [])
    for a, b in zip(ids[:-1], ids[1:], strict=True):
        slot = next(iter(flow.routines[b].slot_specs))
        flow.connect(f"{a}.output", f"{b}.{slot}")
    return flow


def run(
    rt: Runtime,
    flow: Flow,
    data: dict[str, Any] | None = None,
    *,
    entry: str = "source",
    timeout: float = 5.0,
) -> JobContext:
    job = rt.submit(flow, entry, None, data or {})
    return job.wait(timeout)


def collected(job: JobContext, key: str = "collected") -> list[dict[str, Any]]:
    assert job.status == "completed", (job.status, job.error)
    return job.data.get(key, [])


# -- registry ------------------------------------------------------------------------------

NAMES = {
    DataSource: ["data_source", "DataSource"],
    Mapper: [
        "mapper",
        "Mapper",
        "data_transformer",
        "DataTransformer",
        "transformer",
        "Transformer",
    ],
    Filter: ["filter", "Filter", "data_filter", "DataFilter"],
    ConditionalRouter: ["conditional_router", "ConditionalRouter", "router", "Router"],
    Splitter: ["splitter", "Splitter"],
    Batcher: ["batcher", "Batcher"],
    Aggregator: ["aggregator", "Aggregator"],
    Debouncer: ["debouncer", "Debouncer"],
    RetryHandler: ["retry_handler", "RetryHandler"],
    Collector: ["collector", "Collector", "sink", "Sink", "data_sink", "DataSink"],
}


@pytest.mark.parametrize(
    ("name", "cls"), [(n, c) for c, names in NAMES.items() for n in names], ids=lambda v: str(v)
)
def test_registry_finds_builtins_by_snake_and_camel_name(name: str, cls: type) -> None:
    assert registry.get(name) is cls
    assert registry.get(f"mymodule.{name}") is cls
    routine = registry.create(name, "r")
    assert type(routine) is cls and routine.routine_id == "r"


def test_registry_canonical_names_are_snake_case() -> None:
    for cls, names in NAMES.items():
        assert registry.name_of(cls) == names[0]


# -- DataSource ----------------------------------------------------------------------------


def test_data_source_passes_trigger_payload_on(rt: Runtime) -> None:
    flow = pipeline("src", ("source", DataSource()))
    job = run(rt, flow, {"value": 1, "name": "a"})
    assert collected(job) == [{"value": 1, "name": "a"}]


def test_data_source_items_from_yaml_emitted_once_per_trigger(rt: Runtime) -> None:
    flow = load_yaml(
        """
flow_id: items
routines:
  source: {class: DataSource, config: {items: [1, {name: a}, x]}}
  sink: {class: data_sink, config: {key: out}}
connections:
  - {from: source.output, to: sink.input}
"""
    )
    job = run(rt, flow, {"ignored": True})
    assert collected(job, "out") == [{"value": 1}, {"name": "a"}, {"value": "x"}]


def test_data_source_items_must_be_a_list() -> None:
    with pytest.raises(ValueError, match="'items' must be a list"):
        DataSource(items="abc")


# -- Mapper --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, {"name": " Ada ", "n": 1}),
        ({"transformation": "uppercase", "field": "name"}, {"name": " ADA ", "n": 1}),
        ({"transformation": "strip"}, {"name": "Ada", "n": 1}),
        ({"transformation": "lowercase"}, {"name": " ada ", "n": 1}),
        ({"transformation": "identity"}, {"name": " Ada ", "n": 1}),
        ({"set": {"ok": True, "n": 2}}, {"name": " Ada ", "n": 2, "ok": True}),
        ({"rename": {"name": "who"}}, {"who": " Ada ", "n": 1}),
        ({"fn": lambda item: {**item, "n": item["n"] + 10}}, {"name": " Ada ", "n": 11}),
        ({"fn": lambda item: item["n"] * 3}, {"value": 3}),
    ],
    ids=[
        "none",
        "upper-field",
        "strip-all",
        "lower",
        "identity",
        "set",
        "rename",
        "fn",
        "fn-scalar",
    ],
)
def test_mapper_transforms(rt: Runtime, config: dict[str, Any], expected: dict[str, Any]) -> None:
    flow = pipeline("map", ("source", DataSource()), ("map", Mapper(config=config)))
    job = run(rt, flow, {"name": " Ada ", "n": 1})
    assert collected(job) == [expected]


def test_mapper_fn_returning_none_drops_the_item(rt: Runtime) -> None:
    mapper = Mapper(fn=lambda item: item if item["value"] % 2 else None)
    flow = pipeline("drop", ("source", DataSource(items=[1, 2, 3, 4, 5])), ("map", mapper))
    assert collected(run(rt, flow)) == [{"value": 1}, {"value": 3}, {"value": 5}]


def test_mapper_aliases_in_yaml(rt: Runtime) -> None:
    flow = load_yaml(
        """
flow_id: aliases
routines:
  source: {class: data_source}
  up: {class: DataTransformer, config: {transformation: uppercase, field: name}}
  tag: {class: transformer, config: {set: {seen: true}}}
  sink: {class: sink}
connections:
  - {from: source.output, to: up.input}
  - {from: up.output, to: tag.input}
  - {from: tag.output, to: sink.input}
"""
    )
    assert [type(r) for r in flow.routines.values()] == [DataSource, Mapper, Mapper, Collector]
    job = run(rt, flow, {"name": "ada", "other": "x"})
    assert collected(job) == [{"name": "ADA", "other": "x", "seen": True}]


def test_mapper_does_not_modify_payloads_shared_by_other_targets(rt: Runtime) -> None:
    flow = Flow("shared")
    flow.add_routine(DataSource(), "source")
    flow.add_routine(Mapper(transformation="uppercase", set={"x": 1}), "map")
    flow.add_routine(Collector(key="mapped"), "a")
    flow.add_routine(Collector(key="raw"), "b")
    flow.connect("source.output", "map.input")
    flow.connect("source.output", "b.input")
    flow.connect("map.output", "a.input")
    job = run(rt, flow, {"name": "ada"})
    assert collected(job, "mapped") == [{"name": "ADA", "x": 1}]
    assert collected(job, "raw") == [{"name": "ada"}]


# -- Filter --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        "value > 2 and kind == 'a'",
        "item['value'] > 2 and data.get('kind') == 'a'",
        lambda value, kind: value > 2 and kind == "a",
        lambda item: item["value"] > 2 and item["kind"] == "a",
        {"kind": "a", "value": 3},
    ],
    ids=["string", "string-item", "callable-fields", "callable-item", "mapping"],
)
def test_filter_splits_output_and_rejected(rt: Runtime, condition: Any) -> None:
    flow = Flow("filter")
    flow.add_routine(
        DataSource(
            items=[
                {"value": 1, "kind": "a"},
                {"value": 3, "kind": "a"},
                {"value": 3, "kind": "b"},
            ]
        ),
        "source",
    )
    flow.add_routine(Filter(condition=condition), "filter")
    flow.add_routine(Collector(key="passed"), "passed")
    flow.add_routine(Collector(key="rejected"), "rejected")
    flow.connect("source.output", "filter.input")
    flow.connect("filter.output", "passed.input")
    flow.connect("filter.rejected", "rejected.input")
    job = run(rt, flow)
    assert collected(job, "passed") == [{"value": 3, "kind": "a"}]
    assert collected(job, "rejected") == [{"value": 1, "kind": "a"}, {"value": 3, "kind": "b"}]


def test_filter_without_condition_passes_everything(rt: Runtime) -> None:
    flow = load_yaml(
        """
flow_id: f
routines:
  source: {class: data_source, config: {items: [1, 2]}}
  keep: {class: data_filter}
  sink: {class: collector}
connections:
  - {from: source.output, to: keep.input}
  - {from: keep.output, to: sink.input}
"""
    )
    assert collected(run(rt, flow)) == [{"value": 1}, {"value": 2}]


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os')",
        "__import__('os').system('echo hacked')",
        "item.__class__.__mro__",
        "(lambda: 1)()",
        "open('/etc/passwd')",
        "value >",
    ],
)
def test_filter_refuses_unsafe_or_invalid_condition_at_construction(condition: str) -> None:
    with pytest.raises(ValueError, match="Filter: invalid condition"):
        Filter(condition=condition)


def test_filter_unsafe_condition_in_yaml_is_a_dsl_error() -> None:
    text = """
flow_id: evil
routines:
  source: {class: data_source}
  keep: {class: filter, config: {condition: "__import__('os').system('echo hacked')"}}
connections:
  - {from: source.output, to: keep.input}
"""
    with pytest.raises(DSLError, match="refused") as info:
        load_yaml(text)
    assert info.value.line == 5


def test_filter_data_is_never_evaluated(rt: Runtime) -> None:
    flow = pipeline("data", ("source", DataSource()), ("keep", Filter(condition="value == 'x'")))
    job = run(rt, flow, {"value": "__import__('os').system('echo hacked')"})
    assert collected(job) == []


def test_filter_condition_must_be_callable_string_or_mapping() -> None:
    with pytest.raises(ValueError, match="callable, an expression string"):
        Filter(condition=42)


# -- ConditionalRouter ---------------------------------------------------------------------

ROUTER_ITEMS = [
    {"value": 15, "color": "red"},
    {"value": 5, "color": "red"},
    {"value": 20, "color": "blue"},
    {"value": 1, "color": "green"},
]


def router_flow(mode: str) -> Flow:
    flow = Flow(f"router-{mode}")
    flow.add_routine(DataSource(items=ROUTER_ITEMS), "source")
    flow.add_routine(
        ConditionalRouter(
            mode=mode,
            routes={
                "big": "value > 10",
                "red": {"color": "red"},
                "blue": lambda color: color == "blue",
            },
        ),
        "router",
    )
    flow.connect("source.output", "router.input")
    for event in ("big", "red", "blue", "default"):
        flow.add_routine(Collector(key=event), f"sink_{event}")
        flow.connect(f"router.{event}", f"sink_{event}.input")
    return flow


def test_router_first_match(rt: Runtime) -> None:
    job = run(rt, router_flow("first"))
    assert collected(job, "big") == [ROUTER_ITEMS[0], ROUTER_ITEMS[2]]
    assert collected(job, "red") == [ROUTER_ITEMS[1]]
    assert collected(job, "blue") == []
    assert collected(job, "default") == [ROUTER_ITEMS[3]]


def test_router_all_matches(rt: Runtime) -> None:
    job = run(rt, router_flow("all"))
    assert collected(job, "big") == [ROUTER_ITEMS[0], ROUTER_ITEMS[2]]
    assert collected(job, "red") == [ROUTER_ITEMS[0], ROUTER_ITEMS[1]]
    assert collected(job, "blue") == [ROUTER_ITEMS[2]]
    assert collected(job, "default") == [ROUTER_ITEMS[3]]


def test_router_from_yaml(rt: Runtime) -> None:
    flow = load_yaml(
        """
flow_id: yaml-router
routines:
  source: {class: data_source, config: {items: [1, 2, 3, 4]}}
  router:
    class: router
    config:
      routes:
        even: "value % 2 == 0"
        one: {value: 1}
  evens: {class: collector, config: {key: evens}}
  ones: {class: collector, config: {key: ones}}
  rest: {class: collector, config: {key: rest}}
connections:
  - {from: source.output, to: router.input}
  - {from: router.even, to: evens.input}
  - {from: router.one, to: ones.input}
  - {from: router.default, to: rest.input}
"""
    )
    job = run(rt, flow)
    assert collected(job, "evens") == [{"value": 2}, {"value": 4}]
    assert collected(job, "ones") == [{"value": 1}]
    assert collected(job, "rest") == [{"value": 3}]


def test_router_without_routes_sends_everything_to_default(rt: Runtime) -> None:
    router = ConditionalRouter()
    assert list(router.event_specs) == ["default"]
    flow = Flow("router-default")
    flow.add_routine(DataSource(items=[1]), "source")
    flow.add_routine(router, "router")
    flow.add_routine(Collector(), "sink")
    flow.connect("source.output", "router.input")
    flow.connect("router.default", "sink.input")
    assert collected(run(rt, flow)) == [{"value": 1}]


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"mode": "any"}, "allowed: first, all"),
        ({"routes": {"a.b": "value"}}, "without '.'"),
        ({"routes": {"default": "value"}}, "other than 'default'"),
        ({"routes": {"x": "__import__('os')"}}, "route 'x'.*invalid condition"),
        ({"routes": "value > 1"}, "must be a mapping"),
    ],
)
def test_router_bad_config(config: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ConditionalRouter(config=config)


# -- Splitter ------------------------------------------------------------------------------


def test_splitter_default_field(rt: Runtime) -> None:
    flow = pipeline("split", ("source", DataSource()), ("split", Splitter()))
    job = run(rt, flow, {"items": [{"a": 1}, 7, "x"]})
    assert collected(job) == [{"a": 1}, {"value": 7, "index": 1}, {"value": "x", "index": 2}]


def test_splitter_configured_field_and_missing_field(rt: Runtime) -> None:
    flow = pipeline(
        "split2",
        (
            "source",
            DataSource(
                items=[
                    {"rows": [1, 2]},
                    {"other": 1},
                    {"rows": "not a list"},
                ]
            ),
        ),
        ("split", Splitter(field="rows")),
    )
    job = run(rt, flow)
    assert collected(job) == [
        {"value": 1, "index": 0},
        {"value": 2, "index": 1},
        {"other": 1},
        {"rows": "not a list"},
    ]


# -- Batcher -------------------------------------------------------------------------------


def test_batcher_exact_batch_sizes(rt: Runtime) -> None:
    flow = pipeline(
        "batch",
        ("source", DataSource(items=list(range(7)))),
        ("batch", Batcher(batch_size=3, timeout=0.5)),
    )
    job = run(rt, flow)
    batches = collected(job)
    assert [b["count"] for b in batches] == [3, 3, 1]
    assert [[i["value"] for i in b["items"]] for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]


def test_batcher_timer_emits_partial_batch_without_more_data(rt: Runtime) -> None:
    stamps: list[float] = []

    def stamp(input: list[dict[str, Any]]) -> list[dict[str, Any]]:
        stamps.append(time.monotonic())
        return input

    flow = pipeline(
        "batch-timer",
        ("source", DataSource(items=[1, 2])),
        ("batch", Batcher(batch_size=5, timeout=0.3)),
        ("stamp", FunctionRoutine(stamp)),
    )
    t0 = time.monotonic()
    job = run(rt, flow)
    assert collected(job) == [{"items": [{"value": 1}, {"value": 2}], "count": 2}]
    assert len(stamps) == 1
    assert 0.3 <= stamps[0] - t0 < 3.0


def test_batcher_timer_fires_while_the_job_is_busy_elsewhere(rt: Runtime) -> None:
    """The partial batch leaves on its timer, before a slow branch of the same job ends."""
    ended: list[float] = []
    batched: list[float] = []

    def slow(input: list[dict[str, Any]]) -> None:
        time.sleep(1.0)
        ended.append(time.monotonic())

    def stamp(input: list[dict[str, Any]]) -> list[dict[str, Any]]:
        batched.append(time.monotonic())
        return input

    flow = Flow("batch-busy")
    flow.add_routine(DataSource(items=[1, 2]), "source")
    flow.add_routine(Batcher(batch_size=10, timeout=0.1), "batch")
    flow.add_routine(FunctionRoutine(stamp), "stamp")
    flow.add_routine(FunctionRoutine(slow, events=[]), "slow")
    flow.add_routine(Collector(), "sink")
    flow.connect("source.output", "batch.input")
    flow.connect("source.output", "slow.input")
    flow.connect("batch.output", "stamp.input")
    flow.connect("stamp.output", "sink.input")
    job = run(rt, flow)
    assert [b["count"] for b in collected(job)] == [2]
    assert batched[0] < ended[0]


def test_batcher_without_timeout_flushes_leftovers_when_job_is_idle(rt: Runtime) -> None:
    flow = load_yaml(
        """
flow_id: batch-idle
routines:
  source: {class: data_source, config: {items: [1, 2, 3, 4, 5]}}
  batch: {class: batcher, config: {batch_size: 2, timeout: null}}
  sink: {class: collector}
connections:
  - {from: source.output, to: batch.input}
  - {from: batch.output, to: sink.input}
"""
    )
    t0 = time.monotonic()
    job = run(rt, flow)
    assert [b["count"] for b in collected(job)] == [2, 2, 1]
    assert time.monotonic() - t0 < 1.0


def test_batcher_default_config(rt: Runtime) -> None:
    batcher = Batcher()
    assert batcher.activation_policy.config == {"batch_size": 10}
    flow = pipeline(
        "batch-default", ("source", DataSource(items=list(range(12)))), ("batch", batcher)
    )
    job = run(rt, flow)
    assert [b["count"] for b in collected(job)] == [10, 2]
    # the leftover batch goes out when the job is idle, not after a timer: no second added
    assert job.duration < 0.9


def test_batcher_set_config_rederives_policy_and_rejects_bad_values() -> None:
    batcher = Batcher(batch_size=3)
    batcher.set_config(batch_size=4)
    assert batcher.activation_policy.config == {"batch_size": 4}
    with pytest.raises(ValueError, match="positive integer"):
        batcher.set_config(batch_size=0)
    assert batcher.config["batch_size"] == 4
    assert batcher.activation_policy.config == {"batch_size": 4}


def test_batcher_keeps_an_explicit_policy() -> None:
    batcher = Batcher(batch_size=3, policy={"type": "batch_size", "config": {"batch_size": 7}})
    assert batcher.activation_policy.config == {"batch_size": 7}


# -- Aggregator ----------------------------------------------------------------------------


def test_aggregator_emits_one_aggregate_when_upstream_is_done(rt: Runtime) -> None:
    flow = pipeline(
        "agg",
        ("source", DataSource(items=[{"v": 4}, {"v": 1}, {"v": 7}, {"other": 0}])),
        ("agg", Aggregator(field="v")),
    )
    [agg] = collected(run(rt, flow))
    assert agg == {
        "items": [{"v": 4}, {"v": 1}, {"v": 7}, {"other": 0}],
        "count": 4,
        "sum": 12,
        "min": 1,
        "max": 7,
        "mean": 4.0,
    }


def test_aggregator_waits_for_a_slow_upstream_branch(rt: Runtime) -> None:
    def slow(input: list[dict[str, Any]]) -> list[dict[str, Any]]:
        time.sleep(0.2)
        return [{"value": i["value"] * 100} for i in input]

    flow = Flow("agg-slow")
    flow.add_routine(DataSource(items=[1, 2]), "source")
    flow.add_routine(FunctionRoutine(slow), "slow")
    flow.add_routine(Aggregator(field="value"), "agg")
    flow.add_routine(Collector(), "sink")
    flow.connect("source.output", "agg.input")
    flow.connect("source.output", "slow.input")
    flow.connect("slow.output", "agg.input")
    flow.connect("agg.output", "sink.input")
    [agg] = collected(run(rt, flow))
    assert agg["count"] == 4 and agg["sum"] == 303


def test_aggregator_expected_count(rt: Runtime) -> None:
    flow = load_yaml(
        """
flow_id: agg-expected
routines:
  source: {class: data_source, config: {items: [1, 2, 3, 4, 5]}}
  agg: {class: Aggregator, config: {expected: 2, field: value}}
  sink: {class: collector}
connections:
  - {from: source.output, to: agg.input}
  - {from: agg.output, to: sink.input}
"""
    )
    out = collected(run(rt, flow))
    assert [(a["count"], a["sum"]) for a in out] == [(2, 3), (2, 7), (1, 5)]


def test_aggregator_without_field_and_bad_values(rt: Runtime) -> None:
    flow = pipeline("agg-plain", ("source", DataSource(items=["a", "b"])), ("agg", Aggregator()))
    assert collected(run(rt, flow)) == [{"items": [{"value": "a"}, {"value": "b"}], "count": 2}]
    flow = pipeline(
        "agg-bad", ("source", DataSource(items=["a"])), ("agg", Aggregator(field="value"))
    )
    job = run(rt, flow)
    assert job.status == "failed" and "must hold numbers" in (job.error or "")


# -- Debouncer -----------------------------------------------------------------------------


def test_debouncer_keeps_the_last_item_of_each_burst(rt: Runtime) -> None:
    def bursts(input: list[dict[str, Any]], ctx: Any) -> None:
        for v in (1, 2, 3):
            ctx.emit("output", value=v)
        time.sleep(0.4)
        for v in (4, 5):
            ctx.emit("output", value=v)

    flow = pipeline(
        "debounce", ("source", FunctionRoutine(bursts)), ("debounce", Debouncer(interval=0.15))
    )
    assert collected(run(rt, flow)) == [{"value": 3}, {"value": 5}]


def test_debouncer_default_interval_from_yaml(rt: Runtime) -> None:
    flow = load_yaml(
        """
flow_id: debounce-yaml
routines:
  source: {class: data_source, config: {items: [1, 2, 3, 4, 5, 6]}}
  quiet: {class: debouncer}
  sink: {class: collector}
connections:
  - {from: source.output, to: quiet.input}
  - {from: quiet.output, to: sink.input}
"""
    )
    assert flow.routines["quiet"].activation_policy.config == {"interval": 0.1}
    # the burst ends with the last item; a loaded machine may split it into several bursts
    out = collected(run(rt, flow))
    assert out[-1] == {"value": 6}
    values = [o["value"] for o in out]
    assert values == sorted(set(values))


# -- RetryHandler --------------------------------------------------------------------------


def flaky(failures: int) -> tuple[Any, list[int]]:
    calls = [0]
    lock = threading.Lock()

    def fn(item: dict[str, Any]) -> dict[str, Any]:
        with lock:
            calls[0] += 1
            n = calls[0]
        if n <= failures:
            raise ConnectionError(f"flaky failure {n}")
        return {"value": item["value"] + 1, "attempt": n}

    return fn, calls


def test_retry_handler_fails_twice_then_succeeds(rt: Runtime) -> None:
    fn, calls = flaky(2)
    retry = RetryHandler(fn=fn, max_retries=3, retry_delay=0.01)
    flow = pipeline("retry", ("source", DataSource()), ("retry", retry))
    job = run(rt, flow, {"value": 1})
    assert collected(job) == [{"value": 2, "attempt": 3}]
    assert calls[0] == 3
    assert [e["details"]["attempt"] for e in job.logs if e["action"] == "retry_scheduled"] == [1, 2]


def test_retry_handler_exhausted_fails_the_job(rt: Runtime) -> None:
    fn, calls = flaky(100)
    retry = RetryHandler(fn=fn, max_retries=2, retry_delay=0.01, backoff=1.5)
    flow = pipeline("retry-fail", ("source", DataSource()), ("retry", retry))
    job = run(rt, flow, {"value": 1})
    assert job.status == "failed"
    assert "ConnectionError" in (job.error or "") and "flaky failure 3" in (job.error or "")
    assert calls[0] == 3
    assert job.data.get("collected") is None


def test_retry_handler_without_fn_passes_through(rt: Runtime) -> None:
    flow = load_yaml(
        """
flow_id: retry-yaml
routines:
  source: {class: data_source}
  retry: {class: retry_handler, config: {max_retries: 1}}
  sink: {class: collector}
connections:
  - {from: source.output, to: retry.input}
  - {from: retry.output, to: sink.input}
"""
    )
    handler = flow.routines["retry"].error_handler
    assert handler is not None and (handler.strategy, handler.max_retries) == ("retry", 1)
    assert collected(run(rt, flow, {"value": 1})) == [{"value": 1}]


def test_retry_handler_keeps_an_explicit_error_handler() -> None:
    assert RetryHandler(error_handler="skip").error_handler.strategy == "skip"  # type: ignore[union-attr]


# -- Collector -----------------------------------------------------------------------------


def test_collector_key_and_accumulation(rt: Runtime) -> None:
    flow = pipeline("collect", ("source", DataSource(items=[1, 2, 3])), sink=None)
    flow.add_routine(Collector(key="numbers"), "sink")
    flow.connect("source.output", "sink.input")
    job = rt.submit(flow, "source", "trigger", {}, job_data={"numbers": [{"value": 0}]}).wait(5)
    assert collected(job, "numbers") == [{"value": v} for v in range(4)]
    assert not hasattr(flow.routines["sink"], "collected")


# -- bad config ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "config", "match"),
    [
        (Mapper, {"transformation": "reverse"}, "allowed: uppercase, lowercase, strip, identity"),
        (Mapper, {"transformation": "__import__('os')"}, "unknown transformation"),
        (Mapper, {"fn": "lambda x: x"}, "'fn' must be a Python callable"),
        (Mapper, {"set": ["a"]}, "'set' must be a mapping"),
        (Mapper, {"rename": "a"}, "'rename' must be a mapping"),
        (Mapper, {"field": 3}, "'field' must be a field name"),
        (RetryHandler, {"fn": 3}, "'fn' must be a Python callable"),
        (RetryHandler, {"max_retries": -1}, "'max_retries' must be an integer >= 0"),
        (RetryHandler, {"backoff": 0.5}, "'backoff' must be a number >= 1"),
        (Batcher, {"batch_size": 0}, "'batch_size' must be a positive integer"),
        (Batcher, {"timeout": -1}, "'timeout' must be a positive number of seconds or null"),
        (Aggregator, {"expected": "all"}, "'expected' must be a positive integer"),
        (Debouncer, {"interval": 0}, "'interval' must be a positive number"),
        (Splitter, {"field": ""}, "'field' must be a field name"),
        (Collector, {"key": None}, "'key' must be a non-empty string"),
    ],
)
def test_bad_config_raises_value_error_at_construction(
    cls: type, config: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        cls(config=config)


def test_bad_config_in_yaml_names_routine_line_and_allowed_values() -> None:
    text = """flow_id: bad
routines:
  source: {class: data_source}
  up: {class: mapper, config: {transformation: shout}}
connections: []
"""
    with pytest.raises(DSLError, match="allowed: uppercase, lowercase, strip, identity") as info:
        load_yaml(text)
    assert info.value.line == 4 and "'up'" in str(info.value)


# -- isolation of jobs ---------------------------------------------------------------------


def test_concurrent_jobs_on_one_worker_never_mix_their_data(rt: Runtime) -> None:
    def work(item: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.005)
        return {**item, "seen": True}

    flow = pipeline(
        "isolation",
        ("source", DataSource()),
        ("split", Splitter()),
        ("work", Mapper(fn=work)),
        ("batch", Batcher(batch_size=3, timeout=0.05)),
        ("unbatch", Splitter()),
        ("agg", Aggregator(field="n")),
    )
    worker = rt.start(flow)
    jobs = [
        rt.submit(
            flow,
            "source",
            "trigger",
            {"items": [{"tag": t, "n": n} for n in range(10)]},
            worker_id=worker.worker_id,
        )
        for t in range(8)
    ]
    for tag, job in enumerate(jobs):
        [agg] = collected(job.wait(10))
        assert job.worker_id == worker.worker_id
        assert agg["count"] == 10 and agg["sum"] == 45
        assert {i["tag"] for i in agg["items"]} == {tag}
        assert sorted(i["n"] for i in agg["items"]) == list(range(10))


def test_aggregator_after_a_flushing_batch_routine_emits_one_aggregate(rt: Runtime) -> None:
    def slow_batch(input: list[dict[str, Any]]) -> list[dict[str, Any]]:
        time.sleep(0.2)
        return input

    flow = pipeline(
        "flush-chain",
        ("source", DataSource(items=[1, 2, 3, 4, 5])),
        ("batch", FunctionRoutine(slow_batch, policy=policies.batch_size(2))),
        ("agg", Aggregator()),
    )
    assert [a["count"] for a in collected(run(rt, flow))] == [5]


# -- config keys: typos refused, the original's keys accepted -----------------------------------
@pytest.mark.parametrize(
    ("cls", "config", "message"),
    [
        (Batcher, {"batchsize": 3}, "unknown config key 'batchsize'; did you mean 'batch_size'?"),
        (Collector, {"kee": "out"}, "unknown config key 'kee'; did you mean 'key'?"),
        (Filter, {"conditon": "x > 1"}, "did you mean 'condition'?"),
        (DataSource, {"zzz": 1}, "DataSource: unknown config key 'zzz'; DataSource reads items"),
    ],
)
def test_config_typos_are_refused_with_a_suggestion(
    cls: Any, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(**config)


def test_set_config_typo_is_refused_and_leaves_config_unchanged() -> None:
    batcher = Batcher(batch_size=3)
    with pytest.raises(ValueError, match="did you mean 'batch_size'"):
        batcher.set_config(batch_siz=4)
    assert batcher.config == {"batch_size": 3} and batcher.activation_policy.config == {
        "batch_size": 3
    }


def test_the_originals_config_keys_load_aliases_act_and_the_rest_warn(rt: Runtime) -> None:
    assert Batcher(batch_size=2, batch_timeout=0.5).activation_policy.config == {
        "batch_size": 2,
        "timeout": 0.5,
    }
    assert Debouncer(wait=0.3).activation_policy.config == {"interval": 0.3}
    assert RetryHandler(base_delay=0.2).error_handler.retry_delay == 0.2
    with pytest.warns(UserWarning, match="'merge_strategy' .* has no effect here"):
        Aggregator(merge_strategy="append")
    DataSource(items=[1], name="Source", description="shown in the original's UI")  # common keys
    flow = pipeline(
        "inverted",
        ("source", DataSource(items=[{"v": 1}, {"v": 5}])),
        ("keep", Filter(condition="v > 2", invert=True)),
    )
    assert [p["v"] for p in collected(run(rt, flow))] == [1]
