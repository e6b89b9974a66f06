"""The near-duplicate threshold explorer of the *Dataset engineering* page
(``notebooks/dm_02_dataset_engineering.ipynb``).

One slider, the ``near_duplicates`` check's Jaccard threshold. At every threshold on its grid the check runs, when the
cell runs, on the page's training rows (how many rows it would remove, in how many clusters, and its weakest matches
with their similarity) and on the page's plantings of edited copies into real rows
(:func:`~playbook_lib.experiments.dataset_claims.near_plant`): the recall of the near copies and the precision of the
flags, pooled over the seeds, graded by :func:`~playbook_lib.experiments.dataset_claims.grade_near` and judged by
:func:`~playbook_lib.experiments.dataset_claims.judge_near`, the page's own rule. The published page then moves
between thresholds without a kernel (:mod:`playbook_lib.widgets.explorer`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from playbook_lib.checks import CheckContext
from playbook_lib.checks.uniqueness import NearDuplicatesCheck
from playbook_lib.data import record_text
from playbook_lib.experiments.dataset_claims import (
    FAR_EDIT_RATE,
    MIN_NEAR_PRECISION,
    MIN_NEAR_RECALL,
    NEAR_EDIT_RATE,
    check_plants,
    judge_near,
    near_plant,
)
from playbook_lib.text.normal import snippet
from playbook_lib.widgets.explorer import Explorer, slider

if TYPE_CHECKING:
    from playbook_lib.checks.base import CheckResult
    from playbook_lib.experiments.planting import NearPlant

#: The explorer's thresholds: 0.3 to 1.0 in steps of 0.05 (below 0.5 the far copies, rewritten rows, start to join).
NEAR_THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(15))


def weakest_matches(records: pd.DataFrame, result: CheckResult, show: int = 5) -> pd.DataFrame:
    """The ``show`` rows ``result`` (a ``near_duplicates`` result on ``records``) flags with the lowest similarity,
    weakest first: each flagged row's file line, the line of the row its cluster keeps (the cluster's first), the
    cluster's size, the row's similarity as the check scores it (its highest Jaccard similarity to a row of its
    cluster: in a cluster of two, the pair's) and both texts, shortened and masked."""
    texts = record_text(records)
    lines = records["line"].to_numpy()
    flagged = sorted(result.details, key=lambda i: (result.details[i]["similarity"], i))[:show]
    return pd.DataFrame(
        {
            "flagged line": [int(lines[i]) for i in flagged],
            "kept line": [int(lines[int(result.details[i]["kept_row"])]) for i in flagged],
            "rows in cluster": [int(result.details[i]["cluster_size"]) for i in flagged],
            "similarity": [float(result.details[i]["similarity"]) for i in flagged],
            "flagged row": [snippet(texts[i], 90) for i in flagged],
            "kept row": [snippet(texts[int(result.details[i]["kept_row"])], 90) for i in flagged],
        }
    )


def near_threshold_html(
    records: pd.DataFrame, threshold: float, plants: Sequence[NearPlant] = (), show: int = 5, name: str = "the data"
) -> str:
    """What the ``near_duplicates`` check flags at ``threshold``: on ``records`` (``name`` says which rows), the
    removable rows and clusters and the :func:`weakest_matches`; with ``plants``, the recall of their near copies
    and the precision of the flags, pooled over the plantings, and the page's rule on them (:func:`judge_near`)."""
    result = NearDuplicatesCheck(threshold=threshold).run(records, CheckContext())
    summary = result.summary
    parts = [
        f"<p data-pb-threshold='{threshold:.2f}'>{html.escape(name)} ({len(records):,} rows), Jaccard &ge; "
        f"{threshold:.2f}: <b>{summary['removable']} removable rows in {summary['clusters']} clusters</b> "
        f"(near_duplicate_rate {summary['near_duplicate_rate']:.4f}, {result.outcome.value})</p>"
    ]
    matches = weakest_matches(records, result, show)
    if len(matches):
        cells = matches.assign(similarity=matches["similarity"].map("{:.3f}".format)).astype(str)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in cells.itertuples(False)
        )
        heads = "".join(f"<th>{html.escape(c)}</th>" for c in matches.columns)
        parts.append(
            f"<p>Its {len(matches)} weakest matches (similarity: the flagged row's highest to a row of its "
            "cluster):</p>"
            f"<table class='dataframe'><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>"
        )
    if plants:
        verdict = judge_near(check_plants(plants, threshold, range(len(plants))))
        table = verdict.table
        rows, near = int(table["rows"].iloc[0]), int(table["near"].iloc[0])
        far = int(np.sum(plants[0].kind == "far"))
        parts.append(
            f"<p data-pb-verdict='{verdict.verdict.value}'>Copies planted into real rows ({len(plants)} seeds, "
            f"{rows - near - far:,} rows + {near} near copies ({NEAR_EDIT_RATE:.0%} of words edited) + {far} far "
            f"copies ({FAR_EDIT_RATE:.0%}) each): recall of the near pairs <b>{verdict.recall.text()}</b>, "
            f"precision of the flags <b>{verdict.precision.text()}</b> (Wilson, 95 %); wrong flags: "
            f"{int(table['far_flagged'].sum())} on far copies, {int(table['other_flagged'].sum())} on other rows. "
            f"The page's claim at this threshold (recall above {MIN_NEAR_RECALL:g} and precision above "
            f"{MIN_NEAR_PRECISION:g}, each interval wholly): "
            f"<b>{verdict.verdict.value}</b>.</p>"
        )
    return f"<div class='pb-near-threshold'>{''.join(parts)}</div>"


def near_threshold_explorer(
    records: pd.DataFrame,
    threshold: float = 0.8,
    *,
    base: pd.DataFrame | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    thresholds: Sequence[float] = NEAR_THRESHOLDS,
    show: int = 5,
    data: str = "bundled",
    shared: str = "",
) -> Explorer:
    """A slider over ``thresholds`` (and ``threshold``, where it starts): :func:`near_threshold_html` at each, on
    ``records`` and, with ``base`` (real rows, e.g. GSM8K's), on one :func:`near_plant` per seed of ``seeds``.

    ``data`` names the records for the page's test (``"bundled"``: the bundled ``sft_sample.jsonl``; else the path as
    the page was given it) and ``shared`` the public data folder ``base`` was read from."""
    plants = [near_plant(base, seed) for seed in seeds] if base is not None else []
    name = "The bundled sample" if data == "bundled" else "The training set"

    def render(threshold: float) -> str:
        return near_threshold_html(records, threshold, plants, show, name)

    grid = sorted({*(float(t) for t in thresholds), float(threshold)})
    return Explorer(
        render,
        [slider("threshold", grid, float(threshold), label="Jaccard threshold", fmt="{:.2f}")],
        kind="near-threshold",
        caption="Move the near-duplicate threshold: what the check flags at it, computed by the check itself.",
        inputs={
            "data": data,
            "show": show,
            "planted": {"shared": shared, "seeds": list(seeds)} if plants else None,
        },
    )


__all__ = ["NEAR_THRESHOLDS", "near_threshold_explorer", "near_threshold_html", "weakest_matches"]
