"""experiments.finetune.size_summary: what the PEFT page's explorer shows at a training-set size of a committed
table, on constructed tables whose verdicts are known (no model is trained, so peft is not needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.finetune import compare_methods, judge_costs, size_summary
from playbook_lib.experiments.verdict import mean_interval

ACCURACY = {  # per method, size and seed: lora beats full at 8/class, ties at 16; the probe is flat
    "lora": {8: [0.70, 0.75, 0.62, 0.71, 0.68], 16: [0.80, 0.82, 0.79, 0.81, 0.80]},
    "full": {8: [0.60, 0.66, 0.51, 0.62, 0.58], 16: [0.80, 0.83, 0.78, 0.80, 0.81]},
    "probe": {8: [0.65, 0.66, 0.64, 0.65, 0.66], 16: [0.70, 0.71, 0.69, 0.70, 0.70]},
}
TRAINABLE = {"lora": 1_000, "full": 1_000_000, "probe": 100}


def table() -> pd.DataFrame:
    rows = []
    for method, sizes in ACCURACY.items():
        for size, values in sizes.items():
            for seed, acc in enumerate(values):
                timed = method != "probe"
                rows.append(
                    {
                        "method": method,
                        "size_per_class": size,
                        "train_rows": size * 8,
                        "seed": seed,
                        "accuracy": acc,
                        "macro_f1": acc - 0.01,
                        "trainable": TRAINABLE[method],
                        "seconds_per_epoch": (1.0 if method == "lora" else 2.0) * size / 8 + 0.01 * seed
                        if timed
                        else float("nan"),
                        "peak_rss_mb": (500.0 if method == "lora" else 900.0) + seed if timed else float("nan"),
                    }
                )
    return pd.DataFrame(rows)


def test_size_summary_shows_every_method_at_a_size_and_the_rules_there() -> None:
    frame = table()
    small, large = size_summary(frame, 8), size_summary(frame, 16)
    assert small != large
    assert "8 examples per tool (64 training rows): mean over 5 seeds" in small
    lora = mean_interval(ACCURACY["lora"][8])
    assert f"<td>accuracy</td><td>{lora.text()}</td><td>{mean_interval(ACCURACY['full'][8]).text()}</td>" in small
    assert "<td>trainable parameters</td><td>1,000</td><td>1,000,000</td><td>100</td>" in small
    assert "<td>not measured</td>" in small  # the probe has no epochs
    a = compare_methods(frame, "lora", "full")
    assert a.verdicts[8].value == "held" and a.verdicts[16].value == "inconclusive"
    assert f"no more examples than full fine-tuning: {a.verdict.value}</strong>" in small
    assert f"{a.intervals[8]}, held" in small and f"{a.intervals[16]}, inconclusive" in large
    b = judge_costs(frame)
    assert f"cheaper than full fine-tuning: {b.verdict.value}</strong>" in small and "0.10% of" in small
    assert str(b.seconds.intervals[8]) in small and str(b.seconds.intervals[16]) in large
    c = compare_methods(frame, "lora", "probe", sizes=[16])
    assert f"(c) beats the probe: {c.verdict.value}</strong>" in small and str(c.intervals[16]) in small
    assert "here (context)" in small and "here (context)" not in large
    assert size_summary(frame, 16.0) == large  # a float from the page's JSON is the same setting


def test_size_summary_judges_complete_runs_only_and_says_when_seeds_are_few() -> None:
    frame = table()
    partial = frame[~((frame.method == "full") & (frame.size_per_class == 16) & (frame.seed >= 2))]
    shown = size_summary(partial, 16)
    assert "mean over 2 seeds" in shown and "fewer than the 5 the book asks" in shown
    assert mean_interval(ACCURACY["lora"][16][:2]).text() in shown  # lora's seeds 2-4 are left out too
    with pytest.raises(UsageError, match="examples per tool"):
        size_summary(frame, 32)
