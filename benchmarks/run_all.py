"""Run every benchmark and print its figures: ``python benchmarks/run_all.py [--quick]``.

Each benchmark measures its baselines in the same run, so the ratios it prints compare
like with like on a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_engine", "bench_http", "bench_widgets", "bench_scale", "bench_otel")
QUICK = {
    "bench_scale": ["--items", "50", "--overhead-jobs", "50"],
    "bench_otel": ["--items", "5000", "--jobs", "1000", "--repeat", "1"],
}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repeat")
    args = parser.parse_args()
    for name in BENCHMARKS:
        if not (HERE / f"{name}.py").exists():
            continue
        print(f"\n##### {name}")
        module = _load(name)
        if name == "bench_engine":
            module.report(module.main(repeat=1 if args.quick else 3, quick=args.quick))
        elif name == "bench_widgets":
            module.main()  # prints its own figures
        elif name in QUICK:
            module.main(QUICK[name] if args.quick else [])  # prints its own figures
        else:
            for key, value in module.main().items():
                print(f"  {key}: {value:,.3f}" if isinstance(value, float) else f"  {key}: {value}")


if __name__ == "__main__":
    main()
