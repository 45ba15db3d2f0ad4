"""What a monitor socket follows: ids and event types, changed by ``subscribe`` and
``unsubscribe`` commands and pushed down to the bus subscription as a filter."""

from __future__ import annotations

from typing import Any, Literal

from routilux_nb.monitor.trace import EVENT_TYPES

from .ws_protocol import NOT_FOUND_CODES, Connection, lookup

__all__ = ["KINDS", "Subscriptions"]

#: the kinds of ids a client may follow
KINDS = ("job_id", "worker_id", "flow_id")


class Subscriptions(Connection):
    """The ids (``interest``) and event types (``types``) a socket follows, and the commands
    that change them."""

    #: ids this client follows ({kind: {ids}}); ``None`` follows everything
    interest: dict[str, set[str]] | None = None
    #: event types this client follows; ``None`` follows every type
    types: set[str] | None = None

    # -- filters ----------------------------------------------------------------------------
    def wants(self, msg: dict[str, Any]) -> bool:
        if self.types is not None and msg.get("type") not in self.types:
            return False
        if self.interest is None:
            return True
        return any(msg.get(kind) in ids for kind, ids in self.interest.items())

    def _apply_filter(self) -> None:
        """Let the bus pre-filter when a single id is followed (cheap for busy runtimes)."""
        fields: dict[str, Any] = dict.fromkeys(KINDS)
        items = [(k, i) for k, ids in (self.interest or {}).items() for i in ids]
        if self.interest is not None and len(items) == 1:
            fields[items[0][0]] = items[0][1]
        elif self.interest is not None and not items:
            fields["job_id"] = ""  # follows nothing: no event has an empty job id
        fields["event_types"] = self.types
        self.sub.update_filter(**fields)

    def subscriptions(self) -> dict[str, Any]:
        follows: Any = (
            "all"
            if self.interest is None
            else {k: sorted(v) for k, v in self.interest.items() if v}
        )
        return {
            "follows": follows,
            "event_types": sorted(self.types) if self.types is not None else None,
        }

    async def _ids(self, data: dict[str, Any]) -> dict[str, list[str]] | None:
        """The ids named in a command, checked to exist (error message and ``None`` if not)."""
        out: dict[str, list[str]] = {}
        for kind in KINDS:
            value = data.get(kind)
            if value is None:
                continue
            ids = [value] if isinstance(value, str) else value
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                await self.error("INVALID_MESSAGE", f"{kind} must be a string or a list of strings")
                return None
            for ident in ids:
                if lookup(self.runtime, kind, ident) is None:
                    await self.error(
                        NOT_FOUND_CODES[kind], f"no {kind[:-3]} {ident!r}", **{kind: ident}
                    )
                    return None
            out[kind] = ids
        return out

    async def _types(self, data: dict[str, Any]) -> list[str] | None | Literal[False]:
        types = data.get("event_types")
        if types is None:
            return None
        if isinstance(types, str):
            types = [types]
        bad = [t for t in types if t not in EVENT_TYPES] if isinstance(types, list) else [types]
        if bad:
            await self.error(
                "INVALID_EVENT_TYPE", f"unknown event types {bad!r}", valid=list(EVENT_TYPES)
            )
            return False
        return types

    async def subscribe(self, data: dict[str, Any]) -> None:
        ids, types = await self._ids(data), await self._types(data)
        if ids is None or types is False:
            return
        if ids:
            self.interest = self.interest if self.interest is not None else {}
            for kind, values in ids.items():
                self.interest.setdefault(kind, set()).update(values)
        elif types is None:
            self.interest = None  # an empty subscribe follows everything
        if types:
            self.types = set(types)
        self._apply_filter()
        await self.send("subscribed", self.subscriptions())

    async def unsubscribe(self, data: dict[str, Any]) -> None:
        ids, types = await self._ids(data), await self._types(data)
        if ids is None or types is False:
            return
        if ids:
            if self.interest is None:
                await self.error(
                    "NOT_SUBSCRIBED",
                    "this connection follows every event: "
                    "subscribe to ids first, or unsubscribe with empty data to stop all",
                )
                return
            for kind, values in ids.items():
                self.interest.get(kind, set()).difference_update(values)
        elif types:
            self.types = (self.types if self.types is not None else set(EVENT_TYPES)) - set(types)
        else:
            self.interest = {}  # an empty unsubscribe stops every event
        self._apply_filter()
        await self.send("unsubscribed", self.subscriptions())
