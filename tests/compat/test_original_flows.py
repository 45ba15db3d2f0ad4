"""Flow files in the original Routilux's documented format load and run unchanged.

The files (``tests/fixtures/original_flows``) name user classes the way the original's users
wrote them (``myapp.routines.DataExtractor``, ``example_processor``...); they are registered
here, as such a user registers them, and every file is loaded and run on a real runtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import routilux_nb.builtins  # noqa: F401  (registers the built-in routines)
from routilux_nb.builtins import Collector, DataValidator, Mapper
from routilux_nb.core import Flow, Routine, Runtime, registry
from routilux_nb.core.dsl import flow_to_dict, generated_flow_id, load

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "original_flows"


@registry.register("DataExtractor")
class DataExtractor(Routine):
    """Reads ``batch_size`` records from its ``source`` (here: made up, one without an id)."""

    slots = ["trigger"]
    events = ["output"]

    def logic(self, trigger: list[dict[str, Any]], ctx: Any) -> None:
        for _ in trigger:
            for i in range(3):
                ctx.emit("output", id=i + 1, name=f" Item{i} ", source=self.config["source"])
            ctx.emit("output", name="no id")


@registry.register("DataExporter")
class DataExporter(Routine):
    slots = ["input"]
    events = ()

    def logic(self, input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data.setdefault("exported", []).extend(input)
        ctx.data["destination"] = self.config["destination"]


@registry.register("CriticalTask")
class CriticalTask(Routine):
    """Fails on its first attempt of every job: the retry handler runs it again."""

    slots = ["input"]
    events = ["output"]

    def logic(self, input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["critical_attempts"] = ctx.data.get("critical_attempts", 0) + 1
        if ctx.data["critical_attempts"] == 1:
            raise ConnectionError("first attempt fails")
        for item in input:
            ctx.emit("output", **item)


@registry.register("OptionalTask")
class OptionalTask(Routine):
    slots = ["input"]
    events = ()

    def logic(self, input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["optional_ran"] = True
        raise ValueError("optional work failed")


@registry.register("example_processor")
class ExampleProcessor(Routine):
    """The ``routilux init`` example: returns its input."""

    slots = ["input"]
    events = ["output"]

    def logic(self, input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data.setdefault("processed", []).extend(input)
        for item in input:
            ctx.emit("output", **item)


@registry.register("hello_world")
class HelloWorld(Routine):
    slots = ["input"]
    events = ["output"]

    def logic(self, input: list[dict[str, Any]], ctx: Any) -> None:
        for item in input:
            ctx.data["greeting"] = f"Hello, {item.get('name', 'World')}!"


@registry.register("my_processor")
class MyProcessor(Routine):
    slots = ["input"]
    events = ["output"]

    def logic(self, input: list[dict[str, Any]], ctx: Any) -> None:
        for item in input:
            ctx.emit("output", value=item["value"] * 10)


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown()


def fixture(name: str) -> Flow:
    return load((FIXTURES / name).read_text(encoding="utf-8"))


def run(rt: Runtime, flow: Flow, entry: str, data: dict[str, Any] | None = None) -> Any:
    job = rt.submit(flow, entry, None, data or {}).wait(20)
    assert job.status == "completed", (job.error, job.trace_log[-5:] if job.trace_log else None)
    return job


def test_at_least_six_documented_files() -> None:
    assert len([p for p in FIXTURES.iterdir() if p.suffix in (".yaml", ".json")]) >= 6


def test_dsl_guide_yaml_pipeline(rt: Runtime) -> None:
    flow = fixture("dsl_guide_pipeline.yaml")
    assert flow.flow_id == "data_processing_pipeline"
    assert (
        flow.execution == {"strategy": "concurrent", "timeout": 300.0}
        and flow.execution_timeout == 300.0
    )
    assert isinstance(flow.routines["validator"], DataValidator)
    assert isinstance(flow.routines["transformer"], Mapper)
    job = run(rt, flow, "extractor", {"data": "test"})
    # the record without an id is rejected by the rule "data.get('id') is not None"
    assert [e["validated_data"]["id"] for e in job.data["exported"]] == [1, 2, 3]
    assert job.data["destination"] == "s3://my-bucket/data"


def test_dsl_guide_json_pipeline(rt: Runtime) -> None:
    flow = fixture("dsl_guide_pipeline.json")
    assert list(flow.routines) == ["extractor", "validator"]
    for event in ("valid", "invalid"):  # observe what the file's validator decides
        flow.add_routine(Collector(key=event), f"keep_{event}")
        flow.connect(f"validator.{event}", f"keep_{event}.input")
    job = run(rt, flow, "extractor")
    assert [v["validated_data"]["id"] for v in job.data["valid"]] == [1, 2, 3]
    assert job.data["invalid"] == [
        {"errors": ["Rule failed: data.get('id') is not None"], "data": {"name": "no id"}}
    ]


def test_error_handler_keys_without_flow_id(rt: Runtime) -> None:
    text = (FIXTURES / "error_handlers.yaml").read_text(encoding="utf-8")
    flow = load(text)
    assert flow.flow_id == generated_flow_id(yaml.safe_load(text)) and flow.flow_id.startswith(
        "flow_"
    )
    assert load(text).flow_id == flow.flow_id  # the same document gets the same id
    handler = flow.routines["critical_task"].error_handler
    assert handler is not None
    assert (handler.strategy, handler.max_retries, handler.backoff, handler.is_critical) == (
        "retry",
        3,
        2.0,
        True,
    )
    job = run(rt, flow, "critical_task", {"n": 1})
    assert job.data["critical_attempts"] == 2 and job.data["optional_ran"] is True


def test_connection_patterns_fan_out_fan_in(rt: Runtime) -> None:
    flow = fixture("connection_patterns.yaml")
    assert len(flow.connections) == 6
    job = run(rt, flow, "source", {"name": "Ada"})
    assert sorted(m["name"] for m in job.data["merged"]) == ["ADA", "Ada", "ada"]
    assert isinstance(flow.routines["aggregator"], Collector)


def test_init_template_flow(rt: Runtime) -> None:
    flow = fixture("init_example_flow.yaml")
    assert (flow.flow_id, flow.execution_timeout, flow.connections) == ("example_flow", 300.0, [])
    job = run(rt, flow, "processor", {"data": 1})
    assert job.data["processed"] == [{"data": 1}]


def test_cli_tutorial_flows(rt: Runtime) -> None:
    job = run(rt, fixture("cli_tutorial_hello.yaml"), "hello", {"name": "Claude"})
    assert job.data["greeting"] == "Hello, Claude!"
    job = run(rt, fixture("cli_tutorial_pipeline.yaml"), "source", {"value": 4})
    assert job.data["collected"] == [{"value": 40}]


def test_cli_usage_json_flow(rt: Runtime) -> None:
    flow = fixture("cli_usage_flow.json")
    assert flow.routines["source"].config == {"name": "Source"}
    assert run(rt, flow, "source", {"x": 1}).status == "completed"


@pytest.mark.parametrize(
    "name", sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".yaml", ".json"))
)
def test_every_file_round_trips(name: str) -> None:
    flow = fixture(name)
    again = load(yaml.safe_dump(flow_to_dict(flow)))
    assert flow_to_dict(again) == flow_to_dict(flow)
    assert again.flow_id == flow.flow_id
