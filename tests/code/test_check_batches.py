"""The batch contract (playbook_lib.checks.batch): a check run in batches gives exactly its whole-frame result.

Real data (GSM8K train from ../shared/data) with planted problems: copies differing in case and spacing, personal
data, broken rows; cut into batches of several sizes, with and without a spilling feature store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batching import assert_same, run_in_batches

from playbook_lib.checks import CheckContext, batch, get_check
from playbook_lib.checks.batch import FeatureStore, parse_memory_limit
from playbook_lib.data import load_records, records_from_rows
from playbook_lib.errors import UsageError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    """2,000 GSM8K rows plus planted copies, personal data, empty and mistyped fields, control characters and a
    very long row, in a seeded order."""
    path = SHARED / "sft" / "gsm8k_train.jsonl"
    if not path.is_file():
        pytest.skip("needs ../shared/data (see its README)")
    base = load_records(path).iloc[:2000]
    rows = [{"instruction": q, "output": a} for q, a in zip(base["instruction"], base["output"])]
    rng = np.random.default_rng(3)
    extra = []
    for i in rng.choice(len(rows), 40, replace=False).tolist():
        extra.append({"instruction": "  " + rows[i]["instruction"].upper() + " ", "output": rows[i]["output"]})
    for i, value in enumerate(["ada.lovelace@heronsgate.org", "+44 7700 900123", "4111 1111 1111 1111"]):
        extra += [{"instruction": f"Write to {value} about order {i}.", "output": "Done."}] * 2
    extra += [
        {"instruction": "", "output": "no question"},
        {"instruction": ["a", "list"], "output": "typed"},
        {"instruction": "bell \x07 here", "output": "ok"},
        {"instruction": "long " * 4000, "output": "x"},
        {"instruction": "caf\u00c3\u00a9 mojibake", "output": "ok"},
    ]
    mixed = rows + extra
    order = rng.permutation(len(mixed))
    frame = records_from_rows([mixed[i] for i in order])
    frame.attrs["skipped"] = ["train.jsonl:17: invalid JSON (Expecting value; column 1)"]
    return frame


CHECKS = [
    ("exact_duplicates", {}),
    ("exact_duplicates", {"fields": ["instruction"]}),
    ("pii", {}),
    ("pii", {"kinds": ["email", "credit_card"], "allow": ["re:.*@heronsgate\\.org"]}),
    ("formatting", {"required": ["instruction", "output"], "outlier_z": 3.0}),
    ("formatting", {"max_tokens": 200, "json_output": True}),
]


@pytest.mark.parametrize(("name", "options"), CHECKS)
@pytest.mark.parametrize("size", [7, 333, 5000])
def test_batched_equals_whole(planted: pd.DataFrame, name: str, options: dict, size: int) -> None:
    whole = get_check(name)(**options).run(planted, CheckContext())
    assert whole.flags.any()  # the planted problems are found, so the comparison compares something
    assert_same(whole, run_in_batches(get_check(name)(**options), planted, size))


@pytest.mark.parametrize("name", sorted({name for name, _ in CHECKS}))
def test_one_row_batches_and_a_spilling_store(planted: pd.DataFrame, name: str) -> None:
    part = planted.iloc[:300]
    whole = get_check(name)().run(part, CheckContext())
    assert_same(whole, run_in_batches(get_check(name)(), part, 1, spill=True))


def test_the_store_spills_to_its_own_folder_and_removes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = FeatureStore(memory_limit="64MB")
    folder = store._folder
    assert folder is not None and folder.is_dir()
    import pyarrow as pa

    store.append("t", pa.table({"x": np.arange(10, dtype=np.int64)}))
    store.append("t", pa.table({"x": np.arange(5, dtype=np.int64)}))
    assert store.query('SELECT count(*) AS n FROM "t"')["n"][0] == 15
    assert store.median("t", "x") == float(np.median(np.r_[np.arange(10), np.arange(5)]))
    store.close()
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []  # nothing written where the command ran


def test_small_appends_go_in_together_and_in_order() -> None:
    """Appends are held back and inserted per table at the next read: every row in append order, a table seen by
    :meth:`FeatureStore.has` before its first insert, and appends of another schema inserted one by one."""
    import pyarrow as pa

    with FeatureStore() as store:
        for k in range(50):
            store.append("t", pa.table({"x": np.arange(3 * k, 3 * k + 3, dtype=np.int64)}))
        store.append("u", pa.table({"y": pa.array([1.5, None])}))
        store.append("u", pa.table({"y": pa.array([2, 3], pa.int64())}))  # another schema: DuckDB casts it
        assert store.has("t") and store.has("u") and not store.has("v")
        assert store.query('SELECT x FROM "t"')["x"].tolist() == list(range(150))
        assert store.query('SELECT y FROM "u"')["y"].tolist() == [1.5, None, 2.0, 3.0]
        store.append("t", pa.table({"x": np.array([150], dtype=np.int64)}))  # after a read, appended again
        assert int(store.query('SELECT count(*) AS n FROM "t"')["n"][0]) == 151
        empty = pa.table({"x": np.zeros(0, dtype=np.int64)})
        for _ in range(batch.PENDING_PARTS - 1):  # empty tables count no bytes, but hold memory: bounded by number
            store.append("t", empty)
        assert store._pending_parts == batch.PENDING_PARTS - 1
        store.append("t", empty)
        assert store._pending_parts == 0 and not store._pending


@pytest.mark.parametrize("text", ["4", "-1GB", "0GB", "lots", "4 parsecs", "1e3GB"])
def test_memory_limit_is_checked(text: str) -> None:
    with pytest.raises(UsageError, match="memory limit"):
        parse_memory_limit(text)


def test_memory_limit_spellings() -> None:
    assert parse_memory_limit("4gb") == "4GB"
    assert parse_memory_limit(" 512 MiB ") == "512MiB"
