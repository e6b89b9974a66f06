"""The licence check: missing and disallowed licence/provenance values are found; clean data passes."""

from __future__ import annotations

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.compliance import LicenceCheck
from playbook_lib.data import records_from_rows

ALLOWED = {"licence": ["CC-BY-4.0", "MIT"], "provenance": ["human", "synthetic", "mixed"]}
CLEAN = [{"instruction": f"q{i}", "output": "a", "licence": "MIT", "provenance": "human"} for i in range(10)]


def test_clean_data_passes() -> None:
    assert LicenceCheck(allowed=ALLOWED).run(records_from_rows(CLEAN), CheckContext()).outcome is Outcome.PASS


def test_missing_and_disallowed_values_are_flagged() -> None:
    rows = CLEAN + [
        {"instruction": "x", "output": "y", "licence": "proprietary", "provenance": "human"},
        {"instruction": "x2", "output": "y", "provenance": "scraped"},
    ]
    result = LicenceCheck(allowed=ALLOWED).run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [False] * 10 + [True, True]
    assert result.summary["missing"] == {"licence": 1}
    assert result.summary["disallowed"] == {"licence": {"proprietary": 1}, "provenance": {"scraped": 1}}
    assert result.outcome is Outcome.FAIL
