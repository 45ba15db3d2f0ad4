"""Sinks: where a job's results end up (its shared ``data``)."""

from __future__ import annotations

from routilux_nb.core.context import ActivationContext
from routilux_nb.core.registry import registry

from ._config import ConfiguredRoutine, Payload

__all__ = ["Collector"]


@registry.register("collector", "sink", "Sink", "data_sink", "DataSink")
class Collector(ConfiguredRoutine):
    """Append every received payload to the job's data, under ``key``.

    Config:
        ``key`` (str, default ``"collected"``): the list in ``job.data`` receiving payloads.

    Results live in the job, never on the routine (one routine serves every job):

    >>> Collector(key="out").key
    'out'

    After ``job = runtime.submit(...)``, ``job.wait().data["out"]`` is the list of payloads.
    """

    config_keys = frozenset({"key"})

    slots = ["input"]
    events = ()

    key: str

    def setup(self) -> None:
        key = self.config.get("key", "collected")
        if not isinstance(key, str) or not key:
            raise ValueError(f"Collector: config 'key' must be a non-empty string, got {key!r}")
        self.key = key

    def logic(self, input: list[Payload], ctx: ActivationContext) -> None:
        ctx.data.setdefault(self.key, []).extend(dict(p) for p in input)
