"""The synthetic ledger of the *Data synthesis* page (``notebooks/dm_03_data_synthesis.ipynb``), written by the
library's tool (:func:`playbook_lib.ops.synthesis.synthesize`) with the packaged SmolLM2-135M-Instruct::

    .venv/bin/python bench/synthesis.py [--data ../shared/data] [--rows 20]

Parents: 5 real GPTeacher toolformer requests per tool (:func:`~playbook_lib.experiments.synthesis_mix.
reserve_parents`, seed 0), never used for training or testing on the page. Writes
``notebooks/results/dm_03_synthetic_ledger.jsonl``: per tool ``--rows`` rows, each tagged with generator, prompt
name and SHA-256 (not the prompt text: it quotes third-party rows; rebuild it from ``parent_ids``), seed, parent ids
and time; and ``notebooks/results/dm_03_synthetic_ledger.csv``, a ``# key: value`` header (command, date, machine,
versions, seconds) over per-tool counts of kept and rejected generations.
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

import pandas as pd  # noqa: E402

from playbook_lib.experiments.synthesis_mix import reserve_parents  # noqa: E402
from playbook_lib.experiments.tables import machine, write_table  # noqa: E402
from playbook_lib.experiments.tasks import load_task  # noqa: E402
from playbook_lib.ops.synthesis import SYSTEM_PROMPT, synthesize, write_ledger  # noqa: E402
from playbook_lib.rag.generate import LocalLlamaGenerator  # noqa: E402

OUT = ROOT / "notebooks" / "results"
N_PARENTS = 5
PARENT_SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--rows", type=int, default=20, help="synthetic rows per tool")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    task = load_task(args.data, seed=PARENT_SEED)
    parents, _ = reserve_parents(task, N_PARENTS, seed=PARENT_SEED)
    generator = LocalLlamaGenerator(threads=1, system_prompt=SYSTEM_PROMPT)
    rows, counts = [], []
    for y, label in enumerate(parents.label_names):
        mine = [(s, t) for s, t, lab in zip(parents.sources, parents.texts, parents.labels) if lab == y]
        result = synthesize(generator, label, mine, args.rows, seed=args.seed, keep_prompt=False)
        rows += result.rows
        counts.append(
            {
                "label": label,
                "kept": len(result.rows),
                **{f"rejected_{k}": v for k, v in result.rejected.items()},
                "generation_seconds": round(result.seconds, 1),
            }
        )
        print(label, len(result.rows), dict(result.rejected), f"{result.seconds:.0f} s", flush=True)
    write_ledger(OUT / "dm_03_synthetic_ledger.jsonl", rows, inputs={"--data": args.data})
    import llama_cpp  # lazy: version string for the header only

    meta = {
        "command": f"python bench/synthesis.py --rows {args.rows} --seed {args.seed}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "versions": f"python {platform.python_version()}, llama-cpp-python {llama_cpp.__version__}",
        "generator": generator.name,
        "threads": "1",
        "seconds": f"{time.perf_counter() - start:.0f}",
    }
    write_table(pd.DataFrame(counts).fillna(0), OUT / "dm_03_synthetic_ledger.csv", meta)


if __name__ == "__main__":
    main()
