"""The claim of the approximate-search experiment, judged: an approximate index finds at least 95 % of the exact
top-``k`` and answers faster than exact search.

Taught in the book's *Design principles* page (``notebooks/ops_08_design_principles.ipynb``, section 4), on the
frame :func:`playbook_lib.rag.ann.ann_sweep` returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playbook_lib.experiments.verdict import Claim, Interval, Verdict, combine, moments_interval, proportion_interval

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class AnnVerdict:
    """One approximate index at its chosen setting: recall with its interval, speed-up and the verdict."""

    index: str
    knob: str
    value: int
    recall: Interval
    speedup: Interval  # geometric-mean speed-up over exact search with its interval (paired timing rounds)
    reached: bool  # whether any setting's measured recall reached the target
    verdict: Verdict
    target: float

    def markdown(self) -> str:
        """One Markdown list item for the page."""
        how = "cheapest setting whose measured recall reached" if self.reached else "no setting reached"
        return (
            f"- **{self.index}**, {self.knob}={self.value} ({how} {self.target:g}): recall@k "
            f"{self.recall.estimate:.3f} [{self.recall.low:.3f}, {self.recall.high:.3f}] "
            f"({self.recall.confidence:.0%}, {self.recall.n:,} neighbours), "
            f"{self.speedup.estimate:.2f}x [{self.speedup.low:.2f}, {self.speedup.high:.2f}] the speed of exact "
            f"search ({self.speedup.n} paired timing rounds): **{self.verdict.value}**"
        )


def ann_recall_verdicts(sweep: pd.DataFrame, target: float = 0.95) -> list[AnnVerdict]:
    """Judge each approximate index of an :func:`~playbook_lib.rag.ann.ann_sweep` frame.

    The setting judged is the fastest (lowest ``ms/query``) whose measured recall reached ``target``, or, when
    none did, the one with the highest recall. Recall is the share of exact top-``k`` neighbours found (``hits``
    out of ``trials``) with its Wilson interval; it must lie wholly above ``target`` (:class:`Claim`). The index
    must also be faster than exact search (``speedup`` > 1; measured once, so a plain comparison). The verdict
    combines both (:func:`combine`): held only if both hold, did not hold if either fails.
    """
    recall_col = next(c for c in sweep.columns if c.startswith("recall@"))
    claim = Claim(f"{recall_col} against exact search", threshold=target, side="above")
    out = []
    for name, group in sweep[sweep["knob"] != "-"].groupby("index", sort=False):
        good = group[group[recall_col] >= target]
        reached = not good.empty
        row = good.sort_values("ms/query").iloc[0] if reached else group.sort_values(recall_col).iloc[-1]
        interval = proportion_interval(int(row["hits"]), int(row["trials"]))
        log_speed = moments_interval(
            math.log(float(row["speedup"])),
            float(row.get("log_speedup_sd", math.nan)),
            int(row.get("rounds", 1)),
        )
        speed_claim = Claim("speed-up over exact search (log)", threshold=0.0, side="above")
        speedup = Interval(
            math.exp(log_speed.estimate),
            math.exp(log_speed.low) if math.isfinite(log_speed.low) else 0.0,
            math.exp(log_speed.high) if math.isfinite(log_speed.high) else math.inf,
            log_speed.n,
            log_speed.confidence,
        )
        out.append(
            AnnVerdict(
                index=str(name),
                knob=str(row["knob"]),
                value=int(row["value"]),
                recall=interval,
                speedup=speedup,
                reached=reached,
                verdict=combine([claim.judge(interval), speed_claim.judge(log_speed)]),
                target=target,
            )
        )
    return out
