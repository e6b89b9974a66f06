"""Verdicts written before the numbers: a claim holds, does not hold, or the data cannot tell.

Taught on every page of the book's *Experiments* part (``notebooks/exp_*.ipynb``). A page states its claim as an
effect (e.g. curated accuracy minus noisy accuracy) and which side of a threshold the claim puts it on; it measures
the effect over seeds; :func:`judge` turns the effect's 95 % interval into a :class:`Verdict`:

- **held**: the whole interval lies on the claimed side of the threshold;
- **did not hold**: the whole interval lies on the other side;
- **inconclusive**: the interval straddles the threshold (a tie included) or there are too few runs to draw one.

:func:`within` judges a claim that an effect is small (inside ``±margin``) the same way, :func:`differs` one that
it is large (beyond ``±margin`` either way), :func:`combine` a claim made of parts that must all hold and
:func:`any_holds` one that at least one of several measures shows an effect.

Some claims are rules, not estimates: a decision function returns the action the chapter prescribes, a hash changes
when the content does, a checklist flags the planted problem. Those are judged by :func:`rules` over named
:class:`Check` results: **held** when every check passed, **did not hold** when any check failed, **inconclusive**
when none failed but one is undecided (``passed=None``: the input it needs is missing, or its interval straddles
the threshold) or there are no checks at all. :func:`rule_verdict` keeps the checks with the verdict for the page (:class:`RuleVerdict`).

So a tie is never "held", and an effect smaller than the run-to-run noise says so instead of picking a side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import numpy as np

from playbook_lib.checks.statistics import wilson_interval

Side = Literal["above", "below"]


class Verdict(str, Enum):
    """The outcome of a claim (see the module docstring)."""

    HELD = "held"
    DID_NOT_HOLD = "did not hold"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided ``confidence`` interval from ``n`` runs (infinite with fewer than two)."""

    estimate: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def __str__(self) -> str:
        if not math.isfinite(self.low):
            return f"{self.estimate:+.3f} (n={self.n}: too few runs for an interval)"
        return f"{self.estimate:+.3f} [{self.low:+.3f}, {self.high:+.3f}] ({self.confidence:.0%}, n={self.n})"

    def text(self, digits: int = 3) -> str:
        """The estimate and its bounds for a table cell, no forced sign, thousands separated: ``0.803 [0.799,
        0.807]``; ``0.803 (n=1: no interval)`` with fewer than two runs."""
        if not math.isfinite(self.low):
            return f"{self.estimate:,.{digits}f} (n={self.n}: no interval)"
        return f"{self.estimate:,.{digits}f} [{self.low:,.{digits}f}, {self.high:,.{digits}f}]"


def mean_interval(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Interval:
    """The mean of ``values`` (one per seed) with Student's t interval; infinite bounds for fewer than two values,
    zero width when every value is the same."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values to summarise")
    return moments_interval(float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan, int(x.size), confidence)


def moments_interval(mean: float, sd: float, n: int, confidence: float = 0.95) -> Interval:
    """Student's t interval from summary statistics (mean, sample standard deviation, count), for tables that keep
    those instead of every value; infinite bounds for fewer than two values or an unknown ``sd``."""
    if n < 2 or not math.isfinite(sd):
        return Interval(mean, -math.inf, math.inf, int(n), confidence)
    from scipy import stats  # lazy: scipy (~0.5 s) only once an interval is computed, not when pages import verdicts

    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, int(n), confidence)


def difference_interval(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, paired: bool = True, confidence: float = 0.95
) -> Interval:
    """The mean of ``a - b`` with its interval: paired (the same seeds, so the runs differ only by the arm; a t
    interval of the per-seed differences) or Welch's unequal-variance interval for independent runs."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        if x.shape != y.shape:
            raise ValueError(f"paired runs must match: {x.size} and {y.size} values")
        return mean_interval(x - y, confidence)
    if x.size < 2 or y.size < 2:
        return Interval(float(x.mean() - y.mean()), -math.inf, math.inf, int(min(x.size, y.size)), confidence)
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    diff = float(x.mean() - y.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(diff, diff, diff, int(min(x.size, y.size)), confidence)
    dof = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    from scipy import stats  # lazy: scipy (~0.5 s) only once an interval is computed, not when pages import verdicts

    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * se)
    return Interval(diff, diff - half, diff + half, int(min(x.size, y.size)), confidence)


def ratio_interval(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, confidence: float = 0.95
) -> Interval:
    """The geometric-mean ratio ``a / b`` of paired positive measurements (e.g. the seconds of a slow and a fast arm
    timed alternately in one loop, so both share each repeat's machine load) with its interval: Student's t interval
    of the per-pair log ratios, exponentiated. The estimate and bounds are ratios, to judge against a threshold such
    as ``2.0`` ("at least twice as fast"); infinite bounds for fewer than two pairs."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired runs must match: {x.size} and {y.size} values")
    if x.size == 0:
        raise ValueError("no values to summarise")
    if not (np.all(x > 0) and np.all(y > 0)):
        raise ValueError("a ratio interval needs positive values")
    logs = mean_interval(np.log(x) - np.log(y), confidence)
    if not math.isfinite(logs.low):
        return Interval(math.exp(logs.estimate), -math.inf, math.inf, logs.n, confidence)
    return Interval(math.exp(logs.estimate), math.exp(logs.low), math.exp(logs.high), logs.n, confidence)


def proportion_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """A share of ``successes`` in ``trials`` (a recall, a precision) with its Wilson score interval
    (:func:`~playbook_lib.checks.statistics.wilson_interval`); ``[0, 1]`` for no trials."""
    from scipy import stats  # lazy: scipy (~0.5 s) only once an interval is computed, not when pages import verdicts

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    low, high = wilson_interval(int(successes), int(trials), z)
    return Interval(successes / trials if trials else 0.0, low, high, int(trials), confidence)


def judge(interval: Interval, threshold: float = 0.0, side: Side = "above") -> Verdict:
    """The verdict on a claim that the effect lies ``side`` of ``threshold``, from its interval (module
    docstring): held only when the whole interval is strictly on that side."""
    if side not in ("above", "below"):
        raise ValueError(f"side must be 'above' or 'below', not {side!r}")
    low, high = (interval.low, interval.high) if side == "above" else (-interval.high, -interval.low)
    t = threshold if side == "above" else -threshold
    if low > t:
        return Verdict.HELD
    if high < t:
        return Verdict.DID_NOT_HOLD
    return Verdict.INCONCLUSIVE


def within(interval: Interval, margin: float) -> Verdict:
    """The verdict on a claim that the effect lies within ``±margin`` (e.g. a forecast error of at most three
    points): held when the whole interval is inside, did not hold when it lies wholly outside, else inconclusive."""
    if margin <= 0:
        raise ValueError(f"margin must be > 0, got {margin}")
    if -margin < interval.low and interval.high < margin:
        return Verdict.HELD
    if interval.low > margin or interval.high < -margin:
        return Verdict.DID_NOT_HOLD
    return Verdict.INCONCLUSIVE


def differs(interval: Interval, margin: float) -> Verdict:
    """The verdict on a claim that an effect differs from zero by more than ``margin``, either way (the mirror of
    :func:`within`): held when the whole interval lies beyond ``±margin``, did not hold when it lies wholly inside,
    else inconclusive."""
    flipped = {Verdict.HELD: Verdict.DID_NOT_HOLD, Verdict.DID_NOT_HOLD: Verdict.HELD}
    return flipped.get(within(interval, margin), Verdict.INCONCLUSIVE)


def combine(verdicts: Sequence[Verdict]) -> Verdict:
    """A claim made of parts that must all hold: did not hold when any part did not, held when every part held,
    else (and for no parts) inconclusive."""
    if any(v is Verdict.DID_NOT_HOLD for v in verdicts):
        return Verdict.DID_NOT_HOLD
    if verdicts and all(v is Verdict.HELD for v in verdicts):
        return Verdict.HELD
    return Verdict.INCONCLUSIVE


@dataclass(frozen=True)
class Claim:
    """A claim as a page states it before measuring: what the effect is, and where the claim puts it."""

    effect: str
    threshold: float = 0.0
    side: Side = "above"

    def judge(self, interval: Interval) -> Verdict:
        """:func:`judge` with this claim's threshold and side."""
        return judge(interval, self.threshold, self.side)

    def sentence(self, interval: Interval) -> str:
        """One line for the page: the verdict, the effect with its interval, and the rule."""
        verdict = self.judge(interval)
        op = ">" if self.side == "above" else "<"
        return f"{verdict.value}: {self.effect} = {interval} (claim: {op} {self.threshold:+g})"


def any_holds(verdicts: Sequence[Verdict]) -> Verdict:
    """The verdict on a claim that at least one of several measures shows an effect: held when any part held, did
    not hold when every part did not (and for no parts), else inconclusive."""
    if any(v is Verdict.HELD for v in verdicts):
        return Verdict.HELD
    if all(v is Verdict.DID_NOT_HOLD for v in verdicts):
        return Verdict.DID_NOT_HOLD
    return Verdict.INCONCLUSIVE


@dataclass(frozen=True)
class Check:
    """One named, deterministic check of a rule claim: ``passed`` is ``True`` or ``False`` once measured, ``None``
    when it is undecided (the input it needs is missing, or a measured interval straddles its threshold);
    ``detail`` says what was measured."""

    name: str
    passed: bool | None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.passed is None:
            return
        if not isinstance(self.passed, (bool, np.bool_)):  # a count or a score is not a pass: the caller must decide
            raise TypeError(f"check {self.name!r}: passed must be a bool or None, not {self.passed!r}")
        object.__setattr__(self, "passed", bool(self.passed))  # numpy's bool_ (from array comparisons) as a bool

    @property
    def status(self) -> str:
        """``passed``, ``failed`` or ``undecided``."""
        return {True: "passed", False: "failed", None: "undecided"}[self.passed]


def _as_checks(checks: Mapping[str, bool | None] | Sequence[Check]) -> list[Check]:
    if isinstance(checks, Mapping):
        return [Check(str(name), passed) for name, passed in checks.items()]
    out = list(checks)
    if not all(isinstance(c, Check) for c in out):
        raise TypeError("checks must be a mapping of name -> passed or a sequence of Check")
    return out


def rules(checks: Mapping[str, bool | None] | Sequence[Check]) -> Verdict:
    """The verdict on a rule claim made of deterministic checks (module docstring): did not hold when any check
    failed, held when every check passed, inconclusive when one is undecided or there are none."""
    items = _as_checks(checks)
    if any(c.passed is False for c in items):
        return Verdict.DID_NOT_HOLD
    if items and all(c.passed is True for c in items):
        return Verdict.HELD
    return Verdict.INCONCLUSIVE


@dataclass(frozen=True)
class RuleVerdict:
    """A rule claim with its checks and the :func:`rules` verdict on them."""

    claim: str
    checks: tuple[Check, ...]
    verdict: Verdict

    @property
    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if c.passed is False]

    def markdown(self) -> str:
        """A Markdown list item for the page: the claim, the verdict and how many checks passed, then one nested
        item per check with its status and detail."""
        passed = sum(c.passed is True for c in self.checks)
        head = f"- **{self.claim}**: **{self.verdict.value}** ({passed} of {len(self.checks)} checks passed)"
        lines = [head] + [f"  - {c.status}: {c.name}" + (f" ({c.detail})" if c.detail else "") for c in self.checks]
        return "\n".join(lines)


def rule_verdict(claim: str, checks: Mapping[str, bool | None] | Sequence[Check]) -> RuleVerdict:
    """:func:`rules` on ``checks``, kept with the claim and the checks for the page (:meth:`RuleVerdict.markdown`)."""
    items = tuple(_as_checks(checks))
    return RuleVerdict(claim, items, rules(items))


def rules_markdown(verdicts: Sequence[RuleVerdict]) -> str:
    """Several rule verdicts as one Markdown list."""
    return "\n".join(v.markdown() for v in verdicts)
