"""Re-execute the committed notebooks in place, the way they are meant to be committed.

    PYTHONPATH=. python tests/notebooks/refresh.py [notebooks/NAME.ipynb ...]

Each notebook runs top to bottom in a fresh kernel (its folder as working directory). Widget
state is not stored in the notebook's metadata: with it, ``nbconvert`` and nbviewer would try
to draw the live widgets from a CDN instead of showing each output's static picture
(``image/png`` and ``text/html``, which every widget output carries).
"""

from __future__ import annotations

import pathlib
import sys

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[2]


def refresh(path: pathlib.Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
    print(f"executed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    targets = [pathlib.Path(p).resolve() for p in sys.argv[1:]]
    for target in targets or sorted((ROOT / "notebooks").glob("*.ipynb")):
        refresh(target)
