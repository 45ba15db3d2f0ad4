"""DataValidator, SchemaValidator and ResultExtractor: the original Routilux's configuration
keys and event fields, each run through a real flow on a real runtime."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

import routilux_nb.builtins  # noqa: F401  (registers the built-in routines)
from routilux_nb.builtins import DataValidator, ResultExtractor, SchemaValidator
from routilux_nb.builtins.extraction import ExtractionError
from routilux_nb.core import DSLError, Flow, JobContext, Routine, Runtime, registry
from routilux_nb.core.dsl import load_yaml


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown()


def two_way(routine: Routine, flow_id: str, outs: tuple[str, ...] = ("valid", "invalid")) -> Flow:
    """``source -> routine``, each event of ``outs`` collected under its own name."""
    flow = Flow(flow_id)
    flow.add_routine(registry.create("data_source"), "source")
    flow.add_routine(routine, "r")
    flow.connect("source.output", "r.input")
    for event in outs:
        flow.add_routine(registry.create("collector", config={"key": event}), f"keep_{event}")
        flow.connect(f"r.{event}", f"keep_{event}.input")
    return flow


def run_items(rt: Runtime, flow: Flow, items: list[Any]) -> JobContext:
    flow.routines["source"].set_config(items=items)
    job = rt.submit(flow, "source", None, {}).wait(10)
    assert job.status == "completed", job.error
    return job


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("DataValidator", DataValidator),
        ("data_validator", DataValidator),
        ("routilux.builtin_routines.data_processing.DataValidator", DataValidator),
        ("SchemaValidator", SchemaValidator),
        ("schema_validator", SchemaValidator),
        (
            "routilux.builtin_routines.data_processing.schema_validator.SchemaValidator",
            SchemaValidator,
        ),
        ("ResultExtractor", ResultExtractor),
        ("result_extractor", ResultExtractor),
        ("routilux.builtin_routines.text_processing.ResultExtractor", ResultExtractor),
    ],
)
def test_names_and_dotted_paths_resolve(name: str, cls: type) -> None:
    assert registry.get(name) is cls


# -- DataValidator -------------------------------------------------------------------------

VALIDATOR_YAML = """
flow_id: validate_people
routines:
  source: {{class: data_source}}
  check:
    class: {cls}
    config:
      rules: {{name: is_string, age: "value >= 18", score: is_non_negative}}
      required_fields: [name, age]
  ok: {{class: collector, config: {{key: ok}}}}
  bad: {{class: collector, config: {{key: bad}}}}
connections:
  - {{from: source.output, to: check.input}}
  - {{from: check.valid, to: ok.input}}
  - {{from: check.invalid, to: bad.input}}
"""


@pytest.mark.parametrize("cls", ["DataValidator", "data_validator", "myapp.routines.DataValidator"])
def test_data_validator_rules_in_yaml(rt: Runtime, cls: str) -> None:
    flow = load_yaml(VALIDATOR_YAML.format(cls=cls))
    people = [
        {"name": "ada", "age": 36, "score": 3},
        {"name": 7, "age": 12},
        {"age": 40},
        {"data": {"name": "bo", "age": 20}},
    ]
    job = run_items(rt, flow, people)
    assert job.data["ok"] == [
        {"validated_data": people[0]},
        {"validated_data": {"name": "bo", "age": 20}},
    ]
    assert job.data["bad"] == [
        {
            "errors": ["Field 'name' failed validation", "Field 'age' failed validation"],
            "data": people[1],
        },
        {"errors": ["Required field 'name' is missing"], "data": people[2]},
    ]


def test_data_validator_strict_mode_extra_fields_and_callables(rt: Runtime) -> None:
    def short(value: Any) -> tuple[bool, str]:
        return len(value) < 4, f"{value!r} is too long"

    validator = DataValidator(rules={"code": short}, strict_mode=True, allow_extra_fields=False)
    flow = two_way(validator, "validator_strict")
    job = run_items(rt, flow, [{"code": "ab"}, {"code": "abcdef", "x": 1}, {"x": 1, "y": 2}])
    assert [v["validated_data"] for v in job.data["valid"]] == [{"code": "ab"}]
    assert [v["errors"] for v in job.data["invalid"]] == [
        ["'abcdef' is too long"],
        ["Unexpected field 'x'"],
    ]


def test_data_validator_list_of_expressions_from_the_dsl_guide(rt: Runtime) -> None:
    validator = DataValidator(rules=["data is not None", "data.get('id') is not None"])
    job = run_items(rt, two_way(validator, "validator_expr"), [{"id": 1}, {"name": "no id"}])
    assert [v["validated_data"] for v in job.data["valid"]] == [{"id": 1}]
    assert job.data["invalid"] == [
        {"errors": ["Rule failed: data.get('id') is not None"], "data": {"name": "no id"}}
    ]


def test_data_validator_items_and_value_rules(rt: Runtime) -> None:
    lists = two_way(DataValidator(rules={"items": "is_int"}), "validator_items")
    job = run_items(rt, lists, [{"data": [1, 2]}, {"data": [1, "x"]}])
    assert job.data["valid"] == [{"validated_data": [1, 2]}]
    assert job.data["invalid"][0]["errors"] == ["Field 'items[1]' failed validation"]
    values = two_way(DataValidator(rules={"value": "is_positive"}), "validator_value")
    job = run_items(rt, values, [{"data": 3}, {"data": -3}])
    assert job.data["valid"] == [{"validated_data": 3}] and len(job.data["invalid"]) == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"rules": {"a": "value >"}}, "neither a named check"),
        ({"rules": 3}, "'rules' must be a mapping"),
        ({"required_fields": "a"}, "'required_fields' must be a list"),
        ({"strict_mode": "yes"}, "true or false"),
    ],
)
def test_data_validator_bad_config_is_a_dsl_error_with_line(
    config: dict[str, Any], message: str
) -> None:
    import json

    text = f"flow_id: bad\nroutines:\n  v: {{class: DataValidator, config: {json.dumps(config)}}}\n"
    with pytest.raises(DSLError, match=message) as info:
        load_yaml(text)
    assert info.value.line == 3


def test_data_validator_with_a_schema_validates_like_schema_validator(rt: Runtime) -> None:
    schema = {"type": "object", "required": ["id"]}
    job = run_items(rt, two_way(DataValidator(schema=schema), "validator_schema"), [{"id": 1}, {}])
    assert job.data["valid"] == [{"validated_data": {"id": 1}, "schema_type": "jsonschema"}]
    assert job.data["invalid"][0]["original_data"] == {}


# -- SchemaValidator -----------------------------------------------------------------------

SCHEMA_YAML = """
flow_id: orders_schema
routines:
  source: {class: data_source}
  check:
    class: routilux.builtin_routines.data_processing.SchemaValidator
    config:
      schema:
        type: object
        properties:
          id: {type: integer}
          qty: {type: integer, minimum: 1}
        required: [id, qty]
  ok: {class: collector, config: {key: ok}}
  bad: {class: collector, config: {key: bad}}
connections:
  - {from: source.output, to: check.input}
  - {from: check.valid, to: ok.input}
  - {from: check.invalid, to: bad.input}
"""


def test_schema_validator_json_schema_from_yaml(rt: Runtime) -> None:
    job = run_items(
        rt, load_yaml(SCHEMA_YAML), [{"id": 1, "qty": 2}, {"id": "x", "qty": 0}, {"qty": 1}]
    )
    assert job.data["ok"] == [{"validated_data": {"id": 1, "qty": 2}, "schema_type": "jsonschema"}]
    assert [b["errors"] for b in job.data["bad"]] == [
        ["id: 'x' is not of type 'integer'", "qty: 0 is less than the minimum of 1"],
        ["root: 'id' is a required property"],
    ]
    assert job.data["bad"][0]["original_data"] == {"id": "x", "qty": 0}


def test_schema_validator_pydantic_model_coerces(rt: Runtime) -> None:
    class Order(BaseModel):
        id: int
        qty: int

    job = run_items(
        rt,
        two_way(SchemaValidator(schema=Order), "schema_pydantic"),
        [{"id": "7", "qty": 2}, {"id": "x", "qty": 1}],
    )
    assert job.data["valid"] == [{"validated_data": {"id": 7, "qty": 2}, "schema_type": "pydantic"}]
    assert job.data["invalid"][0]["errors"][0].startswith("id: ")
    strict = two_way(SchemaValidator(schema=Order, coerce_types=False), "schema_pydantic_strict")
    assert len(run_items(rt, strict, [{"id": "7", "qty": 2}]).data["invalid"]) == 1


def test_schema_validator_custom_callable_and_field_validators(rt: Runtime) -> None:
    def has_name(data: dict[str, Any]) -> tuple[bool, list[str]]:
        return ("name" in data, ["name is required"])

    validator = SchemaValidator(schema=has_name, custom_validators={"age": "is_positive"})
    job = run_items(rt, two_way(validator, "schema_custom"), [{"name": "a", "age": 3}, {"age": -1}])
    assert job.data["valid"] == [
        {"validated_data": {"name": "a", "age": 3}, "schema_type": "custom"}
    ]
    assert job.data["invalid"][0]["errors"] == ["name is required", "Field 'age' failed validation"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"schema": {"type": "nope"}}, "invalid JSON Schema"),
        ({"schema_type": "xml"}, "unknown schema_type"),
        ({"schema": 3}, "must be a JSON Schema mapping"),
    ],
)
def test_schema_validator_bad_config(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SchemaValidator(config=config)


# -- ResultExtractor -------------------------------------------------------------------------

EXTRACT_YAML = """
flow_id: extract_replies
routines:
  source: {class: data_source}
  extract: {class: ResultExtractor, config: {extract_yaml_blocks: true}}
  out: {class: collector, config: {key: out}}
connections:
  - {from: source.output, to: extract.input}
  - {from: extract.output, to: out.input}
"""


def test_result_extractor_formats_through_a_flow(rt: Runtime) -> None:
    replies = [
        {"text": 'Here you go:\n```json\n{"answer": 42}\n```\nbye'},
        {"data": "[1, 2, 3]"},
        {"data": "```yaml\nname: ada\n```"},
        {"data": "```python\nprint(1)\n```"},
        {
            "data": [
                {"format": "output", "content": "line 1"},
                {"format": "code", "content": "x"},
                {"format": "output", "content": "line 2"},
            ]
        },
        {"data": "plain words"},
        {"a": 1, "b": 2},
    ]
    out = run_items(rt, load_yaml(EXTRACT_YAML), replies).data["out"]
    assert [(o["extracted_result"], o["format"]) for o in out] == [
        ({"answer": 42}, "json"),
        ([1, 2, 3], "json"),
        ({"name": "ada"}, "yaml"),
        ("print(1)\n", "python"),
        ("line 1\nline 2", "interpreter_output"),
        ("plain words", "str"),
        ({"a": 1, "b": 2}, "dict"),
    ]
    assert out[0]["extraction_path"] == ["json_code_block"] and out[0][
        "confidence"
    ] == pytest.approx(0.9)
    assert (
        out[0]["metadata"]["extractor"] == "json_code_block"
        and out[0]["metadata"]["strategy"] == "auto"
    )
    assert out[5]["confidence"] == 0.0 and out[5]["metadata"]["extraction_method"] == "none"


def test_result_extractor_all_strategy_priority_and_custom_extractor(rt: Runtime) -> None:
    def prefixed(data: Any, config: Any) -> Any:
        if isinstance(data, str) and data.startswith("CUSTOM:"):
            return data[7:], "custom", {"method": "prefix"}
        return None

    extractor = ResultExtractor(strategy="all", extractors={"prefix": prefixed})
    flow = two_way(extractor, "extract_all", outs=("output",))
    [out] = run_items(rt, flow, [{"data": 'CUSTOM:{"a": 1}'}]).data["output"]
    assert out["format"] == "multi" and out["extracted_result"] == ['{"a": 1}']
    first = ResultExtractor(extractor_priority=["code_block", "json_code_block"])
    assert first.extract("```output\nok\n```\n```json\n{}\n```")["format"] == "output"


def test_result_extractor_failure_without_original_fails_the_job(rt: Runtime) -> None:
    flow = two_way(
        ResultExtractor(return_original_on_failure=False), "extract_fail", outs=("output",)
    )
    flow.routines["source"].set_config(items=[{"data": "nothing structured"}])
    job = rt.submit(flow, "source", None, {}).wait(10)
    assert job.status == "failed" and "no extractor applied" in str(job.error)
    with pytest.raises(ExtractionError):
        ResultExtractor(return_original_on_failure=False).extract(3)


def test_result_extractor_bad_strategy_is_a_dsl_error() -> None:
    text = "flow_id: x\nroutines:\n  e: {class: result_extractor, config: {strategy: best}}\n"
    with pytest.raises(DSLError, match="unknown strategy 'best'; allowed: auto, priority"):
        load_yaml(text)


def test_result_extractor_round_trips_through_the_dsl() -> None:
    flow = load_yaml(EXTRACT_YAML)
    assert flow.to_dict()["routines"]["extract"] == {
        "class": "result_extractor",
        "config": {"extract_yaml_blocks": True},
    }
