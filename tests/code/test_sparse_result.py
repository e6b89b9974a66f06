"""A result kept sparse (:class:`SparseResult`) reads as the dense one; the feature store gives back its cache."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from playbook_lib.checks.base import CheckResult, Outcome, PackedDetails, SparseResult
from playbook_lib.checks.batch import FeatureStore


def _result(n: int, flagged: int, scored: int, seed: int = 0) -> CheckResult:
    rng = np.random.default_rng(seed)
    flags = np.zeros(n, bool)
    flags[rng.choice(n, flagged, replace=False)] = True
    scores = np.zeros(n)
    scores[rng.choice(n, scored, replace=False)] = rng.uniform(0.01, 1.0, scored)
    return CheckResult("x", Outcome.WARN, "m", flags, scores, {"metric": 0.1}, [{"line": 1}], {3: {"reason": "r"}})


@pytest.mark.parametrize(("flagged", "scored"), [(0, 0), (3, 5), (10, 10), (400, 900), (999, 1000)])
def test_sparse_reads_as_dense(flagged: int, scored: int) -> None:
    dense = _result(1000, flagged, scored)
    sparse = dense.compact()
    assert isinstance(sparse, SparseResult) and sparse.compact() is sparse
    np.testing.assert_array_equal(sparse.flags, dense.flags)
    np.testing.assert_array_equal(sparse.scores, dense.scores)
    np.testing.assert_array_equal(sparse.flagged_rows(), dense.flagged_rows())
    asked = np.array([999, 0, 5, 5, 500, *dense.flagged_rows().tolist()], dtype=np.int64)
    np.testing.assert_array_equal(sparse.scores_at(asked), dense.scores[asked])
    assert sparse.to_dict() == dense.to_dict() and sparse.details == dense.details
    with pytest.raises(IndexError):
        sparse.scores_at([1000])


def test_sparse_takes_less_memory_when_few_rows_are_flagged() -> None:
    dense = _result(100_000, 50, 50)
    sparse = dense.compact()
    held = sum(v.nbytes for v in vars(sparse).values() if isinstance(v, np.ndarray))
    assert held < (dense.flags.nbytes + dense.scores.nbytes) / 100
    sparse.flags = dense.flags  # set again: dense, as given
    np.testing.assert_array_equal(sparse.flags, dense.flags)


def test_packed_details_read_as_the_dicts_given() -> None:
    """Each row's details come back equal to the dict given (nested values and NumPy scalars included), a new dict
    on each read, in row order; a row without details, or a key that is no row, is a KeyError."""
    given = {
        7: {"reason": "exact copy of eval row 3", "eval_row": 3, "containment": 1.0},
        2: {"reason": "near", "kept_row": np.int64(1), "similarity": np.float64(0.85), "runs": [(1, 2), (5, 9)]},
        40_000_000_000: {"reason": "", "kinds": {"email": 2}},
        0: {},
    }
    packed = PackedDetails(given)
    assert list(packed) == [0, 2, 7, 40_000_000_000] and len(packed) == 4
    assert packed == given and dict(packed.items()) == given
    first = packed[2]
    first["reason"] = "changed"
    assert packed[2] == given[2]
    shipped = pickle.loads(pickle.dumps(packed))
    assert shipped._cached is None and shipped == given  # the decoded block is not pickled
    for missing in (1, 8, -1, 10**12, "7", 2.0, True):
        assert missing not in packed
        with pytest.raises(KeyError):
            packed[missing]  # type: ignore[index]
    assert PackedDetails({}) == {} and list(PackedDetails({})) == []
    sparse = _result(1000, 10, 10).compact()
    assert isinstance(sparse.details, PackedDetails) and sparse.details == {3: {"reason": "r"}}
    assert SparseResult(sparse).details is sparse.details  # packed once


def test_packed_details_over_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 3 details, given out of row order: lookups in any order (each decodes its block, the last one
    kept) and a pass over the items (each block once, in row order) give the dicts given; the block size is the
    one packed with."""
    from playbook_lib.checks import base

    monkeypatch.setattr(base, "DETAIL_BLOCK", 3)
    given = {row: {"reason": f"r{row}", "score": row / 100} for row in [5, 1, 9, 30, 2, 8, 13, 21, 0, 4]}
    packed = PackedDetails(given)
    monkeypatch.setattr(base, "DETAIL_BLOCK", 4096)
    assert len(packed._blocks) == 4 and list(packed) == sorted(given)
    assert list(packed.items()) == sorted(given.items())
    for row in [4, 5, 0, 30, 30, 1, 21, 9, 2, 13, 8]:
        assert packed[row] == given[row]
    assert 3 not in packed and 31 not in packed


def test_release_keeps_the_tables_and_the_limit(tmp_path: object) -> None:
    import pyarrow as pa

    with FeatureStore(memory_limit="64MB") as store:
        store.append("t", pa.table({"row": np.arange(200_000, dtype=np.int64)}))
        before = store.query("SELECT current_setting('memory_limit') AS m")["m"][0]
        store.release()
        assert store.query("SELECT current_setting('memory_limit') AS m")["m"][0] == before
        assert int(store.query('SELECT sum("row") AS s FROM t')["s"][0]) == 199_999 * 200_000 // 2
    with FeatureStore() as memory:  # no file, no limit: nothing to release, nothing changes
        memory.append("t", pa.table({"row": np.arange(10, dtype=np.int64)}))
        memory.release()
        assert int(memory.query("SELECT count(*) AS n FROM t")["n"][0]) == 10


def test_the_pass_gives_back_what_it_appended(tmp_path: object) -> None:
    """A store with a memory limit releases its cached blocks after each ``release_every`` bytes appended, so
    DuckDB holds a bounded share of what the pass appended instead of all of it, and every row stays readable."""
    import pyarrow as pa

    held, releases = {}, {}
    for every in (4 * 2**20, 2**40):  # every 4 MiB of Arrow data, and never
        with FeatureStore(memory_limit="512MB", release_every=every) as store:
            for k in range(20):
                rows = np.arange(k * 250_000, (k + 1) * 250_000, dtype=np.int64)
                store.append("t", pa.table({"row": rows, "v": np.random.default_rng(k).random(rows.size)}))
            held[every] = store.query("SELECT sum(memory_usage_bytes) AS m FROM duckdb_memory()")["m"][0]
            releases[every] = store.releases
            assert int(store.query('SELECT sum("row") AS s FROM t')["s"][0]) == 4_999_999 * 5_000_000 // 2
    assert releases == {4 * 2**20: 10, 2**40: 0}  # 4,000,000 bytes a batch: a release before every second one
    assert held[4 * 2**20] < held[2**40] / 2
