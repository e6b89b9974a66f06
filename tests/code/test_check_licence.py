"""The licence check: missing and disallowed licence/provenance values are found; clean data passes; a dataset-level
licence declared once (in the item or with ``--licence``) is inherited by rows without their own; with none at all
the item is not evaluated."""

from __future__ import annotations

import pytest

from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checklist.run import run_checklist
from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.compliance import LicenceCheck
from playbook_lib.data import records_from_rows
from playbook_lib.errors import UsageError

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


# ---------------------------------------------------------------- a licence declared once for the dataset

UNTAGGED = [{"instruction": f"q{i}", "output": "a", "provenance": "human"} for i in range(8)]


def test_a_licence_declared_in_the_item_is_inherited_by_every_row_without_one() -> None:
    result = LicenceCheck(allowed=ALLOWED, declared="MIT").run(records_from_rows(UNTAGGED), CheckContext())
    assert result.outcome is Outcome.PASS and not result.flags.any()
    assert result.summary["declared"] == "MIT" and result.summary["inherited"] == 8
    assert "licence 'MIT' declared in this item, inherited by 8 rows" in result.message


def test_a_licence_declared_on_the_command_line_is_inherited_too() -> None:
    result = LicenceCheck(allowed=ALLOWED).run(records_from_rows(UNTAGGED), CheckContext(licence="CC-BY-4.0"))
    assert result.outcome is Outcome.PASS and result.summary["inherited"] == 8
    assert "declared with --licence" in result.message
    # the item's own declaration wins over the command line's
    item = LicenceCheck(allowed=ALLOWED, declared="proprietary")
    assert item.run(records_from_rows(UNTAGGED), CheckContext(licence="MIT")).outcome is Outcome.FAIL


def test_without_any_licence_the_item_is_not_evaluated_and_says_how_to_supply_one() -> None:
    for check in (LicenceCheck(), LicenceCheck(allowed=ALLOWED)):
        result = check.run(records_from_rows(UNTAGGED), CheckContext())
        assert result.outcome is Outcome.NOT_EVALUATED and not result.flags.any()
        assert "--licence NAME" in result.message and "declared:" in result.message
        assert "licence column" in result.message
    blank = [{**r, "licence": " "} for r in UNTAGGED]  # blank values are no licence either
    assert LicenceCheck().run(records_from_rows(blank), CheckContext()).outcome is Outcome.NOT_EVALUATED


def test_a_declared_licence_that_is_not_allowed_fails_every_row_that_inherits_it() -> None:
    rows = UNTAGGED + [{"instruction": "own", "output": "a", "licence": "MIT", "provenance": "human"}]
    result = LicenceCheck(allowed=ALLOWED, declared="proprietary").run(records_from_rows(rows), CheckContext())
    assert result.outcome is Outcome.FAIL
    assert result.flags.tolist() == [True] * 8 + [False]
    assert result.summary["disallowed"] == {"licence": {"proprietary": 8}}
    assert result.examples[0]["reason"] == "declared licence 'proprietary' not allowed"
    assert result.details[0] == {"reason": "declared licence 'proprietary' not allowed"} and 8 not in result.details
    assert "(not allowed: CC-BY-4.0, MIT)" in result.message


def test_a_rows_own_licence_wins_over_the_declaration() -> None:
    rows = UNTAGGED[:4] + [{"instruction": "x", "output": "y", "licence": "GPL-3.0", "provenance": "human"}]
    result = LicenceCheck(allowed=ALLOWED, declared="MIT").run(records_from_rows(rows), CheckContext(licence="MIT"))
    assert result.flags.tolist() == [False] * 4 + [True]
    assert result.summary["disallowed"] == {"licence": {"GPL-3.0": 1}} and result.summary["inherited"] == 4


def test_only_the_licence_field_inherits_the_declaration() -> None:
    rows = [{"instruction": f"q{i}", "output": "a"} for i in range(4)]  # no provenance either
    result = LicenceCheck(allowed=ALLOWED, declared="MIT").run(records_from_rows(rows), CheckContext(licence="MIT"))
    assert result.flags.all() and result.summary["missing"] == {"provenance": 4}
    assert "licence" not in result.summary["missing"]


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"declared": ""}, "declared must be a licence name"),
        ({"declared": 3}, "declared must be a licence name"),
        ({"allowed": {"provenance": ["human"]}, "declared": "MIT"}, "declared needs 'licence'"),
    ],
)
def test_a_bad_declaration_is_a_usage_error(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        LicenceCheck(**options)  # type: ignore[arg-type]


def test_the_checklist_item_declares_the_licence() -> None:
    spec = parse_checklist_text(
        "name: x\nitems:\n  - {id: l, title: licence, check: licence, allowed: {licence: [MIT]}, declared: MIT}\n"
    )
    report = run_checklist(spec, records_from_rows(UNTAGGED), CheckContext())
    assert report.items[0].result.outcome is Outcome.PASS
