"""The threshold explorer of the *Production checklists* page grades the measured metric again."""

from __future__ import annotations

from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checklist.run import run_checklist
from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.data import records_from_rows
from playbook_lib.widgets.checklist import regrade, threshold_explorer

CHECKLIST = """
name: t
description: d
items:
  - id: dup
    title: duplicates
    check: exact_duplicates
    warn: 0.0
    fail: 0.5
  - id: qty
    title: quantity
    check: quantity
    method: validation
"""


def report():
    rows = [{"instruction": f"q{i}", "output": f"a{i}"} for i in range(9)] + [{"instruction": "q0", "output": "a0"}]
    return run_checklist(parse_checklist_text(CHECKLIST), records_from_rows(rows), CheckContext())


def test_regrade_moves_with_the_thresholds_only() -> None:
    dup, qty = report().items  # duplicate_rate 0.1; 10 examples
    assert dup.result.outcome == Outcome.WARN == regrade(dup, 0.0, 0.5)
    assert regrade(dup, 0.0, 0.05) == Outcome.FAIL
    assert regrade(dup, 0.2, 0.5) == Outcome.PASS
    assert regrade(qty, 20, 5) == Outcome.WARN and regrade(qty, 5, 2) == Outcome.PASS  # "below" direction


def test_explorer_grades_every_setting_on_its_grid() -> None:
    dup = report().items[0]  # duplicate_rate 0.1, warn > 0.0, fail > 0.5
    explorer = threshold_explorer(dup)
    assert explorer.initial() == {"warn": 0.0, "fail": 0.5}
    assert "WARN" in explorer.output(warn=0.0, fail=0.5)
    assert "PASS" in explorer.output(warn=0.2, fail=0.5)
    assert "FAIL" in explorer.output(warn=0.0, fail=0.05)
    assert len(explorer) == len(explorer.controls[0].values) ** 2
    assert "warn must be &lt;= fail" in explorer.output(warn=0.2, fail=0.05)
    for warn in explorer.controls[0].values:
        for fail in explorer.controls[1].values:
            if warn > fail:
                assert "not a valid pair" in explorer.output(warn=warn, fail=fail)
                continue
            expected = regrade(dup, float(warn), float(fail)).value.upper()
            assert f">{expected}</b>" in explorer.output(warn=warn, fail=fail)
    page = explorer._repr_html_()
    assert "data-pb-kind='checklist-threshold'" in page and "exact_duplicates" in page


def test_live_explorer_regrades_on_slider_change() -> None:
    import ipywidgets

    dup = report().items[0]
    box = threshold_explorer(dup).live()
    sliders, html = box.children
    assert isinstance(html, ipywidgets.HTML) and "WARN" in html.value
    sliders.children[0].value = 0.2
    assert "PASS" in html.value


def test_the_slider_labels_show_the_comparison_once_escaped() -> None:
    dup, qty = report().items
    for item, sign in ((dup, "&gt;"), (qty, "&lt;")):
        page = threshold_explorer(item)._repr_html_()
        assert f"aria-label='warn {sign}'" in page and f"aria-label='fail {sign}'" in page  # shown: "warn >"
        assert "&amp;gt;" not in page and "&amp;lt;" not in page
