"""Controls that work without a kernel: the library computes the output for every setting on a grid, the browser
picks one.

A published Jupyter Book page has no kernel, so an ipywidgets snapshot can only show the state it was saved in:
its slider moves, its output does not. An :class:`Explorer` instead asks the library for the output of *every*
setting on a small grid of control values when the cell runs (at build time for the book, on your data in your
kernel) and writes one self-contained HTML block: native ``<input type="range">``/``<select>`` controls, the
grid's outputs as JSON, and twenty lines of JavaScript that show the output of the chosen setting. Nothing is
loaded from anywhere; the same block works on the static site, in JupyterLab, VS Code and nbviewer-like renderers
that run a trusted output's scripts, and with JavaScript off it still shows the output of the controls' initial
setting.

:meth:`Explorer.live` gives the same controls as ipywidgets that call the library on every change, for a
kernel: there a value can also be off the grid (a free-text query, a threshold between grid points).

    from playbook_lib.widgets.explorer import Explorer, slider, choice

    def render(warn: float, mode: str) -> str:
        return f"<p>{mode}: warn at {warn:.2f}</p>"

    Explorer(render, [slider("warn", [0.01, 0.02, 0.05], 0.02), choice("mode", ["fast", "exact"])], kind="demo")
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import ipywidgets

#: Most settings an explorer computes: the product of its controls' values. A page that needs more should split
#: its knobs over two explorers (each output is computed once per setting, and the page carries them all).
MAX_SETTINGS = 2500
#: Most bytes of (deduplicated) output an explorer may carry in its page.
MAX_BYTES = 3_000_000

Value = float | int | str


@dataclass(frozen=True)
class Control:
    """One knob: its keyword for ``render``, its label, the grid of values it can take and its initial value.

    ``kind`` is ``"slider"`` (ordered values, shown as a range input with a readout) or ``"select"`` (a dropdown).
    ``labels`` are the values as the reader sees them (the readout or the option text).
    """

    name: str
    label: str
    values: tuple[Value, ...]
    value: Value
    kind: Literal["slider", "select"]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"control {self.name!r} has no values")
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"control {self.name!r} has repeated values")
        if self.value not in self.values:
            raise ValueError(f"control {self.name!r}: initial value {self.value!r} is not one of its values")
        if len(self.labels) != len(self.values):
            raise ValueError(f"control {self.name!r}: {len(self.labels)} labels for {len(self.values)} values")

    @property
    def index(self) -> int:
        """Position of the initial value in :attr:`values`."""
        return self.values.index(self.value)


def slider(
    name: str,
    values: Sequence[float | int],
    value: float | int | None = None,
    *,
    label: str | None = None,
    fmt: str = "{:g}",
) -> Control:
    """A slider over ``values`` (in the order given, e.g. a log grid); ``value`` defaults to the first one.

    ``fmt`` formats the readout, e.g. ``"{:.3f}"`` or ``"{:.1e}"``.
    """
    grid = tuple(values)
    start = grid[0] if value is None and grid else value
    if start is None:
        raise ValueError(f"control {name!r} has no values")
    return Control(name, label or name, grid, start, "slider", tuple(fmt.format(v) for v in grid))


def choice(
    name: str,
    options: Sequence[Value] | Mapping[str, Value],
    value: Value | None = None,
    *,
    label: str | None = None,
) -> Control:
    """A dropdown; ``options`` is a list of values (shown as text) or a mapping ``{shown text: value}``."""
    if isinstance(options, Mapping):
        labels, grid = tuple(options), tuple(options.values())
    else:
        grid = tuple(options)
        labels = tuple(str(v) for v in grid)
    start = grid[0] if value is None and grid else value
    if start is None:
        raise ValueError(f"control {name!r} has no options")
    return Control(name, label or name, grid, start, "select", labels)


_SCRIPT = """
(function () {
  var box = document.currentScript && document.currentScript.closest(".pb-explorer");
  if (!box) { return; }
  var data = JSON.parse(box.querySelector("script[type='application/json']").textContent);
  var inputs = box.querySelectorAll("[data-pb-control]");
  var out = box.querySelector(".pb-explorer-output");
  function show() {
    var at = 0;
    for (var i = 0; i < inputs.length; i++) {
      var pick = parseInt(inputs[i].value, 10);
      at += pick * data.stride[i];
      var readout = inputs[i].parentNode.querySelector("output");
      if (readout) { readout.textContent = data.labels[i][pick]; }
    }
    out.innerHTML = data.outputs[data.index[at]];
    box.setAttribute("data-pb-setting", String(at));
  }
  for (var i = 0; i < inputs.length; i++) {
    inputs[i].addEventListener("input", show);
    inputs[i].addEventListener("change", show);
  }
})();
"""

_STYLE = (
    "border:1px solid #d0d7de;border-radius:6px;padding:0.6em 0.8em;margin:0.5em 0;"
    "display:flex;flex-wrap:wrap;gap:0.4em 1.4em;align-items:center"
)


def _json_for_script(payload: object) -> str:
    """JSON that cannot end the ``<script>`` element that holds it."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class Explorer:
    """Controls over a grid of settings; the output of each setting is ``render(**setting)``, an HTML string.

    ``render`` is called once per setting when the explorer is made (at most :data:`MAX_SETTINGS` of them), so it
    should be cheap: precompute what the settings share (scores, logits, a fitted model) before, and let ``render``
    only threshold, rank or format. ``kind`` names what the explorer shows; ``inputs`` (JSON-serialisable, e.g.
    the metric and check a threshold explorer grades) travel with the page in ``data-pb-inputs``, so that a test
    can recompute the output of whatever setting the controls show with the library and compare
    (``tests/site/test_controls.py``). ``caption`` is a line of plain text shown above the controls.
    """

    def __init__(
        self,
        render: Callable[..., str],
        controls: Sequence[Control],
        *,
        kind: str,
        caption: str = "",
        inputs: object = None,
    ) -> None:
        if not controls:
            raise ValueError("an explorer needs at least one control")
        names = [c.name for c in controls]
        if len(set(names)) != len(names):
            raise ValueError(f"controls with the same name: {names}")
        count = 1
        for c in controls:
            count *= len(c.values)
        if count > MAX_SETTINGS:
            raise ValueError(
                f"{count:,} settings over {len(controls)} controls (most {MAX_SETTINGS:,}): use coarser grids "
                "or split the knobs over two explorers"
            )
        self.render = render
        self.controls = tuple(controls)
        self.kind = kind
        self.caption = caption
        self.inputs = inputs
        json.dumps(inputs)  # fails now, not when the page is written
        outputs: list[str] = []
        seen: dict[str, int] = {}
        index: list[int] = []
        for combo in itertools.product(*(c.values for c in self.controls)):
            shown = render(**dict(zip(names, combo, strict=True)))
            if not isinstance(shown, str):
                raise TypeError(f"render returned {type(shown).__name__}, not an HTML string")
            index.append(seen.setdefault(shown, len(outputs)))
            if index[-1] == len(outputs):
                outputs.append(shown)
        size = sum(len(o.encode()) for o in outputs)
        if size > MAX_BYTES:
            raise ValueError(f"the explorer's outputs take {size:,} bytes (most {MAX_BYTES:,}): use coarser grids")
        self.outputs = tuple(outputs)
        self.index = tuple(index)
        # row-major strides: setting number = sum(position of control i * stride[i])
        strides = []
        step = 1
        for c in reversed(self.controls):
            strides.append(step)
            step *= len(c.values)
        self.stride = tuple(reversed(strides))

    def __len__(self) -> int:
        """Number of settings on the grid."""
        return len(self.index)

    def output(self, **setting: Value) -> str:
        """The HTML shown for ``setting`` (every control's value, by name), as computed when the explorer was made."""
        at = 0
        for c, stride in zip(self.controls, self.stride, strict=True):
            if c.name not in setting:
                raise KeyError(f"no value for control {c.name!r}")
            at += c.values.index(setting[c.name]) * stride
        return self.outputs[self.index[at]]

    def initial(self) -> dict[str, Value]:
        """The setting the controls start at."""
        return {c.name: c.value for c in self.controls}

    def _control_html(self, c: Control) -> str:
        label = html.escape(c.label)
        if c.kind == "slider":
            return (
                f"<label style='display:inline-flex;gap:0.5em;align-items:center'>{label} "
                f"<input type='range' data-pb-control='{html.escape(c.name)}' min='0' max='{len(c.values) - 1}' "
                f"step='1' value='{c.index}' aria-label='{label}' style='width:12em'>"
                f"<output style='font-family:monospace;min-width:4em'>{html.escape(c.labels[c.index])}</output>"
                "</label>"
            )
        options = "".join(
            f"<option value='{i}'{' selected' if i == c.index else ''}>{html.escape(text)}</option>"
            for i, text in enumerate(c.labels)
        )
        return (
            f"<label style='display:inline-flex;gap:0.5em;align-items:center'>{label} "
            f"<select data-pb-control='{html.escape(c.name)}' aria-label='{label}'>{options}</select></label>"
        )

    def _repr_html_(self) -> str:
        payload = {
            "kind": self.kind,
            "names": [c.name for c in self.controls],
            "labels": [list(c.labels) for c in self.controls],
            "values": [list(c.values) for c in self.controls],
            "stride": list(self.stride),
            "index": list(self.index),
            "outputs": list(self.outputs),
        }
        data = _json_for_script(payload)
        digest = hashlib.sha1(data.encode()).hexdigest()[:12]
        start = self.output(**self.initial())
        caption = f"<div style='width:100%;font-size:0.9em'>{html.escape(self.caption)}</div>" if self.caption else ""
        controls = "".join(self._control_html(c) for c in self.controls)
        return (
            f"<div class='pb-explorer' id='pbx-{digest}' data-pb-kind='{html.escape(self.kind)}' "
            f"data-pb-settings='{len(self)}' data-pb-inputs='{html.escape(json.dumps(self.inputs))}'>"
            f"<form class='pb-explorer-controls' style='{_STYLE}' onsubmit='return false'>{caption}{controls}</form>"
            f"<div class='pb-explorer-output' aria-live='polite'>{start}</div>"
            f"<script type='application/json' class='pb-explorer-data'>{data}</script>"
            f"<script>{_SCRIPT}</script></div>"
        )

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        shown = ", ".join(f"{c.name}={c.labels[c.index]}" for c in self.controls)
        return {"text/html": self._repr_html_(), "text/plain": f"<Explorer {self.kind}: {len(self)} settings; {shown}>"}

    def live(self) -> ipywidgets.VBox:
        """The same controls as ipywidgets, calling ``render`` on every change (needs a kernel)."""
        import ipywidgets as w  # lazy: ipywidgets only in a notebook

        widgets: list[Any] = []
        for c in self.controls:
            options = list(zip(c.labels, c.values, strict=True))
            if c.kind == "slider":
                widgets.append(
                    w.SelectionSlider(options=options, value=c.value, description=c.label, continuous_update=False)
                )
            else:
                widgets.append(w.Dropdown(options=options, value=c.value, description=c.label))
        out = w.HTML(self.output(**self.initial()))

        def redraw(*_: object) -> None:
            out.value = self.render(**{c.name: x.value for c, x in zip(self.controls, widgets, strict=True)})

        for x in widgets:
            x.observe(redraw, names="value")
        return w.VBox([w.HBox(widgets, layout=w.Layout(flex_flow="row wrap")), out])


__all__ = ["MAX_BYTES", "MAX_SETTINGS", "Control", "Explorer", "choice", "slider"]
