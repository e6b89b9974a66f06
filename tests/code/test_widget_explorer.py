"""The kernel-free explorer: every setting on its grid rendered once, the page carries them all."""

from __future__ import annotations

import json
import re

import pytest

from playbook_lib.widgets.explorer import MAX_SETTINGS, Explorer, choice, slider


def render(warn: float, mode: str) -> str:
    return f"<p>{mode} at {warn:.2f}</p>"


def explorer() -> Explorer:
    return Explorer(render, [slider("warn", [0.01, 0.02, 0.05], 0.02), choice("mode", ["fast", "exact"])], kind="t")


def test_every_setting_is_rendered_and_looked_up_row_major() -> None:
    e = explorer()
    assert len(e) == 6 and e.stride == (2, 1)
    assert e.output(warn=0.05, mode="exact") == "<p>exact at 0.05</p>"
    assert e.output(**e.initial()) == "<p>fast at 0.02</p>"
    payload = json.loads(re.search(r"class='pb-explorer-data'>(.*?)</script>", e._repr_html_()).group(1))
    for i, warn in enumerate((0.01, 0.02, 0.05)):
        for j, mode in enumerate(("fast", "exact")):
            assert payload["outputs"][payload["index"][i * 2 + j]] == render(warn, mode)


def test_identical_outputs_are_stored_once() -> None:
    e = Explorer(lambda k: "<p>same</p>" if k < 3 else f"<p>{k}</p>", [slider("k", range(1, 6), 1)], kind="t")
    assert e.outputs == ("<p>same</p>", "<p>3</p>", "<p>4</p>", "<p>5</p>")
    assert e.index == (0, 0, 1, 2, 3)


def test_page_shows_the_initial_setting_without_javascript() -> None:
    page = explorer()._repr_html_()
    shown = re.search(r"<div class='pb-explorer-output'[^>]*>(.*?)</div>", page).group(1)
    assert shown == "<p>fast at 0.02</p>"
    assert "value='1'" in page  # the slider starts at 0.02, position 1
    assert "<option value='0' selected>fast</option>" in page


def test_an_output_cannot_close_the_script_that_carries_it() -> None:
    e = Explorer(lambda x: f"<p>{x}</script><script>alert(1)</script></p>", [choice("x", ["a", "b"])], kind="t")
    data = re.search(r"class='pb-explorer-data'>(.*?)</script>", e._repr_html_(), re.S).group(1)
    assert "</" not in data and json.loads(data)["outputs"][1].startswith("<p>b</script>")


def test_bad_grids_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="not one of its values"):
        slider("k", [1, 2], 3)
    with pytest.raises(ValueError, match="repeated"):
        choice("m", ["a", "a"])
    with pytest.raises(ValueError, match="settings over 2 controls"):
        Explorer(lambda a, b: "", [slider("a", range(100)), slider("b", range(MAX_SETTINGS // 50))], kind="t")
    with pytest.raises(TypeError, match="not an HTML string"):
        Explorer(lambda a: 1, [slider("a", [1])], kind="t")
    with pytest.raises(TypeError):
        Explorer(render, [slider("warn", [0.1]), choice("mode", ["x"])], kind="t", inputs={"bad": object()})


def test_live_controls_call_render_again() -> None:
    calls: list[tuple[float, str]] = []

    def counted(warn: float, mode: str) -> str:
        calls.append((warn, mode))
        return render(warn, mode)

    e = Explorer(counted, [slider("warn", [0.01, 0.02]), choice("mode", {"Fast": "fast", "Exact": "exact"})], kind="t")
    assert len(calls) == 4
    box = e.live()
    (_warn, mode), out = box.children[0].children, box.children[1]
    assert out.value == "<p>fast at 0.01</p>"
    mode.value = "exact"
    assert out.value == "<p>exact at 0.01</p>" and calls[-1] == (0.01, "exact")
