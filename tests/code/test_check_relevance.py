"""The relevance check: planted off-topic rows are found (against a task description, reference examples, or the
data's own neighbours) and clean data passes. Runs the real packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from playbook_lib.checks import CheckContext, Outcome, get_check
from playbook_lib.checks.embedding import RelevanceCheck
from playbook_lib.checks.statistics import robust_spread, robust_z
from playbook_lib.data import records_from_rows
from playbook_lib.errors import DataError, UsageError

TASK = "Customer support for water-quality meters and probes: calibration, cleaning, storage, batteries and firmware."
DEVICES = [
    "pH meter",
    "conductivity meter",
    "dissolved-oxygen probe",
    "turbidity sensor",
    "nitrate probe",
    "chlorine analyser",
]
ACTIONS = [
    ("calibrate", "Rinse the {d} with deionised water, dip it in the buffer and confirm the reading."),
    ("clean", "Wipe the sensor of the {d} with a soft cloth and rinse it with deionised water."),
    ("store", "Keep the {d} in its storage cap with a few drops of storage solution."),
    ("replace the battery of", "Open the battery cover of the {d} and insert two new AA cells."),
    ("update the firmware of", "Connect the {d} by USB and start the firmware update in the desktop app."),
]
CLEAN = [{"instruction": f"How do I {a} the {d}?", "output": o.format(d=d)} for d in DEVICES for a, o in ACTIONS]
OFF_TOPIC = [
    {
        "instruction": "Give me a recipe for a chocolate cake.",
        "output": "Mix flour, sugar, cocoa and eggs, pour the batter into a tin and bake for forty minutes. "
        "Questions: baker.jones@example.com",
    },
    {
        "instruction": "Who won the football World Cup in 2014?",
        "output": "Germany won the 2014 World Cup, beating Argentina in the final in Rio de Janeiro.",
    },
]


def run(rows: list[dict], **options) -> object:
    return RelevanceCheck(**options).run(records_from_rows(rows), CheckContext())


@pytest.mark.parametrize(
    "options", [{"task": TASK}, {"task": TASK, "z_threshold": 2.5}, {}], ids=["task", "task-z2.5", "neighbours"]
)
def test_clean_data_passes(options: dict) -> None:
    result = run(CLEAN, **options)
    assert result.outcome is Outcome.PASS, result.message
    assert not result.flags.any() and result.summary["off_topic"] == 0
    assert ((result.scores >= 0) & (result.scores <= 1)).all()


@pytest.mark.parametrize(
    "options",
    [{"task": TASK, "z_threshold": 2.5}, {}, {"task": TASK, "z_threshold": None, "min_similarity": 0.15}],
    ids=["task-z2.5", "neighbours", "absolute"],
)
def test_planted_off_topic_rows_are_flagged_most_off_topic_first(options: dict) -> None:
    """A short task description is a weaker signal than examples (its similarities spread wider): at the default
    z 3 the two planted rows sit just inside the cut-off on this small set, at z 2.5 they are out."""
    rows = CLEAN[:12] + [OFF_TOPIC[0]] + CLEAN[12:] + [OFF_TOPIC[1]]
    result = run(rows, **options)
    assert np.flatnonzero(result.flags).tolist() == [12, 31], result.summary
    assert result.outcome is Outcome.FAIL  # 2 / 32 rows > fail 5 %
    assert {e["line"] for e in result.examples} == {13, 32}
    assert sorted(result.details) == [12, 31]  # every flagged row explained (--flags), by its row in the data
    assert result.details[12]["similarity"] < result.summary["cutoff"] and "cut-off" in result.details[12]["reason"]
    sims = [e["similarity"] for e in result.examples]
    assert sims == sorted(sims) and sims[-1] < result.summary["cutoff"]
    assert result.scores[12] > np.median(result.scores) and result.scores[31] > np.median(result.scores)
    shown = json.dumps(result.to_dict())
    assert "baker.jones@example.com" not in shown and "[EMAIL]" in shown  # examples are masked


def test_reference_examples_define_the_task(tmp_path: Path) -> None:
    references = tmp_path / "refs.jsonl"
    references.write_text("".join(json.dumps(r) + "\n" for r in CLEAN[::3]), encoding="utf-8")
    before = hashlib.sha256(references.read_bytes()).hexdigest()
    rows = CLEAN + OFF_TOPIC
    result = run(rows, references=str(references), k=3)
    assert np.flatnonzero(result.flags).tolist() == [30, 31]
    assert result.summary["reference"] == f"references {references}"
    both = run(rows, references=str(references), task=TASK)
    assert np.flatnonzero(both.flags).tolist() == [30, 31] and both.summary["reference"].startswith("task description")
    assert hashlib.sha256(references.read_bytes()).hexdigest() == before
    with pytest.raises(DataError, match="file not found"):
        run(rows, references=str(tmp_path / "missing.jsonl"))


def test_rows_without_text_are_left_to_formatting_and_cache_file_is_reused(tmp_path: Path) -> None:
    rows = CLEAN + [{"instruction": "", "output": "  "}]
    cache = tmp_path / "vectors.npz"
    first = run(rows, task=TASK, cache=str(cache))
    assert cache.is_file() and first.summary["rows_without_text"] == 1 and not first.flags[-1]
    second = run(rows, task=TASK, cache=str(cache))
    assert second.summary == first.summary and (second.scores == first.scores).all()
    nothing = run([{"instruction": None, "output": ""}], task=TASK)
    assert nothing.outcome is Outcome.NOT_EVALUATED


def test_robust_z_ignores_outliers_and_options_are_validated() -> None:
    values = np.array([0.50, 0.52, 0.48, 0.51, 0.49, 0.50, -0.30])
    median, spread = robust_spread(values)
    assert median == pytest.approx(0.50) and spread < 0.03  # the outlier does not widen the spread
    z = robust_z(values)
    assert z[-1] < -20 and np.abs(z[:-1]).max() < 1.5
    assert (robust_z(np.ones(4)) == 0).all() and np.isnan(robust_z(np.array([np.nan, 1.0])))[0]
    assert get_check("relevance") is RelevanceCheck
    for bad in ({"k": 0}, {"z_threshold": -1.0}, {"min_similarity": 2.0}, {"task": "  "}, {"fields": ["label"]}):
        with pytest.raises(UsageError, match="relevance:"):
            RelevanceCheck(**bad)
