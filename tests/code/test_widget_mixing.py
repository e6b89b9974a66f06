"""The mix-ratio explorer shows, at each synthetic share, the probe accuracy that mix_seed measures for that mix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.runs import VectorTable
from playbook_lib.experiments.synthesis_mix import RATIOS, mix_seed
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.experiments.verdict import mean_interval
from playbook_lib.widgets.mixing import MIX_RATIOS, mix_html, mix_ratio_explorer, mix_runs

NAMES = ["a", "b", "c"]


def _task(name: str, per_label: int, spread: float, rng: np.random.Generator) -> tuple[TextTask, np.ndarray]:
    """Rows around one centre per label (real rows tight, synthetic ones loose), with their vectors."""
    centres = np.eye(3, 8) * 3
    labels = np.repeat(np.arange(3), per_label)
    vectors = centres[labels] + rng.normal(0, spread, (len(labels), 8))
    texts = [f"{name} row {i}" for i in range(len(labels))]
    return TextTask(name, texts, labels, list(NAMES), [f"{name}:{i}" for i in range(len(labels))]), vectors


@pytest.fixture(scope="module")
def setup() -> tuple[TextTask, TextTask, VectorTable]:
    rng = np.random.default_rng(3)
    rest, real = _task("real", 40, 2.0, rng)
    synth, fake = _task("synthetic", 20, 6.0, rng)
    return rest, synth, VectorTable(rest.texts + synth.texts, np.vstack([real, fake]).astype(np.float32))


def test_each_ratio_shows_the_accuracy_mix_seed_measures(setup: tuple[TextTask, TextTask, VectorTable]) -> None:
    rest, synth, table = setup
    explorer = mix_ratio_explorer(rest, synth, table, 20, 10, range(4), source={"ledger": "x.jsonl"})
    assert explorer.initial() == {"ratio": 0.75} and explorer.controls[0].values == MIX_RATIOS
    assert explorer.inputs == {
        "per_class": 20,
        "test_per_class": 10,
        "seeds": [0, 1, 2, 3],
        "source": {"ledger": "x.jsonl"},
    }
    shown = set()
    for ratio in (0.0, 0.25, 0.75, 1.0):
        runs = pd.DataFrame([r for s in range(4) for r in mix_seed(rest, synth, table, 20, 10, [ratio], seed=s)])
        page = explorer.output(ratio=ratio)
        assert f"<td>{mean_interval(runs['accuracy']).text()}</td>" in page
        assert f"<td>{mean_interval(runs['macro_f1']).text()}</td>" in page
        k = round(ratio * 20)
        assert f"per label {20 - k} real + {k} synthetic (60 rows in all)" in page
        shown.add(page)
    assert len(shown) == 4
    assert "all real:" not in explorer.output(ratio=0.0) and "all synthetic:" not in explorer.output(ratio=1.0)


def test_a_ratio_measures_the_same_on_any_grid(setup: tuple[TextTask, TextTask, VectorTable]) -> None:
    rest, synth, table = setup
    fine = mix_runs(rest, synth, table, 20, 10, [0, 1])
    coarse = pd.DataFrame([r for s in (0, 1) for r in mix_seed(rest, synth, table, 20, 10, seed=s)])
    both = coarse.merge(fine, on=["seed", "ratio"], suffixes=("", "_fine"))
    assert len(both) == 2 * len(RATIOS)
    assert np.allclose(both["accuracy"], both["accuracy_fine"]) and np.allclose(both["macro_f1"], both["macro_f1_fine"])
    assert mix_html(fine, 0.5, 20, 3) == mix_html(coarse, 0.5, 20, 3)
    paired = mean_interval(
        coarse.query("ratio == 0.5")["accuracy"].to_numpy() - coarse.query("ratio == 0.0")["accuracy"].to_numpy()
    )
    assert f"this mix &minus; all real: {paired}" in mix_html(coarse, 0.5, 20, 3)
    with pytest.raises(UsageError, match="lack ratio 0.3"):
        mix_html(coarse, 0.3, 20, 3)
