"""The near-duplicate check's boilerplate count (``_common_ngrams``): its bit-table prefilter never drops an n-gram
that is counted, so the document frequencies equal a plain count of every row's n-grams."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from playbook_lib.checks.uniqueness import _bit_table, _common_ngrams, _maybe_in, shingle_sets

rng = random.Random(3)
WORDS = [f"w{i}" for i in range(300)]
PREAMBLES = [" ".join(rng.choices(WORDS, k=25)) for _ in range(3)]
TEXTS = [
    (rng.choice(PREAMBLES) + " " if rng.random() < 0.6 else "") + " ".join(rng.choices(WORDS, k=rng.randint(0, 30)))
    for _ in range(600)
]


def _plain_counts(texts: list[str]) -> Counter[int]:
    """How many texts hold each n-gram value (each text's set of shingle_sets values counted once)."""
    offsets, values = shingle_sets(texts, 3)
    return Counter(v for i in range(len(texts)) for v in set(values[offsets[i] : offsets[i + 1]].tolist()))


@pytest.mark.parametrize("limit", [0, 1, 5, 50, 200])
@pytest.mark.parametrize("which", ["all", "every third", "with absent values"])
def test_the_common_ngrams_are_those_a_plain_count_finds(limit: int, which: str) -> None:
    counts = _plain_counts(TEXTS)
    present = np.array(sorted(counts), dtype=np.uint64)
    grams = {"all": present, "every third": present[::3]}.get(which)
    if grams is None:  # values no row holds mixed in: never common
        absent = np.random.default_rng(1).integers(0, 1 << 40, 5000).astype(np.uint64)
        grams = np.unique(np.r_[present[::2], absent])
    expected = [g for g in grams.tolist() if counts.get(g, 0) > limit]
    parts = [TEXTS[i : i + 70] for i in range(0, len(TEXTS), 70)]  # batches, as rows.scan gives them
    assert _common_ngrams(parts, 3, grams, limit).tolist() == expected
    assert expected or limit >= 50  # the preambles' n-grams are in hundreds of rows


def test_the_bit_table_has_no_false_negatives_and_few_false_positives() -> None:
    values = np.unique(np.random.default_rng(2).integers(0, 1 << 40, 100_000).astype(np.uint64))
    table, mask = _bit_table(values)
    assert _maybe_in(table, mask, values).all()
    others = np.random.default_rng(3).integers(0, 1 << 40, 100_000).astype(np.uint64)
    others = others[~np.isin(others, values)]
    assert _maybe_in(table, mask, others).mean() < 0.1  # at least 16 bits per value: about 1 in 16 or fewer
    empty = _bit_table(np.zeros(0, np.uint64))
    assert not _maybe_in(*empty, others).any()
