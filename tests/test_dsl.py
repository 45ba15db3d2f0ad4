"""The flow DSL (YAML and JSON) with the built-in routines: round trips and error messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

import routilux_nb.builtins  # noqa: F401  (registers the built-in routines)
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
from routilux_nb.core import DSLError, Flow, Routine, Runtime, policies
from routilux_nb.core.dsl import dump_json, dump_yaml, flow_to_dict, load, load_json, load_yaml


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown()


FLOW_YAML = """\
flow_id: orders
routines:
  source:
    class: data_source
    config:
      items:
        - {id: 1, name: " ada ", amount: 30, kind: book}
        - {id: 2, name: bob, amount: 5, kind: food}
        - {id: 3, name: cy, amount: 80, kind: book}
        - {id: 4, name: di, amount: 12, kind: toy}
  clean:
    class: mapper
    config:
      transformation: strip
      field: name
      set: {currency: EUR}
    error_handler: {strategy: retry, max_retries: 2}
  upper:
    class: mapper
    config: {transformation: uppercase, field: name}
  big:
    class: filter
    config: {condition: "amount >= 10"}
  route:
    class: conditional_router
    config:
      mode: all
      routes:
        books: {kind: book}
        large: "amount > 50"
  split:
    class: splitter
    config: {field: parts}
  quiet:
    class: debouncer
  total:
    class: aggregator
    config: {field: amount}
  books:
    class: collector
    config: {key: books}
  large:
    class: collector
    config: {key: large}
  others:
    class: collector
    config: {key: others}
  totals:
    class: collector
    config: {key: totals}
  small:
    class: collector
    config: {key: small}
connections:
  - {from: source.output, to: clean.input}
  - {from: clean.output, to: upper.input}
  - {from: upper.output, to: big.input}
  - {from: big.output, to: route.input}
  - {from: big.rejected, to: small.input}
  - {from: route.books, to: books.input}
  - {from: route.large, to: large.input}
  - {from: route.default, to: split.input}
  - {from: split.output, to: quiet.input}
  - {from: quiet.output, to: others.input}
  - {from: big.output, to: total.input}
  - {from: total.output, to: totals.input}
execution: {timeout: 60}
error_handler: {strategy: continue}
"""


def test_yaml_round_trip_gives_back_the_document() -> None:
    flow = load_yaml(FLOW_YAML)
    assert yaml.safe_load(dump_yaml(flow)) == yaml.safe_load(FLOW_YAML)
    assert yaml.safe_load(flow.to_yaml()) == yaml.safe_load(FLOW_YAML)


def test_yaml_round_trip_twice_is_stable() -> None:
    once = dump_yaml(load_yaml(FLOW_YAML))
    assert dump_yaml(load_yaml(once)) == once


def test_json_round_trip_gives_back_the_document() -> None:
    text = json.dumps(yaml.safe_load(FLOW_YAML), indent=1)
    flow = load_json(text)
    assert json.loads(dump_json(flow)) == json.loads(text)
    assert json.loads(load(text).to_json()) == json.loads(text)


def test_loaded_flow_runs(rt: Runtime) -> None:
    job = rt.submit(load_yaml(FLOW_YAML), "source", "trigger", {}).wait(5)
    assert job.status == "completed", job.error
    assert [o["id"] for o in job.data["books"]] == [1, 3]
    assert job.data["books"][0]["name"] == "ADA" and job.data["books"][0]["currency"] == "EUR"
    assert [o["id"] for o in job.data["large"]] == [3]
    assert [o["id"] for o in job.data["others"]] == [4]
    assert [o["id"] for o in job.data["small"]] == [2]
    [total] = job.data["totals"]
    assert (total["count"], total["sum"], total["min"], total["max"]) == (3, 122, 12, 80)


def python_flow() -> Flow:
    flow = Flow("py", execution_timeout=30, error_handler={"strategy": "skip"})
    flow.add_routine(DataSource(items=[1, {"v": 2}]), "source")
    flow.add_routine(Mapper(transformation="lowercase", rename={"v": "value"}), "map")
    flow.add_routine(Filter(condition="value > 0"), "keep")
    flow.add_routine(
        ConditionalRouter(routes={"one": {"value": 1}, "many": "value > 1"}, mode="first"), "route"
    )
    flow.add_routine(Splitter(), "split")
    flow.add_routine(Batcher(batch_size=4, timeout=0.2), "batch")
    flow.add_routine(Aggregator(field="value", expected=5), "agg")
    flow.add_routine(Debouncer(interval=0.3), "quiet")
    flow.add_routine(RetryHandler(max_retries=5, retry_delay=0.5), "retry")
    flow.add_routine(Collector(key="out"), "sink")
    flow.routines["map"].set_error_handler({"strategy": "retry", "max_retries": 1, "backoff": 3.0})
    for a, b in [
        ("source.output", "map.input"),
        ("map.output", "keep.input"),
        ("keep.output", "route.input"),
        ("route.one", "batch.input"),
        ("route.many", "split.input"),
        ("route.default", "agg.input"),
        ("batch.output", "quiet.input"),
        ("quiet.output", "retry.input"),
        ("split.output", "sink.input"),
        ("retry.output", "sink.input"),
        ("agg.output", "sink.input"),
    ]:
        flow.connect(a, b)
    return flow


def same_flow(a: Flow, b: Flow) -> None:
    assert (a.flow_id, a.execution_timeout, a.error_handler) == (
        b.flow_id,
        b.execution_timeout,
        b.error_handler,
    )
    assert list(a.routines) == list(b.routines)
    for rid, ra in a.routines.items():
        rb = b.routines[rid]
        assert type(ra) is type(rb), rid
        assert ra.config == rb.config, rid
        assert ra.activation_policy.describe() == rb.activation_policy.describe(), rid
        assert ra.error_handler == rb.error_handler, rid
        assert list(ra.slot_specs) == list(rb.slot_specs), rid
        assert list(ra.event_specs) == list(rb.event_specs), rid
    assert a.connections == b.connections


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_load_of_dump_gives_an_equal_flow(fmt: str) -> None:
    flow = python_flow()
    text = dump_yaml(flow) if fmt == "yaml" else dump_json(flow)
    same_flow(flow, load(text))


def test_dump_leaves_defaults_out() -> None:
    flow = Flow("defaults")
    flow.add_routine(Batcher(), "batch")
    flow.add_routine(Collector(), "sink")
    flow.connect("batch.output", "sink.input")
    assert flow_to_dict(flow)["routines"] == {
        "batch": {"class": "batcher"},
        "sink": {"class": "collector"},
    }


@pytest.mark.parametrize(
    "routine",
    ["{class: batcher, config: {batch_size: 3}}", "{class: retry_handler}"],
    ids=["batcher-policy", "retry-handler-error-handler"],
)
def test_round_trip_of_config_derived_policy_and_handler(routine: str) -> None:
    text = f"flow_id: derived\nroutines:\n  r: {routine}\nconnections: []\n"
    assert yaml.safe_load(dump_yaml(load_yaml(text))) == yaml.safe_load(text)


class _SetupPolicy(Routine):
    slots = ["input"]
    events = ["output"]

    def setup(self) -> None:
        self.set_activation_policy(policies.batch_size(int(self.config.get("n", 2))))

    def logic(self, input: list[dict[str, Any]]) -> None:
        pass


def test_dump_of_explicit_policy_on_a_class_with_a_default_policy() -> None:
    text = (
        "flow_id: p\nroutines:\n  b:\n    class: batcher\n    activation_policy:\n"
        "      type: time_interval\n      config: {min_interval: 0.5}\nconnections: []\n"
    )
    assert yaml.safe_load(dump_yaml(load_yaml(text))) == yaml.safe_load(text)


@pytest.mark.parametrize("how", ["dsl-activation_policy", "setup"])
def test_dump_of_batch_policy_on_a_class_without_default_policy(how: str) -> None:
    if how == "setup":
        flow = Flow("setup-policy")
        flow.add_routine(_SetupPolicy(), "r")
        flow_to_dict(flow)
        return
    text = (
        "flow_id: p\nroutines:\n  m:\n    class: mapper\n    activation_policy:\n"
        "      type: batch_size\n      config: {batch_size: 2, timeout: 0.5}\nconnections: []\n"
    )
    assert yaml.safe_load(dump_yaml(load_yaml(text))) == yaml.safe_load(text)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("flow_id: x\nroutines:\n  a: {class: data_source\nconnections: []\n", 4, "expected ','"),
        ("flow_id: x\nroutines:\n  a: b: c\n", 3, "mapping values are not allowed"),
        ("flow_id: x\n\troutines: {}\n", 2, "'\\t'"),
        ("flow_id: x\nroutines:\n  a: {class: data_source}\n  b: [unclosed\n", 5, "expected ','"),
    ],
    ids=["unclosed-flow-mapping", "nested-mapping-value", "tab", "unclosed-list"],
)
def test_yaml_syntax_error_has_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(DSLError, match="invalid YAML") as info:
        load_yaml(text)
    assert info.value.line == line
    assert reason in info.value.reason
    assert str(info.value).startswith(f"line {line}:")


def test_json_syntax_error_has_line() -> None:
    text = '{\n  "flow_id": "x",\n  "routines": {}\n  "connections": []\n}'
    with pytest.raises(DSLError, match="invalid JSON") as info:
        load_json(text)
    assert info.value.line == 4
    with pytest.raises(DSLError) as info:
        load(text)
    assert info.value.line == 4


def test_unknown_class_names_registered_classes() -> None:
    text = "flow_id: x\nroutines:\n  source: {class: data_source}\n  sink: {class: mymodule.Colector}\n"
    with pytest.raises(DSLError) as info:
        load_yaml(text)
    message = str(info.value)
    assert info.value.line == 4
    assert "'mymodule.Colector'" in message and "registered:" in message
    for name in (
        "'collector'",
        "'data_source'",
        "'Mapper'",
        "'conditional_router'",
        "'retry_handler'",
    ):
        assert name in message


def test_unknown_slot_in_connection_names_existing_slots() -> None:
    text = (
        "flow_id: x\nroutines:\n  source: {class: data_source}\n  sink: {class: collector}\n"
        "connections:\n  - {from: source.output, to: sink.inbox}\n"
    )
    with pytest.raises(DSLError) as info:
        load_yaml(text)
    assert info.value.line == 6
    assert "no slot 'inbox'" in str(info.value) and "its slots: 'input'" in str(info.value)


def test_unknown_router_event_names_route_events() -> None:
    text = (
        "flow_id: x\nroutines:\n  r: {class: router, config: {routes: {hot: 't > 30'}}}\n"
        "  sink: {class: collector}\nconnections:\n  - {from: r.cold, to: sink.input}\n"
    )
    with pytest.raises(DSLError) as info:
        load_yaml(text)
    assert info.value.line == 6 and "its events: 'default', 'hot'" in str(info.value)


def test_bad_builtin_config_is_a_dsl_error_with_line() -> None:
    text = "flow_id: x\nroutines:\n  b: {class: batcher, config: {batch_size: -2}}\n"
    with pytest.raises(DSLError, match="'batch_size' must be a positive integer") as info:
        load_yaml(text)
    assert info.value.line == 3


# -- the original Routilux format ----------------------------------------------------------

ORIGINAL_FORMAT = """
flow_id: "data_processing_pipeline"
execution:
  strategy: "concurrent"
  max_workers: 5
  timeout: 300
routines:
  extractor:
    class: "mymodule.DataSource"
    config:
      items: [3, 1, 2]
  transformer:
    class: "myapp.routines.DataTransformer"
    config:
      transformation: "uppercase"
    error_handler:
      strategy: "retry"
      max_retries: 3
      retry_delay: 1.0
  validator:
    class: "myapp.routines.DataFilter"
    config:
      condition: "value >= 2"
  exporter:
    class: "myapp.sinks.DataSink"
    config:
      key: "exported"
connections:
  - from: "extractor.output"
    to: "transformer.input"
  - from: "transformer.output"
    to: "validator.input"
  - from: "validator.output"
    to: "exporter.input"
"""


def test_original_routilux_format_loads_and_runs(rt: Runtime) -> None:
    flow = load_yaml(ORIGINAL_FORMAT)
    assert flow.flow_id == "data_processing_pipeline"
    assert flow.execution == {"strategy": "concurrent", "max_workers": 5, "timeout": 300}
    assert flow.execution_timeout == 300
    assert [type(r) for r in flow.routines.values()] == [DataSource, Mapper, Filter, Collector]
    handler = flow.routines["transformer"].error_handler
    assert handler is not None and (handler.strategy, handler.max_retries, handler.retry_delay) == (
        "retry",
        3,
        1.0,
    )
    dumped = flow_to_dict(flow)
    assert dumped["execution"] == {"strategy": "concurrent", "max_workers": 5, "timeout": 300}
    assert dumped["routines"]["extractor"]["class"] == "data_source"
    job = rt.submit(flow, "extractor", "trigger", {}).wait(5)
    assert job.status == "completed", job.error
    assert job.data["exported"] == [{"value": 3}, {"value": 2}]


def test_original_format_connection_param_mapping_is_accepted() -> None:
    text = ORIGINAL_FORMAT.replace(
        '    to: "exporter.input"\n', '    to: "exporter.input"\n    param_mapping: {data: value}\n'
    )
    assert len(load_yaml(text).connections) == 3


def test_original_format_error_handler_keys() -> None:
    text = ORIGINAL_FORMAT.replace(
        "      retry_delay: 1.0\n",
        "      retry_delay: 1.0\n      retry_backoff: 2.0\n      is_critical: true\n",
    )
    handler = load_yaml(text).routines["transformer"].error_handler
    assert handler is not None and handler.backoff == 2.0


# -- export then import: the same code, or a clear refusal ---------------------------------


def test_flow_id_is_optional_and_generated_from_the_document(rt: Runtime) -> None:
    text = (
        "routines:\n  source: {class: data_source}\n  sink: {class: collector}\n"
        "connections:\n  - {from: source.output, to: sink.input}\n"
    )
    flow = load_yaml(text)
    assert flow.flow_id.startswith("flow_") and len(flow.flow_id) == len("flow_") + 12
    assert load_yaml(text).flow_id == flow.flow_id
    assert load_yaml(text.replace("collector", "Collector")).flow_id != flow.flow_id
    assert load_json(json.dumps(yaml.safe_load(text))).flow_id == flow.flow_id
    job = rt.submit(flow, "source", None, {"v": 1}).wait(5)
    assert job.status == "completed" and job.data["collected"] == [{"v": 1}]
    with pytest.raises(DSLError, match="'flow_id' must be a non-empty string"):
        load_yaml("flow_id: 3\nroutines: {}\n")


def test_function_routine_named_like_a_builtin_comes_back_as_the_function(rt: Runtime) -> None:
    flow = Flow("dsl_fn_sink")
    flow.add_routine(DataSource(), "source")

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data["mine"] = [i["v"] * 100 for i in input]

    flow.connect("source.output", "sink.input")
    doc = flow_to_dict(flow)
    assert doc["routines"]["sink"] == {"class": "function:dsl_fn_sink/sink"}
    again = load(dump_yaml(flow))
    assert type(again.routines["sink"]) is type(flow.routines["sink"])
    assert again.routines["sink"].fn is flow.routines["sink"].fn  # type: ignore[attr-defined]
    job = rt.submit(again, "source", None, {"v": 2}).wait(5)
    assert job.status == "completed" and job.data == {"mine": [200]}
    assert isinstance(
        load_yaml("flow_id: b\nroutines:\n  s: {class: sink}\n").routines["s"], Collector
    )


def test_two_flows_defining_the_same_function_name_keep_their_own_code(rt: Runtime) -> None:
    docs = {}
    for factor in (2, 3):
        flow = Flow(f"dsl_proc_{factor}")

        @flow.routine(slots=["input"], events=[])
        def process(input, ctx, factor=factor):
            ctx.data["out"] = [i["v"] * factor for i in input]

        docs[factor] = flow.to_yaml()
    for factor, text in docs.items():
        job = rt.submit(load_yaml(text), "process", None, {"v": 5}).wait(5)
        assert job.status == "completed" and job.data["out"] == [5 * factor]
    with pytest.raises(
        DSLError,
        match="functions named 'process' exist in several flows; name one: "
        "'function:dsl_proc_2/process', 'function:dsl_proc_3/process'",
    ):
        load_yaml("flow_id: c\nroutines:\n  p: {class: process}\n")


def test_function_added_without_the_decorator_is_registered_by_the_export(rt: Runtime) -> None:
    from routilux_nb.core import FunctionRoutine

    def tripled(input):
        return [{"v": i["v"] * 3} for i in input]

    flow = Flow("dsl_fn_plain")
    flow.add_routine(FunctionRoutine(tripled, routine_id="t"))
    flow.add_routine(Collector(), "sink")
    flow.connect("t.output", "sink.input")
    again = load_json(dump_json(flow))
    assert again.routines["t"].fn is tripled  # type: ignore[attr-defined]
    assert rt.submit(again, "t", None, {"v": 1}).wait(5).data["collected"] == [{"v": 3}]


def test_unregistered_function_reference_names_what_to_register() -> None:
    text = "flow_id: x\nroutines:\n  p:\n    class: function:elsewhere/process\n"
    with pytest.raises(DSLError) as info:
        load_yaml(text)
    message = str(info.value)
    assert info.value.line == 3
    assert "the function routine 'process' of flow 'elsewhere'" in message
    assert (
        "@flow.routine on Flow('elsewhere')" in message
        and "registry.add_function('elsewhere', 'process'" in message
    )


def _at_least_two(counts: dict[str, int]) -> bool:
    return sum(counts.values()) >= 2


def test_custom_policy_round_trips_by_registered_name(rt: Runtime) -> None:
    from routilux_nb.core import registry

    registry.add_check("dsl_test_at_least_two", _at_least_two)
    flow = Flow("dsl_custom_named")
    flow.add_routine(DataSource(items=[1, 2, 3, 4]), "source")
    flow.add_routine(Collector(key="batches"), "sink")
    flow.routines["sink"].set_activation_policy(policies.custom(_at_least_two))
    flow.connect("source.output", "sink.input")
    doc = flow_to_dict(flow)
    assert doc["routines"]["sink"]["activation_policy"] == {
        "type": "custom",
        "config": {"check": "dsl_test_at_least_two"},
    }
    again = load(dump_yaml(flow))
    policy = again.routines["sink"].activation_policy
    assert policy.type == "custom" and policy.check is _at_least_two  # type: ignore[attr-defined]
    same_flow(flow, again)
    job = rt.submit(again, "source", None, {}).wait(5)
    assert job.status == "completed" and len(job.data["batches"]) == 4


def test_unnamed_custom_policy_is_registered_under_flow_and_routine(rt: Runtime) -> None:
    def every_three(counts):
        return sum(counts.values()) >= 3

    flow = Flow("dsl_custom_unnamed")
    flow.add_routine(Collector(), "sink")
    flow.routines["sink"].set_activation_policy(policies.custom(every_three))
    doc = flow_to_dict(flow)
    assert doc["routines"]["sink"]["activation_policy"]["config"] == {
        "check": "dsl_custom_unnamed/sink"
    }
    assert load(dump_yaml(flow)).routines["sink"].activation_policy.check is every_three  # type: ignore[attr-defined]


def test_unregistered_custom_policy_is_an_error_not_immediate() -> None:
    text = (
        "flow_id: x\nroutines:\n  s:\n    class: collector\n    activation_policy:\n"
        "      type: custom\n      config: {check: nobody_registered_this}\n"
    )
    with pytest.raises(
        DSLError,
        match=r"line 3: routine 's': no custom activation policy check registered as "
        r"'nobody_registered_this': register it with "
        r"registry.add_check\('nobody_registered_this', fn\)",
    ):
        load_yaml(text)
    with pytest.raises(DSLError, match="needs config.check"):
        load_yaml(
            "flow_id: x\nroutines:\n  s: {class: collector, activation_policy: {type: custom}}\n"
        )


def test_a_callable_in_config_is_refused_on_reload_with_the_key_named() -> None:
    flow = Flow("dsl_callable_config")
    flow.add_routine(Filter(condition=lambda item: True), "keep")
    flow.add_routine(ConditionalRouter(routes={"hot": lambda t: t > 3}), "route")
    text = flow.to_yaml()
    with pytest.raises(
        DSLError,
        match=r"routine 'keep': config 'condition' was a Python callable "
        r"\(<callable <lambda>>\) when the flow was exported",
    ):
        load_yaml(text)
    del flow.routines["keep"]
    with pytest.raises(DSLError, match=r"config 'routes.hot' was a Python callable"):
        load_yaml(flow.to_yaml())
