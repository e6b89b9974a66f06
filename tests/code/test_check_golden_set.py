"""The golden_set check: no golden set fails, a small one warns, a large enough one passes."""

from __future__ import annotations

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.splits import GoldenSetCheck
from playbook_lib.data import records_from_rows

TRAIN = records_from_rows([{"instruction": f"q{i}", "output": "a"} for i in range(5)])


def test_missing_golden_set_is_not_evaluated_and_says_how_to_supply_it() -> None:
    result = GoldenSetCheck().run(TRAIN, CheckContext())
    assert result.outcome is Outcome.NOT_EVALUATED and "--golden FILE" in result.message


def test_an_empty_golden_file_fails() -> None:
    empty = TRAIN.iloc[:0]
    assert GoldenSetCheck().run(TRAIN, CheckContext(golden=empty)).outcome is Outcome.FAIL


def test_golden_file_or_tagged_rows_count() -> None:
    golden = records_from_rows([{"instruction": f"failure {i}", "output": "fix"} for i in range(60)])
    assert GoldenSetCheck().run(TRAIN, CheckContext(golden=golden)).outcome is Outcome.PASS
    tagged = records_from_rows([{"instruction": f"g{i}", "output": "a", "split": "golden"} for i in range(10)])
    result = GoldenSetCheck().run(tagged, CheckContext())
    assert result.outcome is Outcome.WARN and result.summary["golden_examples"] == 10
