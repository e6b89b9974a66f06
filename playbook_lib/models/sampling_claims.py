"""The claims of the probabilistic-outputs page, judged from repeated samples of a real model.

Taught in the book's *Probabilistic outputs* page (``notebooks/dm_06_probabilistic_outputs.ipynb``), which samples
extraction tasks with :func:`playbook_lib.models.next_token.measure_consistency` (one row per setting and task) and
shows the committed full run (``bench/sampling.py``) beside its own small one. :func:`judge_sampling` turns such a
frame into the page's verdicts, each fixed here before any run:

- **greedy**: temperature 0 repeats itself: every task's samples at T=0 are one output (a rule over the tasks;
  *not measured* when each task was drawn once).
- **spread**: at the hottest plain temperature the answers spread: per task, the entropy of its outputs minus that
  at T=0, paired over tasks; held when the 95 % interval lies wholly above 0.
- **accuracy**: randomness costs correct extractions: per task, accuracy at T=0 minus at the hottest temperature,
  held when the interval lies wholly above 0.
- **filters**: top-k and top-p limit the damage of a high temperature: for each filtered setting at the hottest
  temperature, its accuracy minus the unfiltered one's, per task; held when every filter's interval lies above 0.
- **validator** (the chapter's "determinism comes from workflow constraints and validators"): at the same
  temperature, the validator loop (:class:`~playbook_lib.models.next_token.Setting` ``retries``) raises both the
  agreement of repeated answers and their accuracy, per task; held when both intervals lie above 0.

The unit is the task (its share over the samples), so the intervals count tasks, not samples: ``n`` on the page is
the number of tasks. A setting the frame lacks makes its claim inconclusive, never held.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.errors import UsageError
from playbook_lib.experiments.verdict import (
    Check,
    Interval,
    RuleVerdict,
    Verdict,
    combine,
    difference_interval,
    judge,
    rule_verdict,
)
from playbook_lib.models.next_token import Setting


@dataclass(frozen=True)
class Profile:
    """How much the page samples: the first ``tasks`` bundled tasks (all when ``None``), ``samples`` draws per task
    and setting, answers cut at ``max_tokens``."""

    tasks: int | None
    samples: int
    max_tokens: int
    settings: tuple[Setting, ...]


#: ``small`` is what the book build runs (seconds); ``full`` is the committed run of ``bench/sampling.py``.
PROFILES = {
    "small": Profile(
        3, 3, 10, (Setting(0.0), Setting(0.7), Setting(1.5), Setting(1.5, top_p=0.5), Setting(0.7, retries=2))
    ),
    "full": Profile(
        None,
        20,
        12,
        (
            Setting(0.0),
            Setting(0.7),
            Setting(1.0),
            Setting(1.5),
            Setting(1.5, top_p=0.5),
            Setting(1.5, top_k=5),
            Setting(0.7, retries=3),
        ),
    ),
}

REQUIRED = ("temperature", "top_k", "top_p", "task", "n", "n_distinct", "entropy_bits", "agreement", "accuracy")
#: The temperature at which the validator is compared with the raw sampler when the frame holds several.
VALIDATOR_TEMPERATURE = 0.7

NO_RUNS = Interval(math.nan, -math.inf, math.inf, 0)


@dataclass(frozen=True)
class Effect:
    """One paired comparison: what was compared, the interval of the per-task differences and its verdict."""

    label: str
    interval: Interval
    verdict: Verdict

    def markdown(self) -> str:
        if self.interval.n == 0:
            return f"{self.label}: not measured (a setting is missing), **{self.verdict.value}**"
        return f"{self.label}: {self.interval}, **{self.verdict.value}**"


@dataclass(frozen=True)
class SamplingVerdicts:
    """The page's five verdicts (module docstring)."""

    greedy: RuleVerdict
    spread: Effect
    accuracy: Effect
    filters: tuple[Effect, ...]
    validator: tuple[Effect, ...]
    tasks: int
    samples: int

    @property
    def filters_verdict(self) -> Verdict:
        return combine([e.verdict for e in self.filters]) if self.filters else Verdict.INCONCLUSIVE

    @property
    def validator_verdict(self) -> Verdict:
        return combine([e.verdict for e in self.validator]) if self.validator else Verdict.INCONCLUSIVE

    def markdown(self) -> str:
        """The verdicts as a Markdown list, with every interval (``n`` = tasks)."""

        def nested(effects: tuple[Effect, ...]) -> str:
            if not effects:
                return "\n  - not measured: no such setting in this run"
            return "".join(f"\n  - {e.markdown()}" for e in effects)

        return "\n".join(
            [
                f"On {self.tasks} tasks, {self.samples} samples per task and setting (intervals over tasks):",
                "",
                self.greedy.markdown(),
                f"- **the answers spread as temperature rises**: **{self.spread.verdict.value}**; "
                + self.spread.markdown(),
                f"- **randomness costs correct extractions**: **{self.accuracy.verdict.value}**; "
                + self.accuracy.markdown(),
                f"- **top-k / top-p limit the damage of a high temperature**: **{self.filters_verdict.value}**"
                + nested(self.filters),
                f"- **a validator loop makes the answers repeatable and correct**: **{self.validator_verdict.value}**"
                + nested(self.validator),
            ]
        )


def _paired(frame: pd.DataFrame, a: pd.Series, b: pd.Series, column: str, label: str) -> Effect:
    left = frame.loc[a, ["task", column]].groupby("task")[column].mean()
    right = frame.loc[b, ["task", column]].groupby("task")[column].mean()
    both = left.index.intersection(right.index)
    if len(both) == 0:
        return Effect(label, NO_RUNS, Verdict.INCONCLUSIVE)
    interval = difference_interval(left.loc[both].to_numpy(), right.loc[both].to_numpy())
    return Effect(label, interval, judge(interval, 0.0, "above"))


def judge_sampling(frame: pd.DataFrame) -> SamplingVerdicts:
    """The page's verdicts on a :func:`~playbook_lib.models.next_token.measure_consistency` frame (module
    docstring)."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise UsageError(f"judge_sampling: the frame lacks {', '.join(missing)}")
    if frame.empty:
        raise UsageError("judge_sampling: no rows to judge")
    retries = frame["retries"].fillna(0) if "retries" in frame else pd.Series(0, index=frame.index)
    plain = frame["top_k"].isna() & frame["top_p"].isna() & (retries == 0)
    temps = frame["temperature"].astype(float)
    is_greedy = plain & (temps == 0)
    greedy_rows = frame[is_greedy]
    hottest = float(temps[plain].max()) if plain.any() else math.nan

    if greedy_rows.empty:
        checks = [Check("every task's samples at T=0 are one output", None, "no T=0 setting in this run")]
    else:
        agree = int((greedy_rows["n_distinct"] == 1).sum())
        repeated = bool((greedy_rows["n"] > 1).all())
        checks = [
            Check(
                "each task was sampled more than once at T=0",
                True if repeated else None,
                f"{int(greedy_rows['n'].min())} samples per task",
            ),
            Check(
                "every task's samples at T=0 are one output",
                agree == len(greedy_rows) if repeated else None,
                f"{agree} of {len(greedy_rows)} tasks",
            ),
        ]
    greedy = rule_verdict("greedy decoding (T=0) repeats itself", checks)

    is_hot = plain & (temps == hottest)
    hot = "no plain temperature above 0" if not hottest > 0 else f"T={hottest:g}"
    spread = _paired(frame, is_hot, is_greedy, "entropy_bits", f"entropy of the outputs (bits), {hot} minus T=0")
    accuracy = _paired(frame, is_greedy, is_hot, "accuracy", f"accuracy, T=0 minus {hot}")
    if not hottest > 0:
        spread = Effect(spread.label, NO_RUNS, Verdict.INCONCLUSIVE)
        accuracy = Effect(accuracy.label, NO_RUNS, Verdict.INCONCLUSIVE)

    filtered = (frame["top_k"].notna() | frame["top_p"].notna()) & (retries == 0) & (temps == hottest)
    filters = []
    for label, rows in frame[filtered].groupby("setting" if "setting" in frame else "top_p", sort=False):
        mask = frame.index.isin(rows.index)
        filters.append(_paired(frame, pd.Series(mask, index=frame.index), is_hot, "accuracy", f"{label} minus {hot}"))

    validated = retries > 0
    validator: list[Effect] = []
    if validated.any():
        at = (
            VALIDATOR_TEMPERATURE
            if bool((temps[validated] == VALIDATOR_TEMPERATURE).any())
            else float(temps[validated].iloc[0])
        )
        with_v = validated & (temps == at)
        raw = plain & (temps == at)
        name = str(frame.loc[with_v, "setting"].iloc[0]) if "setting" in frame else f"T={at:g} with validator"
        validator = [
            _paired(frame, with_v, raw, "agreement", f"agreement, {name} minus T={at:g}"),
            _paired(frame, with_v, raw, "accuracy", f"accuracy, {name} minus T={at:g}"),
        ]
    return SamplingVerdicts(
        greedy,
        spread,
        accuracy,
        tuple(filters),
        tuple(validator),
        int(frame["task"].nunique()),
        int(np.median(frame["n"])),
    )
