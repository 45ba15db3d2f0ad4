"""Routines, written as classes and as decorated functions, run in real flows."""

from __future__ import annotations

import pytest

from routilux_nb.core import (
    ActivationContext,
    Flow,
    FunctionRoutine,
    Routine,
    UnknownEventError,
    UnknownSlotError,
    current_activation,
    policies,
)
from routilux_nb.core.routine import snake_case
from routilux_nb.core.slot import Slot


class Scale(Routine):
    """Class-based: slots/events declared on the class, config, setup(), self.emit."""

    slots = ["input"]
    events = ["output"]
    default_config = {"factor": 2, "offset": 0}

    def setup(self) -> None:
        self.setup_calls = getattr(self, "setup_calls", 0) + 1
        if self.config.get("with_extra"):
            self.define_slot("extra")
            self.define_event("side", params=["note"])

    def logic(self, input, extra=None):
        for item in input:
            self.emit("output", value=item["value"] * self.config["factor"] + self.config["offset"])


class Keep(Routine):
    slots = ["input"]

    def logic(self, input, ctx):
        ctx.data.setdefault("kept", []).extend(i["value"] for i in input)


def _class_flow(**scale_config) -> Flow:
    flow = Flow("class_based")
    flow.add_routine(Scale(config=scale_config), "scale")
    flow.add_routine(Keep(), "keep")
    flow.connect("scale.output", "keep.input")
    return flow


# -- class-based routines ------------------------------------------------------------------


def test_class_routine_runs_with_config_and_self_emit(rt, finished):
    job = finished(rt.submit(_class_flow(factor=3, offset=1), "scale", "input", {"value": 5}))
    assert job.data["kept"] == [16]


def test_class_routine_default_config_and_keyword_config():
    r = Scale(offset=7)
    assert r.config == {"factor": 2, "offset": 7}
    r.set_config(factor=10)
    assert r.get_config("factor") == 10
    assert r.get_config("missing", "dflt") == "dflt"
    assert Scale.default_config == {"factor": 2, "offset": 0}  # class default untouched


def test_setup_runs_once_and_defines_slots_and_events_from_config():
    plain = Scale()
    extended = Scale(config={"with_extra": True})
    assert plain.setup_calls == extended.setup_calls == 1
    assert list(plain.slot_specs) == ["input"]
    assert list(extended.slot_specs) == ["input", "extra"]
    assert list(extended.event_specs) == ["output", "side"]
    assert extended.event("side").params == ("note",)


def test_class_routine_every_level_emits_with_context(rt, finished):
    """Downstream routines run with the same context as entry routines (emit works there)."""
    flow = Flow("three_levels")
    flow.add_routine(Scale(factor=2), "a")
    flow.add_routine(Scale(factor=3), "b")
    flow.add_routine(Scale(factor=5), "c")
    flow.add_routine(Keep(), "keep")
    flow.connect("a.output", "b.input")
    flow.connect("b.output", "c.input")
    flow.connect("c.output", "keep.input")
    job = finished(rt.submit(flow, data={"value": 1}))
    assert job.data["kept"] == [30]


def test_routine_without_logic_fails_the_job(rt):
    class NoLogic(Routine):
        slots = ["input"]

    flow = Flow("nologic")
    flow.add_routine(NoLogic(), "x")
    job = rt.submit(flow, data={}).wait(5)
    assert job.status == "failed"
    assert "NotImplementedError" in job.error and "must implement logic()" in job.error


def test_emit_outside_logic_raises_clear_runtime_error():
    r = Scale(routine_id="scale")
    with pytest.raises(RuntimeError, match=r"Scale.emit\('output'\) called outside its logic"):
        r.emit("output", value=1)


def test_emit_of_another_routine_from_logic_raises(rt):
    other = Scale(routine_id="other")
    flow = Flow("emit_other")

    @flow.routine(slots=["input"], events=[])
    def meddler(input):
        other.emit("output", value=1)

    job = rt.submit(flow, data={}).wait(5)
    assert job.status == "failed"
    assert "called outside its logic" in job.error


def test_unknown_event_in_emit_fails_job_naming_existing_events(rt):
    class Wrong(Routine):
        slots = ["input"]
        events = ["good", "better"]

        def logic(self, input):
            self.emit("nope", x=1)

    flow = Flow("bad_event")
    flow.add_routine(Wrong(), "wrong")
    job = rt.submit(flow, data={}).wait(5)
    assert job.status == "failed"
    assert "UnknownEventError" in job.error
    assert "'nope'" in job.error and "'better'" in job.error and "'good'" in job.error


def test_describe_and_info():
    r = Scale(
        routine_id="s",
        config={"factor": 4, "fn": len},
        policy=policies.batch_size(2),
        error_handler="retry",
    )
    d = r.describe()
    assert d == {
        "routine_id": "s",
        "class_name": "Scale",
        "slots": ["input"],
        "events": ["output"],
        "config": {"factor": 4, "offset": 0, "fn": "<callable len>"},
    }
    info = r.info()
    assert info["routine_type"] == "Scale"
    assert info["activation_policy"]["type"] == "batch_size"
    assert info["activation_policy"]["config"] == {"batch_size": 2}
    assert info["error_handler"]["strategy"] == "retry"
    assert "Scale(routine_id='s'" in repr(r)


def test_unknown_slot_and_event_lookups_name_existing():
    r = Scale(routine_id="s")
    with pytest.raises(UnknownSlotError, match=r"routine 's' has no slot 'zz'; its slots: 'input'"):
        r.slot("zz")
    with pytest.raises(UnknownEventError, match=r"its events: 'output'"):
        r.event("zz")
    with pytest.raises(KeyError):
        r.slot("zz")


def test_policy_and_error_handler_setters_accept_specs():
    r = Scale()
    r.set_activation_policy("all_slots_ready")
    assert r.activation_policy.describe()["type"] == "all_slots_ready"
    r.set_activation_policy({"type": "time_interval", "config": {"min_interval": 0.5}})
    assert r.activation_policy.config == {"min_interval": 0.5}
    r.set_error_handler({"strategy": "skip"})
    assert r.error_handler.strategy == "skip"
    r.set_error_handler(None)
    assert r.error_handler is None


def test_every_routine_runs_immediately_by_default():
    assert Scale().activation_policy is policies.immediate()
    assert (
        FunctionRoutine(lambda input: None, routine_id="f").activation_policy.describe()["type"]
        == "immediate"
    )


def test_snake_case():
    assert snake_case("DataSource") == "data_source"
    assert snake_case("HTTPFetcher") == "http_fetcher"
    assert snake_case("simple") == "simple"


# -- function routines ----------------------------------------------------------------------


def test_function_returning_dict_emits_once(rt, finished):
    flow = Flow("ret_dict")

    @flow.routine
    def double(input):
        return {"value": input[0]["value"] * 2}

    flow.add_routine(Keep(), "keep")
    flow.connect("double.output", "keep.input")
    job = finished(rt.submit(flow, data={"value": 21}))
    assert job.data["kept"] == [42]


def test_function_returning_list_emits_each_in_order(rt, finished):
    flow = Flow("ret_list")

    @flow.routine
    def explode(input):
        return [{"value": v} for v in range(input[0]["n"])]

    flow.add_routine(Keep(), "keep")
    flow.connect("explode.output", "keep.input")
    job = finished(rt.submit(flow, data={"n": 6}))
    assert job.data["kept"] == [0, 1, 2, 3, 4, 5]


def test_function_ctx_emit_and_ctx_data(rt, finished):
    flow = Flow("ctx_emit")

    @flow.routine(slots=["input"], events=["evens", "odds"])
    def split(input, ctx):
        assert isinstance(ctx, ActivationContext)
        assert current_activation() is ctx
        ctx.data["split_by"] = ctx.routine_id
        for v in range(input[0]["n"]):
            ctx.emit("evens" if v % 2 == 0 else "odds", value=v)

    @flow.routine(slots=["input"], events=[])
    def evens(input, ctx):
        ctx.data.setdefault("evens", []).extend(i["value"] for i in input)

    @flow.routine(slots=["input"], events=[])
    def odds(input, ctx):
        ctx.data.setdefault("odds", []).extend(i["value"] for i in input)

    flow.connect("split.evens", "evens.input")
    flow.connect("split.odds", "odds.input")
    job = finished(rt.submit(flow, "split", data={"n": 7}))
    assert job.data["split_by"] == "split"
    assert job.data["evens"] == [0, 2, 4, 6]
    assert job.data["odds"] == [1, 3, 5]


def test_positional_slot_mapping_follows_slot_order(rt, finished):
    flow = Flow("positional")

    @flow.routine(slots=["left", "right"], events=[], policy=policies.all_slots_ready())
    def join(a, b, ctx):  # parameter names differ from slot names: bound in slot order
        ctx.data["pair"] = (a[0]["side"], b[0]["side"])

    @flow.routine(slots=["input"], events=["l", "r"])
    def feed(input, ctx):
        ctx.emit("r", side="R")
        ctx.emit("l", side="L")

    flow.connect("feed.l", "join.left")
    flow.connect("feed.r", "join.right")
    job = finished(rt.submit(flow, "feed", data={}))
    assert job.data["pair"] == ("L", "R")


def test_keyword_slot_mapping_by_name(rt, finished):
    flow = Flow("by_name")

    @flow.routine(slots=["left", "right"], events=[], policy=policies.all_slots_ready())
    def join(right, left, ctx):  # names match the slots: bound by name, whatever the order
        ctx.data["pair"] = (left[0]["side"], right[0]["side"])

    @flow.routine(slots=["input"], events=["l", "r"])
    def feed(input, ctx):
        ctx.emit("l", side="L")
        ctx.emit("r", side="R")

    flow.connect("feed.l", "join.left")
    flow.connect("feed.r", "join.right")
    job = finished(rt.submit(flow, "feed", data={}))
    assert job.data["pair"] == ("L", "R")


def test_function_without_ctx_parameter_gets_no_ctx(rt, finished):
    flow = Flow("no_ctx")
    seen = []

    @flow.routine(slots=["input"], events=[])
    def plain(*args, **kwargs):
        seen.append((args, sorted(kwargs)))

    finished(rt.submit(flow, data={"x": 1}))
    assert seen == [((), ["input"])]


def test_logic_parameters_that_match_nothing_fail_the_job_clearly(rt):
    flow = Flow("mismatch")

    @flow.routine(slots=["input"], events=[])
    def needs_two(a, b):
        return None

    job = rt.submit(flow, data={}).wait(5)
    assert job.status == "failed"
    assert "do not match its slots" in job.error and "needs_two" in job.error


def test_redefining_a_decorated_function_replaces_the_routine(rt, finished):
    flow = Flow("redefine")

    @flow.routine(routine_id="step")
    def step(input):
        return {"value": "old"}

    flow.add_routine(Keep(), "keep")
    flow.connect("step.output", "keep.input")
    first = flow.routines["step"]

    @flow.routine(routine_id="step")
    def step(input):  # noqa: F811
        return {"value": "new"}

    assert flow.routines["step"] is not first
    assert set(flow.routines) == {"keep", "step"}
    assert len(flow.connections) == 1, "a connection that is still valid is kept"
    job = finished(rt.submit(flow, "step", data={}))
    assert job.data["kept"] == ["new"]


def test_redefinition_drops_connections_that_no_longer_fit():
    flow = Flow("redefine_drop")

    @flow.routine(slots=["input"], events=["output"])
    def a(input):
        return None

    @flow.routine(slots=["input"], events=[])
    def b(input):
        return None

    flow.connect("a.output", "b.input")

    @flow.routine(slots=["input"], events=["renamed"])
    def a(input):  # noqa: F811
        return None

    assert flow.connections == []
    assert flow.validate().valid


def test_returning_a_non_dict_fails_the_job_with_clear_message(rt):
    flow = Flow("ret_int")

    @flow.routine
    def bad(input):
        return 42

    job = rt.submit(flow, data={}).wait(5)
    assert job.status == "failed"
    assert "returned int" in job.error and "return a dict" in job.error


def test_returning_a_list_holding_a_non_dict_fails_the_job(rt):
    flow = Flow("ret_list_bad")

    @flow.routine
    def bad(input):
        return [{"ok": 1}, "nope"]

    job = rt.submit(flow, data={}).wait(5)
    assert job.status == "failed"
    assert "returned a list holding str" in job.error


def test_returning_a_value_with_several_events_fails_the_job(rt):
    flow = Flow("ret_multi")

    @flow.routine(slots=["input"], events=["a", "b"])
    def bad(input):
        return {"x": 1}

    job = rt.submit(flow, data={}).wait(5)
    assert job.status == "failed"
    assert "use ctx.emit(event" in job.error


def test_returning_none_emits_nothing_and_completes(rt, finished):
    flow = Flow("ret_none")

    @flow.routine
    def quiet(input):
        return None

    flow.add_routine(Keep(), "keep")
    flow.connect("quiet.output", "keep.input")
    job = finished(rt.submit(flow, "quiet", data={}))
    assert "kept" not in job.data


def test_ctx_exposes_job_routine_worker_config_and_log(rt, finished):
    flow = Flow("ctx_fields")

    @flow.routine(slots=["input"], events=[], config={"k": "v"})
    def look(input, ctx):
        ctx.data["ids"] = (ctx.job_id, ctx.routine_id, ctx.worker_id, ctx.config["k"], ctx.attempt)
        ctx.log("hello", extra=1)

    job = finished(rt.submit(flow, data={}))
    assert job.data["ids"] == (job.job_id, "look", job.worker_id, "v", 0)
    entries = [e for e in job.logs if e["action"] == "log"]
    assert entries and entries[0]["routine_id"] == "look"
    assert entries[0]["details"] == {"message": "hello", "extra": 1}


def test_current_activation_is_none_outside_logic():
    assert current_activation() is None


def test_function_routine_validation():
    with pytest.raises(TypeError, match="needs a callable"):
        FunctionRoutine(42)
    with pytest.raises(ValueError, match="needs at least one slot"):
        FunctionRoutine(lambda: None, slots=[], routine_id="empty")
    r = FunctionRoutine(
        lambda input: None, slots=[Slot("input", max_length=3)], events=["out"], routine_id="lam"
    )
    assert r.slot("input").max_length == 3
    assert r.class_name == "<lambda>"


def test_function_routine_standalone_in_a_flow(rt, finished):
    def triple(input):
        return [{"value": i["value"] * 3} for i in input]

    flow = Flow("standalone")
    flow.add_routine(FunctionRoutine(triple), "triple")
    flow.add_routine(Keep(), "keep")
    flow.connect("triple.output", "keep.input")
    job = finished(rt.submit(flow, "triple", data={"value": 3}))
    assert job.data["kept"] == [9]
