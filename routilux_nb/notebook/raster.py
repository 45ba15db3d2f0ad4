"""PNG pictures of the views, drawn without a browser (Pillow).

JupyterLab strips inline SVG from the HTML of an untrusted notebook, but it shows an
``image/png`` (and an ``<img>`` with a ``data:`` PNG): these rasters are the static
pictures a committed notebook shows before anything runs, in ``nbconvert`` output and
wherever the live widget cannot be drawn. :func:`flow_png` draws the same layered layout
as :func:`~.svg.flow_svg` (from :func:`~.layout.layered_layout`); :func:`rows_png` draws
a titled list of coloured text rows with optional bars (jobs, queues, trace, debugger).

Pillow comes with the ``notebook`` extra; without it both functions return ``None`` and
the views fall back to HTML only. This module must not import anywidget or ipywidgets.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

from .palette import status_color

__all__ = [
    "MAX_PIXELS",
    "MIN_SCALE",
    "Row",
    "data_uri",
    "flow_png",
    "legible",
    "rows_png",
    "stack_png",
]

#: pictures are scaled down so that neither side exceeds this many pixels
MAX_PIXELS = 2400
#: below this scale labels are unreadable: :func:`flow_png` draws no graph (see :func:`legible`)
MIN_SCALE = 0.6
_SCALE = 1.5  # output pixels per layout unit (sharp on ordinary and high-density screens)
_SUPER = 2  # drawn at _SUPER times the output size, then reduced: smooth curves
_TEXT = "#37474f"
_MUTED = "#78909c"
_EDGE = "#90a4ae"
_BREAK = "#e53935"

#: one row of :func:`rows_png`: text, colour, and an optional bar fraction (0..1)
Row = tuple[str, str, float | None]


def _pil() -> Any:
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:  # the notebook extra is not installed
        return None
    return Image, ImageDraw, ImageFont


def _font(size: float) -> Any:
    _, _, image_font = _pil()
    try:
        return image_font.load_default(size=max(6, round(size)))
    except TypeError:  # Pillow < 10.1 has one bitmap font size
        return image_font.load_default()


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _encode(image: Any, size: tuple[int, int]) -> bytes:
    pil = _pil()
    image = image.resize(size, pil[0].Resampling.LANCZOS)
    out = io.BytesIO()
    image.convert("P", palette=pil[0].Palette.ADAPTIVE, colors=128).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


def _scale(layout: Mapping[str, Any]) -> float:
    width, height = float(layout.get("width") or 60), float(layout.get("height") or 60)
    return min(_SCALE, MAX_PIXELS / max(width, height))


def legible(layout: Mapping[str, Any]) -> bool:
    """Whether the layout fits in :data:`MAX_PIXELS` at a scale where labels can be read."""
    return _scale(layout) >= MIN_SCALE


def _bezier(points: Sequence[Sequence[float]], steps: int = 16) -> list[tuple[float, float]]:
    """Sample the cubic segments ``start, (c1, c2, end)*`` of a layout edge."""
    out = [(float(points[0][0]), float(points[0][1]))]
    for i in range(1, len(points) - 2, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = (out[-1], *points[i : i + 3])
        for k in range(1, steps + 1):
            t = k / steps
            u = 1 - t
            out.append(
                (
                    u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
                    u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3,
                )
            )
    return out


def _clip(draw: Any, text: str, font: Any, width: float) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _status(status: Mapping[str, Any], rid: str) -> str | None:
    value = status.get(rid)
    if isinstance(value, Mapping):
        value = value.get("status")
    return None if value is None else str(value)


def flow_png(
    layout: Mapping[str, Any],
    status: Mapping[str, Any] | None = None,
    edge_counts: Mapping[str, int] | None = None,
    breakpoints: Sequence[str] = (),
) -> bytes | None:
    """A PNG of a :func:`~.layout.layered_layout`, boxes outlined in their status colour.

    ``edge_counts`` (connection id -> messages) labels the edges; routines in
    ``breakpoints`` get a red dot. ``None`` without Pillow, or when the flow is too large
    to be read at :data:`MAX_PIXELS` (:func:`legible`).
    """
    pil = _pil()
    if pil is None or not legible(layout):
        return None
    image_mod, draw_mod, _ = pil
    status = status or {}
    counts = edge_counts or {}
    width, height = float(layout.get("width") or 60), float(layout.get("height") or 60)
    scale = _scale(layout)
    k = scale * _SUPER
    image = image_mod.new("RGB", (max(1, round(width * k)), max(1, round(height * k))), "white")
    draw = draw_mod.Draw(image)

    def xy(x: float, y: float) -> tuple[float, float]:
        return (x * k, y * k)

    small, label, bold = _font(10 * k), _font(10 * k), _font(12 * k)
    for edge in layout.get("edges") or []:
        points = edge["points"]
        line = [xy(x, y) for x, y in _bezier(points)]
        draw.line(line, fill=_EDGE, width=max(1, round(1.5 * k)), joint="curve")
        tx, ty = points[-1]
        draw.polygon([xy(tx, ty), xy(tx - 8, ty - 4), xy(tx - 8, ty + 4)], fill=_EDGE)
        count = counts.get(str(edge.get("id")))
        if count:
            mx, my = line[len(line) // 2]
            text = f"x{count}"
            tw = draw.textlength(text, font=small)
            draw.rectangle(
                (mx - tw / 2 - 2 * k, my - 7 * k, mx + tw / 2 + 2 * k, my + 6 * k), fill="white"
            )
            draw.text((mx, my), text, fill=_TEXT, font=small, anchor="mm")
    for rid, node in (layout.get("nodes") or {}).items():
        x, y, w, h = node["x"], node["y"], node["w"], node["h"]
        state = _status(status, rid)
        stroke = status_color(state) if state else _MUTED
        draw.rounded_rectangle(
            (*xy(x, y), *xy(x + w, y + h)),
            radius=6 * k,
            fill="white",
            outline=stroke,
            width=max(1, round((2.5 if state else 1) * k)),
        )
        room = (w - 20 - (60 if state else 0)) * k
        draw.text(
            xy(x + 10, y + 16),
            _clip(draw, str(rid), bold, room),
            fill=_TEXT,
            font=bold,
            anchor="ls",
        )
        class_name = _clip(draw, str(node.get("class_name") or ""), label, (w - 20) * k)
        draw.text(xy(x + 10, y + 31), class_name, fill=_MUTED, font=label, anchor="ls")
        if state:
            draw.text(xy(x + w - 8, y + 16), state, fill=stroke, font=small, anchor="rs")
        if rid in breakpoints:
            cx, cy = xy(x, y)
            r = 5 * k
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_BREAK, outline="white")
        for i, slot in enumerate(node.get("slots") or []):
            py = y + 40 + 18 * i + 9
            cx, cy = xy(x, py)
            draw.ellipse((cx - 4 * k, cy - 4 * k, cx + 4 * k, cy + 4 * k), fill=_EDGE)
            text = _clip(draw, str(slot), label, (w / 2 - 10) * k)
            draw.text(xy(x + 8, py + 3.5), text, fill=_TEXT, font=label, anchor="ls")
        for i, event in enumerate(node.get("events") or []):
            py = y + 40 + 18 * i + 9
            cx, cy = xy(x + w, py)
            draw.ellipse((cx - 4 * k, cy - 4 * k, cx + 4 * k, cy + 4 * k), fill=_EDGE)
            text = _clip(draw, str(event), label, (w / 2 - 10) * k)
            draw.text(xy(x + w - 8, py + 3.5), text, fill=_TEXT, font=label, anchor="rs")
    return _encode(image, (max(1, round(width * scale)), max(1, round(height * scale))))


def rows_png(title: str, rows: Sequence[Row], empty: str = "nothing to show") -> bytes | None:
    """A PNG of a titled list: each row is ``(text, colour, bar fraction or None)``."""
    pil = _pil()
    if pil is None:
        return None
    image_mod, draw_mod, _ = pil
    k = _SCALE * _SUPER
    line_h, pad, bar_w = 20, 10, 120
    shown = list(rows) or [(empty, _MUTED, None)]
    probe = draw_mod.Draw(image_mod.new("RGB", (1, 1)))
    font, bold = _font(12 * k), _font(13 * k)
    text_w = (
        max(
            [probe.textlength(title, font=bold)]
            + [probe.textlength(text, font=font) for text, _, _ in shown]
        )
        / k
    )
    has_bars = any(bar is not None for _, _, bar in shown)
    width = min(2 * pad + text_w + (bar_w + pad if has_bars else 0), MAX_PIXELS / _SCALE)
    height = 2 * pad + line_h * (len(shown) + 1)
    image = image_mod.new("RGB", (round(width * k), round(height * k)), "white")
    draw = draw_mod.Draw(image)
    draw.text((pad * k, (pad + 14) * k), title, fill=_TEXT, font=bold, anchor="ls")
    for i, (text, colour, bar) in enumerate(shown):
        y = pad + line_h * (i + 1)
        x = pad
        if bar is not None:
            draw.rectangle((x * k, (y + 5) * k, (x + bar_w) * k, (y + 15) * k), outline=_EDGE)
            filled = max(0.0, min(1.0, float(bar)))
            if filled:
                draw.rectangle(
                    (x * k, (y + 5) * k, (x + bar_w * filled) * k, (y + 15) * k), fill=colour
                )
            x += bar_w + pad
            colour = _TEXT
        draw.text((x * k, (y + 14) * k), text, fill=colour, font=font, anchor="ls")
    return _encode(image, (round(width * _SCALE), round(height * _SCALE)))


def stack_png(parts: Sequence[bytes | None]) -> bytes | None:
    """The PNGs of ``parts`` one above the other, left-aligned (``None`` parts skipped)."""
    pil = _pil()
    images = [pil[0].open(io.BytesIO(p)).convert("RGB") for p in parts if p] if pil else []
    if not images:
        return None
    width = min(max(i.width for i in images), MAX_PIXELS)
    height = sum(i.height for i in images)
    sheet = pil[0].new("RGB", (width, height), "white")
    y = 0
    for image in images:
        sheet.paste(image, (0, y))
        y += image.height
    out = io.BytesIO()
    sheet.convert("P", palette=pil[0].Palette.ADAPTIVE, colors=128).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()
