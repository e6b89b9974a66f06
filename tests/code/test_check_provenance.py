"""The provenance check: a synthetic share above policy and untagged rows are found; clean data passes."""

from __future__ import annotations

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.provenance import ProvenanceCheck
from playbook_lib.data import records_from_rows


def rows(human: int, synthetic: int, mixed: int = 0, untagged: int = 0) -> list[dict]:
    tags = ["human"] * human + ["synthetic"] * synthetic + ["mixed"] * mixed + [None] * untagged
    return [{"instruction": f"q{i}", "output": "a", **({"provenance": t} if t else {})} for i, t in enumerate(tags)]


def test_clean_data_passes() -> None:
    result = ProvenanceCheck().run(records_from_rows(rows(8, 2)), CheckContext())
    assert result.outcome is Outcome.PASS and result.summary["synthetic_share"] == 0.2


def test_synthetic_share_above_policy_warns_and_fails() -> None:
    assert ProvenanceCheck().run(records_from_rows(rows(3, 6, 2)), CheckContext()).outcome is Outcome.WARN
    result = ProvenanceCheck().run(records_from_rows(rows(0, 10)), CheckContext())
    assert result.outcome is Outcome.FAIL and result.summary["synthetic_share"] == 1.0


def test_untagged_rows_are_flagged() -> None:
    result = ProvenanceCheck().run(records_from_rows(rows(8, 0, untagged=2)), CheckContext())
    assert result.flags.tolist() == [False] * 8 + [True, True] and result.outcome is Outcome.WARN
    assert (
        ProvenanceCheck().run(records_from_rows(rows(0, 0, untagged=3)), CheckContext()).outcome
        is Outcome.NOT_EVALUATED
    )
