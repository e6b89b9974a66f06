"""The mix-ratio explorer of the *Data synthesis* page (``notebooks/dm_03_data_synthesis.ipynb``).

One slider, the share of synthetic rows in the training mix. When the cell runs,
:func:`~playbook_lib.experiments.synthesis_mix.mix_seed` trains the page's probe on every ratio of the grid for every
seed (each label's real rows replaced, that share of them, by synthetic rows of the label from the ledger) and scores
it on real test rows; the output of a ratio is that mix's accuracy and macro-F1 over the seeds, beside the all-real
and all-synthetic mixes. The published page then moves between ratios without a kernel
(:mod:`playbook_lib.widgets.explorer`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from playbook_lib.errors import UsageError
from playbook_lib.experiments.runs import VectorTable
from playbook_lib.experiments.synthesis_mix import mix_seed
from playbook_lib.experiments.tasks import TextTask
from playbook_lib.experiments.verdict import Interval, Verdict, judge, mean_interval
from playbook_lib.widgets.explorer import Explorer, slider

#: The explorer's ratios: 0 (all real) to 1 (all synthetic) in steps of 0.05 (with 20 rows per label, one row a step).
MIX_RATIOS = tuple(round(0.05 * i, 2) for i in range(21))


def mix_runs(
    rest: TextTask,
    synth: TextTask,
    table: VectorTable,
    per_class: int,
    test_per_class: int,
    seeds: Sequence[int],
    ratios: Sequence[float] = MIX_RATIOS,
) -> pd.DataFrame:
    """:func:`~playbook_lib.experiments.synthesis_mix.mix_seed` at ``ratios`` for each of ``seeds``: one row per seed
    and ratio (``seed``, ``ratio``, ``accuracy``, ``macro_f1``). A seed's training and test rows, and the order its
    synthetic rows are taken in, do not depend on the ratios asked for, so a ratio's row is the same on any grid."""
    return pd.DataFrame(
        [r for s in seeds for r in mix_seed(rest, synth, table, per_class, test_per_class, ratios=ratios, seed=s)]
    )


def _side(interval: Interval) -> str:
    return {Verdict.HELD: "higher", Verdict.DID_NOT_HOLD: "lower"}.get(judge(interval), "not told apart")


def mix_html(frame: pd.DataFrame, ratio: float, per_class: int, labels: int) -> str:
    """The mix at ``ratio`` in ``frame`` (:func:`mix_runs`, with ratios 0 and 1 among its ratios): its rows per label,
    accuracy and macro-F1 on real test rows (mean over the seeds, 95 % t interval) beside the all-real and
    all-synthetic mixes, and the paired per-seed accuracy differences from those two."""
    wide = {m: frame.pivot(index="seed", columns="ratio", values=m) for m in ("accuracy", "macro_f1")}
    for r in (ratio, 0.0, 1.0):
        if r not in wide["accuracy"].columns:
            raise UsageError(f"the mix runs lack ratio {r}")
    k = int(round(ratio * per_class))
    head = (
        f"<p data-pb-ratio='{ratio:.2f}'>Training mix with <b>{ratio:.0%} synthetic rows</b>: per label "
        f"{per_class - k} real + {k} synthetic ({labels * per_class:,} rows in all), scored on real test rows over "
        f"{len(wide['accuracy'])} seeds (mean [95 % t interval]):</p>"
    )
    names = {"accuracy": "accuracy", "macro_f1": "macro-F1"}
    body = "".join(
        f"<tr><th>{names[m]}</th>"
        + "".join(f"<td>{mean_interval(wide[m][r].to_numpy()).text()}</td>" for r in (ratio, 0.0, 1.0))
        + "</tr>"
        for m in names
    )
    table = (
        "<table class='dataframe'><thead><tr><th></th><th>this mix</th><th>all real (0 %)</th>"
        f"<th>all synthetic (100 %)</th></tr></thead><tbody>{body}</tbody></table>"
    )
    acc = wide["accuracy"]
    lines = []
    for other, name in ((0.0, "all real"), (1.0, "all synthetic")):
        if ratio != other:
            interval = mean_interval((acc[ratio] - acc[other]).to_numpy())
            lines.append(f"this mix &minus; {name}: {interval} ({_side(interval)})")
    tail = f"<p>Accuracy, paired by seed: {'; '.join(lines)}.</p>" if lines else ""
    return f"<div class='pb-mix-ratio'>{head}{table}{tail}</div>"


def mix_ratio_explorer(
    rest: TextTask,
    synth: TextTask,
    table: VectorTable,
    per_class: int,
    test_per_class: int,
    seeds: Sequence[int],
    ratio: float = 0.75,
    ratios: Sequence[float] = MIX_RATIOS,
    source: Mapping[str, object] | None = None,
) -> Explorer:
    """A slider over ``ratios``, 0 and 1, and ``ratio``, where it starts (by default the mix of claim (b) that keeps
    a quarter of real rows): :func:`mix_html` of each, from :func:`mix_runs` computed once for all of them.
    ``source`` says how the page drew ``rest`` and ``synth`` (data folder, ledger, seed, rows per label), for the
    page's test to rebuild them."""
    grid = sorted({*(float(r) for r in ratios), float(ratio), 0.0, 1.0})
    frame = mix_runs(rest, synth, table, per_class, test_per_class, list(seeds), grid)
    labels = len(rest.label_names)

    def render(ratio: float) -> str:
        return mix_html(frame, ratio, per_class, labels)

    return Explorer(
        render,
        [slider("ratio", grid, float(ratio), label="synthetic share", fmt="{:.0%}")],
        kind="mix-ratio",
        caption="Move the share of synthetic rows in the training mix: the probe's accuracy on real test rows.",
        inputs={
            "per_class": per_class,
            "test_per_class": test_per_class,
            "seeds": [int(s) for s in seeds],
            "source": dict(source or {}),
        },
    )


__all__ = ["MIX_RATIOS", "mix_html", "mix_ratio_explorer", "mix_runs"]
