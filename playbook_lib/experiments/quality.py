"""The two first experiments as runs and verdicts: *quality over quantity* and *what 50-100 examples tell you*.

Taught in ``notebooks/exp_01_quality_vs_quantity.ipynb`` and ``notebooks/exp_02_learning_curve.ipynb``. Each page
runs its profile with :func:`run_quality` / :func:`run_curve` and judges the measurements with
:func:`quality_verdicts` / :func:`curve_verdicts`; ``bench/experiment_tables.py`` runs the ``full`` profiles with
the same functions and commits their rows under ``notebooks/results/``, which the pages display and judge beside
their own small run. The rules are fixed here, before any numbers, and use :mod:`playbook_lib.experiments.verdict`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.errors import UsageError
from playbook_lib.experiments.runs import (
    PowerLawFit,
    VectorTable,
    fit_power_law,
    learning_curve,
    quality_grid,
    score,
    summarise,
    zero_shot,
)
from playbook_lib.experiments.tasks import (
    LABEL_DESCRIPTIONS,
    load_task,
    off_topic_texts,
    split_task,
    stratified_sample,
)
from playbook_lib.experiments.verdict import (
    Claim,
    Interval,
    Verdict,
    combine,
    difference_interval,
    mean_interval,
    within,
)

# Five seeds at least in every profile: the intervals of the verdicts are across seeds.
QUALITY_PROFILES: dict[str, dict[str, Any]] = {
    "small": dict(
        n_per_class=50,
        test_per_class=15,
        curated=8,
        sizes=[8, 20, 35],
        noise=[0.0, 0.2, 0.4, 0.6],
        seeds=5,
        off_topic=40,
    ),
    "full": dict(
        n_per_class=400,
        test_per_class=100,
        curated=20,
        sizes=[20, 50, 100, 200, 300],
        noise=[0.0, 0.2, 0.4, 0.6],
        seeds=5,
        off_topic=400,
    ),
}
CURVE_PROFILES: dict[str, dict[str, Any]] = {
    "small": dict(n_per_class=50, test_per_class=15, sizes=[1, 2, 4, 6, 8, 12, 20, 30], seeds=5),
    "full": dict(n_per_class=400, test_per_class=100, sizes=[1, 2, 4, 6, 8, 12, 25, 50, 100, 200, 300], seeds=10),
}
# The noisy arm's faults besides label flips (applied at every noise level above zero).
DUPLICATE_RATE = 0.25
OFF_TOPIC_RATE = 0.1
# Claim (b) of the learning-curve page: the forecast is off by at most three accuracy points.
FORECAST_MARGIN = 0.03

QUALITY_CLAIM = Claim("curated minus noisy accuracy", threshold=0.0, side="above")
GAIN_CLAIM = Claim("probe minus zero-shot accuracy", threshold=0.0, side="above")


def _profile(profiles: dict[str, dict[str, Any]], profile: str) -> dict[str, Any]:
    if profile not in profiles:
        raise UsageError(f"profile must be one of {sorted(profiles)}, not {profile!r}")
    return profiles[profile]


@dataclass(frozen=True)
class QualityRun:
    """One run of the quality-over-quantity experiment: ``grid`` (the noisy arm: one row per size, noise level and
    seed, columns of :func:`~playbook_lib.experiments.runs.quality_grid`) and ``curated`` (one row per seed:
    ``seed``, ``train_rows``, ``accuracy``, ``macro_f1``), plus what was run."""

    grid: pd.DataFrame
    curated: pd.DataFrame
    sizes: list[int]
    noise: list[float]
    seeds: list[int]
    test_rows: int
    pool_rows: int
    embedded: int

    def rows(self) -> pd.DataFrame:
        """Both arms in one table (``arm`` = noisy | curated), the form ``bench/experiment_tables.py`` commits."""
        curated = self.curated.assign(arm="curated", label_noise=0.0, size_per_class=-1)
        return pd.concat([self.grid.assign(arm="noisy"), curated], ignore_index=True)

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> QualityRun:
        """The run back from :meth:`rows` (e.g. a committed table); a table without both arms is a
        :class:`UsageError`."""
        if not {"arm", "seed", "accuracy", "size_per_class", "label_noise", "train_rows"} <= set(rows.columns):
            raise UsageError("not a quality-over-quantity table: columns arm, seed, accuracy, ... expected")
        grid = rows[rows.arm == "noisy"].drop(columns="arm").reset_index(drop=True)
        curated = rows[rows.arm == "curated"][["seed", "train_rows", "accuracy", "macro_f1"]].reset_index(drop=True)
        if grid.empty or curated.empty:
            raise UsageError("a quality-over-quantity table needs rows of both arms (noisy and curated)")
        for column in ("size_per_class", "seed", "train_rows"):
            grid[column] = grid[column].astype(int)
        curated["seed"] = curated["seed"].astype(int)
        return cls(
            grid,
            curated,
            sorted(int(s) for s in grid.size_per_class.unique()),
            sorted(float(x) for x in grid.label_noise.unique()),
            sorted(int(s) for s in curated.seed),
            0,
            0,
            0,
        )


def run_quality(
    data_dir: str | Path,
    profile: str = "small",
    seed: int = 0,
    curated_per_class: int = 0,
    cache_dir: str | Path | None = None,
) -> QualityRun:
    """Run the quality-over-quantity experiment of ``profile`` (:data:`QUALITY_PROFILES`): the noisy arm over
    every size and noise level, the curated arm (``curated_per_class`` clean rows per tool, 0 for the profile's)
    over the same seeds (``seed``, ``seed + 1``, ...)."""
    cfg = _profile(QUALITY_PROFILES, profile)
    seeds = [seed + s for s in range(cfg["seeds"])]
    task = load_task(data_dir, n_per_class=cfg["n_per_class"], seed=seed)
    pool, test = split_task(task, cfg["test_per_class"], seed=seed)
    off_texts, off_sources = off_topic_texts(data_dir, cfg["off_topic"], seed=seed)
    table = VectorTable.embed(task.texts + off_texts, cache_dir=cache_dir or None)
    grid = quality_grid(
        pool,
        test,
        table,
        sizes=cfg["sizes"],
        noise_levels=cfg["noise"],
        seeds=seeds,
        duplicate_rate=DUPLICATE_RATE,
        off_topic_rate=OFF_TOPIC_RATE,
        off_topic=(off_texts, off_sources),
    )
    n = curated_per_class or cfg["curated"]
    curated = []
    for s in seeds:
        train = stratified_sample(pool, n, seed=s)
        result = score(train, test, table, seed=s)
        curated.append({"seed": s, "train_rows": len(train), "accuracy": result.accuracy, "macro_f1": result.macro_f1})
    return QualityRun(
        grid, pd.DataFrame(curated), list(cfg["sizes"]), list(cfg["noise"]), seeds, len(test), len(pool), len(table)
    )


def quality_verdicts(run: QualityRun) -> pd.DataFrame:
    """The page's rule, fixed before the numbers: at each noise level above zero, the curated arm against the
    *largest* noisy set, seed by seed (both arms draw with the same seed); the paired difference of accuracy is
    judged by :data:`QUALITY_CLAIM` (held when its whole 95 % interval is above zero).

    One row per noise level: ``label_noise``, ``noisy_rows``, ``noisy_accuracy``, ``curated_rows``,
    ``curated_accuracy``, ``difference``, ``low``, ``high``, ``seeds``, ``verdict``.
    """
    largest = max(run.sizes)
    curated = run.curated.set_index("seed").sort_index()
    rows = []
    for level in sorted(x for x in run.noise if x > 0):
        big = run.grid[(run.grid.label_noise == level) & (run.grid.size_per_class == largest)]
        noisy = big.groupby("seed").accuracy.mean()
        seeds = sorted(set(noisy.index) & set(curated.index))
        interval = difference_interval(curated.accuracy.loc[seeds].to_numpy(), noisy.loc[seeds].to_numpy())
        rows.append(
            {
                "label_noise": level,
                "noisy_rows": int(big.train_rows.mean()),
                "noisy_accuracy": float(noisy.loc[seeds].mean()),
                "curated_rows": int(curated.train_rows.mean()),
                "curated_accuracy": float(curated.accuracy.loc[seeds].mean()),
                "difference": interval.estimate,
                "low": interval.low,
                "high": interval.high,
                "seeds": len(seeds),
                "verdict": QUALITY_CLAIM.judge(interval).value,
            }
        )
    return pd.DataFrame(rows)


def quality_summary(verdicts: pd.DataFrame) -> str:
    """One Markdown paragraph over the noise levels of :func:`quality_verdicts`."""
    lines = [
        f"- at {row.label_noise:.0%} noise: **{row.verdict}**, curated ({row.curated_rows} rows) minus noisy "
        f"({row.noisy_rows} rows) = {row.difference:+.3f} [{row.low:+.3f}, {row.high:+.3f}] over {row.seeds} seeds"
        for row in verdicts.itertuples()
    ]
    counts = {v.value: int((verdicts.verdict == v.value).sum()) for v in Verdict}
    return "\n".join(lines) + (
        f"\n\nOver {len(verdicts)} noise levels the claim held at {counts['held']}, did not hold at "
        f"{counts['did not hold']} and was inconclusive at {counts['inconclusive']}."
    )


@dataclass(frozen=True)
class CurveRun:
    """One run of the learning-curve experiment: ``curve`` (columns of
    :func:`~playbook_lib.experiments.runs.learning_curve`) and the zero-shot ``baseline`` accuracy."""

    curve: pd.DataFrame
    baseline: float
    seeds: list[int]
    test_rows: int
    pool_rows: int

    def rows(self) -> pd.DataFrame:
        """The curve plus one ``arm == "zero-shot"`` row, the form ``bench/experiment_tables.py`` commits."""
        base = pd.DataFrame([{"size_per_class": 0, "train_rows": 0, "seed": -1, "accuracy": self.baseline}])
        return pd.concat([self.curve.assign(arm="probe"), base.assign(arm="zero-shot")], ignore_index=True)

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> CurveRun:
        """The run back from :meth:`rows`; a table without probe rows and one zero-shot row is a
        :class:`UsageError`."""
        if not {"arm", "train_rows", "seed", "accuracy"} <= set(rows.columns):
            raise UsageError("not a learning-curve table: columns arm, train_rows, seed, accuracy expected")
        curve = rows[rows.arm == "probe"].drop(columns="arm").reset_index(drop=True)
        base = rows[rows.arm == "zero-shot"]
        if curve.empty or len(base) != 1:
            raise UsageError("a learning-curve table needs probe rows and exactly one zero-shot row")
        for column in ("size_per_class", "train_rows", "seed"):
            curve[column] = curve[column].astype(int)
        return cls(curve, float(base.accuracy.iloc[0]), sorted(int(s) for s in curve.seed.unique()), 0, 0)


def run_curve(
    data_dir: str | Path, profile: str = "small", seed: int = 0, cache_dir: str | Path | None = None
) -> CurveRun:
    """Run the learning-curve experiment of ``profile`` (:data:`CURVE_PROFILES`) and its zero-shot baseline."""
    cfg = _profile(CURVE_PROFILES, profile)
    seeds = [seed + s for s in range(cfg["seeds"])]
    task = load_task(data_dir, n_per_class=cfg["n_per_class"], seed=seed)
    pool, test = split_task(task, cfg["test_per_class"], seed=seed)
    descriptions = LABEL_DESCRIPTIONS[task.name]
    table = VectorTable.embed(task.texts + list(descriptions.values()), cache_dir=cache_dir or None)
    baseline = zero_shot(test, table, descriptions)
    curve = learning_curve(pool, test, table, sizes=cfg["sizes"], seeds=seeds)
    return CurveRun(curve, baseline.accuracy, seeds, len(test), len(pool))


@dataclass(frozen=True)
class CurveVerdicts:
    """The learning-curve page's two claims: (a) training on up to ``fit_max_rows`` rows beats zero-shot, (b) a
    power law fitted on those rows forecasts every larger size within :data:`FORECAST_MARGIN`."""

    fit: PowerLawFit
    budget_rows: int
    gain: Interval
    claim_a: Verdict
    forecast: pd.DataFrame  # train_rows, mean, std, predicted, error, low, high, verdict
    claim_b: Verdict

    def markdown(self, baseline: float) -> str:
        """The verdict lines for the page."""
        a = (
            f"**(a) {self.claim_a.value}**: with {self.budget_rows} examples, {GAIN_CLAIM.effect} = {self.gain} "
            f"(claim: > 0); zero-shot scored {baseline:.3f}."
        )
        if self.forecast.empty:
            return a + "\n\n**(b) not evaluated**: no measured size above the fitted range."
        worst = self.forecast.loc[self.forecast.error.abs().idxmax()]
        b = (
            f"**(b) {self.claim_b.value}**: measured minus forecast must lie within ±{FORECAST_MARGIN} at every "
            f"larger size; the largest miss is {abs(worst.error):.3f} at {int(worst.train_rows)} rows; per size: "
            + "; ".join(
                f"{int(r.train_rows)} rows {r.measured_minus_forecast:+.3f} [{r.low:+.3f}, {r.high:+.3f}] {r.verdict}"
                for r in self.forecast.itertuples()
            )
        )
        return a + "\n\n" + b


def curve_verdicts(run: CurveRun, fit_max_rows: int) -> CurveVerdicts:
    """The learning-curve page's rules, fixed before the numbers (95 % intervals over seeds): (a) held when the
    interval of *probe minus zero-shot accuracy* at the largest size within ``fit_max_rows`` lies wholly above
    zero; (b) held when at every larger size the interval of *measured minus predicted accuracy* lies wholly
    inside ±:data:`FORECAST_MARGIN`, did not hold when at some size it lies wholly outside, else inconclusive."""
    curve = run.curve
    early = curve[curve.train_rows <= fit_max_rows]
    if early.empty:
        raise UsageError(f"no measured size has at most fit_max_rows={fit_max_rows} training rows")
    fit = fit_power_law(early.train_rows, early.accuracy)
    budget = int(early.train_rows.max())
    runs = curve[curve.train_rows == budget].accuracy.to_numpy()
    gain = difference_interval(runs, np.full(runs.size, run.baseline))
    summary = summarise(curve, ["train_rows"])
    late = summary[summary.train_rows > fit_max_rows]
    rows, verdicts = [], []
    for row in late.itertuples():
        measured = curve[curve.train_rows == row.train_rows].accuracy.to_numpy()
        predicted = float(fit.predict(row.train_rows))
        interval = difference_interval(measured, np.full(measured.size, predicted))
        verdict = within(interval, FORECAST_MARGIN)
        verdicts.append(verdict)
        rows.append(
            {
                "train_rows": int(row.train_rows),
                "mean": row.mean,
                "std": row.std,
                "predicted": predicted,
                "error": predicted - row.mean,
                "measured_minus_forecast": interval.estimate,
                "low": interval.low,
                "high": interval.high,
                "verdict": verdict.value,
            }
        )
    forecast = pd.DataFrame(
        rows,
        columns=[
            "train_rows",
            "mean",
            "std",
            "predicted",
            "error",
            "measured_minus_forecast",
            "low",
            "high",
            "verdict",
        ],
    )
    return CurveVerdicts(fit, budget, gain, GAIN_CLAIM.judge(gain), forecast, combine(verdicts))


def _row(cells: list[str], head: bool = False) -> str:
    tag = "th" if head else "td"
    return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    body = "".join(_row(r) for r in rows)
    return f"<table><thead>{_row(header, head=True)}</thead><tbody>{body}</tbody></table>"


def noise_summary(frame: pd.DataFrame, label_noise: float) -> str:
    """HTML for one setting of the quality page's explorer over a committed table (:meth:`QualityRun.rows`): at
    ``label_noise``, every noisy set's accuracy and macro-F1 and the curated arm's, each the mean over seeds with
    its 95 % t interval (:func:`~playbook_lib.experiments.verdict.mean_interval`), then what the page's rule
    (:func:`quality_verdicts`) says at that noise level; at zero noise the rule does not judge."""
    run = QualityRun.from_rows(frame)
    level = float(label_noise)
    grid = run.grid[run.grid.label_noise == level]
    if grid.empty:
        raise UsageError(f"no noisy runs at label_noise {label_noise} (levels: {run.noise})")
    rows = []
    for size, group in grid.sort_values("seed").groupby("size_per_class"):
        rows.append(
            [
                f"noisy, {int(size)} per tool",
                f"{round(group.train_rows.mean()):,}",
                mean_interval(group.accuracy.to_numpy(dtype=float)).text(),
                mean_interval(group.macro_f1.to_numpy(dtype=float)).text(),
                str(group.seed.nunique()),
            ]
        )
    cur = run.curated.sort_values("seed")
    rows.append(
        [
            "curated (clean)",
            f"{round(cur.train_rows.mean()):,}",
            mean_interval(cur.accuracy.to_numpy(dtype=float)).text(),
            mean_interval(cur.macro_f1.to_numpy(dtype=float)).text(),
            str(cur.seed.nunique()),
        ]
    )
    head = (
        f"<p data-pb-noise='{level:g}'>{level:.0%} label noise: accuracy and macro-F1, mean over seeds "
        "[95 % interval]</p>"
    )
    table = _table(["training set", "rows", "accuracy", "macro-F1", "seeds"], rows)
    if level <= 0:
        return (
            head + table + "<p>At 0% noise the noisy arm is clean too: the rule judges the noise levels above zero.</p>"
        )
    verdicts = quality_verdicts(run)
    row = verdicts[verdicts.label_noise == level].iloc[0]
    interval = Interval(float(row.difference), float(row.low), float(row.high), int(row.seeds))
    held = int((verdicts.verdict == Verdict.HELD.value).sum())
    rule = (
        f"curated ({int(row.curated_rows):,} rows) minus the largest noisy set ({int(row.noisy_rows):,} rows), "
        f"paired over {int(row.seeds)} seeds: {QUALITY_CLAIM.effect} = {interval} (claim: > 0)"
    )
    return (
        head
        + table
        + f"<p><strong>Quality over quantity at {level:.0%} noise: {html.escape(str(row.verdict))}</strong></p>"
        + f"<p>{html.escape(rule)}. Over the {len(verdicts)} noise levels above zero the claim held at {held}.</p>"
    )


def curve_summary(frame: pd.DataFrame, size_per_class: int, fit_max_rows: int) -> str:
    """HTML for one setting of the learning-curve page's explorer over a committed table (:meth:`CurveRun.rows`):
    the probe's accuracy (and macro-F1) at ``size_per_class`` examples per tool, the mean over seeds with its 95 %
    t interval, beside the zero-shot baseline; the power law :func:`curve_verdicts` fits on the sizes up to
    ``fit_max_rows`` rows and its forecast at this size; and what the page's rules say there: claim (a) at the
    largest fitted size, claim (b) at a size beyond the fitted range (its forecast verdict, and the claim over
    every larger size)."""
    run = CurveRun.from_rows(frame)
    points = run.curve[run.curve.size_per_class == int(size_per_class)].sort_values("seed")
    if points.empty:
        raise UsageError(f"no probe runs at {size_per_class} examples per tool")
    n_rows = int(points.train_rows.iloc[0])
    result = curve_verdicts(run, int(fit_max_rows))
    fit = result.fit
    cells = [["probe accuracy", mean_interval(points.accuracy.to_numpy(dtype=float)).text()]]
    if "macro_f1" in points:
        cells.append(["probe macro-F1", mean_interval(points.macro_f1.to_numpy(dtype=float)).text()])
    cells.append(["zero-shot accuracy (no training)", f"{run.baseline:.3f}"])
    cells.append([f"forecast from the fit on ≤ {int(fit_max_rows):,} rows", f"{float(fit.predict(n_rows)):.3f}"])
    head = (
        f"<p data-pb-rows='{n_rows}'>{int(size_per_class)} examples per tool ({n_rows:,} training rows): mean over "
        f"{points.seed.nunique()} seeds [95 % interval]</p>"
    )
    formula = (
        f"Fitted on the sizes up to {result.budget_rows:,} rows: accuracy(n) = {fit.ceiling:.3f} - "
        f"{fit.scale:.3f} · n^-{fit.exponent:.3f}."
    )
    body = head + _table(["measure", "value"], cells) + f"<p>{html.escape(formula)}</p>"
    gain = f"probe minus zero-shot accuracy = {result.gain} (claim: > 0)"
    if n_rows <= int(fit_max_rows):
        at = "this size" if n_rows == result.budget_rows else f"{result.budget_rows:,} rows, the largest fitted size"
        later = (
            "(b) not evaluated: no measured size beyond the fitted range."
            if result.forecast.empty
            else "(b) is judged at the sizes beyond the fitted range."
        )
        return body + (
            f"<p><strong>(a) {html.escape(result.claim_a.value)}</strong>, judged at {at}: {html.escape(gain)}.</p>"
            f"<p>{later}</p>"
        )
    row = result.forecast[result.forecast.train_rows == n_rows].iloc[0]
    miss = (
        f"measured minus forecast = {row.measured_minus_forecast:+.3f} [{row.low:+.3f}, {row.high:+.3f}] "
        f"(claim: within ±{FORECAST_MARGIN})"
    )
    return body + (
        f"<p><strong>Forecast at {n_rows:,} rows: {html.escape(str(row.verdict))}</strong>: {html.escape(miss)}.</p>"
        f"<p>(b), at every size beyond the fitted range: <strong>{html.escape(result.claim_b.value)}</strong>.</p>"
        f"<p>(a), judged at {result.budget_rows:,} rows: {html.escape(result.claim_a.value)}: {html.escape(gain)}.</p>"
    )
