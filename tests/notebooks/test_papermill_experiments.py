"""The experiment notebooks (experiments 1, 2, 4, 5, 8) with other seeds and settings than the defaults.

They assert that each experiment ran and printed its metrics and verdict, never which way the verdict fell.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.notebooks.test_papermill import outputs_text, run_notebook

VERDICT = re.compile(r"\b(held|did not hold)\b")


def test_quality_vs_quantity_other_seed(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(
        tmp_path, "exp_01_quality_vs_quantity", {"data_dir": str(shared_data), "seed": 3, "curated_per_class": 5}
    )
    text = outputs_text(nb)
    assert "400 requests, 8 tools" in text
    # 5 per tool x 8 tools; one verdict per noise level from the library's rule, with its interval over 5 seeds
    assert re.search(r"Over 3 noise levels the claim held at \d, did not hold at \d and was inconclusive at \d", text)
    for level in ("20%", "40%", "60%"):
        assert re.search(
            rf"at {level} noise: \*\*(held|did not hold|inconclusive)\*\*, curated \(40 rows\) minus noisy "
            r"\(\d+ rows\) = [+-]0\.\d{3} \[[+-]0\.\d{3}, [+-]0\.\d{3}\] over 5 seeds",
            text,
        ), level
    assert "command: python bench/experiment_tables.py" in text  # the committed full profile is shown


def test_learning_curve_fits_on_fewer_rows(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(tmp_path, "exp_02_learning_curve", {"data_dir": str(shared_data), "seed": 1, "fit_max_rows": 64})
    text = outputs_text(nb)
    assert re.search(r"zero-shot accuracy 0\.\d{3}", text)
    assert re.search(r"fitted on sizes up to 64 rows: accuracy\(n\) = ", text)
    assert re.search(r"\(a\) (held|did not hold|inconclusive)\*\*: with 64 examples", text)
    assert re.search(r"\(b\) (held|did not hold|inconclusive)\*\*: measured minus forecast must lie within", text)
    # the live run's 5 seeds and the committed full profile's 10, judged by the same rule
    assert "5 seeds per size" in text and "command: python bench/experiment_tables.py" in text
    assert "(95%, n=5)" in text and "(95%, n=10)" in text


def test_contamination_with_a_smaller_plant(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(tmp_path, "exp_04_contamination", {"data_dir": str(shared_data), "seed": 2, "plant_share": 0.25})
    text = outputs_text(nb)
    assert "(30 of the 120 test requests planted)" in text
    assert "1-nearest-neighbour: the test score changed by" in text
    assert re.search(r"\(a\) (held|did not hold|inconclusive)\*\*: planting 30 test items", text)
    assert re.search(
        r"\(b\) (held|did not hold|inconclusive)\*\*: the default check, contamination \(13-grams, default\), caught "
        r"\d+ of 150 planted rows over 5 seeds \(and flagged \d+ rows? nobody planted\): recall \+[01]\.\d{3} "
        r"\[.+\] \(95%, n=150\) \(bar 0\.9\).+ widest net .+ "
        r"\(caught \d+ of 30, precision [01]\.\d\d\)",
        text,
    )
    # the kernel-free control over the check's knobs, on this run's 30 planted rows, starting at the check's defaults
    assert "<Explorer contamination: 99 settings; ngram=13, threshold=0.0>" in text
    assert re.search(r"with 13-grams, <code>min_prompt_containment</code> 0\.0: flags <b>\d+</b> of 190 training", text)
    assert re.search(r"<b>\d+</b> of the 30 planted", text)


def test_coverage_with_another_slice(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(
        tmp_path,
        "exp_05_coverage",
        {"data_dir": str(shared_data), "slice_name": "weather", "keep": 1, "slice_traffic_share": 0.3},
    )
    text = outputs_text(nb)
    assert re.search(r"under-covered: (PASS|WARN|FAIL)", text)
    assert re.search(
        r"\*\*\(a\) (held|did not hold|inconclusive)\*\* \(all three parts must hold, over 5 seeds\)", text
    )
    assert re.search(r"slice accuracy drop \(balanced - under-covered\) = [+-]\d\.\d{3} \[", text)
    assert re.search(
        r"\*\*\(b\) (held|did not hold|inconclusive)\*\*: the check flagged the slice in \d of 5 seeds", text
    )
    # the kernel-free threshold control, on the slice this run starved
    assert "<Explorer coverage: 100 settings; threshold=0.500, training=balanced" in text
    assert re.search(r"<b>weather</b> uncovered [01]\.\d\d \[", text)


def test_formatting_errors_at_a_higher_rate(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(
        tmp_path, "exp_08_formatting_errors", {"data_dir": str(shared_data), "corrupt_rate": 0.2, "seed": 1}
    )
    text = outputs_text(nb)
    assert "160 lines written, 32 broken: empty_output 8, wrong_role 8, truncated_json 8, mojibake 8" in text
    assert "crashed with json.JSONDecodeError" in text
    # the verdicts over 5 seeds (seeds 1-5), from the library's rule, each with its interval
    assert "Profile 'small', 5 seeds, 20% of 160 training lines broken per seed" in text
    interval = r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\] \(95%, n="
    verdict = r"(held|did not hold|inconclusive)"
    assert re.search(rf"\*\*\(a\)\*\* {verdict}: clean minus shifted-labels accuracy = {interval}5\)", text)
    assert re.search(rf"\*\*\(b\)\*\* {verdict} \(all three parts below must hold\)", text)
    assert re.search(rf"{verdict}: share of planted faults .* \(recall\) = {interval}160\)", text)
    assert re.search(rf"{verdict}: checked-rows minus clean-file accuracy = {interval}5\)", text)
    # the kernel-free control over the share of broken lines starts at this run's file
    assert "<Explorer format-faults: 9 settings; corrupt_rate=20%>" in text
    assert "20% of 160 lines broken: <b>32</b>" in text
