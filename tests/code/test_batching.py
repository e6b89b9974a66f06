"""Stable sharding and sharded encoding equal to one pass; throughput measured per batch size."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.ops.batching import encode_sharded, shard_ids, shard_of, throughput_by_batch_size


def test_shards_are_stable_and_cover_everything() -> None:
    ids = [f"doc-{i}" for i in range(1000)]
    shards = shard_ids(ids, 4)
    assert sorted(i for s in shards for i in s) == sorted(ids)
    assert all(200 < len(s) < 300 for s in shards)  # balanced by the hash
    more = shard_ids(ids + [f"new-{i}" for i in range(100)], 4)
    assert all(set(a) <= set(b) for a, b in zip(shards, more))  # adding items moves no existing item
    with pytest.raises(ValueError):
        shard_of("x", 0)


def test_sharded_encoding_equals_one_pass(sample_docs, embedder) -> None:
    texts = [d.full_text for d in sample_docs[:12]]
    ids = [d.id for d in sample_docs[:12]]
    np.testing.assert_allclose(encode_sharded(texts, ids, embedder, 3), embedder.embed_documents(texts), atol=1e-5)


def test_throughput_table_restores_batch_size(sample_docs, embedder) -> None:
    before = embedder.batch_size
    table = throughput_by_batch_size(embedder, [d.full_text for d in sample_docs[:8]], [1, 8])
    assert list(table.index) == [1, 8] and (table["texts/s"] > 0).all()
    assert embedder.batch_size == before
