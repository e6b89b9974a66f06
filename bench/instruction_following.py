"""The full profile of the post-training page's instruction-following experiment, committed as a table the page
displays and judges.

``notebooks/dm_05_post_training.ipynb`` runs its ``small`` profile (one instruction of each kind) when the book is
built; its verdict on the heuristic comes from the ``full`` profile (every bundled instruction, every seed), which
this script runs with the same library function
(:func:`playbook_lib.experiments.instruction_following.run_instruction_following`) on one CPU thread and writes,
one row per (instruction, condition, seed), after ``# key: value`` lines saying how, when and where::

    .venv/bin/python bench/instruction_following.py [--profile full] [--threads 1]

Writes ``notebooks/results/dm_05_post_training.csv``.
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
from playbook_lib.experiments import instruction_following as inf  # noqa: E402
from playbook_lib.experiments.tables import machine, write_table  # noqa: E402
from playbook_lib.io.outputs import check_outputs  # noqa: E402
from playbook_lib.models.next_token import NextTokenModel  # noqa: E402
from playbook_lib.settings import quiet_model_loading  # noqa: E402

OUT = ROOT / "notebooks" / "results" / "dm_05_post_training.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="full", choices=sorted(inf.PROFILES))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    check_outputs({}, {"--out": args.out})  # a bad path fails now, not after the whole run
    import llama_cpp  # lazy: version string for the header only

    profile = inf.PROFILES[args.profile]
    with quiet_model_loading():
        model = NextTokenModel(threads=args.threads)
        _ = model.llm
    start = time.perf_counter()
    frame = inf.run_instruction_following(model, inf.format_instructions(profile.prompts), profile.seeds)
    seconds = time.perf_counter() - start
    meta = {
        "command": f"python bench/instruction_following.py --profile {args.profile} --threads {args.threads}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "versions": f"python {platform.python_version()}, llama-cpp-python {llama_cpp.__version__}",
        "model": model.name,
        "profile": args.profile,
        "settings": (
            f"temperature {inf.TEMPERATURE}, max_tokens {inf.MAX_TOKENS}, max_attempts {inf.MAX_ATTEMPTS}, "
            f"margin {inf.MARGIN}, seeds {profile.seeds}"
        ),
        "threads": str(args.threads),
        "seconds": f"{seconds:.0f}",
    }
    write_table(frame, args.out, meta)
    print(f"{Path(args.out).name}: {len(frame)} rows in {seconds:.0f} s")
    print("\n".join(inf.judge_instruction_following(frame).lines()))


if __name__ == "__main__":
    try:
        main()
    except PlaybookError as exc:  # an unreadable instructions file, a missing model: one line, its exit code
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
