"""HTML reprs for engine and monitor objects, without importing the notebook layer.

Classes that render in a notebook inherit :class:`HtmlRepr`. The renderer itself lives in
``routilux_nb.notebook.reprs`` and is installed once, by the top-level package, through
:func:`set_html_renderer`; until then (or when only ``routilux_nb.core`` is imported)
``_repr_html_`` returns ``None`` and the frontend falls back to ``text/plain``.
Objects with a live view (a map run's progress bar) ask :func:`bundle_for`, whose renderer
the top-level package installs the same way with :func:`set_bundle_renderer`.

>>> class Thing(HtmlRepr):
...     pass
>>> set_html_renderer(lambda obj: "<b>thing</b>")
>>> Thing()._repr_html_()
'<b>thing</b>'
>>> set_html_renderer(None)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["HtmlRepr", "bundle_for", "set_bundle_renderer", "set_html_renderer"]

_renderer: Callable[[object], str] | None = None
_bundle_renderer: Callable[[object], Any] | None = None


def set_html_renderer(renderer: Callable[[object], str] | None) -> None:
    """Install (or, with ``None``, remove) the function that turns an object into HTML."""
    global _renderer
    _renderer = renderer


def set_bundle_renderer(renderer: Callable[[object], Any] | None) -> None:
    """Install (or remove) the function that gives an object's live view as a mimebundle."""
    global _bundle_renderer
    _bundle_renderer = renderer


def bundle_for(obj: object) -> Any:
    """``obj``'s live-view mimebundle, or ``None`` (no renderer, or no live view available)."""
    renderer = _bundle_renderer
    return None if renderer is None else renderer(obj)


class HtmlRepr:
    """Mixin: ``_repr_html_`` through the installed renderer, ``None`` without one."""

    __slots__ = ()

    def _repr_html_(self) -> str | None:
        renderer = _renderer
        return None if renderer is None else renderer(self)
