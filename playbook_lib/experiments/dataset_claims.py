"""The dataset-engineering page's claim on its bundled sample, judged against the rows planted in it.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``). The bundled
``sft_sample.jsonl`` was written for this project with problems planted on purpose
(``playbook_lib/sample_data/README.md`` lists them). :data:`PLANTED_LINES` names the planted rows by their line in
that file, for the checks whose planted rows are unambiguous; each list was read off the file and is tested
against a simple method of its own (``tests/code/test_experiments_dataset_claims.py``: normalised equality for the
duplicates and the copied eval rows, the README's counts for the rest), not against the check it grades.

:func:`judge_planted` scores each check's flags against those rows: recall and precision with 95 % Wilson
intervals, and a rule verdict on the page's sentence *these checks find the planted problems*: one
:class:`~playbook_lib.experiments.verdict.Check` per check, passed when every planted row is flagged, not measured
when the check did not run. Flags on other rows are reported (precision) but do not fail the rule: a row that
shares a template sentence with an eval row, or an off-topic-looking row, is worth a look, not a planted miss.

Near duplicates are left out: a planted near copy and its original form one cluster, and which of the two a
deduplicator keeps is a choice, so there is no single planted answer per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.experiments.verdict import Check, Interval, RuleVerdict, proportion_interval, rule_verdict

#: Lines of ``sft_sample.jsonl`` with a planted problem, per check (the later copy of each duplicate pair).
PLANTED_LINES: dict[str, tuple[int, ...]] = {
    "exact_duplicates": (64, 84, 92, 106, 114, 130),
    "contamination": (40, 46, 100, 104, 116),
    "pii": (43, 49, 88, 107, 121, 123, 135),
    "formatting": (13, 19, 21, 35, 59, 96, 113),
    "relevance": (139, 140, 141, 142),
}


@dataclass(frozen=True)
class PlantedVerdict:
    """Per-check detection of the planted rows, the pooled intervals and the rule verdict."""

    table: pd.DataFrame
    recall: Interval
    precision: Interval
    rule: RuleVerdict

    def markdown(self) -> str:
        return (
            self.rule.markdown()
            + f"\n- pooled over these checks: recall {self.recall}, precision {self.precision} (Wilson, 95 %)"
        )


def judge_planted(
    flagged: Mapping[str, Sequence[int] | np.ndarray],
    planted: Mapping[str, Sequence[int]] = PLANTED_LINES,
) -> PlantedVerdict:
    """Score ``flagged`` (check -> the file lines it flagged) against ``planted`` (module docstring)."""
    rows, checks = [], []
    caught_all = flags_all = planted_all = 0
    for check, truth in planted.items():
        want = {int(x) for x in truth}
        if check not in flagged:
            checks.append(Check(f"{check}: every planted row flagged", None, "the check did not run"))
            continue
        got = {int(x) for x in flagged[check]}
        caught = len(want & got)
        caught_all, flags_all, planted_all = caught_all + caught, flags_all + len(got), planted_all + len(want)
        missed = sorted(want - got)
        rows.append(
            {
                "check": check,
                "planted": len(want),
                "flagged": len(got),
                "caught": caught,
                "recall": caught / len(want) if want else 1.0,
                "precision": caught / len(got) if got else 1.0,
                "missed lines": ", ".join(map(str, missed)),
                "other lines flagged": ", ".join(map(str, sorted(got - want))),
            }
        )
        detail = f"{caught} of {len(want)}" + (f"; missed line {', '.join(map(str, missed))}" if missed else "")
        checks.append(Check(f"{check}: every planted row flagged", not missed, detail))
    return PlantedVerdict(
        pd.DataFrame(rows),
        proportion_interval(caught_all, planted_all),
        proportion_interval(caught_all, flags_all),
        rule_verdict("the checks find the planted problems", checks),
    )
