"""Interactive controls for the *Data + Models* pages: the compute-budget slider and the requirement toggles.

Used on ``notebooks/dm_04_scaling.ipynb``, ``notebooks/dm_06_probabilistic_outputs.ipynb`` (sampling sliders) and
``notebooks/dm_07_model_selection.ipynb``. Controls only: the logic
lives in ``playbook_lib.models.scaling`` and ``playbook_lib.decide.select``. Results render into ``HTML`` widgets,
so a static render (the book) embeds the snapshot taken at build time and headless runs never wait on output capture.
"""

from __future__ import annotations

import dataclasses
import html
import math
from typing import TYPE_CHECKING

import numpy as np

from playbook_lib.decide.select import SUPERPOWERS, select_models
from playbook_lib.models.sampling import sampling_distribution, softmax
from playbook_lib.models.scaling import optimal_by_loss, optimal_by_rule, parametric_loss

if TYPE_CHECKING:
    import ipywidgets

    from playbook_lib.decide.select import ModelSpec, Requirements


def budget_html(flops: float) -> str:
    """An HTML table of the compute-optimal N and D for ``flops`` by the 20-tokens rule and by the loss fit."""
    rows = []
    for label, a in (("20 tokens/param rule", optimal_by_rule(flops)), ("parametric loss fit", optimal_by_loss(flops))):
        rows.append(
            f"<tr><td>{label}</td><td>{a.params / 1e9:,.2f} B</td><td>{a.tokens / 1e9:,.1f} B</td>"
            f"<td>{a.tokens_per_param:.1f}</td><td>{parametric_loss(a.params, a.tokens):.3f}</td></tr>"
        )
    return (
        "<table class='dataframe'><thead><tr><th>method</th><th>parameters N</th><th>tokens D</th>"
        "<th>tokens/param</th><th>loss</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def budget_explorer(flops: float) -> ipywidgets.VBox:
    """A log-scale compute-budget slider (FLOPs); on every change, the optimal model size and token count."""
    import ipywidgets as w  # lazy: ipywidgets only in a notebook

    exponent = math.log10(flops)
    slider = w.FloatLogSlider(
        value=flops,
        base=10,
        min=min(18, math.floor(exponent)),
        step=0.05,
        max=max(27, math.ceil(exponent)),
        description="FLOPs",
        readout_format=".2e",
        continuous_update=False,
        layout=w.Layout(width="70%"),
    )
    out = w.HTML(budget_html(flops))

    def redraw(*_: object) -> None:
        out.value = budget_html(slider.value)

    slider.observe(redraw, names="value")
    return w.VBox([slider, out])


def selection_html(catalog: list[ModelSpec], requirements: Requirements) -> str:
    """An HTML table of ``select_models``: ranked models with score and cost, then the excluded ones with why."""
    sel = select_models(catalog, requirements)
    rows = [
        f"<tr><td>{i}</td><td>{c.model.name}</td><td>{c.score:g}</td><td>${c.cost_per_1k_requests:.2f}</td>"
        f"<td></td></tr>"
        for i, c in enumerate(sel.ranked, 1)
    ]
    rows += [
        f"<tr><td>-</td><td>{c.model.name}</td><td></td><td>${c.cost_per_1k_requests:.2f}</td>"
        f"<td>{'; '.join(c.excluded_because)}</td></tr>"
        for c in sel.excluded
    ]
    return (
        "<table class='dataframe'><thead><tr><th>rank</th><th>model</th><th>score</th><th>per 1k requests</th>"
        "<th>excluded because</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def requirements_explorer(catalog: list[ModelSpec], requirements: Requirements) -> ipywidgets.VBox:
    """Toggles for the superpower, reasoning, data residency and open weights; the ranking is recomputed live."""
    import ipywidgets as w  # lazy: ipywidgets only in a notebook

    regions = sorted({r for m in catalog for r in m.regions} | set(requirements.data_residency))
    superpower = w.Dropdown(options=list(SUPERPOWERS), value=requirements.superpower, description="superpower")
    reasoning = w.Checkbox(value=requirements.reasoning, description="needs reasoning")
    open_w = w.Checkbox(value=requirements.require_open_weights, description="open weights required")
    residency = w.SelectMultiple(
        options=regions, value=tuple(requirements.data_residency), description="residency", rows=min(4, len(regions))
    )
    out = w.HTML()

    def redraw(*_: object) -> None:
        req = dataclasses.replace(
            requirements,
            superpower=superpower.value,
            reasoning=reasoning.value,
            require_open_weights=open_w.value,
            data_residency=list(residency.value),
        )
        out.value = selection_html(catalog, req)

    for control in (superpower, reasoning, open_w, residency):
        control.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([superpower, residency]), w.HBox([reasoning, open_w]), out])


__all__ = ["budget_explorer", "budget_html", "requirements_explorer", "selection_html"]


def sampling_html(
    logits: np.ndarray, tokens: list[str], temperature: float, top_k: int | None, top_p: float | None, n_show: int = 12
) -> str:
    """An HTML table of the ``n_show`` most likely next tokens: probability before (softmax at T=1) and after the
    knobs, with bars, plus how many tokens remain drawable. ``tokens[i]`` is the text of token id ``i``."""

    before = softmax(logits)
    after = sampling_distribution(logits, temperature, top_k, top_p)
    order = np.argsort(-before, kind="stable")[:n_show]

    def bar(p: float, colour: str) -> str:
        return (
            f"<div style='background:{colour};height:0.8em;width:{max(p * 200, 0.5):.1f}px;display:inline-block'>"
            f"</div> {p:.3f}"
        )

    rows = "".join(
        f"<tr><td><code>{html.escape(repr(tokens[i]))}</code></td><td>{bar(before[i], '#90a4ae')}</td>"
        f"<td>{bar(after[i], '#1565c0')}</td></tr>"
        for i in order
    )
    nz = after[after > 0]
    entropy = float(-(nz * np.log2(nz)).sum())
    return (
        f"<p>{int(nz.size):,} drawable token(s) of {logits.size:,}; entropy {entropy:.2f} bits; "
        f"top token {after.max():.1%}</p><table class='dataframe'><thead><tr><th>token</th>"
        "<th>before (T=1, no filter)</th><th>after the knobs</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def sampling_explorer(
    logits: np.ndarray, tokens: list[str], temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0
) -> ipywidgets.VBox:
    """Temperature, top-k (0 = off) and top-p (1 = off) sliders over one real next-token logits vector."""
    import ipywidgets as w  # lazy: ipywidgets only in a notebook

    t = w.FloatSlider(
        value=temperature, min=0.0, max=3.0, step=0.05, description="temperature", continuous_update=False
    )
    k = w.IntSlider(value=top_k, min=0, max=100, description="top-k (0=off)", continuous_update=False)
    p = w.FloatSlider(value=top_p, min=0.05, max=1.0, step=0.05, description="top-p", continuous_update=False)
    out = w.HTML()

    def update(_: object = None) -> None:
        out.value = sampling_html(logits, tokens, t.value, k.value or None, p.value if p.value < 1 else None)

    for control in (t, k, p):
        control.observe(update, names="value")
    update()
    return w.VBox([t, k, p, out])
