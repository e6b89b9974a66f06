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

Near duplicates are left out there (the sample's six near copies are too few for an interval). They are graded on
real rows instead: :func:`run_near_plants` plants edited copies into GSM8K rows
(:func:`~playbook_lib.experiments.planting.plant_near_duplicates`, at :data:`NEAR_EDIT_RATE` and
:data:`FAR_EDIT_RATE`), :func:`grade_near` counts a planted pair found when both rows land in one cluster (which of
the two a deduplicator keeps is its choice), and :func:`judge_near` is the rule: recall and precision, pooled over
seeds, with Wilson intervals wholly above :data:`MIN_NEAR_RECALL` and :data:`MIN_NEAR_PRECISION`.

The production-checklists page (``notebooks/dm_09_production_checklists.ipynb``) grades the whole checklist the
same way: :func:`checklist_plant` plants :data:`PER_PROBLEM` rows of each problem
(:func:`~playbook_lib.experiments.planting.plant_problems`) into GSM8K rows, and :func:`judge_checklist_plants`
judges each item a planted problem belongs to (:data:`ITEM_PROBLEMS`): it warns or fails and its recall interval
lies wholly above :data:`MIN_ITEM_RECALL`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from playbook_lib.data import load_records
from playbook_lib.experiments.verdict import (
    Check,
    Interval,
    RuleVerdict,
    Verdict,
    combine,
    judge,
    proportion_interval,
    rule_verdict,
)

if TYPE_CHECKING:
    from playbook_lib.experiments.planting import NearPlant

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


# --- Near duplicates planted into real rows (dm_02) -------------------------------------------------------------

#: The near copies' edit rate: each word dropped or swapped with the next with this probability. Fixed before any
#: run, from arithmetic: an edit changes about 3.5 of a row's word 3-grams, so at Jaccard 0.8 a row of ``m`` words
#: tolerates about ``0.11 m / 3.5`` edits (3 to 4 in a GSM8K question with its answer, ~120 words); at 1 % it has
#: 1.2 on average. A deduplicator is meant to catch such copies: a copy edited, re-scraped, re-typed.
NEAR_EDIT_RATE = 0.01
#: Case flips and punctuation added or stripped, per word, on every copy (near and far): invisible to the check,
#: which case-folds and tokenises on word characters, so they must not cost recall.
COSMETIC_RATE = 0.1
#: The far copies' edit rate: a row rewritten this much is a different row (Jaccard around 0.3), not a duplicate.
FAR_EDIT_RATE = 0.2
#: The claim: at the page's threshold the near copies are found (recall) and the flags are the planted pairs
#: (precision), each with its 95 % Wilson interval wholly above this margin.
MIN_NEAR_RECALL = 0.9
MIN_NEAR_PRECISION = 0.9


@dataclass(frozen=True)
class NearRun:
    """One seed of :func:`run_near_plants`: planted near pairs and how many the check put in one cluster; rows it
    flagged and how many of those were flagged beside their planted partner; the wrong flags split into far pairs
    (a far copy with its source) and the rest (rows of the real data alike on their own, or other links)."""

    seed: int
    rows: int
    near: int
    found: int
    flagged: int
    correct: int
    far_flagged: int
    other_flagged: int


def grade_near(flags: np.ndarray, details: Mapping[int, Mapping[str, object]], plant: Any, seed: int = 0) -> NearRun:
    """Score a near-duplicate result (``flags``, and ``details[i]["kept_row"]``: the row kept for flagged row ``i``)
    against ``plant`` (a :class:`~playbook_lib.experiments.planting.NearPlant`). A pair is found when its two rows
    are in one cluster (one of them flagged with the other, or both with the same kept row): which of the two a
    deduplicator keeps is its choice. A flag is correct when the flagged row and its kept row are one planted pair."""
    flagged = np.flatnonzero(flags)
    rep = np.arange(len(flags))
    for i in flagged.tolist():
        rep[i] = int(details[i]["kept_row"])  # type: ignore[call-overload]
    near = np.flatnonzero(plant.kind == "near")
    found = int(np.sum(rep[near] == rep[plant.source[near]]))
    group = plant.group()
    correct = int(np.sum((group[flagged] >= 0) & (group[flagged] == group[rep[flagged]])))
    far = np.flatnonzero(plant.kind == "far")
    partner = np.full(len(flags), -1)
    partner[far], partner[plant.source[far]] = plant.source[far], far
    paired = partner[flagged] >= 0
    far_flags = int(np.sum(paired & (rep[flagged] == rep[np.maximum(partner[flagged], 0)])))
    return NearRun(
        seed, len(flags), len(near), found, len(flagged), correct, far_flags, len(flagged) - correct - far_flags
    )


def gsm8k_rows(shared: Path, split: str = "train") -> pd.DataFrame:
    """GSM8K's ``split`` rows as records (question -> instruction, answer -> output), tagged with the dataset's
    licence (MIT) and provenance (human-written), from the public data folder ``shared`` (``../shared/data``)."""
    records = load_records(shared / "sft" / f"gsm8k_{split}.jsonl")
    records["licence"], records["provenance"] = "MIT", "human"
    return records


def _sample_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), size=min(n, len(frame)), replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def run_near_plants(
    base: pd.DataFrame,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    base_rows: int = 1000,
    near: int = 100,
    far: int = 50,
    threshold: float = 0.8,
    rate: float = NEAR_EDIT_RATE,
) -> list[NearRun]:
    """Per seed: ``base_rows`` rows of ``base`` drawn at random, ``near`` copies edited at ``rate`` and ``far`` at
    :data:`FAR_EDIT_RATE` (both with :data:`COSMETIC_RATE`) planted, the ``near_duplicates`` check run at
    ``threshold`` and graded (:func:`grade_near`)."""
    return check_plants([near_plant(base, s, base_rows, near, far, rate) for s in seeds], threshold, seeds)


def check_plants(plants: Sequence[NearPlant], threshold: float, seeds: Sequence[int]) -> list[NearRun]:
    """The ``near_duplicates`` check at ``threshold`` on each of ``plants`` (from :func:`near_plant`), graded
    (:func:`grade_near`); ``seeds[i]`` labels the run of ``plants[i]``."""
    from playbook_lib.checks import CheckContext  # lazy: the checks' registry only when a grading runs
    from playbook_lib.checks.uniqueness import NearDuplicatesCheck  # lazy: as above

    runs = []
    for seed, plant in zip(seeds, plants, strict=True):
        result = NearDuplicatesCheck(threshold=threshold).run(plant.records, CheckContext())
        runs.append(grade_near(result.flags, result.details, plant, seed))
    return runs


def near_plant(
    base: pd.DataFrame,
    seed: int = 0,
    base_rows: int = 1000,
    near: int = 100,
    far: int = 50,
    rate: float = NEAR_EDIT_RATE,
) -> NearPlant:
    """The rows one seed of :func:`run_near_plants` checks: ``base_rows`` rows of ``base`` drawn at random with
    ``near`` copies edited at ``rate`` and ``far`` at :data:`FAR_EDIT_RATE` (both with :data:`COSMETIC_RATE`)."""
    from playbook_lib.experiments.planting import plant_near_duplicates  # lazy: planting only when a grading runs

    rows = _sample_rows(base, base_rows, 1000 + seed)
    return plant_near_duplicates(rows, near, far, rate, FAR_EDIT_RATE, COSMETIC_RATE, seed)


@dataclass(frozen=True)
class NearVerdict:
    """Pooled recall and precision over the seeds, the verdict, and one row per seed."""

    recall: Interval
    precision: Interval
    verdict: Verdict
    table: pd.DataFrame

    def markdown(self) -> str:
        return (
            f"- **the near-duplicate check finds copies edited at {NEAR_EDIT_RATE:.0%} of words, and flags nothing "
            f"else** (recall and precision > {MIN_NEAR_RECALL:g}): **{self.verdict.value}**\n"
            f"  - recall {self.recall} and precision {self.precision} (Wilson, 95 %, pooled over "
            f"{len(self.table)} seeds)"
        )


def judge_near(runs: Sequence[NearRun]) -> NearVerdict:
    """The near-duplicate claim over seeds (module constants, fixed before the numbers): held when the pooled
    recall and precision intervals both lie wholly above their margins, did not hold when either lies wholly
    below, else (and with no runs) inconclusive."""
    table = pd.DataFrame([vars(r) for r in runs])
    if not runs:
        empty = proportion_interval(0, 0)
        return NearVerdict(empty, empty, Verdict.INCONCLUSIVE, table)
    recall = proportion_interval(int(table["found"].sum()), int(table["near"].sum()))
    precision = proportion_interval(int(table["correct"].sum()), int(table["flagged"].sum()))
    table["recall"] = table["found"] / table["near"]
    table["precision"] = table["correct"] / table["flagged"].where(table["flagged"] > 0)
    verdict = combine([judge(recall, MIN_NEAR_RECALL), judge(precision, MIN_NEAR_PRECISION)])
    return NearVerdict(recall, precision, verdict, table)


def near_recall_by_rate(
    base: pd.DataFrame, rates: Sequence[float], near: int = 100, base_rows: int = 1000, threshold: float = 0.8
) -> pd.DataFrame:
    """Recall (with its Wilson interval) of ``near`` copies edited at each of ``rates``, one seed per rate: where
    the threshold stops catching copies."""
    out = []
    for k, rate in enumerate(rates):
        (run,) = run_near_plants(base, (100 + k,), base_rows, near, 0, threshold, rate)
        ci = proportion_interval(run.found, run.near)
        out.append({"edit rate": rate, "recall": ci.estimate, "low": ci.low, "high": ci.high, "pairs": run.near})
    return pd.DataFrame(out)


# --- Every checklist item against problems planted into real rows (dm_09) ---------------------------------------

#: Item of ``checklists/dataset_readiness.yaml`` -> the planted problems (:data:`~playbook_lib.experiments.planting.
#: PROBLEMS`) that are that item's to find, by the item's own definition: an exact copy is a near copy too, and an
#: empty output breaks the task rules' length bounds (from 1 word) and is an SFT row that teaches no answer.
#: ``split.disjoint`` was added after the first run, which showed it flags the copied eval rows: by its definition
#: (no example in two splits, the eval set counting as the test split) they are its problem too.
ITEM_PROBLEMS: dict[str, tuple[str, ...]] = {
    "quality.formatting": ("empty_output",),
    "quality.uniqueness.exact": ("exact_duplicate",),
    "quality.uniqueness.near": ("near_duplicate", "exact_duplicate"),
    "quality.compliance.pii": ("personal_data",),
    "quality.compliance.licence": ("no_licence",),
    "quality.relevance": ("forbidden_phrase", "empty_output"),
    "quality.relevance.embedding": ("off_topic",),
    "post_training.sft": ("empty_output",),
    "split.disjoint": ("eval_copy",),
    "split.contamination": ("eval_copy",),
    "provenance": ("no_provenance",),
}
#: The item that judges the golden set, and the size of the golden set planted for it: under the item's warn
#: threshold (50), so it must warn or fail; a whole-dataset item, with no rows to grade.
GOLDEN_ITEM, GOLDEN_ROWS = "golden", 10
#: Each item's recall of its planted rows must have its 95 % Wilson interval wholly above this; fixed before the run.
MIN_ITEM_RECALL = 0.8
#: Rows planted per problem: 40 of 40 found gives a Wilson interval from 0.91, clear of the margin.
PER_PROBLEM = 40


@dataclass(frozen=True)
class ChecklistPlant:
    """Real rows with one problem per kind planted (``plant``), and the golden set given beside them."""

    plant: Any  # playbook_lib.experiments.planting.ProblemPlant
    golden: pd.DataFrame


def checklist_plant(
    shared: Path, base_rows: int = 600, per_problem: int = PER_PROBLEM, eval_rows: int = 200, seed: int = 0
) -> ChecklistPlant:
    """``base_rows`` GSM8K train rows with ``per_problem`` rows of every planted problem
    (:func:`~playbook_lib.experiments.planting.plant_problems`): the eval set ``eval_rows`` GSM8K test rows (some
    copied into training), the off-topic rows from LIMA (general chat, human-written, CC BY-NC-SA), and a golden set
    of :data:`GOLDEN_ROWS` other GSM8K test rows. Every row tagged with its dataset's licence and provenance."""
    from playbook_lib.experiments.planting import plant_problems  # lazy: planting only when a grading runs

    test = _sample_rows(gsm8k_rows(shared, "test"), eval_rows + GOLDEN_ROWS, seed + 2)
    lima = load_records(shared / "sft" / "lima_llamafactory.json")
    lima["licence"], lima["provenance"] = "CC-BY-NC-SA", "human"
    base = _sample_rows(gsm8k_rows(shared), base_rows, seed + 1)
    plant = plant_problems(
        base, test.iloc[:eval_rows], _sample_rows(lima, 4 * per_problem, seed + 3), per_problem, seed
    )
    return ChecklistPlant(plant, test.iloc[eval_rows:].reset_index(drop=True))


def _caught(flags: np.ndarray, rows: np.ndarray, source: Mapping[int, int]) -> np.ndarray:
    """Per planted row, whether the check flagged it or (for a copy) the row it copies."""
    return np.array([bool(flags[i]) or (i in source and bool(flags[source[i]])) for i in rows.tolist()], dtype=bool)


def judge_checklist_plants(
    results: Mapping[str, tuple[str, np.ndarray]],
    plant: Any,
    items: Mapping[str, tuple[str, ...]] = ITEM_PROBLEMS,
    golden_outcome: str | None = None,
) -> PlantedVerdict:
    """Grade each item's flags against the rows planted for it. ``results``: item id -> (outcome, flags) from a
    checklist report; ``plant`` a :class:`~playbook_lib.experiments.planting.ProblemPlant`. One check per item:
    passed when it warns or fails and its recall interval lies wholly above :data:`MIN_ITEM_RECALL`, failed when
    it passes or the interval lies wholly below, undecided when the interval straddles the margin or the item did
    not run. A copy counts as caught when it or its source is flagged (which one a check keeps is its choice); a
    flag is correct on a planted row of the item's problems or the source of one. ``golden_outcome``: the golden
    item's outcome with the planted small golden set, one more check (warns or fails)."""
    rows, checks = [], []
    caught_all = planted_all = good_all = flags_all = 0
    for item, problems in items.items():
        truth = np.unique(np.concatenate([plant.rows.get(p, np.zeros(0, int)) for p in problems]).astype(int))
        if item not in results or results[item][0] == "not_evaluated":
            checks.append(Check(f"{item}: warns or fails, recall > {MIN_ITEM_RECALL:g}", None, "did not run"))
            continue
        outcome, flags = results[item]
        caught = _caught(flags, truth, plant.source)
        sources = {plant.source[i] for i in truth.tolist() if i in plant.source}
        good = set(truth.tolist()) | sources
        flagged = np.flatnonzero(flags)
        recall = proportion_interval(int(caught.sum()), len(truth))
        precision = proportion_interval(sum(i in good for i in flagged.tolist()), len(flagged))
        caught_all, planted_all = caught_all + int(caught.sum()), planted_all + len(truth)
        good_all, flags_all = good_all + round(precision.estimate * len(flagged)), flags_all + len(flagged)
        rows.append(
            {
                "item": item,
                "planted": ", ".join(problems),
                "outcome": outcome,
                "rows planted": len(truth),
                "caught": int(caught.sum()),
                "recall": recall.estimate,
                "recall 95 %": f"[{recall.low:.2f}, {recall.high:.2f}]",
                "flagged": len(flagged),
                "precision": precision.estimate,
                "precision 95 %": f"[{precision.low:.2f}, {precision.high:.2f}]",
                "missed lines": ", ".join(str(plant.records["line"].iloc[i]) for i in truth[~caught].tolist()),
            }
        )
        side = judge(recall, MIN_ITEM_RECALL)
        passed = (
            False if outcome not in FLAGGED_OUTCOMES else {Verdict.HELD: True, Verdict.DID_NOT_HOLD: False}.get(side)
        )
        detail = f"{outcome}; caught {int(caught.sum())} of {len(truth)}, recall {recall}"
        checks.append(Check(f"{item}: warns or fails, recall > {MIN_ITEM_RECALL:g}", passed, detail))
    if golden_outcome is not None:
        ok = None if golden_outcome == "not_evaluated" else golden_outcome in FLAGGED_OUTCOMES
        checks.append(Check(f"{GOLDEN_ITEM}: warns or fails", ok, f"{GOLDEN_ROWS}-row golden set: {golden_outcome}"))
    everything = proportion_interval(caught_all, planted_all)
    return PlantedVerdict(
        pd.DataFrame(rows),
        everything,
        proportion_interval(good_all, flags_all),
        rule_verdict("every checklist item finds the problems planted into real rows", checks),
    )


FLAGGED_OUTCOMES = frozenset({"warn", "fail"})


def report_results(report: Any) -> dict[str, tuple[str, np.ndarray]]:
    """Item id -> (outcome, flags) of a :class:`~playbook_lib.checklist.run.Report`, for :func:`judge_checklist_plants`."""
    return {r.item.id: (r.result.outcome.value, np.asarray(r.result.flags, dtype=bool)) for r in report.items}
