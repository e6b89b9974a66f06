"""Kernel-free controls for three experiment pages on dataset checks: each moves a check's knob over numbers the
page has already computed and shows what the check reports at that setting.

- *Duplicates and contamination* (``notebooks/exp_04_contamination.ipynb``): :func:`contamination_explorer`, the
  ``contamination`` check's n-gram length and ``min_prompt_containment``, graded against the planted rows.
- *Coverage* (``notebooks/exp_05_coverage.ipynb``): :func:`coverage_explorer`, the ``embedding_coverage``
  threshold over the traffic's nearest-training similarities, per slice.
- *Formatting errors* (``notebooks/exp_08_formatting_errors.ipynb``): :func:`format_fault_explorer`, the share of
  broken lines, and what the loaders and the format checks make of the file.

The ``*_html`` functions render one setting; the explorers call them for every setting on the grid and export
what they were computed from, so that ``tests/site/test_controls.py`` can recompute the shown setting.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from playbook_lib.checks.embedding import COVERAGE_THRESHOLDS, EmbeddingCoverageCheck
from playbook_lib.experiments.coverage import nearest_similarity, uncovered_by_slice
from playbook_lib.experiments.format_faults import CORRUPTIONS, FaultReport, fault_report
from playbook_lib.experiments.leakage import containment_scores, detection, flags_at
from playbook_lib.experiments.noise import PERTURBATIONS
from playbook_lib.experiments.runs import VectorTable
from playbook_lib.experiments.tasks import TextTask, load_task, split_task, stratified_sample
from playbook_lib.widgets.explorer import Explorer, choice, slider

#: n-gram lengths the contamination control offers (13 is the check's default).
NGRAMS = (1, 2, 3, 4, 5, 6, 8, 10, 13)
#: ``min_prompt_containment`` values it offers (0 is the check's default: one shared n-gram flags a row).
CONTAINMENTS = tuple(round(0.1 * i, 1) for i in range(11))
#: Similarity thresholds the coverage control offers (``embedding_coverage``'s MiniLM default, 0.5, among them).
COVERAGE_GRID = tuple(round(0.3 + 0.025 * i, 3) for i in range(25))
#: Shares of broken lines the formatting control offers.
CORRUPT_RATES = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], bold: int | None = None) -> str:
    """A plain HTML table (the book's own table style); row ``bold`` in bold."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{f'<b>{html.escape(str(v))}</b>' if r == bold else html.escape(str(v))}</td>" for v in row)
        + "</tr>"
        for r, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- exp_04: contamination ----------------------------------------------------------------------------------------


def contamination_html(
    scores: Sequence[float] | np.ndarray,
    truth: Sequence[bool] | np.ndarray,
    modes: Sequence[str],
    ngram: int,
    threshold: float,
) -> str:
    """What the ``contamination`` check (``ngram``, ``min_prompt_containment = threshold``, on the request field)
    flags among the training rows, from their :func:`~playbook_lib.experiments.leakage.containment_scores`, graded
    against the planted ``truth``; ``modes[i]`` is how row ``i`` was planted (``""`` for a row nobody planted), the
    kinds of copy listed in the order of :data:`~playbook_lib.experiments.noise.PERTURBATIONS`."""
    flags = flags_at(scores, threshold)
    planted = np.asarray(truth, dtype=bool)
    kinds = np.asarray(modes, dtype=object)
    found = detection(flags, planted)
    rows = []
    present = [k for k in dict.fromkeys(kinds.tolist()) if k]
    for kind in [k for k in PERTURBATIONS if k in present] + [k for k in present if k not in PERTURBATIONS]:
        mask = planted & (kinds == kind)
        caught = int((flags & mask).sum())
        rows.append((kind, int(mask.sum()), caught, f"{caught / max(int(mask.sum()), 1):.0%}"))
    extra = found.flagged - found.true_positives
    return (
        f"<p data-pb-flagged='{found.flagged}' data-pb-caught='{found.true_positives}'>"
        f"<code>contamination</code> with {ngram}-grams, <code>min_prompt_containment</code> {threshold:.1f}: "
        f"flags <b>{found.flagged}</b> of {len(flags)} training rows, <b>{found.true_positives}</b> of the "
        f"{found.planted} planted: recall <b>{found.recall:.2f}</b>, precision <b>{found.precision:.2f}</b>; "
        f"{extra} flag{'' if extra == 1 else 's'} on rows nobody planted.</p>"
        + _table(("planted as", "planted", "caught", "recall"), rows)
    )


def contamination_explorer(
    train: TextTask,
    test: TextTask,
    truth: Sequence[bool] | np.ndarray,
    modes: Sequence[str],
    ngrams: Sequence[int] = NGRAMS,
    thresholds: Sequence[float] = CONTAINMENTS,
) -> Explorer:
    """Sliders for the ``contamination`` check's n-gram length and ``min_prompt_containment`` over a training set
    with planted test rows (``truth``, ``modes`` as in :func:`contamination_html`). The containment scores are
    computed once per n-gram length (no model; the check's own overlap pass); every setting thresholds them. The
    sliders start at the check's defaults (13-grams, 0)."""
    scores = {n: [round(float(v), 6) for v in containment_scores(train, test, n)] for n in ngrams}
    planted = [bool(t) for t in np.asarray(truth, dtype=bool).tolist()]
    kinds = [str(m) for m in modes]

    def render(ngram: int, threshold: float) -> str:
        return contamination_html(scores[ngram], planted, kinds, ngram, threshold)

    return Explorer(
        render,
        [
            slider("ngram", list(ngrams), 13 if 13 in ngrams else ngrams[-1], label="n-gram length"),
            slider("threshold", list(thresholds), thresholds[0], label="min_prompt_containment", fmt="{:.1f}"),
        ],
        kind="contamination",
        caption="What the contamination check flags at each setting, against the rows we planted.",
        inputs={
            "scores": {str(n): s for n, s in scores.items()},
            "truth": planted,
            "modes": kinds,
        },
    )


# -- exp_05: coverage ---------------------------------------------------------------------------------------------


#: The coverage control's searches: every training row (what ``embedding_coverage`` does), or the query's own tool.
SEARCHES = {"any training row (embedding_coverage)": "any", "same tool only": "same"}


def coverage_html(
    similarity: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    label_names: Sequence[str],
    slice_name: str,
    threshold: float,
    training: str = "",
    search: str = "any",
) -> str:
    """Per slice, the traffic queries with no training example within ``threshold`` (their nearest-training
    ``similarity`` below it) and whether ``slice_name`` stands out
    (:func:`~playbook_lib.experiments.coverage.uncovered_by_slice`). For ``search="any"`` (every training row
    searched) also the ``embedding_coverage`` check's grade of the uncovered share; ``"same"`` (each query's own
    tool searched) is not what the check computes, and says so."""
    found = uncovered_by_slice(similarity, labels, label_names, slice_name, threshold)
    rows = [(r.slice, r.queries, r.uncovered, f"{r.share:.0%}") for r in found.table.itertuples()]
    bold = next((i for i, r in enumerate(rows) if r[0] == slice_name), None)
    verdict = "stands out" if found.stands_out else "does not stand out"
    trained = f" the {html.escape(training)} set's" if training else ""
    if search == "any":
        check = EmbeddingCoverageCheck(threshold=threshold)
        grade = check.grade(found.uncovered_share).value
        graded = f"<code>embedding_coverage</code> (warn &gt; {check.warn:g}, fail &gt; {check.fail:g}): <b>{grade.upper()}</b>"
        within = f"no example of{trained} training rows"
    else:
        graded = "a per-tool search, not what <code>embedding_coverage</code> computes"
        within = f"no example of their own tool in{trained} training rows"
    return (
        f"<p data-pb-stands-out='{str(found.stands_out).lower()}'>At threshold {threshold:.3f}: "
        f"{int(found.table['uncovered'].sum())} of {int(found.table['queries'].sum())} traffic queries have "
        f"{within} within it ({found.uncovered_share:.1%}; {graded}). <b>{html.escape(slice_name)}</b> uncovered "
        f"{found.target.text(2)} against {found.others.text(2)} for the other tools pooled (95 % Wilson intervals): "
        f"it <b>{verdict}</b>.</p>" + _table(("tool", "queries", "uncovered", "share"), rows, bold)
    )


def coverage_explorer(
    sets: Mapping[str, TextTask],
    traffic: TextTask,
    table: VectorTable,
    slice_name: str,
    thresholds: Sequence[float] = COVERAGE_GRID,
    start: float = COVERAGE_THRESHOLDS["minilm"],
) -> Explorer:
    """A threshold slider, a training-set choice and a search choice (:data:`SEARCHES`): for each training set in
    ``sets`` (name -> rows), the nearest training similarity of every ``traffic`` query is computed once from the
    page's vectors (``table``, no model call; rounded to 6 decimals, the numbers exported with the page), and every
    threshold counts the uncovered queries per slice (:func:`coverage_html`)."""
    grid = sorted({*thresholds, start})
    sims = {
        f"{name}/{search}": [round(float(v), 6) for v in nearest_similarity(data, traffic, table, search == "same")]
        for name, data in sets.items()
        for search in SEARCHES.values()
    }
    labels = traffic.labels.tolist()

    def render(threshold: float, training: str, search: str) -> str:
        return coverage_html(
            sims[f"{training}/{search}"], labels, traffic.label_names, slice_name, threshold, training, search
        )

    return Explorer(
        render,
        [
            slider("threshold", grid, start, label="similarity threshold", fmt="{:.3f}"),
            choice("training", list(sets), label="training set"),
            choice("search", SEARCHES, label="nearest of"),
        ],
        kind="coverage",
        caption=f"Traffic with no training example within the threshold, per tool; '{slice_name}' is the slice "
        "starved in training.",
        inputs={"similarity": sims, "labels": labels, "label_names": list(traffic.label_names), "slice": slice_name},
    )


# -- exp_08: formatting faults ------------------------------------------------------------------------------------


def faults_html(report: FaultReport) -> str:
    """What the loaders and the format checks made of a file with a share ``report.rate`` of its lines broken."""
    broken = sum(report.planted.values())
    rows = [
        (kind, report.planted[kind], *(report.caught[name][kind] for name in ("formatting", "sft_pairs", "either")))
        for kind in CORRUPTIONS
    ]
    rows.append(("all", broken, *(sum(report.caught[name].values()) for name in ("formatting", "sft_pairs", "either"))))
    grades = ", ".join(f"<code>{html.escape(n)}</code> {o.upper()}" for n, o in report.outcomes.items())
    strict = "crashes at the first broken line" if report.crashed else "runs to the end"
    return (
        f"<p data-pb-broken='{broken}'>{report.rate:.0%} of {report.lines} lines broken: <b>{broken}</b>. The "
        f"project's loader could not read {report.unreadable}; with the checks it flags <b>{report.flagged}</b> "
        f"lines, {report.false_flags} of them clean. Grades: {grades}. A strict <code>json.loads</code> loader "
        f"{strict}; a lenient one drops {report.dropped_silently} lines without a word, and with the labels in a "
        f"separate file <b>{report.shifted_labels}</b> rows get another row's label.</p>"
        + _table(("fault", "planted", "formatting", "sft_pairs", "either (with the loader)"), rows, len(rows) - 1)
    )


def format_fault_explorer(
    data_dir: str | Path,
    n_per_class: int,
    test_per_class: int,
    per_class: int,
    seed: int = 0,
    rate: float = 0.1,
    rates: Sequence[float] = CORRUPT_RATES,
) -> Explorer:
    """A slider over the share of broken training lines: the page's training set (drawn from ``data_dir`` as the
    page draws it: :func:`~playbook_lib.experiments.tasks.load_task`, ``split_task``, ``stratified_sample`` with
    ``seed``) is broken at each share (the lines :func:`~playbook_lib.experiments.format_faults.corrupt_lines`
    picks with ``seed``), and every loader and check is run on it (no model). Starts at ``rate``."""
    task = load_task(data_dir, n_per_class=n_per_class, seed=seed)
    pool, _ = split_task(task, test_per_class, seed=seed)
    train = stratified_sample(pool, per_class, seed=seed)
    grid = sorted({*rates, rate})
    reports = {r: fault_report(train, r, seed) for r in grid}

    def render(corrupt_rate: float) -> str:
        return faults_html(reports[corrupt_rate])

    return Explorer(
        render,
        [slider("corrupt_rate", grid, rate, label="share of lines broken", fmt="{:.0%}")],
        kind="format-faults",
        caption="Break more or fewer training lines: what the loaders and the format checks report.",
        inputs={
            "data_dir": Path(data_dir).as_posix(),
            "n_per_class": n_per_class,
            "test_per_class": test_per_class,
            "per_class": per_class,
            "seed": seed,
        },
    )


__all__ = [
    "CONTAINMENTS",
    "CORRUPT_RATES",
    "COVERAGE_GRID",
    "NGRAMS",
    "SEARCHES",
    "contamination_explorer",
    "contamination_html",
    "coverage_explorer",
    "coverage_html",
    "faults_html",
    "format_fault_explorer",
]
