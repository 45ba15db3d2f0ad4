"""What the static picture of a widget output costs: time to build the mimebundle, and size.

Every widget output carries an ``image/png`` and a ``text/html`` of the view's state (drawn
with Pillow from the flow layout) beside the live widget view. Prints, for chains of 3, 50
and 200 routines: the median time of one ``FlowGraph`` and one ``Dashboard`` mimebundle
(the work done once per display), the PNG's size in pixels and bytes, and the bundle's
size as stored in a notebook.

    python benchmarks/bench_static_picture.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import time
from typing import Any

from PIL import Image

from routilux_nb.notebook.widgets import Dashboard, FlowGraph


def chain(n: int) -> dict[str, Any]:
    routines = {
        f"r{i}": {"class_name": "Step", "slots": ["input"], "events": ["output"]} for i in range(n)
    }
    connections = [
        {
            "connection_id": f"conn_{i}",
            "source_routine": f"r{i}",
            "source_event": "output",
            "target_routine": f"r{i + 1}",
            "target_slot": "input",
        }
        for i in range(n - 1)
    ]
    return {"flow_id": f"chain{n}", "routines": routines, "connections": connections}


def measure(widget: Any, repeat: int) -> tuple[float, dict[str, Any]]:
    times, data = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        bundle = widget._repr_mimebundle_()
        times.append(time.perf_counter() - start)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
    return statistics.median(times), data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"{'view':<10} {'routines':>8} {'median ms':>10} {'png px':>12} {'png KB':>7} {'bundle KB':>9}"
    )
    for n in (3, 50, 200):
        flow = chain(n)
        for name, make in (("FlowGraph", FlowGraph), ("Dashboard", Dashboard)):
            widget = make(flow)
            seconds, data = measure(widget, args.repeat)
            png = data["image/png"]
            raw = png if isinstance(png, bytes) else base64.b64decode(png)
            with Image.open(io.BytesIO(raw)) as image:
                size = f"{image.width}x{image.height}"
            stored = {
                k: (base64.b64encode(v).decode() if isinstance(v, bytes) else v)
                for k, v in data.items()
            }
            print(
                f"{name:<10} {n:>8} {seconds * 1000:>10.1f} {size:>12} {len(raw) / 1024:>7.1f} "
                f"{len(json.dumps(stored)) / 1024:>9.1f}"
            )
            widget.close()


if __name__ == "__main__":
    main()
