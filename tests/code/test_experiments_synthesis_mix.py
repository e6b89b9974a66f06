"""Synthesis measurements and verdicts (playbook_lib.experiments.synthesis_mix) on planted frames and a tiny task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.synthesis_mix import (
    RATIOS,
    reserve_parents,
    style_seed,
    synthesis_verdict,
    synthetic_task,
)
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.experiments.verdict import Verdict
from playbook_lib.ops.synthesis import TemplateGenerator, synthesize


def _task(n: int = 12) -> TextTask:
    texts = [f"request number {i} about topic {i % 3} with words {i * 7}" for i in range(2 * n)]
    return TextTask("t", texts, np.array([i % 2 for i in range(2 * n)]), ["a", "b"], [f"f:{i}" for i in range(2 * n)])


def test_parents_are_disjoint_from_the_rest():
    parents, rest = reserve_parents(_task(), 3, seed=1)
    assert parents.label_counts() == {"a": 3, "b": 3}
    assert not set(parents.sources) & set(rest.sources) and len(parents) + len(rest) == 24


def test_synthetic_task_maps_labels_and_refuses_unknown_ones():
    parents = [("p1", "one two three four five six"), ("p2", "seven eight nine ten eleven twelve")]
    rows = synthesize(TemplateGenerator(), "b", parents, 2, shots=2).rows
    task = synthetic_task(rows, ["a", "b"])
    assert task.labels.tolist() == [1] * len(rows) and task.sources[0].startswith("ledger:")
    with pytest.raises(UsageError):
        synthetic_task(rows, ["a"])


def test_style_seed_is_zero_for_identical_sets():
    t = _task()
    out = style_seed(t, t, 10, seed=0)
    assert out["median_words"] == 0.0 and out["distinct_1"] == pytest.approx(0.0, abs=0.2)
    with pytest.raises(UsageError):
        style_seed(t, t.subset([0]), 5)


def _frames(gain: float, drop: float, anchor: float, style: float):
    rng = np.random.default_rng(0)
    seeds = range(6)
    gap = pd.DataFrame(
        {
            "seed": list(seeds),
            "slice_gain": gain + rng.normal(0, 0.01, 6),
            "macro_f1_gain": gain + rng.normal(0, 0.01, 6),
        }
    )
    mix = []
    for s in seeds:
        for r in RATIOS:
            acc = 0.8 - drop * r + (anchor if r < 1 else 0) + rng.normal(0, 0.005)
            mix.append({"seed": s, "ratio": r, "accuracy": acc})
    sty = pd.DataFrame(
        {"seed": list(seeds), "median_words": style + rng.normal(0, 0.1, 6), "distinct_1": rng.normal(0, 0.005, 6)}
    )
    return gap, pd.DataFrame(mix), sty


def test_verdicts_held_when_planted_effects_are_clear():
    v = synthesis_verdict(*_frames(0.2, 0.3, 0.1, 0.0), overlaps=np.zeros(100))
    assert (v.a, v.b, v.c, v.privacy) == (Verdict.HELD,) * 4
    assert any("(a)" in line for line in v.lines()) and v.content is None
    assert not any("class prior" in line for line in v.lines())
    gap, mix, sty = _frames(0.2, 0.3, 0.1, 0.0)
    gap["content_gain"] = [-0.1, -0.12, -0.09, -0.11, -0.1, -0.1]
    lines = synthesis_verdict(gap, mix, sty, np.zeros(10)).lines()
    assert any("Beyond the class prior: did not hold" in line for line in lines)


def test_verdicts_did_not_hold_when_synthetic_hurts_and_style_differs():
    v = synthesis_verdict(*_frames(-0.2, -0.3, -0.2, 20.0), overlaps=np.ones(100))
    assert (v.a, v.b, v.c, v.privacy) == (Verdict.DID_NOT_HOLD,) * 4


def test_verdict_needs_runs_and_ratios():
    gap, mix, sty = _frames(0.2, 0.3, 0.1, 0.0)
    with pytest.raises(UsageError):
        synthesis_verdict(gap.iloc[:0], mix, sty, np.zeros(3))
    with pytest.raises(UsageError):
        synthesis_verdict(gap, mix[mix.ratio != 0.75], sty, np.zeros(3))


def _planted(n: int = 40):
    """Two labels whose vectors sit at two corners; synthetic rows near the slice's corner, off-topic rows near
    neither: synthetic rows must help the starved slice more than the off-topic control."""
    from playbook_lib.experiments.runs import VectorTable

    rng = np.random.default_rng(0)
    centre = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    real = TextTask(
        "t",
        [f"real {i}" for i in range(2 * n)],
        np.array([i % 2 for i in range(2 * n)]),
        ["a", "b"],
        [f"f:{i}" for i in range(2 * n)],
    )
    synth = TextTask(
        "s", [f"syn {i}" for i in range(n)], np.ones(n, dtype=int), ["a", "b"], [f"ledger:{i}" for i in range(n)]
    )
    control = TextTask(
        "c", [f"off {i}" for i in range(n)], np.zeros(n, dtype=int), ["a", "b"], [f"o:{i}" for i in range(n)]
    )
    vectors = np.vstack(
        [
            centre[real.labels] + rng.normal(0, 0.3, (2 * n, 3)),
            centre[[1] * n] + rng.normal(0, 0.3, (n, 3)),
            np.array([[0.0, 0.0, 1.0]]) + rng.normal(0, 0.3, (n, 3)),
        ]
    )
    table = VectorTable(real.texts + synth.texts + control.texts, vectors.astype(np.float32))
    return real, synth, control, table


def test_gap_seed_and_mix_seed_on_planted_vectors():
    from playbook_lib.experiments.synthesis_mix import gap_seed, mix_seed

    real, synth, control, table = _planted()
    parents, rest = reserve_parents(real, 1, seed=0)
    out = gap_seed(rest, parents, synth, table, "b", 10, 8, 10, seed=0, control=control)
    assert out["slice_gain"] > 0 and out["content_gain"] >= 0 and "real_gain" in out
    with pytest.raises(UsageError):
        gap_seed(rest, parents, synth, table, "b", 10, 8, 10_000, seed=0)
    both = TextTask("s", synth.texts, np.array([i % 2 for i in range(len(synth))]), ["a", "b"], synth.sources)
    rows = mix_seed(rest, both, table, 10, 8, ratios=(0.0, 0.5), seed=0)
    assert [r["ratio"] for r in rows] == [0.0, 0.5] and all(0 <= r["accuracy"] <= 1 for r in rows)
    with pytest.raises(UsageError):  # no synthetic rows of label "a" to replace real ones with
        mix_seed(rest, synth, table, 10, 8, ratios=(1.0,), seed=0)
