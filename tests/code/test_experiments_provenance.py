"""Human-vs-synthetic measures on hand-made rows: style markers, diversity, duplicates, spread, tagging."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook_lib.checks import Outcome
from playbook_lib.errors import UsageError
from playbook_lib.experiments.human_vs_synthetic import (
    MARGINS,
    STYLE_MARKERS,
    bootstrap_difference,
    check_errors,
    common_budget,
    compare_pair,
    consistent_difference,
    duplicate_rates,
    fold_differences,
    group_separation,
    judge_differences,
    lexical_diversity,
    load_source,
    mean_pairwise_cosine,
    profile_sources,
    provenance_report,
    separation_gap,
    split_folds,
    style_markers,
    truncate_words,
)
from playbook_lib.experiments.verdict import Interval, Verdict, any_holds, differs


def frame_of(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"source": s, "provenance": p, "instruction": f"task {i}", "input": "", "output": o}
            for i, (s, p, o) in enumerate(rows)
        ]
    )


def test_style_markers_by_hand() -> None:
    texts = [
        "Sure! Here is the plan.",
        "- one\n- two",
        "It might rain, in general.",
        "#### 42",
        "1. first step",
        "I think so.",
        "In summary, yes.",
        "**Bold** claim",
    ]
    shares = style_markers(texts)
    assert set(shares) == set(STYLE_MARKERS)
    assert shares["stock_opener"] == 1 / 8  # only the first starts with a stock opener
    assert shares["list_or_markdown"] == 3 / 8  # bullets, numbered list, bold; "#### 42" (GSM8K's answer mark) is not
    assert shares["hedging"] == 1 / 8
    assert shares["closing_summary"] == 1 / 8
    assert shares["first_person"] == 1 / 8
    assert style_markers([]) == {name: 0.0 for name in STYLE_MARKERS}


def test_lexical_diversity_on_an_equal_budget() -> None:
    varied = ["alpha beta gamma delta", "epsilon zeta eta theta"]
    repetitive = ["alpha beta alpha beta", "alpha beta alpha beta"]
    a, b = lexical_diversity(varied, 6), lexical_diversity(repetitive, 6)
    assert a["budget_tokens"] == b["budget_tokens"] == 6
    assert a["distinct_1"] == 1.0 and b["distinct_1"] == pytest.approx(2 / 6)
    assert a["mtld"] > b["mtld"]


def test_common_budget_is_the_smallest_source() -> None:
    frame = frame_of([("a", "human", "one two three"), ("a", "human", "four"), ("b", "synthetic", "x y")])
    assert common_budget(frame) == 2


def test_duplicate_rates_use_the_registered_checks() -> None:
    base = "the quick brown fox jumps over the lazy dog near the old river bank today"
    frame = frame_of(
        [
            ("x", "human", base),
            ("x", "human", base.upper()),
            ("x", "human", base + " again"),
            ("x", "human", "a completely different answer about tax forms and deadlines"),
        ]
    )
    rates = duplicate_rates(frame)
    assert rates["exact_duplicate_rate"] == 0.25  # one removable copy of four
    assert rates["near_duplicate_rate"] == 0.5  # the exact copy and the one-word extension
    clean = duplicate_rates(frame.iloc[[0, 3]])
    assert clean == {"exact_duplicate_rate": 0.0, "near_duplicate_rate": 0.0}


def test_mean_pairwise_cosine_by_hand() -> None:
    assert mean_pairwise_cosine(np.array([[1.0, 0.0], [0.0, 2.0]])) == pytest.approx(0.0)
    assert mean_pairwise_cosine(np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 1.0]])) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        mean_pairwise_cosine(np.ones((1, 3)))


def test_group_separation_and_bootstrap() -> None:
    profile = pd.DataFrame(
        {
            "provenance": ["human", "human", "synthetic", "synthetic"],
            "m": [1.0, 2.0, 3.0, 4.0],
            "k": [1.0, 5.0, 3.0, 4.0],
        },
        index=["h1", "h2", "s1", "s2"],
    )
    assert group_separation(profile, "m")["separated"] and group_separation(profile, "m")["synthetic_is"] == "higher"
    assert not group_separation(profile, "k")["separated"]
    diff, lo, hi = bootstrap_difference([1, 2, 3] * 20, [11, 12, 13] * 20, n_boot=200)
    assert diff == 10.0 and lo > 5 and hi < 15
    diff, lo, hi = bootstrap_difference([1, 2, 3] * 20, [3, 2, 1] * 20, n_boot=200)
    assert diff == 0.0 and lo < 0 < hi


def test_compare_pair_and_profile() -> None:
    frame = frame_of(
        [("h", "human", "I think it might work. " * 3)] * 30
        + [("s", "synthetic", f"Sure, here is answer number {i}.") for i in range(30)]
    )
    table = compare_pair(frame, "h", "s", n_boot=200)
    assert table.loc["share_stock_opener", "difference"] == 1.0 and table.loc["share_stock_opener", "clear"]
    assert table.loc["share_hedging", "difference"] == -1.0
    assert not table.loc["share_closing_summary", "clear"]
    profile = profile_sources(frame, budget=40, progress=False)
    assert list(profile.index) == ["h", "s"] and profile.loc["h", "exact_duplicate_rate"] == pytest.approx(29 / 30)
    assert profile.loc["s", "stock_opener"] == 1.0 and "mean_pairwise_cosine" not in profile.columns


def test_provenance_report_counts_tags_and_untagged_rows() -> None:
    frame = frame_of([("h", "human", "a")] * 6 + [("s", "synthetic", "b")] * 4)
    result = provenance_report(frame)
    assert result.outcome is Outcome.PASS and result.summary["synthetic_share"] == 0.4
    stripped = provenance_report(frame, untagged=["s"])
    assert stripped.summary["untagged"] == 4 and stripped.summary["synthetic_share"] == 0.0
    assert stripped.outcome is Outcome.WARN  # 40 % untagged: above max_untagged 0, below fail_untagged 0.5


def test_truncate_words_and_unknown_source(tmp_path) -> None:
    assert truncate_words("a  b c\nd", 3) == "a b c"
    with pytest.raises(UsageError, match="valid: lima"):
        load_source(tmp_path, "nope")


def test_locate_sft_data(tmp_path, monkeypatch) -> None:
    from playbook_lib.errors import DataError
    from playbook_lib.experiments.human_vs_synthetic import locate_sft_data

    (tmp_path / "shared" / "data" / "sft").mkdir(parents=True)
    (tmp_path / "repo" / "notebooks").mkdir(parents=True)
    monkeypatch.delenv("PLAYBOOK_SHARED_DATA", raising=False)
    monkeypatch.chdir(tmp_path / "repo" / "notebooks")
    assert locate_sft_data() == tmp_path / "shared" / "data" / "sft"
    assert locate_sft_data(tmp_path / "repo") == tmp_path / "repo"
    with pytest.raises(DataError, match="not found"):
        locate_sft_data(tmp_path / "missing")
    monkeypatch.setenv("PLAYBOOK_SHARED_DATA", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere" / "sft").mkdir(parents=True)
    assert locate_sft_data() == tmp_path / "elsewhere" / "sft"


def test_import_loads_nothing_heavy() -> None:
    import subprocess
    import sys

    heavy = ["torch", "sentence_transformers", "transformers", "matplotlib", "datasketch"]
    code = (
        "import sys, playbook_lib.experiments.collapse, playbook_lib.experiments.human_vs_synthetic, "
        "playbook_lib.experiments.lexical, playbook_lib.experiments.provenance_claim\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at import time: {out}"


def test_plots_draw(tmp_path) -> None:
    from playbook_lib.experiments.human_vs_synthetic import plot_lengths, plot_profile

    frame = frame_of([("lima", "human", "one two three"), ("gpteacher_roleplay", "synthetic", "four five")])
    fig = plot_lengths(frame)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["lima", "gpteacher_roleplay"]
    profile = profile_sources(frame, budget=2, progress=False)
    fig = plot_profile(profile, ["median_tokens", "distinct_1"])
    assert [ax.get_title() for ax in fig.axes[:2]] == ["median_tokens", "distinct_1"]


def test_split_folds_are_disjoint_and_balanced() -> None:
    frame = frame_of([("h", "human", f"h{i}") for i in range(12)] + [("s", "synthetic", f"s{i}") for i in range(7)])
    folds = split_folds(frame, 3)
    assert [len(f) for f in folds] == [6, 6, 6]
    assert all((f["source"] == "h").sum() == 4 and (f["source"] == "s").sum() == 2 for f in folds)
    outputs = [o for f in folds for o in f["output"]]
    assert len(outputs) == len(set(outputs))
    with pytest.raises(ValueError):
        split_folds(frame_of([("h", "human", "a")] * 2), 3)


def test_fold_differences_by_hand() -> None:
    frame = frame_of(
        [("h", "human", "one two three four")] * 10 + [("s", "synthetic", "Sure, one two three four five six")] * 10
    )
    table = fold_differences(split_folds(frame, 5), "h", "s")
    assert list(table.index) == list(MARGINS) and table.shape == (len(MARGINS), 5)
    assert (table.loc["median_tokens"] == 3.0).all() and (table.loc["share_stock_opener"] == 1.0).all()
    assert (table.loc["share_hedging"] == 0.0).all()


def test_differs_and_consistent_difference_on_constructed_intervals() -> None:
    up, down = Interval(0.3, 0.2, 0.4, 5), Interval(-0.3, -0.4, -0.2, 5)
    small, straddle = Interval(0.0, -0.02, 0.02, 5), Interval(0.05, -0.01, 0.11, 5)
    assert differs(up, 0.05) is Verdict.HELD and differs(down, 0.05) is Verdict.HELD
    assert differs(small, 0.05) is Verdict.DID_NOT_HOLD and differs(straddle, 0.05) is Verdict.INCONCLUSIVE
    assert consistent_difference([up, up], 0.05) is Verdict.HELD
    assert consistent_difference([up, down], 0.05) is Verdict.DID_NOT_HOLD  # both clear, opposite ways
    assert consistent_difference([up, small], 0.05) is Verdict.DID_NOT_HOLD
    assert consistent_difference([up, straddle], 0.05) is Verdict.INCONCLUSIVE
    assert any_holds([Verdict.DID_NOT_HOLD, Verdict.HELD]) is Verdict.HELD
    assert any_holds([Verdict.DID_NOT_HOLD, Verdict.INCONCLUSIVE]) is Verdict.INCONCLUSIVE
    assert any_holds([Verdict.DID_NOT_HOLD] * 2) is Verdict.DID_NOT_HOLD


def test_judge_differences_on_constructed_folds() -> None:
    rng = np.random.default_rng(0)
    base = pd.DataFrame({f"fold_{i}": {m: 0.0 for m in MARGINS} for i in range(5)})
    a, b = base.copy(), base.copy()
    a.loc["share_first_person"] = b.loc["share_first_person"] = 0.3 + rng.normal(0, 0.01, 5)  # held
    a.loc["median_tokens"], b.loc["median_tokens"] = 50.0 + rng.normal(0, 1, 5), -50.0 + rng.normal(0, 1, 5)
    a.loc["share_hedging"] = b.loc["share_hedging"] = rng.normal(0.05, 0.2, 5)  # noisy: inconclusive
    judged = judge_differences({("h1", "s"): a, ("h2", "s"): b})
    effect = judged["provenance effect"]
    assert effect["share_first_person"] == "held" and effect["median_tokens"] == "did not hold"
    assert effect["share_hedging"] == "inconclusive" and effect["share_stock_opener"] == "did not hold"
    assert judged.loc["median_tokens", "vs h1"] == "held" and judged.loc["median_tokens", "vs h2"] == "held"


def test_separation_gap_signs() -> None:
    profile = pd.DataFrame(
        {"provenance": ["human", "human", "synthetic", "synthetic"], "m": [1.0, 2.0, 3.0, 4.0], "k": [1, 5, 3, 4]},
        index=["h1", "h2", "s1", "s2"],
    )
    assert separation_gap(profile, "m") == 1.0 and separation_gap(profile, "k") == -2.0


def test_check_errors_are_zero_when_the_check_counts_right() -> None:
    frame = frame_of([("h", "human", "a")] * 6 + [("s", "synthetic", "b")] * 4)
    errors = check_errors(frame, ["s"])
    assert errors == {"tagged_share_error": 0.0, "untagged_share_error": 0.0}
    assert check_errors(frame, [])["untagged_share_error"] == 0.0
