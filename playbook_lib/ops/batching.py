"""Training-time data operations: stable sharding and batched encoding, with throughput measured per batch size.

Taught in the book's *Operation types* page (``notebooks/ops_07_operation_types.ipynb``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from playbook_lib.embeddings.model import Embedder

if TYPE_CHECKING:
    import pandas as pd


def shard_of(item_id: str, n_shards: int) -> int:
    """The shard of ``item_id``: a hash of the id, so an item stays in its shard when others are added or removed."""
    if n_shards < 1:
        raise ValueError("n_shards must be at least 1")
    return int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8).digest(), "big") % n_shards


def shard_ids(ids: Sequence[str], n_shards: int) -> list[list[str]]:
    """Split ``ids`` into ``n_shards`` lists by :func:`shard_of`, keeping their order inside each shard."""
    shards: list[list[str]] = [[] for _ in range(n_shards)]
    for item in ids:
        shards[shard_of(item, n_shards)].append(item)
    return shards


def encode_sharded(texts: Sequence[str], ids: Sequence[str], embedder: Embedder, n_shards: int) -> np.ndarray:
    """Embed shard by shard (as separate workers would) and reassemble the vectors in the input order."""
    position = {item: i for i, item in enumerate(ids)}
    out = np.zeros((len(ids), embedder.dim), dtype=np.float32)
    for shard in shard_ids(ids, n_shards):
        if shard:
            out[[position[i] for i in shard]] = embedder.embed_documents([texts[position[i]] for i in shard])
    return out


def throughput_by_batch_size(embedder: Embedder, texts: Sequence[str], batch_sizes: Sequence[int]) -> pd.DataFrame:
    """Embed ``texts`` once per batch size (the embedder's ``batch_size`` attribute, restored afterwards).

    Returns seconds and texts per second for each size. Rates taken on a busy machine are noisy: compare sizes
    within one run, not across machines.
    """
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    if not hasattr(embedder, "batch_size"):
        raise TypeError(f"{type(embedder).__name__} has no batch_size to vary")
    original = embedder.batch_size
    rows = []
    embedder.embed_documents(list(texts[: min(len(texts), 4)]))  # load the model before timing
    try:
        for size in batch_sizes:
            embedder.batch_size = size
            start = time.perf_counter()
            embedder.embed_documents(list(texts))
            seconds = time.perf_counter() - start
            rows.append({"batch size": size, "seconds": round(seconds, 3), "texts/s": round(len(texts) / seconds, 1)})
    finally:
        embedder.batch_size = original
    return pd.DataFrame(rows).set_index("batch size")
