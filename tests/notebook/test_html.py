from __future__ import annotations

import xml.etree.ElementTree as ET

from routilux_nb.notebook.html import badge, card, kv, table
from routilux_nb.notebook.palette import STATUS_COLORS


def test_table_escapes_and_truncates():
    rows = [{"id": i, "name": "<b>x</b>" if i == 0 else f"n{i}"} for i in range(1000)]
    out = table(rows, ["id", "name"], max_rows=50)
    assert "<b>x</b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    assert "… 950 more" in out
    root = ET.fromstring(out)
    assert len(root.findall("./tbody/tr")) == 51
    assert [th.text for th in root.iter("th")] == ["id", "name"]


def test_table_without_overflow_has_no_summary():
    out = table([{"a": 1}], ["a", "missing"])
    assert "more" not in out
    assert ET.fromstring(out).findall("./tbody/tr/td")[1].text is None


def test_badge_colours():
    for status in (
        "pending",
        "running",
        "paused",
        "completed",
        "failed",
        "cancelled",
        "idle",
        "error",
    ):
        assert STATUS_COLORS[status] in badge(status)
    assert STATUS_COLORS["running"] != STATUS_COLORS["paused"] != STATUS_COLORS["completed"]
    assert "&lt;x&gt;" in badge("<x>")


def test_kv_and_card_escape():
    out = card("<title>", kv({"<k>": "<v>", "n": None}))
    assert "<title>" not in out and "<k>" not in out and "<v>" not in out
    root = ET.fromstring(out)
    assert "&" not in "".join(root.itertext()).replace("<", "")
    assert "<title>" in "".join(root.itertext())
