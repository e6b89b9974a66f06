"""Benchmark: the two speed choices behind the experiment pages (run on demand).

1. Embedding cache: :func:`playbook_lib.experiments.tasks.embed_texts` with a cold disk cache, then warm, against
   the obvious alternative, re-embedding every run with ``MiniLMEmbedder.embed_documents``.
2. Probe threads: :func:`playbook_lib.experiments.tasks.train_probe` (BLAS limited to one thread) against the same
   ``LogisticRegression`` fit with BLAS's default thread count.

Prints seconds and ratios. Timings depend on the machine and on what else runs on it: compare within one run.

    .venv/bin/python bench/experiments.py [--data ../shared/data] [--per-class 200] [--fits 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playbook_lib.embeddings.model import MiniLMEmbedder  # noqa: E402
from playbook_lib.experiments.tasks import embed_texts, load_task, train_probe  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    parser.add_argument("--per-class", type=int, default=200, help="requests per tool")
    parser.add_argument("--fits", type=int, default=5, help="probe fits per setting")
    args = parser.parse_args()

    task = load_task(args.data, n_per_class=args.per_class, seed=0)
    embedder = MiniLMEmbedder(show_progress=False)
    embedder.embed_documents(["warm up"])
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        vectors = embed_texts(task.texts, embedder, cache_dir=cache)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        again = embed_texts(task.texts, embedder, cache_dir=cache)
        warm = time.perf_counter() - start
    start = time.perf_counter()
    plain = embedder.embed_documents(task.texts)
    direct = time.perf_counter() - start
    assert np.allclose(vectors, again) and np.allclose(vectors, plain, atol=1e-5)
    print(
        f"embedding {len(task)} texts: re-embed {direct:.2f} s, cached cold {cold:.2f} s, cached warm {warm:.3f} s "
        f"(warm is {direct / max(warm, 1e-9):.0f}x faster than re-embedding)"
    )

    from sklearn.linear_model import LogisticRegression

    def timed(fit) -> float:
        fit()  # first fit pays the imports
        start = time.perf_counter()
        for _ in range(args.fits):
            fit()
        return (time.perf_counter() - start) / args.fits

    one = timed(lambda: train_probe(vectors, task.labels))
    default = timed(lambda: LogisticRegression(max_iter=2000, random_state=0).fit(vectors, task.labels))
    print(
        f"probe fit on {len(task)} x {vectors.shape[1]}: one BLAS thread {one:.3f} s, default threads "
        f"{default:.3f} s (ratio default/one {default / max(one, 1e-9):.1f})"
    )


if __name__ == "__main__":
    main()
