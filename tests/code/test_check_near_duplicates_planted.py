"""The near_duplicates check on a generated set with planted truth: recall >= 0.95 on pairs with Jaccard >= 0.8
(exact Jaccard of word 3-grams, computed in plain Python), precision 1 (every reported pair really is >= 0.8), and
hard negatives (edited down to Jaccard < 0.7) never clustered with their source. Also the numpy MinHash pieces."""

from __future__ import annotations

import random

import numpy as np
import pytest

from playbook_lib.checks import CheckContext
from playbook_lib.checks.hashing import ngram_hashes
from playbook_lib.checks.uniqueness import NearDuplicatesCheck, bands_for, oph_signatures, shingles
from playbook_lib.data import records_from_rows
from tests.conftest import need_module

rng = random.Random(11)
VOCAB = [f"t{i}" for i in range(5000)]


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a, 3), shingles(b, 3)
    return len(sa & sb) / len(sa | sb)


def planted(n_base: int = 1500) -> tuple[list[str], list[tuple[int, int]], list[tuple[int, int]]]:
    texts = [" ".join(rng.choices(VOCAB, k=rng.randint(20, 90))) for _ in range(n_base)]
    positives, negatives = [], []
    for _ in range(300):
        src = rng.randrange(n_base)
        words = texts[src].split()
        edits = rng.randint(1, 3) if rng.random() < 0.8 else len(words) // 3
        for _ in range(edits):
            words[rng.randrange(len(words))] = rng.choice(VOCAB) + "x"
        texts.append(" ".join(words))
        sim = jaccard(texts[src], texts[-1])
        (positives if sim >= 0.8 else negatives).append((src, len(texts) - 1))
    return texts, positives, negatives


def test_recall_and_precision_on_planted_near_duplicates() -> None:
    texts, positives, negatives = planted()
    records = records_from_rows([{"instruction": t, "output": ""} for t in texts])
    result = NearDuplicatesCheck(threshold=0.8).run(records, CheckContext())
    flagged = set(np.flatnonzero(result.flags).tolist())
    # recall: the edited copy of every pair at >= 0.8 is flagged (its source comes first and is kept)
    found = sum(b in flagged for _, b in positives)
    assert len(positives) > 100 and found / len(positives) >= 0.95
    # precision: every flagged row has a row it really is >= 0.8 similar to (exact check in plain Python)
    sets = [shingles(t, 3) for t in texts]
    for i in flagged:
        assert result.scores[i] >= 0.8
        assert any(len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= 0.8 for j in range(len(texts)) if j != i)
    # hard negatives stay apart from their source unless something else links them
    assert sum(b in flagged for _, b in negatives) <= len(negatives) * 0.05


def test_one_permutation_minhash_estimates_jaccard() -> None:
    """Signature agreement estimates Jaccard: mean absolute error under 0.05 over 200 random pairs."""
    errors = []
    for _ in range(200):
        base = rng.sample(VOCAB, 60)
        other = base[: rng.randint(10, 60)] + rng.sample(VOCAB, rng.randint(0, 40))
        a, b = " ".join(base), " ".join(other)
        offsets, grams = ngram_hashes([a, b], 1, whole_short=True)
        sig = oph_signatures(offsets, grams, 128, seed=1)
        true = len(set(base) & set(other)) / len(set(base) | set(other))
        errors.append(abs(float(np.mean(sig[0] == sig[1])) - true))
    assert np.mean(errors) < 0.05


@pytest.mark.parametrize(("num_perm", "threshold"), [(128, 0.8), (64, 0.9), (256, 0.5)])
def test_bands_reach_the_target_candidate_probability(num_perm: int, threshold: float) -> None:
    bands, rows = bands_for(num_perm, threshold)
    assert bands * rows <= num_perm
    assert 1 - (1 - threshold**rows) ** bands >= 0.99


@pytest.mark.parametrize("backend", ["datasketch", "rensa"])
def test_other_signature_backends_find_the_same_planted_pairs(backend: str) -> None:
    if backend == "rensa":
        need_module("rensa", "the rensa backend is optional: pip install rensa")
    texts, positives, _ = planted(300)
    records = records_from_rows([{"instruction": t, "output": ""} for t in texts])
    ours = NearDuplicatesCheck().run(records, CheckContext())
    other = NearDuplicatesCheck(backend=backend).run(records, CheckContext())
    edited = [b for _, b in positives]
    assert other.flags[edited].mean() >= 0.9
    assert set(np.flatnonzero(other.flags)) <= set(np.flatnonzero(ours.flags)) | set(edited)
