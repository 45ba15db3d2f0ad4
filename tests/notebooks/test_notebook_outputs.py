"""The committed notebooks show pictures wherever they are opened.

- every widget output carries a static picture: an ``image/png`` and a ``text/html`` (tables,
  and the graph as an embedded PNG: an untrusted notebook strips inline SVG but keeps
  ``data:`` images);
- no widget state is stored in the notebooks' metadata, so ``nbconvert`` and nbviewer render
  each widget output's static picture instead of widget scripts that need a CDN;
- ``jupyter nbconvert --to html`` of every notebook, offline, shows those pictures (and the
  flows' drawings, SVG in ``<img>``) with every image embedded;
- 03's committed debugger output shows the job paused at its breakpoint.
"""

from __future__ import annotations

import base64
import io
import json
import pathlib
import re
from html.parser import HTMLParser
from typing import Any

import nbformat
import pytest
from nbconvert import HTMLExporter
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


def widget_outputs(notebook: Any) -> list[tuple[int, dict[str, Any]]]:
    return [
        (index, output["data"])
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if WIDGET in output.get("data", {})
    ]


def png_size(data: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        assert image.format == "PNG"
        return image.size


class Pictures(HTMLParser):
    """Collects ``<img>`` sources and counts inline ``<svg>`` elements and widget scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.svgs = 0
        self.widget_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        elif tag == "svg":
            self.svgs += 1
        elif tag == "script" and (values.get("type") or "").startswith("application/vnd.jupyter"):
            self.widget_scripts += 1


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request: pytest.FixtureRequest) -> tuple[pathlib.Path, Any]:
    return request.param, nbformat.read(request.param, as_version=4)


def test_notebooks_with_live_views_exist():
    with_widgets = [p.name for p in NOTEBOOKS if widget_outputs(nbformat.read(p, as_version=4))]
    assert {"01_quickstart.ipynb", "03_debugging.ipynb"} <= set(with_widgets)


def test_every_widget_output_has_a_static_picture(notebook):
    path, nb = notebook
    for index, data in widget_outputs(nb):
        where = f"{path.name} cell {index}"
        assert "image/png" in data, where
        width, height = png_size(data["image/png"])
        assert width >= 100 and height >= 40, where
        html = data["text/html"]
        assert html.startswith("<div") and "<svg" not in html and "<script" not in html, where
        if data["text/plain"].startswith(("FlowGraph(", "Dashboard(")):
            embedded = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
            assert embedded, f"{where}: the HTML fallback embeds no picture of the graph"
            assert all(png_size(image)[0] >= 100 for image in embedded), where


def test_no_widget_state_in_the_metadata(notebook):
    path, nb = notebook
    assert "widgets" not in nb.metadata, (
        f"{path.name} stores widget state: nbconvert would draw widgets from a CDN instead of "
        "the static pictures; re-run tests/notebooks/refresh.py"
    )


def test_nbconvert_html_shows_the_pictures_offline(notebook):
    path, nb = notebook
    html, _ = HTMLExporter().from_notebook_node(
        nb, resources={"metadata": {"path": str(path.parent)}}
    )
    found = Pictures()
    found.feed(html)
    assert found.widget_scripts == 0
    embedded = [src for src in found.images if src.startswith("data:image/png;base64,")]
    assert all(src.startswith("data:") for src in found.images), "an image needs the network"
    widgets = widget_outputs(nb)
    # each widget output shows its picture (not an empty output)
    assert len(embedded) >= sum(data["text/html"].count("<img ") for _, data in widgets)
    page = html.replace("\n", "")
    for index, data in widgets:
        for image in re.findall(r'src="data:image/png;base64,([^"]+)"', data["text/html"]):
            assert image in page, f"cell {index}: its picture is missing"
        titles = re.findall(r'margin-bottom:6px">([^<]+)</div>', data["text/html"])
        assert titles and all(title in page for title in titles), f"cell {index}: {titles}"
    drawings = sum(
        output.get("data", {}).get("text/html", "").count('src="data:image/svg+xml;base64,')
        for cell in nb.cells
        for output in cell.get("outputs", [])
    )
    assert sum(src.startswith("data:image/svg+xml;base64,") for src in found.images) >= drawings
    assert found.svgs == 0  # inline SVG would be stripped from an untrusted notebook


def test_the_debugger_of_03_is_committed_paused():
    nb = nbformat.read(ROOT / "notebooks" / "03_debugging.ipynb", as_version=4)
    [(_, data)] = widget_outputs(nb)
    assert "status='paused'" in data["text/plain"]
    assert "paused" in data["text/html"] and "add_tax" in data["text/html"]


def test_the_package_ships_the_save_widget_state_default():
    """Installed with the package: JupyterLab saves widget state, so a reload draws the views."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shared = project["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    source = "routilux_nb/notebook/lab-overrides.json"
    assert shared[source] == "share/jupyter/lab/settings/overrides.d/routilux_nb.json"
    settings = json.loads((ROOT / source).read_text())
    assert settings == {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True}}
