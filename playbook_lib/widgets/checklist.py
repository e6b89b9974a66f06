"""Interactive threshold explorer for the *Production checklists* page
(``notebooks/dm_09_production_checklists.ipynb``)."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from playbook_lib.checks import Outcome, get_check
from playbook_lib.errors import UsageError
from playbook_lib.widgets.explorer import Explorer, slider

if TYPE_CHECKING:
    from playbook_lib.checklist.run import ItemResult


def regrade(item: ItemResult, warn: float | None, fail: float | None) -> Outcome:
    """The outcome ``item`` would have had with other ``warn``/``fail`` thresholds (its metric is not recomputed)."""
    check = get_check(item.item.check)(**{**item.item.params, "warn": warn, "fail": fail})
    return check.grade(item.result.summary.get(check.metric))


def threshold_grid(top: float, points: int = 21) -> list[float]:
    """``points`` evenly spaced thresholds from 0 to ``top``, rounded to 4 decimals (the sliders' grid)."""
    return [round(top * i / (points - 1), 4) for i in range(points)]


def threshold_explorer(item: ItemResult, max_value: float = 0.5, points: int = 21) -> Explorer:
    """Two sliders (warn, fail) for one checklist item; every setting on their grid is graded by the check.

    The grid runs from 0 to ``max_value`` (or the item's own larger thresholds) in ``points`` steps, and includes
    the item's configured ``warn`` and ``fail``, which the sliders start at. On the static site the browser shows
    the grade the library computed for the chosen pair; :meth:`Explorer.live` grades any pair in a kernel.
    """
    cls = get_check(item.item.check)
    metric = cls.metric
    sign = ">" if cls.direction == "above" else "<"  # the labels are escaped by the explorer, the outcome below here
    esc = html.escape(sign)
    value = item.result.summary.get(metric)
    params = item.item.params
    warn0 = float(params.get("warn") or 0.0)
    fail0 = float(params.get("fail") or 0.0)
    top = max(max_value, fail0, warn0)
    grid = sorted({*threshold_grid(top, points), warn0, fail0})
    colours = {"pass": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828", "not_evaluated": "#616161"}
    shown = "n/a" if not isinstance(value, int | float) else f"{value:.4g}"

    def render(warn: float, fail: float) -> str:
        try:
            outcome = regrade(item, warn, fail).value
        except UsageError as err:  # e.g. warn above fail: the check refuses the pair, and says why
            return (
                f"<p data-pb-outcome='refused'><code>{html.escape(item.item.id)}</code>: "
                f"<b style='color:#616161'>not a valid pair</b>: {html.escape(str(err))}</p>"
            )
        return (
            f"<p data-pb-outcome='{outcome}'><code>{html.escape(item.item.id)}</code>: {metric} = <b>{shown}</b> "
            f"with warn {esc} {warn:.3f}, fail {esc} {fail:.3f} &rarr; "
            f"<b style='color:{colours[outcome]}'>{outcome.upper()}</b></p>"
        )

    return Explorer(
        render,
        [
            slider("warn", grid, warn0, label=f"warn {sign}", fmt="{:.3f}"),
            slider("fail", grid, fail0, label=f"fail {sign}", fmt="{:.3f}"),
        ],
        kind="checklist-threshold",
        caption=f"Move the thresholds of {item.item.id}: the grade of its measured {metric}, by the check itself.",
        inputs={"check": item.item.check, "params": _plain(params), "metric": metric, "value": value},
    )


def _plain(params: dict[str, object]) -> dict[str, object]:
    """The item's parameters that JSON can carry (the rest are not needed to grade it)."""
    out: dict[str, object] = {}
    for key, val in params.items():
        try:
            json.dumps(val)
        except TypeError:
            continue
        out[key] = val
    return out
