"""Inline-styled HTML fragments for ``_repr_html_``.

Only inline ``style`` attributes are used: GitHub and nbviewer strip ``<style>``
blocks and classes carry no meaning after a kernel restart. Every value passed
in is HTML-escaped; callers never need to escape anything themselves. Functions
that take ``*_html`` arguments trust them as already-safe HTML.

This module must not import anywidget or ipywidgets.
"""

from __future__ import annotations

import base64
import html as _html
from collections.abc import Mapping, Sequence
from typing import Any

from .palette import status_color

__all__ = ["badge", "card", "escape", "kv", "svg_img", "table"]

_FONT = "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:12px"
_CELL = "padding:2px 8px;border-bottom:1px solid #8884;text-align:left;vertical-align:top"
_MAX_CELL_CHARS = 200


def escape(value: object) -> str:
    """HTML-escape ``str(value)`` (``None`` becomes an empty string), quotes included."""
    return "" if value is None else _html.escape(str(value), quote=True)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if len(text) > _MAX_CELL_CHARS:
        text = text[: _MAX_CELL_CHARS - 1] + "…"
    return escape(text)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], max_rows: int = 50) -> str:
    """An HTML table of ``rows`` showing ``columns``; extra rows are summarised.

    >>> table([{"a": "<b>"}], ["a"]).count("&lt;b&gt;")
    1
    """
    head = "".join(f'<th style="{_CELL};font-weight:600">{escape(c)}</th>' for c in columns)
    body = []
    for row in list(rows)[: max(max_rows, 0)]:
        cells = "".join(f'<td style="{_CELL}">{_cell(row.get(c))}</td>' for c in columns)
        body.append(f"<tr>{cells}</tr>")
    hidden = len(rows) - max(max_rows, 0)
    if hidden > 0:
        body.append(
            f'<tr><td colspan="{max(len(columns), 1)}" style="{_CELL};opacity:0.7">'
            f"… {hidden} more</td></tr>"
        )
    return (
        f'<table style="border-collapse:collapse;{_FONT}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def badge(status: object) -> str:
    """A coloured pill naming ``status`` (colours from :mod:`.palette`)."""
    color = status_color(status)
    return (
        f'<span style="display:inline-block;padding:0 8px;border-radius:9px;'
        f"background:{color};color:#fff;{_FONT};font-size:11px;line-height:18px;"
        f'font-weight:600">{escape(status)}</span>'
    )


def kv(mapping: Mapping[str, Any]) -> str:
    """A two-column key/value table."""
    rows = "".join(
        f'<tr><th style="{_CELL};font-weight:600;opacity:0.8">{escape(k)}</th>'
        f'<td style="{_CELL}">{_cell(v)}</td></tr>'
        for k, v in mapping.items()
    )
    return f'<table style="border-collapse:collapse;{_FONT}"><tbody>{rows}</tbody></table>'


def card(title: object, body_html: str) -> str:
    """A bordered box with an escaped ``title`` above trusted ``body_html``."""
    return (
        f'<div style="border:1px solid #8886;border-radius:6px;padding:8px 10px;'
        f'margin:4px 0;{_FONT}">'
        f'<div style="font-weight:600;font-size:13px;margin-bottom:6px">{escape(title)}</div>'
        f"{body_html}</div>"
    )


def svg_img(svg: str, alt: object = "") -> str:
    """``svg`` as an ``<img>`` with a ``data:`` URI, not inline.

    JupyterLab's sanitizer strips inline ``<svg>`` from the HTML of an untrusted notebook (a
    committed notebook opened before it is run), leaving its labels as run-on text; an
    ``<img>`` with a ``data:`` URI is kept and drawn, and an image runs no script.
    """
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="{uri}" alt="{escape(alt)}" style="max-width:100%;height:auto"/>'
