"""The pii check's false-alarm rate on clean public data (``../shared/data/sft``, nothing copied into the repository),
and its recall on the same rows with real-looking PII planted.

Measured with the default check (share of rows flagged; every remaining flag read by hand):

========================================  ======  =======  ==========================================================
dataset                                    rows   flagged  what is left
========================================  ======  =======  ==========================================================
LIMA                                       1,029   2 (0.19 %)  two public office numbers that are not toll-free (a
                                                            city's paratransit booking line, an agency's fax line):
                                                            false, but nothing in the text tells them from a person's
GSM8K train / test                         7,473 / 1,319  0 / 0
Alpaca seed tasks                            175    0
GPTeacher codegen                          4,535   1 (0.02 %)  ``bob@gmail.com``, ``dan@gmail.com`` in a made-up CSV:
                                                            real-looking addresses at a real provider, counted on
                                                            purpose
GPTeacher roleplay                         1,923    0
GPTeacher toolformer (5 files)        2,396-7,673   0
========================================  ======  =======  ==========================================================

Before the documentation and placeholder values were left out (issue 18): LIMA 15 rows (1.46 %), GPTeacher codegen
69 (1.52 %), toolformer 3-4 rows (0.05-0.13 %).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook_lib.checks import CheckContext
from playbook_lib.checks.compliance import PiiCheck
from playbook_lib.data import load_records
from playbook_lib.text.pii_allow import find_personal
from tests.conftest import need

CLEAN = [
    "lima_llamafactory.json",
    "gsm8k_train.jsonl",
    "gsm8k_test.jsonl",
    "alpaca_seed_tasks.jsonl",
    "gpteacher_codegen-instruct.json",
    "gpteacher_roleplay-simple-deduped.json",
    "gpteacher_toolformer-dedupe-only.json",
    "gpteacher_toolformer-similarity-0.6.json",
    "gpteacher_toolformer-similarity-0.7.json",
    "gpteacher_toolformer-similarity-0.8.json",
    "gpteacher_toolformer-similarity-0.9.json",
]
MAX_FALSE_ALARM_RATE = 0.005
#: Real-looking values, one per kind, planted into rows that hold documentation values.
PLANTED = [
    "jane.doe@corp-mail.net",
    "+44 20 7123 4567",
    "415-623-4411",
    "81.2.69.142",
    "2a02:8010:6f3c::17",
    "4111 1111 1111 1111",
    "GB82 WEST 1234 5698 7654 32",
    "078-05-1120",
    "api_key = 'Zx81kq93LmQ0pVb7'",
]


def load(shared_data: Path, name: str) -> pd.DataFrame:
    path = shared_data / "sft" / name
    need(path.is_file(), f"{path} not found")
    return load_records(path)


def test_false_alarm_rate_on_clean_data_is_at_most_half_a_percent(shared_data: Path) -> None:
    rates: dict[str, tuple[int, int]] = {}
    for name in CLEAN:
        records = load(shared_data, name)
        result = PiiCheck().run(records, CheckContext())
        rates[name] = (int(result.flags.sum()), len(records))
    print("\npii false alarms (rows flagged on clean data):")
    for name, (flagged, n) in rates.items():
        print(f"  {name:44} {flagged:3d} / {n:5d} = {flagged / n:.3%}")
    too_many = {name: f"{f / n:.3%}" for name, (f, n) in rates.items() if f / n > MAX_FALSE_ALARM_RATE}
    assert not too_many, too_many
    # the measured numbers of the module docstring: a regression either way shows up here
    assert rates["lima_llamafactory.json"][0] == 2 and rates["gpteacher_codegen-instruct.json"][0] == 1
    assert sum(f for f, _ in rates.values()) == 3


@pytest.mark.parametrize("name", ["lima_llamafactory.json", "gpteacher_codegen-instruct.json"])
def test_rows_with_documentation_values_still_show_planted_pii(shared_data: Path, name: str) -> None:
    """Every row where the check left documentation or placeholder values out (example.com, 192.168.1.1, 0.0.0.0,
    your_api_key ...) is flagged again once a real-looking value of any kind is added to it."""
    records = load(shared_data, name)
    check = PiiCheck()
    before = check.run(records, CheckContext())
    ignored_rows = [i for i in range(len(records)) if not before.flags[i] and _has_ignored(records.iloc[i])]
    assert len(ignored_rows) >= 10, len(ignored_rows)
    planted = records.copy()
    for j, i in enumerate(ignored_rows):
        value = PLANTED[j % len(PLANTED)]
        planted.loc[i, "output"] = f"{planted.loc[i, 'output']}\nReach the owner: {value}."
    after = check.run(planted, CheckContext())
    assert after.flags[ignored_rows].all(), [i for i in ignored_rows if not after.flags[i]]
    # nothing else changed
    others = np.setdiff1d(np.arange(len(records)), ignored_rows)
    assert (after.flags[others] == before.flags[others]).all()


def _has_ignored(row: pd.Series) -> bool:
    texts = [row[f] for f in ("instruction", "input", "output") if isinstance(row.get(f), str)]
    return any(find_personal(t)[1] for t in texts)
