"""The dataset-engineering page's planted rows, checked by methods of their own, and its verdict on flags."""

from __future__ import annotations

import json
import re

from playbook_lib import sample_data
from playbook_lib.experiments.dataset_claims import PLANTED_LINES, judge_planted
from playbook_lib.experiments.verdict import Verdict


def rows() -> dict[int, dict[str, object]]:
    out = {}
    for n, line in enumerate(sample_data.path("sft_sample.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            out[n] = value
    return out


def norm(value: object) -> str:
    return " ".join(str(value).lower().split())


def test_the_planted_lines_are_what_the_readme_says_found_without_the_checks() -> None:
    data = rows()
    seen: dict[tuple[str, ...], int] = {}
    later_copies = []
    for n, r in data.items():
        key = tuple(norm(r.get(k, "")) for k in ("instruction", "input", "output"))
        if key in seen:
            later_copies.append(n)
        seen.setdefault(key, n)
    assert tuple(later_copies) == PLANTED_LINES["exact_duplicates"]  # 6 exact duplicates
    evals = [json.loads(x) for x in sample_data.path("sft_eval.jsonl").read_text(encoding="utf-8").splitlines() if x]
    eval_keys = {(norm(e["instruction"]), norm(e["output"])) for e in evals}
    copied = [n for n, r in data.items() if (norm(r.get("instruction")), norm(r.get("output"))) in eval_keys]
    assert tuple(copied) == PLANTED_LINES["contamination"]  # 5 rows of sft_eval.jsonl copied into training
    fmt = PLANTED_LINES["formatting"]
    empty = [n for n in fmt if isinstance(data[n]["output"], str) and not str(data[n]["output"]).strip()]
    assert len(empty) == 4 and sum(not isinstance(data[n]["instruction"], str) for n in fmt) == 1
    assert any("Ã" in str(data[n]["output"]) for n in fmt)  # the mojibake output
    assert len(PLANTED_LINES["pii"]) == 7
    assert all(re.search(r"\d|@", str(data[n]["instruction"])) for n in PLANTED_LINES["pii"])
    assert PLANTED_LINES["relevance"] == tuple(sorted(data)[-4:])  # the 4 off-topic rows at the end
    assert "Heronsgate" not in " ".join(str(data[n]["instruction"]) for n in PLANTED_LINES["relevance"])


def test_every_planted_row_flagged_holds_and_extra_flags_only_lower_precision() -> None:
    flagged = {check: list(lines) for check, lines in PLANTED_LINES.items()}
    flagged["contamination"] += [3, 10]
    v = judge_planted(flagged)
    assert v.rule.verdict is Verdict.HELD
    assert v.recall.estimate == 1.0 and v.precision.estimate < 1.0
    row = v.table.set_index("check").loc["contamination"]
    assert row["precision"] == 5 / 7 and row["other lines flagged"] == "3, 10"
    assert "pooled over these checks: recall +1.000" in v.markdown()


def test_one_missed_planted_row_does_not_hold_and_a_check_not_run_is_inconclusive() -> None:
    flagged = {check: list(lines) for check, lines in PLANTED_LINES.items()}
    flagged["relevance"] = [139, 140, 141]
    v = judge_planted(flagged)
    assert v.rule.verdict is Verdict.DID_NOT_HOLD
    assert [c.name for c in v.rule.failed] == ["relevance: every planted row flagged"]
    assert "missed line 142" in v.rule.markdown()
    partial = {check: list(lines) for check, lines in PLANTED_LINES.items() if check != "pii"}
    w = judge_planted(partial)
    assert w.rule.verdict is Verdict.INCONCLUSIVE and "pii" not in set(w.table.check)
