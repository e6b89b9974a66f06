"""widgets.data_checks: the kernel-free controls of exp_04 (contamination), exp_05 (coverage) and exp_08
(formatting faults). Each control's output changes with its setting, and what it shows equals the library called
directly: the contamination check's own flags, the uncovered counts per slice, the loaders' and checks' report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.coverage import nearest_similarity, uncovered_by_slice
from playbook_lib.experiments.format_faults import CORRUPTIONS, _prepare, corrupt_lines, fault_report
from playbook_lib.experiments.leakage import containment_scores, flags_at, train_flags
from playbook_lib.experiments.runs import VectorTable
from playbook_lib.experiments.tasks import TextTask, load_task, split_task, stratified_sample
from playbook_lib.widgets.data_checks import (
    contamination_explorer,
    contamination_html,
    coverage_explorer,
    coverage_html,
    faults_html,
    format_fault_explorer,
)

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()


def _sentence(i: int, n: int = 14) -> str:
    """A request of ``n`` words, distinct per ``i`` (a shifted walk through the word list plus a number)."""
    return " ".join(WORDS[(i * 3 + k * (1 + i % 5)) % len(WORDS)] for k in range(n)) + f" item{i}"


def _task(texts: list[str], labels: list[int], names: tuple[str, ...] = ("a", "b")) -> TextTask:
    return TextTask("t", texts, np.array(labels), list(names), [f"f:{i + 1}" for i in range(len(texts))])


@pytest.fixture(scope="module")
def contaminated() -> tuple[TextTask, TextTask, np.ndarray, list[str]]:
    test_texts = [_sentence(i) for i in range(12)]
    train_texts = [_sentence(100 + i) for i in range(20)]
    modes = [""] * 20
    # an exact copy, a re-cased copy, a copy with one word dropped, a half copy
    train_texts += [test_texts[0], test_texts[1].upper(), " ".join(test_texts[2].split()[1:]), test_texts[3][:40]]
    modes += ["none", "case_space", "drop_word", "half"]
    # boilerplate: a phrase shared by many training rows and one test row
    shared = "please route this request to the proper tool now thanks"
    train_texts += [f"{shared} {WORDS[i]}" for i in range(12)]
    modes += [""] * 12
    test_texts.append(f"{shared} zulu")
    truth = np.array([m != "" for m in modes])
    train = _task(train_texts, [i % 2 for i in range(len(train_texts))])
    test = _task(test_texts, [i % 2 for i in range(len(test_texts))])
    return train, test, truth, modes


@pytest.mark.parametrize("ngram", [1, 2, 3, 5, 13])
def test_thresholded_scores_are_the_contamination_checks_flags(contaminated, ngram: int) -> None:
    train, test, _, _ = contaminated
    scores = containment_scores(train, test, ngram)
    assert scores[20] == 1.0 and scores[21] == 1.0  # exact copies, after normalisation
    for threshold in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0):
        check = train_flags(
            "contamination",
            {"ngram": ngram, "fields": ["instruction"], "min_prompt_containment": threshold},
            train,
            test,
        )
        assert (flags_at(scores, threshold) == check).all(), (ngram, threshold)


def test_boilerplate_is_not_counted(contaminated) -> None:
    train, test, _, _ = contaminated
    scores = containment_scores(train, test, 5)
    assert (scores[24:] == 0).all()  # the phrase is in 12 training rows: more than the check's 10, so boilerplate


def test_contamination_explorer_shows_the_checks_flags_at_every_setting(contaminated) -> None:
    train, test, truth, modes = contaminated
    explorer = contamination_explorer(train, test, truth, modes, ngrams=(3, 13), thresholds=(0.0, 0.5, 1.0))
    assert explorer.initial() == {"ngram": 13, "threshold": 0.0}
    outputs = set()
    for ngram in (3, 13):
        for threshold in (0.0, 0.5, 1.0):
            shown = explorer.output(ngram=ngram, threshold=threshold)
            flags = train_flags(
                "contamination",
                {"ngram": ngram, "fields": ["instruction"], "min_prompt_containment": threshold},
                train,
                test,
            )
            assert f"data-pb-flagged='{int(flags.sum())}'" in shown
            assert f"data-pb-caught='{int((flags & truth).sum())}'" in shown
            scores = explorer.inputs["scores"][str(ngram)]  # type: ignore[index]
            assert shown == contamination_html(scores, truth, modes, ngram, threshold)
            outputs.add(shown)
    assert len(outputs) > 2
    json.dumps(explorer.inputs)


def test_contamination_html_counts_per_kind() -> None:
    shown = contamination_html(
        [0.5, 1.0, 0.2, 0.0, 0.6], [True, True, True, False, False], ["drop_word", "none", "drop_word", "", ""], 5, 0.5
    )
    assert "flags <b>3</b> of 5 training rows, <b>2</b> of the 3 planted" in shown
    assert "recall <b>0.67</b>, precision <b>0.67</b>; 1 flag on rows nobody planted" in shown
    assert "<td>drop_word</td><td>2</td><td>1</td><td>50%</td>" in shown
    assert shown.index("<td>none</td>") < shown.index("<td>drop_word</td>")  # PERTURBATIONS' order


def _vectors() -> tuple[VectorTable, TextTask, TextTask]:
    """Two tools on a circle: training rows at angles, queries at known angles from them."""
    angles = {"t0": 0.0, "t1": 0.1, "t2": 1.5, "q0": 0.05, "q1": 1.45, "q2": 3.0, "q3": 0.2}
    texts = list(angles)
    vectors = np.array([[np.cos(a), np.sin(a)] for a in angles.values()], dtype=np.float32)
    table = VectorTable(texts, vectors)
    train = _task(["t0", "t1", "t2"], [0, 0, 1])
    queries = _task(["q0", "q1", "q2", "q3"], [0, 1, 1, 1])
    return table, train, queries


def test_nearest_similarity_any_and_same_tool() -> None:
    table, train, queries = _vectors()
    anywhere = nearest_similarity(train, queries, table)
    assert anywhere == pytest.approx([np.cos(0.05), np.cos(0.05), np.cos(1.5), np.cos(0.1)], abs=1e-6)
    same = nearest_similarity(train, queries, table, same_label=True)
    assert same == pytest.approx([np.cos(0.05), np.cos(0.05), np.cos(1.5), np.cos(1.3)], abs=1e-6)
    only_a = _task(["t0", "t1"], [0, 0])
    assert nearest_similarity(only_a, queries, table, same_label=True)[1:].tolist() == [-1.0, -1.0, -1.0]
    with pytest.raises(UsageError):
        nearest_similarity(_task([], []), queries, table)


def test_uncovered_by_slice_and_when_a_slice_stands_out() -> None:
    labels = [0] * 40 + [1] * 40
    sims = [0.2] * 30 + [0.9] * 10 + [0.2] * 2 + [0.9] * 38
    found = uncovered_by_slice(sims, labels, ["a", "b"], "a", 0.5)
    assert found.table[["slice", "queries", "uncovered"]].values.tolist() == [["a", 40, 30], ["b", 40, 2]]
    assert found.stands_out and found.target.estimate == 0.75 and found.uncovered_share == 32 / 80
    assert not uncovered_by_slice(sims, labels, ["a", "b"], "b", 0.5).stands_out
    assert not uncovered_by_slice(sims, labels, ["a", "b"], "a", 0.1).stands_out  # nothing uncovered
    with pytest.raises(UsageError):
        uncovered_by_slice(sims, labels, ["a", "b"], "c", 0.5)


def test_coverage_explorer_counts_what_the_library_counts() -> None:
    table, train, queries = _vectors()
    fewer = _task(["t0", "t2"], [0, 1])
    explorer = coverage_explorer({"all": train, "fewer": fewer}, queries, table, "b", thresholds=(0.5, 0.9, 0.99))
    assert explorer.initial() == {"threshold": 0.5, "training": "all", "search": "any"}
    outputs = set()
    for name, data in (("all", train), ("fewer", fewer)):
        for search in ("any", "same"):
            sims = nearest_similarity(data, queries, table, search == "same")
            for threshold in (0.5, 0.9, 0.99):
                shown = explorer.output(threshold=threshold, training=name, search=search)
                rounded = [round(float(v), 6) for v in sims]
                assert shown == coverage_html(
                    rounded, queries.labels, queries.label_names, "b", threshold, name, search
                )
                uncovered = int((sims < threshold).sum())
                assert f": {uncovered} of 4 traffic queries" in shown
                assert ("embedding_coverage</code> (warn" in shown) == (search == "any")
                outputs.add(shown)
    assert len(outputs) > 6
    json.dumps(explorer.inputs)


_LINES = [f"{_sentence(i, 8)} please" for i in range(40)]
TRAIN = _task(_LINES, [i % 2 for i in range(40)], ("news", "weather"))


def test_fault_report_counts_the_planted_faults(tmp_path: Path) -> None:
    clean = fault_report(TRAIN, 0.0)
    assert sum(clean.planted.values()) == 0 and clean.flagged == 0 and not clean.crashed
    assert clean.shifted_labels == 0 and clean.outcomes == {"formatting": "pass", "sft_pairs": "pass"}
    report = fault_report(TRAIN, 0.2, seed=3, folder=tmp_path)
    _, applied = corrupt_lines(TRAIN, 0.2, seed=3)
    assert report.planted == {k: int((applied == k).sum()) for k in CORRUPTIONS} and sum(report.planted.values()) == 8
    assert report.caught["either"] == report.planted and report.false_flags == 0
    assert report.crashed and report.unreadable == report.dropped_silently == report.planted["truncated_json"]
    assert report.shifted_labels > 0
    assert fault_report(TRAIN, 0.2, seed=3) == report  # the same lines broken without a folder


def test_the_seed_runs_report_what_fault_report_reports(tmp_path: Path) -> None:
    task = _task(_LINES + [f"{_sentence(200 + i, 8)} thanks" for i in range(20)], [i % 2 for i in range(60)])
    prepared = _prepare(task, 1, 0.25, 10, 5, tmp_path)
    pool, _ = split_task(task, 5, seed=1)
    assert prepared.loaded.report == fault_report(stratified_sample(pool, 10, seed=1), 0.25, seed=1)


def test_faults_html_shows_the_report() -> None:
    shown = faults_html(fault_report(TRAIN, 0.2, seed=3))
    assert "20% of 40 lines broken: <b>8</b>" in shown and "crashes at the first broken line" in shown
    assert "<td><b>all</b></td><td><b>8</b></td>" in shown


def _fake_data(root: Path) -> Path:
    rows = [
        {"instruction": f"toolformer access: {tool}\n{_sentence(i + 50 * k, 9)}", "input": "", "response": f"{tool}(q)"}
        for k, tool in enumerate(("news", "weather"))
        for i in range(30)
    ]
    (root / "sft").mkdir(parents=True)
    (root / "sft" / "gpteacher_toolformer-dedupe-only.json").write_text(json.dumps(rows), encoding="utf-8")
    return root


def test_format_fault_explorer_draws_the_pages_training_set(tmp_path: Path) -> None:
    data = _fake_data(tmp_path / "data")
    explorer = format_fault_explorer(data, 25, 5, 10, seed=2, rate=0.25, rates=(0.0, 0.1, 0.5))
    assert explorer.initial() == {"corrupt_rate": 0.25} and len(explorer) == 4
    pool, _ = split_task(load_task(data, n_per_class=25, seed=2), 5, seed=2)
    train = stratified_sample(pool, 10, seed=2)
    shown = {r: explorer.output(corrupt_rate=r) for r in (0.0, 0.1, 0.25, 0.5)}
    for rate, html_ in shown.items():
        assert html_ == faults_html(fault_report(train, rate, seed=2))
        broken = int(re.search(r"data-pb-broken='(\d+)'", html_).group(1))  # type: ignore[union-attr]
        assert broken == round(rate * 20)
    assert len(set(shown.values())) == 4
    assert explorer.inputs == {
        "data_dir": data.as_posix(),
        "n_per_class": 25,
        "test_per_class": 5,
        "per_class": 10,
        "seed": 2,
    }
