"""Interactive threshold explorer for the *Production checklists* page
(``notebooks/dm_09_production_checklists.ipynb``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playbook_lib.checks import Outcome, get_check

if TYPE_CHECKING:
    import ipywidgets

    from playbook_lib.checklist.run import ItemResult


def regrade(item: ItemResult, warn: float | None, fail: float | None) -> Outcome:
    """The outcome ``item`` would have had with other ``warn``/``fail`` thresholds (its metric is not recomputed)."""
    check = get_check(item.item.check)(**{**item.item.params, "warn": warn, "fail": fail})
    return check.grade(item.result.summary.get(check.metric))


def threshold_explorer(item: ItemResult, max_value: float = 0.5, step: float = 0.005) -> ipywidgets.VBox:
    """Two sliders (warn, fail) for one checklist item; on every change the item is graded again.

    The verdict is an ``HTML`` widget, not an ``Output`` widget: its content lives in the widget state, so a static
    render embeds it and headless execution never waits on output capture.
    """
    import ipywidgets as w  # lazy: ipywidgets only in a notebook

    cls = get_check(item.item.check)
    metric = cls.metric
    op = ">" if cls.direction == "above" else "<"
    esc = "&gt;" if op == ">" else "&lt;"
    value = item.result.summary.get(metric)
    params = item.item.params
    top = max(max_value, float(params.get("fail") or 0.0), float(params.get("warn") or 0.0))
    warn = w.FloatSlider(
        value=float(params.get("warn") or 0.0),
        min=0.0,
        max=top,
        step=step,
        description=f"warn {op}",
        readout_format=".3f",
        continuous_update=False,
    )
    fail = w.FloatSlider(
        value=float(params.get("fail") or 0.0),
        min=0.0,
        max=top,
        step=step,
        description=f"fail {op}",
        readout_format=".3f",
        continuous_update=False,
    )
    out = w.HTML()
    colours = {"pass": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828", "not_evaluated": "#616161"}

    def redraw(*_: object) -> None:
        outcome = regrade(item, warn.value, fail.value).value
        shown = "n/a" if value is None else f"{value:.4g}"
        out.value = (
            f"<p><code>{item.item.id}</code>: {metric} = <b>{shown}</b> with warn {esc} {warn.value:.3f}, "
            f"fail {esc} {fail.value:.3f} &rarr; <b style='color:{colours[outcome]}'>{outcome.upper()}</b></p>"
        )

    warn.observe(redraw, names="value")
    fail.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([warn, fail]), out])
