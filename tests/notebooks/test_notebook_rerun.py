"""Every committed notebook survives what users do: each cell run twice, then Run All again.

Data scientists press Shift-Enter twice and re-run whole notebooks in one kernel. Each
notebook is executed in a real kernel (nbclient) with every code cell run twice in a row,
then every cell once more (a second Run All in the same kernel); any error fails the test
with the cell and its traceback.
"""

from __future__ import annotations

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def client_for(path: pathlib.Path) -> NotebookClient:
    notebook = nbformat.read(path, as_version=4)
    return NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        allow_errors=False,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6


@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_cell_twice_then_run_all_again(path):
    client = client_for(path)
    cells = [(i, c) for i, c in enumerate(client.nb.cells) if c.cell_type == "code"]
    with client.setup_kernel():
        for label, repeats in (("run twice", 2), ("second Run All", 1)):
            for index, cell in cells:
                for attempt in range(repeats):
                    try:
                        client.execute_cell(cell, index)
                    except CellExecutionError as exc:
                        pytest.fail(
                            f"{path.name} cell {index} failed ({label}, run {attempt + 1}):\n"
                            f"{cell.source}\n{exc}"
                        )


CHECK_BOARD = """
import time
expected = {job.job_id for job in rt.jobs()}
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    shown = board.job_progress.jobs
    if expected <= set(shown) and all(shown[j]["status"] == "completed" for j in expected):
        break
    time.sleep(0.05)
shown = board.job_progress.jobs
print(len(expected), sorted(shown[j]["status"] for j in expected if j in shown))
"""


@pytest.mark.timeout(300)
def test_quickstart_dashboard_shows_every_job_completed_after_run_all():
    """01 shuts its runtime down right after the last job: the dashboard still gets it."""
    path = next(p for p in NOTEBOOKS if p.name == "01_quickstart.ipynb")
    client = client_for(path)
    client.nb.cells.append(nbformat.v4.new_code_cell(CHECK_BOARD))
    client.execute()
    output = client.nb.cells[-1].outputs[0]["text"]
    assert output == "4 ['completed', 'completed', 'completed', 'completed']\n"
