"""The claims of the *Human vs synthetic provenance* page, measured over seeds and judged by rules fixed here.

Taught on ``notebooks/exp_07_provenance.ipynb``; its full profile is committed as
``notebooks/results/exp_07_provenance.csv`` by ``bench/experiment_tables.py --pages exp_07``.

A *seed* is one independent draw of rows from every source: each source is shuffled once (with the page's ``seed``)
and seed ``i`` takes its ``i``-th block of rows (:func:`seed_draws`), so no row is in two seeds. Draws that could
share rows would agree more than independent samples do and give a falsely narrow interval (a source smaller than
the sample would be the same rows in every seed). Every measure is taken on each seed's whole draw
(:func:`measure_seed`), the rows of :data:`TABLE_COLUMNS`, and each claim is judged from the 95 % t interval of its
per-seed values (:func:`judge_table`), with the rules of :mod:`playbook_lib.experiments.human_vs_synthetic`:

- a measure **separates** human from synthetic sources when its separation gap (the distance between the two
  groups' ranges, negative when they overlap) is above zero;
- a like-with-like difference is a **provenance effect** when its interval lies wholly beyond :data:`MARGINS`
  against every human source in the same direction;
- the ``provenance`` check is **right** when the error of its reported shares is within ``±CHECK_MARGIN``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playbook_lib.errors import DataError, UsageError
from playbook_lib.experiments.human_vs_synthetic import (
    CHECK_MARGIN,
    LIKE_WITH_LIKE,
    MARGINS,
    SOURCES,
    check_errors,
    common_budget,
    fold_differences,
    judge_differences,
    load_source,
    profile_sources,
    separation_gap,
)
from playbook_lib.experiments.verdict import Claim, Interval, Verdict, any_holds, differs, mean_interval, within

if TYPE_CHECKING:
    import pandas as pd

    from playbook_lib.embeddings.model import Embedder

#: The page's profiles: rows per source and seed (a source with fewer than ``seeds`` times as many rows gives each
#: seed an equal share of all its rows), rows per source and seed embedded, words kept per embedded row, seeds.
#: Fixed before the full profile was first run.
PROVENANCE_PROFILES: dict[str, dict[str, int]] = {
    "small": {"n_rows": 30, "n_embed": 8, "embed_words": 64, "seeds": 5},
    "full": {"n_rows": 200, "n_embed": 64, "embed_words": 128, "seeds": 5},
}

#: The measures whose separation gap is judged (``mean_pairwise_cosine`` only where rows were embedded).
GAP_METRICS: tuple[str, ...] = (
    "median_tokens",
    "distinct_2",
    "mtld",
    "stock_opener",
    "list_or_markdown",
    "hedging",
    "near_duplicate_rate",
    "mean_pairwise_cosine",
    "first_person",
)

#: One row per seed and measured value: ``kind`` is ``profile`` (``group`` a source), ``gap`` (``group``
#: ``human vs synthetic``), ``difference`` (``group`` ``synthetic - human``, a :data:`LIKE_WITH_LIKE` pair) or
#: ``check`` (``group`` ``provenance check``).
TABLE_COLUMNS: tuple[str, ...] = ("seed", "kind", "group", "measure", "value")


def seed_draws(root: str | Path, names: Sequence[str], n: int, seeds: int = 5, seed: int = 0) -> list[pd.DataFrame]:
    """``seeds`` disjoint draws of each source under ``root``: the source shuffled with ``seed``
    (:func:`~playbook_lib.experiments.human_vs_synthetic.load_source`), draw ``i`` its rows ``i*m`` to ``(i+1)*m``
    with ``m = min(n, rows // seeds)``. A source with fewer rows than ``seeds`` is a
    :class:`~playbook_lib.errors.DataError`."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    if seeds < 2:
        raise UsageError(f"seeds must be at least 2 for an interval, got {seeds}")
    if n < 1:
        raise UsageError(f"n must be at least 1, got {n}")
    parts: list[list[pd.DataFrame]] = [[] for _ in range(seeds)]
    for name in names:
        rows = load_source(root, name, None, seed)
        m = min(n, len(rows) // seeds)
        if m == 0:
            raise DataError(f"source {name!r} has {len(rows)} rows, fewer than {seeds} seeds")
        for i in range(seeds):
            parts[i].append(rows.iloc[i * m : (i + 1) * m])
    return [pd.concat(p, ignore_index=True) for p in parts]


def measure_seed(
    draw: pd.DataFrame,
    seed: int,
    count_tokens: Callable[[str], int] | None = None,
    embedder: Embedder | None = None,
    n_embed: int = 8,
    embed_words: int = 64,
) -> list[dict[str, Any]]:
    """Every measured value of one seed's draw, as rows of :data:`TABLE_COLUMNS`: each source's profile
    (:func:`~playbook_lib.experiments.human_vs_synthetic.profile_sources`, diversity on the draw's common budget,
    embedding spread on ``n_embed`` rows per source when an ``embedder`` is given and ``n_embed >= 2``), the
    separation gap of each :data:`GAP_METRICS` measure it has, the like-with-like differences of the
    :data:`LIKE_WITH_LIKE` pairs it holds, and the provenance check's errors."""
    embed = embedder if n_embed >= 2 else None
    profile = profile_sources(draw, common_budget(draw), count_tokens, embed, n_embed, embed_words, progress=False)
    rows: list[dict[str, Any]] = [
        {"seed": seed, "kind": "profile", "group": source, "measure": m, "value": float(profile.loc[source, m])}
        for source in profile.index
        for m in profile.columns
        if m != "provenance"
    ]
    groups = set(profile["provenance"])
    if {"human", "synthetic"} <= groups:
        rows += [
            {
                "seed": seed,
                "kind": "gap",
                "group": "human vs synthetic",
                "measure": m,
                "value": separation_gap(profile, m),
            }
            for m in GAP_METRICS
            if m in profile.columns
        ]
    present = set(draw["source"])
    for human, synthetic in LIKE_WITH_LIKE:
        if human in present and synthetic in present:
            diffs = fold_differences([draw], human, synthetic, count_tokens)["fold_0"]
            group = f"{synthetic} - {human}"
            rows += [
                {"seed": seed, "kind": "difference", "group": group, "measure": m, "value": float(v)}
                for m, v in diffs.items()
            ]
    synthetic_sources = sorted(s for s in present if SOURCES.get(s) and SOURCES[s].provenance == "synthetic")
    rows += [
        {"seed": seed, "kind": "check", "group": "provenance check", "measure": m, "value": float(v)}
        for m, v in check_errors(draw, synthetic_sources).items()
    ]
    return rows


def run_seeds(
    root: str | Path,
    names: Sequence[str],
    profile: str = "small",
    seed: int = 0,
    count_tokens: Callable[[str], int] | None = None,
    embedder: Embedder | None = None,
    **overrides: int,
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The page's measurement for one of :data:`PROVENANCE_PROFILES` (``overrides`` replace its ``n_rows``,
    ``n_embed``, ``embed_words`` or ``seeds``): the table of :func:`measure_seed` rows over every seed's draw, and
    the draws (:func:`seed_draws`)."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    if profile not in PROVENANCE_PROFILES:
        raise UsageError(f"unknown profile {profile!r}; use one of {', '.join(PROVENANCE_PROFILES)}")
    unknown = set(overrides) - set(PROVENANCE_PROFILES[profile])
    if unknown:
        raise UsageError(f"unknown settings {sorted(unknown)}")
    cfg = {**PROVENANCE_PROFILES[profile], **{k: v for k, v in overrides.items() if v}}
    draws = seed_draws(root, names, cfg["n_rows"], cfg["seeds"], seed)
    rows = [
        r
        for i, draw in enumerate(draws)
        for r in measure_seed(draw, i, count_tokens, embedder, cfg["n_embed"], cfg["embed_words"])
    ]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS)), draws


def read_provenance_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """A committed :func:`run_seeds` table and its ``# key: value`` header lines; a missing or incomplete file is a
    :class:`~playbook_lib.errors.DataError`."""
    from playbook_lib.experiments.tables import read_table  # lazy: pandas only where a table is read

    return read_table(path, required=TABLE_COLUMNS)


def _per_seed(table: pd.DataFrame, kind: str, group: str, measure: str) -> list[float]:
    rows = table[(table["kind"] == kind) & (table["group"] == group) & (table["measure"] == measure)]
    return rows.sort_values("seed")["value"].astype(float).tolist()


@dataclass(frozen=True)
class ProvenanceVerdicts:
    """The page's verdicts from a :func:`run_seeds` table (see :func:`judge_table`)."""

    seeds: int
    gaps: dict[str, Interval]
    effects: pd.DataFrame
    check_errors: dict[str, Interval]

    @staticmethod
    def gap_claim(metric: str) -> Claim:
        """The claim that ``metric`` separates the groups: its separation gap is above zero."""
        return Claim(f"separation gap of {metric}", 0.0, "above")

    @property
    def separates(self) -> dict[str, Verdict]:
        """Per measure, whether it separates human from synthetic sources across tasks."""
        return {m: self.gap_claim(m).judge(i) for m, i in self.gaps.items()}

    @property
    def like_with_like(self) -> dict[str, Verdict]:
        """Per measure, whether it is a provenance effect like with like (:func:`consistent_difference`)."""
        if self.effects.empty:
            return {}
        return {m: Verdict(v) for m, v in self.effects["provenance effect"].items()}

    @property
    def check_right(self) -> dict[str, Verdict]:
        """Per share the check reports, whether its error is within ``±CHECK_MARGIN``."""
        return {m: within(i, CHECK_MARGIN) for m, i in self.check_errors.items()}

    @property
    def measurable(self) -> Verdict:
        """Some measure differs like with like, against every human source in the same direction."""
        return any_holds(list(self.like_with_like.values()))

    @property
    def separated(self) -> Verdict:
        """Some measure separates human from synthetic sources across tasks."""
        return any_holds(list(self.separates.values()))

    def parts(self) -> dict[str, Verdict]:
        """Every verdict by name, the two headline claims first: for a table that sets two runs (the build's and
        the committed full profile) side by side."""
        out = {"some measure differs like with like": self.measurable, "some measure separates": self.separated}
        out.update({f"like with like: {m}": v for m, v in self.like_with_like.items()})
        out.update({f"separates: {m}": v for m, v in self.separates.items()})
        out.update({f"check: {m}": v for m, v in self.check_right.items()})
        return out

    def lines(self) -> list[str]:
        """Markdown bullet lines: the two headline verdicts, then every part with its interval and rule."""

        def names(found: dict[str, Verdict]) -> str:
            return ", ".join(m for m, v in found.items() if v is Verdict.HELD) or "none"

        like, sep = self.like_with_like, self.separates
        out = [
            f"- **{self.measurable.value}**: some measure differs like with like, against every human source in the "
            f"same direction ({names(like)} of {len(like)} measures).",
            f"- **{self.separated.value}**: some measure separates human from synthetic sources across tasks "
            f"({names(sep)} of {len(sep)}).",
        ]
        out += [f"  - {self.gap_claim(m).sentence(i)}" for m, i in self.gaps.items()]
        for m, i in self.check_errors.items():
            out.append(f"- {within(i, CHECK_MARGIN).value}: {m} = {i} (claim: within ±{CHECK_MARGIN:g})")
        return out

    def by_verdict(self) -> list[str]:
        """Markdown lines: the measures of each claim grouped by their verdict."""

        def grouped(found: dict[str, Verdict]) -> str:
            return "; ".join(
                f"*{v.value}*: {', '.join(m for m, x in found.items() if x is v) or 'none'}" for v in Verdict
            )

        return [
            f"- separation across tasks: {grouped(self.separates)}",
            f"- provenance effect like with like: {grouped(self.like_with_like)}",
            f"- the provenance check's share errors: {grouped(self.check_right)}",
        ]


def judge_table(table: pd.DataFrame) -> ProvenanceVerdicts:
    """Judge the page's claims from a :func:`run_seeds` table (live or committed): each measure's separation gap,
    each like-with-like difference (:func:`~playbook_lib.experiments.human_vs_synthetic.judge_differences`, over
    seeds instead of folds) and each check error, from the 95 % t interval of its per-seed values."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    missing = set(TABLE_COLUMNS) - set(table.columns)
    if missing:
        raise UsageError(f"not a provenance table: missing columns {sorted(missing)}")
    if table.empty:
        raise UsageError("no runs to judge")
    seeds = int(table["seed"].nunique())
    gap_rows = table[table["kind"] == "gap"]
    gaps = {
        m: mean_interval(_per_seed(table, "gap", "human vs synthetic", m))
        for m in GAP_METRICS
        if m in set(gap_rows["measure"])
    }
    per_pair: dict[tuple[str, str], pd.DataFrame] = {}
    diff_rows = table[table["kind"] == "difference"]
    for group in dict.fromkeys(diff_rows["group"]):
        synthetic, _, human = str(group).partition(" - ")
        part = diff_rows[diff_rows["group"] == group]
        wide = part.pivot(index="measure", columns="seed", values="value").astype(float)
        if set(MARGINS) - set(wide.index):
            raise UsageError(f"{group}: missing measures {sorted(set(MARGINS) - set(wide.index))}")
        per_pair[(human, synthetic)] = wide.loc[list(MARGINS)]
    effects = judge_differences(per_pair) if per_pair else pd.DataFrame()
    check_rows = table[table["kind"] == "check"]
    checks = {
        str(m): mean_interval(_per_seed(table, "check", "provenance check", str(m)))
        for m in dict.fromkeys(check_rows["measure"])
    }
    return ProvenanceVerdicts(seeds, gaps, effects, checks)


def profile_means(table: pd.DataFrame) -> pd.DataFrame:
    """The per-source profile of a :func:`run_seeds` table, mean over seeds: one row per source, one column per
    measure (sources in table order)."""
    rows = table[table["kind"] == "profile"]
    means = rows.pivot_table(index="group", columns="measure", values="value", aggfunc="mean", sort=False)
    means.index.name = "source"
    return means


#: The measures :func:`comparison_summary` can show: the style markers by name, length and the diversity, duplicate
#: and spread measures (a like-with-like pair compares length and the markers, :data:`MARGINS`; the separation
#: gap every :data:`GAP_METRICS` measure).
COMPARED_MEASURES: tuple[str, ...] = (
    "median_tokens",
    "first_person",
    "stock_opener",
    "list_or_markdown",
    "hedging",
    "closing_summary",
    "distinct_2",
    "mtld",
    "near_duplicate_rate",
    "mean_pairwise_cosine",
)
#: The group of the separation gap in a :func:`run_seeds` table: every human source against every synthetic one.
GAP_GROUP = "human vs synthetic"


def comparisons(table: pd.DataFrame) -> dict[str, str]:
    """The comparisons a :func:`run_seeds` table holds, ``{label: group}``: each like-with-like pair
    (``"synthetic - human"``) and, when measured, the separation gap of the human and synthetic groups."""
    groups = dict.fromkeys(table.loc[table["kind"] == "difference", "group"].astype(str))
    out = {f"{g.partition(' - ')[0]} vs {g.partition(' - ')[2]} (like with like)": g for g in groups}
    if (table["kind"] == "gap").any():
        out[f"{GAP_GROUP} (across tasks)"] = GAP_GROUP
    return out


def _difference_measure(measure: str) -> str:
    return measure if measure == "median_tokens" else f"share_{measure}"


def comparison_summary(table: pd.DataFrame, group: str, measure: str) -> str:
    """HTML for one setting of the provenance page's explorer: for a like-with-like ``group``
    (``"synthetic - human"``) the per-seed difference of ``measure`` with its 95 % t interval, its
    :func:`~playbook_lib.experiments.verdict.differs` verdict against that human source and the measure's
    provenance-effect verdict over every pair (:func:`judge_table`); for :data:`GAP_GROUP` the separation gap with
    its interval and verdict. A measure the comparison does not take says so."""
    verdicts = judge_table(table)
    seeds = int(table["seed"].nunique())
    if group == GAP_GROUP:
        values = _per_seed(table, "gap", GAP_GROUP, measure)
        if not values:
            return f"<p>No separation gap of {html.escape(measure)} in this table.</p>"
        sentence = ProvenanceVerdicts.gap_claim(measure).sentence(mean_interval(values))
        return (
            f"<p>Separation gap of {html.escape(measure)}, human vs synthetic sources, over {seeds} seeds "
            "(the distance between the groups' ranges; negative when they overlap):</p>"
            f"<p><strong>{html.escape(sentence)}</strong></p>"
        )
    synthetic, _, human = group.partition(" - ")
    name = _difference_measure(measure)
    values = _per_seed(table, "difference", group, name)
    if not human or name not in MARGINS:
        return (
            f"<p>{html.escape(measure)} is not compared like with like: the pairs compare median length and the "
            "style markers' shares; see the separation gap.</p>"
        )
    if not values:
        raise UsageError(f"no like-with-like pair {group!r} in this table")
    interval, margin = mean_interval(values), MARGINS[name]
    effect = verdicts.like_with_like[name].value
    return (
        f"<p>{html.escape(name)}, {html.escape(synthetic)} minus {html.escape(human)}, mean over {seeds} seeds: "
        f"{html.escape(str(interval))}</p>"
        f"<p>Differs beyond ±{margin:g} against {html.escape(human)}: {differs(interval, margin).value}</p>"
        f"<p><strong>Provenance effect of {html.escape(name)} (beyond ±{margin:g} against every human source, "
        f"in the same direction): {effect}</strong></p>"
    )
