"""Benchmark: dense retrieval on the full BEIR SciFact with the library (run on demand: `make bench`).

Reports nDCG@10 and Recall@100 on the 300 test queries (published for all-MiniLM-L6-v2: 0.645 / 0.925), the corpus
encoding rate, and query latency p50/p95 (embed + search, one query at a time). In the same run it times the
obvious alternative, plain ``SentenceTransformer.encode`` and a NumPy brute-force search, and prints the ratios.

    .venv/bin/python bench/retrieval.py [--data ../shared/data/scifact] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playbook_lib.embeddings.model import MiniLMEmbedder  # noqa: E402
from playbook_lib.rag.corpus import load_beir  # noqa: E402
from playbook_lib.rag.evaluate import evaluate_retriever  # noqa: E402
from playbook_lib.rag.retrieve import DenseRetriever  # noqa: E402

PUBLISHED = {"nDCG@10": 0.645, "Recall@100": 0.925}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/scifact"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-docs", type=int, default=500, help="documents for the plain-encode comparison")
    parser.add_argument("--json", default="_build/bench/retrieval.json")
    args = parser.parse_args()

    ds = load_beir(args.data)
    docs = ds.corpus
    embedder = MiniLMEmbedder(threads=args.threads, show_progress=True)
    embedder.embed_query("warm up")  # load the model outside the timed region

    start = time.perf_counter()
    retriever = DenseRetriever.from_documents(docs, embedder)
    encode_s = time.perf_counter() - start
    n_tokens = sum(min(embedder.count_tokens(d.full_text), embedder.max_tokens - 2) for d in docs)

    qids = list(ds.queries)
    report = evaluate_retriever(retriever, ds.queries, ds.qrels, "dense")  # one query at a time, timed
    metrics = report.metrics

    # the obvious alternative, same run: plain sentence-transformers encode + NumPy brute force
    import torch

    torch.set_num_threads(args.threads)
    plain = embedder.model
    sample = [d.full_text for d in docs[: args.baseline_docs]]
    t = time.perf_counter()
    plain.encode(sample, batch_size=32, normalize_embeddings=True)
    plain_rate = len(sample) / (time.perf_counter() - t)
    vectors = retriever.index.vectors()
    numpy_ms, faiss_ms = [], []
    for q in qids[:100]:
        qv = embedder.embed_query(ds.queries[q])
        t = time.perf_counter()
        np.argsort(-(vectors @ qv))[:100]
        numpy_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        retriever.index.search(qv, 100)
        faiss_ms.append((time.perf_counter() - t) * 1000)

    report = {
        "documents": len(docs),
        "queries": len(qids),
        **{k: round(v, 4) for k, v in metrics.items()},
        "published": PUBLISHED,
        "encode_seconds": round(encode_s, 1),
        "encode_docs_per_s": round(len(docs) / encode_s, 1),
        "encode_tokens_per_s": round(n_tokens / encode_s, 1),
        "plain_encode_docs_per_s": round(plain_rate, 1),
        "encode_rate_ratio_library_over_plain": round(len(docs) / encode_s / plain_rate, 2),
        "query_latency_ms_p50": round(report.latency_ms_p50, 2),
        "query_latency_ms_p95": round(report.latency_ms_p95, 2),
        "search_only_ms_p50_faiss": round(statistics.median(faiss_ms), 3),
        "search_only_ms_p50_numpy": round(statistics.median(numpy_ms), 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": args.threads,
    }
    for key, value in report.items():
        print(f"{key:40s} {value}")
    delta = report["nDCG@10"] - PUBLISHED["nDCG@10"]
    print(f"nDCG@10 vs published: {delta:+.4f} ({'within' if abs(delta) <= 0.005 else 'OUTSIDE'} ±0.005)")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(out)


if __name__ == "__main__":
    main()
