"""The full profiles of the first two experiment pages, committed as tables the pages display and judge.

``exp_01`` (quality over quantity) and ``exp_02`` (learning curve) run their ``small`` profile when the book is
built; the numbers the book quotes come from their ``full`` profile (thousands of requests, more seeds), which this
script runs with the same library functions (:func:`playbook_lib.experiments.quality.run_quality` and
:func:`~playbook_lib.experiments.quality.run_curve`) and writes, every run's row, with ``# key: value`` lines saying
how, when and where::

    .venv/bin/python bench/experiment_tables.py [--data ../shared/data] [--pages exp_01 exp_02]

Writes ``notebooks/results/exp_01_quality_vs_quantity.csv`` and ``notebooks/results/exp_02_learning_curve.csv``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playbook_lib.errors import PlaybookError  # noqa: E402
from playbook_lib.experiments.quality import run_curve, run_quality  # noqa: E402
from playbook_lib.experiments.tables import machine, write_table  # noqa: E402

OUT = ROOT / "notebooks" / "results"


def meta(command: str, seconds: float) -> dict[str, str]:
    import sklearn  # lazy: version string for the header only
    import torch  # lazy: version string for the header only

    return {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "versions": f"python {platform.python_version()}, torch {torch.__version__}, scikit-learn {sklearn.__version__}",
        "profile": "full",
        "seconds": f"{seconds:.0f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--pages", nargs="+", default=["exp_01", "exp_02"], choices=["exp_01", "exp_02"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    command = "python bench/experiment_tables.py --pages " + " ".join(args.pages)
    runs = {
        "exp_01": (lambda: run_quality(args.data, "full", seed=args.seed), "exp_01_quality_vs_quantity.csv"),
        "exp_02": (lambda: run_curve(args.data, "full", seed=args.seed), "exp_02_learning_curve.csv"),
    }
    for page in args.pages:
        run, name = runs[page]
        start = time.perf_counter()
        rows = run().rows()
        write_table(rows, OUT / name, meta(command, time.perf_counter() - start))
        print(f"{name}: {len(rows)} runs in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except PlaybookError as exc:  # a missing data folder or an unwritable results file: one line, its exit code
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
