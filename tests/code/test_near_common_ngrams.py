"""The near-duplicate check's boilerplate count (``_common_ngrams``): its bit-table prefilter never drops an n-gram
that is counted, so the document frequencies equal a plain count of every row's n-grams. And its bounds from the
pass (``_FrequentNgrams``, ``NearDuplicatesCheck.boilerplate``): the n-grams they call boilerplate are exactly those
a plain count finds, however the rows are cut into batches and units, and one unit needs no second pass."""

from __future__ import annotations

import errno
import io
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook_lib.checks import uniqueness
from playbook_lib.checks.base import CheckContext
from playbook_lib.checks.batch import FeatureStore, FrameRows
from playbook_lib.checks.hashing import bit_table, find_sorted, maybe_in
from playbook_lib.checks.uniqueness import NearDuplicatesCheck, _common_ngrams, shingle_sets
from playbook_lib.errors import UsageError

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


def test_find_sorted_is_membership_and_a_first_position() -> None:
    rng = np.random.default_rng(3)
    haystack = np.sort(rng.integers(0, 50, 40).astype(np.uint64))  # repeats included
    values = rng.integers(0, 60, 500).astype(np.uint64)
    pos, found = find_sorted(haystack, values)
    assert found.tolist() == np.isin(values, haystack).tolist()
    assert (pos[found] == np.searchsorted(haystack, values[found])).all() and (
        haystack[pos[found]] == values[found]
    ).all()
    assert (pos >= 0).all() and (pos < haystack.size).all()
    pos, found = find_sorted(np.zeros(0, np.uint64), values)  # nothing to find: no position out of range either
    assert not found.any() and pos.shape == values.shape


def test_the_bit_table_has_no_false_negatives_and_few_false_positives() -> None:
    values = np.unique(np.random.default_rng(2).integers(0, 1 << 40, 100_000).astype(np.uint64))
    table, mask = bit_table(values)
    assert maybe_in(table, mask, values).all()
    others = np.random.default_rng(3).integers(0, 1 << 40, 100_000).astype(np.uint64)
    others = others[~np.isin(others, values)]
    assert maybe_in(table, mask, others).mean() < 0.1  # at least 16 bits per value: about 1 in 16 or fewer
    empty = bit_table(np.zeros(0, np.uint64))
    assert not maybe_in(*empty, others).any()


#: Rows with phrases of graded frequency (phrase k in about k % of the rows): counts at and around every limit
GRADED = [
    " ".join(
        [f"p{k} q{k} r{k}" for k in range(1, 61) if rng.random() < k / 100] + rng.choices(WORDS, k=rng.randint(0, 12))
    )
    for _ in range(600)
]


class _CountedRows(FrameRows):
    """A FrameRows that counts its second passes."""

    scans = 0

    def scan(self, batch_rows: int = 65_536):  # type: ignore[no-untyped-def]
        type(self).scans += 1
        return super().scan(batch_rows)


@pytest.mark.parametrize("share", [0.05, 0.15, 0.2, 0.25, 0.45])
@pytest.mark.parametrize(("batch", "unit"), [(600, 10_000), (70, 40), (13, 1), (250, 100)])
@pytest.mark.parametrize("bucket_bits", [20, 3])
def test_the_pass_bounds_find_the_plain_counts_boilerplate(
    share: float, batch: int, unit: int, bucket_bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uniqueness, "FREQUENT_UNIT_ROWS", unit)
    monkeypatch.setattr(uniqueness, "_BUCKET_BITS", bucket_bits)  # 3: every bucket over the bar, all counted
    records = pd.DataFrame({"instruction": GRADED, "input": "", "output": ""})
    check = NearDuplicatesCheck(max_ngram_rows=share)
    counts = _plain_counts(GRADED)
    grams = np.array(sorted(counts), dtype=np.uint64)
    limit = check.boilerplate_limit(len(GRADED))
    assert limit is not None
    expected = [g for g in grams.tolist() if counts[g] > limit]
    near = [g for g in grams.tolist() if abs(counts[g] - limit) <= 10]
    with FeatureStore() as store:
        check.prepare(CheckContext())
        for lo in range(0, len(GRADED), batch):
            check.store_batch(store, records.iloc[lo : lo + batch])
        _CountedRows.scans = 0
        found, rescanned = check.boilerplate(store, _CountedRows(records), grams, limit)
        wanted = check.boilerplate_candidates(store, len(GRADED), limit)
        assert wanted is not None
        narrowed, _ = check.boilerplate(store, FrameRows(records), np.intersect1d(grams, wanted), limit)
    assert found.tolist() == expected
    assert set(expected) <= set(wanted.tolist()) and narrowed.tolist() == expected  # only candidates can be
    assert rescanned == bool(_CountedRows.scans)
    if batch >= len(GRADED) and unit >= len(GRADED):  # one unit: its counts are exact, nothing is left open
        assert not rescanned
    assert expected and near  # some n-grams over the limit, and counts by it, where the bounds are tested hardest


def test_an_absolute_limit_counts_every_candidate_again() -> None:
    records = pd.DataFrame({"instruction": TEXTS, "input": "", "output": ""})
    check = NearDuplicatesCheck(max_ngram_rows=100)
    counts = _plain_counts(TEXTS)
    grams = np.array(sorted(counts), dtype=np.uint64)
    with FeatureStore() as store:
        for lo in range(0, len(TEXTS), 70):
            check.store_batch(store, records.iloc[lo : lo + 70])
        found, rescanned = check.boilerplate(store, FrameRows(records), grams, 100)
        assert check.boilerplate_candidates(store, len(TEXTS), 100) is None  # no bound: any n-gram may be
    assert rescanned
    assert found.tolist() == [g for g in grams.tolist() if counts[g] > 100]


@pytest.mark.parametrize("scratch", [False, True])
@pytest.mark.parametrize("block", [1, 37, 1 << 23])
def test_the_row_sets_read_back_are_the_sets_written(
    scratch: bool, block: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidate rows' sets as the verification reads them back (from a scratch file or memory, a block at a
    time): the sets of any rows, their distinct values, and the Jaccard of pairs, with and without dropped
    n-grams, equal those of the sets in one array."""
    monkeypatch.setattr(uniqueness, "VERIFY_VALUES", block)
    offsets, values = shingle_sets(TEXTS, 3)
    sets = uniqueness._RowSets(tmp_path if scratch else None)
    for lo in range(0, len(TEXTS), 70):  # as the read-back adds them: a batch of rows at a time
        part_offsets, part_values = shingle_sets(TEXTS[lo : lo + 70], 3)
        sets.add(part_offsets, part_values, np.arange(lo, lo + len(part_offsets) - 1) * 10)
    sets.done()
    gen = np.random.default_rng(block)
    index = np.unique(gen.choice(len(TEXTS), 250))  # runs of consecutive rows and gaps
    got_offsets, got_values = sets.gather(index)
    for k, i in enumerate(index.tolist()):
        want = values[offsets[i] : offsets[i + 1]]
        np.testing.assert_array_equal(got_values[got_offsets[k] : got_offsets[k + 1]], want)
    nothing = sets.gather(np.zeros(0, np.int64))
    assert nothing[0].tolist() == [0] and not nothing[1].size
    np.testing.assert_array_equal(sets.lines, np.arange(len(TEXTS)) * 10)
    np.testing.assert_array_equal(sets.distinct(None), np.unique(values))
    wanted = np.unique(np.r_[values[::5], np.uint64(1 << 41)])
    np.testing.assert_array_equal(sets.distinct(wanted), np.intersect1d(values, wanted))
    a = np.sort(gen.integers(0, len(TEXTS), 400))
    b = gen.integers(0, len(TEXTS), 400)
    sim, _ = sets.jaccard(a, b)
    np.testing.assert_array_equal(sim, uniqueness.pair_jaccard(offsets, values, a, b))
    drop = np.unique(values[::3])
    residual, own = sets.jaccard(a, b, drop)
    rest = uniqueness._without(offsets, values, drop)
    np.testing.assert_array_equal(residual, uniqueness.pair_jaccard(*rest, a, b))
    np.testing.assert_array_equal(own, (np.diff(rest[0])[a] + np.diff(rest[0])[b]) > 0)
    sets.close()
    assert not list(tmp_path.iterdir())  # the scratch file is gone


def test_a_scratch_file_that_cannot_be_written_is_one_usage_error(tmp_path: Path) -> None:
    """A full disk while the candidate rows' sets are written (or read back short): one line naming the file."""
    sets = uniqueness._RowSets(tmp_path)

    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    real, sets._file = sets._file, Full()  # type: ignore[assignment]
    offsets, values = shingle_sets(TEXTS[:5], 3)
    with pytest.raises(UsageError, match=r"scratch file .*near-sets-.*: No space left on device \(free disk space\)"):
        sets.add(offsets, values, np.arange(5))
    sets._file = real
    sets.done()  # nothing written: reading back more than the file holds is the same one line
    sets.offsets = offsets
    with pytest.raises(UsageError, match="shorter than what was written"):
        sets.gather(np.arange(5))
    sets.close()
    assert not list(tmp_path.iterdir())
