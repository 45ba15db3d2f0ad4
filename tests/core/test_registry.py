"""The routine registry: names to routine factories, as the DSL and the API use them."""

from __future__ import annotations

import pytest

from routilux_nb.core import Flow, Registry, RegistryError, Routine, registry


class Echo(Routine):
    slots = ["input"]
    events = ["output"]

    def logic(self, input):
        return [dict(i, echoed=True) for i in input]


def test_register_and_lookup_by_exact_snake_and_dotted_names():
    reg = Registry()

    @reg.register("my_echo")
    class DataEcho(Echo):
        pass

    for name in (
        "my_echo",
        "DataEcho",
        "data_echo",
        "some.module.DataEcho",
        "pkg:DataEcho",
        "MyEcho",
    ):
        assert reg.get(name) is DataEcho, name
    assert "data_echo" in reg and "nothing" not in reg and 42 not in reg
    assert reg.name_of(DataEcho) == "my_echo"
    assert reg.names() == sorted(reg.names())
    assert {"my_echo", "DataEcho", "data_echo"} <= set(reg.names())
    assert "1 routine classes" in repr(reg)


def test_unknown_name_is_a_registry_error_naming_what_is_registered():
    reg = Registry()
    reg.add(Echo)
    with pytest.raises(
        RegistryError, match=r"no routine class registered as 'Nope'; registered: 'Echo', 'echo'"
    ):
        reg.get("Nope")
    with pytest.raises(KeyError):
        reg.create("Nope")


def test_create_passes_routine_id_and_config():
    reg = Registry()
    reg.add(Echo)
    r = reg.create("echo", routine_id="e1", config={"k": 1})
    assert isinstance(r, Echo) and r.routine_id == "e1" and r.config == {"k": 1}


def test_add_without_replace_keeps_the_first():
    reg = Registry()

    class A(Echo):
        pass

    class B(Echo):
        pass

    reg.add(A, "thing")
    reg.add(B, "thing", replace=False)
    assert reg.get("thing") is A and reg.get("B") is B
    reg.add(B, "thing")
    assert reg.get("thing") is B


def test_a_factory_needs_a_name():
    reg = Registry()

    class Nameless:
        def __call__(self, **kw):
            return Echo(**kw)

    with pytest.raises(ValueError, match="needs a name"):
        reg.add(Nameless())


def test_global_registry_has_the_builtins():
    names = registry.names()
    for builtin in ("data_source", "mapper", "collector", "filter"):
        assert builtin in names, builtin


def test_registered_class_runs_in_a_real_flow(rt, finished):
    registry.add(Echo, "test_core_echo")
    flow = Flow("registered")
    flow.add_routine(registry.create("test_core_echo"), "echo")

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data["out"] = input

    flow.connect("echo.output", "keep.input")
    job = finished(rt.submit(flow, "echo", data={"x": 1}))
    assert job.data["out"] == [{"x": 1, "echoed": True}]


def test_decorated_functions_become_creatable_by_name(rt, finished):
    flow = Flow("fn_registered")

    @flow.routine(slots=["input"], events=[])
    def test_core_registered_fn(input, ctx):
        ctx.data["seen"] = [i["v"] for i in input]

    made = registry.create("test_core_registered_fn", routine_id="again")
    assert made.routine_id == "again" and list(made.slot_specs) == ["input"]
    other = Flow("fn_registered_2")
    other.add_routine(made)
    job = finished(rt.submit(other, data={"v": 3}))
    assert job.data["seen"] == [3]


def test_decorated_function_does_not_shadow_a_registered_class():
    registry.add(Echo, "test_core_taken")
    flow = Flow("shadow")

    @flow.routine(slots=["input"], events=[])
    def test_core_taken(input):
        return None

    assert registry.get("test_core_taken") is Echo
