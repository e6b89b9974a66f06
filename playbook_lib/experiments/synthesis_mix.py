"""Measuring synthetic data: does it fill a coverage gap, can it replace real rows (mix ratios), does it imitate the
style of real rows without their accuracy, and does it copy its parents?

Taught in the book's *Data synthesis* page (``notebooks/dm_03_data_synthesis.ipynb``). The rows come from
:func:`playbook_lib.ops.synthesis.synthesize` (a ledger); the task, probe and coverage machinery from
:mod:`playbook_lib.experiments.tasks` and :mod:`playbook_lib.experiments.coverage`. Every claim is fixed here, before
the numbers, as a :class:`~playbook_lib.experiments.verdict.Claim` over per-seed effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.errors import UsageError
from playbook_lib.experiments.coverage import under_covered
from playbook_lib.experiments.lexical import distinct_n, take_tokens, tokenize
from playbook_lib.experiments.runs import VectorTable, score
from playbook_lib.experiments.tasks import TextTask, split_task, stratified_sample
from playbook_lib.experiments.verdict import (
    Claim,
    Interval,
    Verdict,
    combine,
    mean_interval,
    proportion_interval,
    within,
)
from playbook_lib.ops.synthesis import LedgerRow, parent_overlap

#: Mix ratios of (b): the share of each class's real training rows replaced by synthetic rows.
RATIOS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Style margins of (c): synthetic looks like real when the median length differs by under 5 words and distinct-1
#: (on an equal token budget) by under 0.05. Fixed before any run.
STYLE_MARGINS = {"median_words": 5.0, "distinct_1": 0.05}
#: A synthetic row is a near-copy of its parents when at least half of its word 5-grams are theirs.
NEAR_COPY = 0.5
#: Claim of the privacy line: fewer than 10 % of synthetic rows are near-copies (Wilson interval below).
MAX_NEAR_COPY_SHARE = 0.1


def reserve_parents(task: TextTask, per_class: int, seed: int = 0) -> tuple[TextTask, TextTask]:
    """``(parents, rest)``: ``per_class`` rows of every label set aside as the generator's parent rows, and the
    rest. Every measurement draws its training and test rows from ``rest``, so no synthetic row derives from a test
    row."""
    parents = stratified_sample(task, per_class, seed=seed)
    taken = set(parents.sources)
    rest = task.subset([i for i, s in enumerate(task.sources) if s not in taken])
    return parents, rest


def synthetic_task(rows: Sequence[LedgerRow], label_names: Sequence[str], max_chars: int = 400) -> TextTask:
    """Ledger rows as a task with the real task's label names (sources are ``ledger:<row_id>``); rows of a label
    the task lacks are a :class:`UsageError`."""
    unknown = sorted({r.label for r in rows} - set(label_names))
    if unknown:
        raise UsageError(f"ledger labels not in the task: {', '.join(unknown)}")
    names = list(label_names)
    return TextTask(
        "synthetic",
        [r.text[:max_chars] for r in rows],
        np.asarray([names.index(r.label) for r in rows], dtype=int),
        names,
        [f"ledger:{r.row_id}" for r in rows],
    )


def _of_label(task: TextTask, y: int) -> np.ndarray:
    return np.flatnonzero(task.labels == y)


def concat_tasks(parts: Sequence[TextTask]) -> TextTask:
    """The rows of several tasks with the same label names, in order, as one task."""
    return TextTask(
        parts[0].name,
        [t for p in parts for t in p.texts],
        np.concatenate([p.labels for p in parts]).astype(int),
        list(parts[0].label_names),
        [s for p in parts for s in p.sources],
    )


def _slice_acc(train: TextTask, test: TextTask, table: VectorTable, y: int, seed: int) -> float:
    mask = test.labels == y
    return score(train, test.subset(np.flatnonzero(mask)), table, seed=seed).accuracy


def gap_seed(
    rest: TextTask,
    parents: TextTask,
    synth: TextTask,
    table: VectorTable,
    slice_name: str,
    per_class: int,
    test_per_class: int,
    n_synthetic: int,
    seed: int = 0,
    control: TextTask | None = None,
) -> dict[str, float | int]:
    """One seed of (a): train on an under-covered set (``per_class`` real rows per label, only the slice's parent
    rows for the slice), on the same plus ``n_synthetic`` synthetic slice rows, and on a balanced real set.

    Returns per-seed ``slice_gain`` (slice accuracy with minus without the synthetic rows), ``macro_f1_gain``
    (the class-balance effect), ``overall_gain`` (accuracy on the whole test set), and ``real_gain`` (balanced real
    minus under-covered slice accuracy: what collecting real rows would have given). With a ``control`` task (texts
    of no class, e.g. :func:`~playbook_lib.experiments.tasks.off_topic_texts`), ``n_synthetic`` of them labelled as
    the slice make a fourth arm, and ``content_gain`` is slice accuracy with the synthetic rows minus with these:
    what the rows' content adds beyond more rows carrying the slice's label (the classifier's class prior)."""
    y = rest.label_names.index(slice_name)
    pool, test = split_task(rest, test_per_class, seed=seed)
    skewed = concat_tasks(
        [under_covered(pool, slice_name, per_class, 0, seed=seed), parents.subset(_of_label(parents, y))]
    )
    rows = _of_label(synth, y)
    if len(rows) < n_synthetic:
        raise UsageError(f"the ledger has {len(rows)} rows of {slice_name!r}, fewer than n_synthetic={n_synthetic}")
    pick = np.random.default_rng(seed).choice(rows, size=n_synthetic, replace=False)
    filled = concat_tasks([skewed, synth.subset(pick)])
    balanced = stratified_sample(pool, per_class, seed=seed)
    arms = [("skewed", skewed), ("filled", filled), ("balanced", balanced)]
    if control is not None:
        if len(control) < n_synthetic:
            raise UsageError(f"the control has {len(control)} rows, fewer than n_synthetic={n_synthetic}")
        chosen = control.subset(np.random.default_rng(seed + 1).choice(len(control), n_synthetic, replace=False))
        relabelled = TextTask(
            chosen.name, chosen.texts, np.full(n_synthetic, y), list(rest.label_names), chosen.sources
        )
        arms.append(("control", concat_tasks([skewed, relabelled])))
    s = {name: score(d, test, table, seed=seed) for name, d in arms[:2]}
    acc = {name: _slice_acc(d, test, table, y, seed) for name, d in arms}
    return {
        "seed": seed,
        "slice_under": acc["skewed"],
        "slice_synthetic": acc["filled"],
        "slice_balanced": acc["balanced"],
        "slice_gain": acc["filled"] - acc["skewed"],
        "macro_f1_gain": s["filled"].macro_f1 - s["skewed"].macro_f1,
        "overall_gain": s["filled"].accuracy - s["skewed"].accuracy,
        "real_gain": acc["balanced"] - acc["skewed"],
        **({"content_gain": acc["filled"] - acc["control"]} if control is not None else {}),
    }


def mix_seed(
    rest: TextTask,
    synth: TextTask,
    table: VectorTable,
    per_class: int,
    test_per_class: int,
    ratios: Sequence[float] = RATIOS,
    seed: int = 0,
) -> list[dict[str, float | int]]:
    """One seed of (b): a balanced real training set of ``per_class`` rows per label, then the same with a share
    ``ratio`` of each label's real rows replaced by synthetic rows of that label; accuracy on real test rows."""
    pool, test = split_task(rest, test_per_class, seed=seed)
    real = stratified_sample(pool, per_class, seed=seed)
    rng = np.random.default_rng(seed)
    out: list[dict[str, float | int]] = []
    synth_order = {y: rng.permutation(_of_label(synth, y)) for y in range(len(rest.label_names))}
    for ratio in ratios:
        parts = []
        for y in range(len(rest.label_names)):
            k = int(round(ratio * per_class))
            available = synth_order[y]
            if len(available) < k:
                raise UsageError(f"the ledger has {len(available)} rows of {rest.label_names[y]!r}; ratio needs {k}")
            parts.append(real.subset(_of_label(real, y)[k:]))
            parts.append(synth.subset(available[:k]))
        result = score(concat_tasks(parts), test, table, seed=seed)
        out.append({"seed": seed, "ratio": float(ratio), "accuracy": result.accuracy, "macro_f1": result.macro_f1})
    return out


def style_seed(real: TextTask, synth: TextTask, n: int, seed: int = 0) -> dict[str, float | int]:
    """One seed of the style side of (c): ``n`` rows drawn from each of ``real`` and ``synth``; synthetic minus
    real median length (words) and distinct-1 on an equal token budget."""
    rng = np.random.default_rng(seed)
    if min(len(real), len(synth)) < n:
        raise UsageError(f"style_seed needs {n} rows of each, got {len(real)} real and {len(synth)} synthetic")
    a = [real.texts[i] for i in rng.choice(len(real), n, replace=False)]
    b = [synth.texts[i] for i in rng.choice(len(synth), n, replace=False)]
    tok_a, tok_b = [tokenize(t) for t in a], [tokenize(t) for t in b]
    budget = min(sum(map(len, tok_a)), sum(map(len, tok_b)))
    d1 = distinct_n(take_tokens(tok_b, budget), 1) - distinct_n(take_tokens(tok_a, budget), 1)
    return {
        "seed": seed,
        "median_words": float(np.median([len(t) for t in tok_b]) - np.median([len(t) for t in tok_a])),
        "distinct_1": float(d1),
    }


def parent_overlaps(rows: Sequence[LedgerRow], parent_text: dict[str, str], n: int = 5) -> np.ndarray:
    """Per ledger row, :func:`~playbook_lib.ops.synthesis.parent_overlap` with the parent rows its prompt showed
    (looked up by id in ``parent_text``)."""
    return np.array([parent_overlap(r.text, [parent_text[p] for p in r.parent_ids], n) for r in rows])


CLAIM_GAP = (Claim("slice accuracy gain from synthetic rows"), Claim("macro-F1 gain from synthetic rows"))
#: Added after the first run showed (a) held with rows that are mostly assistant chatter: the gain must exceed
#: that of as many off-topic rows carrying the slice's label.
CLAIM_CONTENT = Claim("slice accuracy, synthetic rows - off-topic rows labelled as the slice")
CLAIM_REPLACE = Claim("accuracy, all real - all synthetic")
CLAIM_ANCHOR = Claim("accuracy, 25 % real - all synthetic")
CLAIM_PRIVACY = Claim("share of synthetic rows that are near-copies of a parent", MAX_NEAR_COPY_SHARE, "below")


@dataclass(frozen=True)
class SynthesisVerdict:
    """The page's verdicts with the intervals they rest on."""

    gap: tuple[Interval, Interval]
    replace: Interval
    anchor: Interval
    style: dict[str, Interval]
    near_copy: Interval
    content: Interval | None
    a: Verdict
    b: Verdict
    c: Verdict
    privacy: Verdict

    def lines(self) -> list[str]:
        """Markdown bullet lines, one verdict each with its parts."""
        style = "; ".join(
            f"{k} = {i} ({within(i, STYLE_MARGINS[k]).value} within ±{STYLE_MARGINS[k]:g})"
            for k, i in self.style.items()
        )
        return [
            f"- **(a) synthetic rows fill the gap: {self.a.value}** (both parts must hold, {self.gap[0].n} seeds):",
            *[f"  - {c.sentence(i)}" for c, i in zip(CLAIM_GAP, self.gap, strict=True)],
            *(
                [
                    f"- **Beyond the class prior: {CLAIM_CONTENT.judge(self.content).value}**: "
                    f"{CLAIM_CONTENT.sentence(self.content)}"
                ]
                if self.content is not None
                else []
            ),
            f"- **(b) synthetic rows do not replace real ones: {self.b.value}** (both parts must hold):",
            f"  - {CLAIM_REPLACE.sentence(self.replace)}",
            f"  - {CLAIM_ANCHOR.sentence(self.anchor)}",
            f"- **(c) superficial imitation (style matches, accuracy does not): {self.c.value}**: style, synthetic "
            f"minus real: {style}; accuracy: {CLAIM_REPLACE.sentence(self.replace)}",
            f"- **Privacy (near-copies under {MAX_NEAR_COPY_SHARE:.0%}): {self.privacy.value}**: "
            f"{CLAIM_PRIVACY.sentence(self.near_copy)}",
        ]


def synthesis_verdict(
    gap: pd.DataFrame, mix: pd.DataFrame, style: pd.DataFrame, overlaps: Sequence[float] | np.ndarray
) -> SynthesisVerdict:
    """Judge the page's claims from the per-seed frames of :func:`gap_seed`, :func:`mix_seed` and
    :func:`style_seed` and the per-row :func:`parent_overlaps`: t intervals of per-seed (paired) effects; (c) holds
    when both style differences are within :data:`STYLE_MARGINS` and the all-real minus all-synthetic accuracy
    is above 0; a Wilson interval on the near-copy share; with a ``content_gain`` column (a control arm), the
    beyond-the-class-prior line."""
    if len(gap) == 0 or len(mix) == 0 or len(style) == 0:
        raise UsageError("no seeds to judge")
    gaps = (mean_interval(gap["slice_gain"]), mean_interval(gap["macro_f1_gain"]))
    wide = mix.pivot(index="seed", columns="ratio", values="accuracy")
    for r in (0.0, 0.75, 1.0):
        if r not in wide.columns:
            raise UsageError(f"the mix runs lack ratio {r}")
    replace = mean_interval(wide[0.0] - wide[1.0])
    anchor = mean_interval(wide[0.75] - wide[1.0])
    styles = {k: mean_interval(style[k]) for k in STYLE_MARGINS}
    o = np.asarray(overlaps, dtype=float)
    near = proportion_interval(int((o >= NEAR_COPY).sum()), len(o))
    a = combine([c.judge(i) for c, i in zip(CLAIM_GAP, gaps, strict=True)])
    b = combine([CLAIM_REPLACE.judge(replace), CLAIM_ANCHOR.judge(anchor)])
    c = combine([*(within(i, STYLE_MARGINS[k]) for k, i in styles.items()), CLAIM_REPLACE.judge(replace)])
    content = mean_interval(gap["content_gain"]) if "content_gain" in gap.columns else None
    return SynthesisVerdict(gaps, replace, anchor, styles, near, content, a, b, c, CLAIM_PRIVACY.judge(near))
