"""The sampling sliders render what the library computes: drawable tokens, entropy, probabilities after the knobs."""

from __future__ import annotations

import numpy as np

from playbook_lib.models.sampling import sampling_distribution
from playbook_lib.widgets.models import sampling_explorer, sampling_html


def test_sampling_html_reports_the_library_distribution() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    tokens = ["a", "b", "c", "d"]
    assert "2 drawable token(s) of 4" in sampling_html(logits, tokens, 1.0, 2, None)
    assert "1 drawable token(s) of 4" in sampling_html(logits, tokens, 0.0, None, None)
    page = sampling_html(logits, tokens, 1.0, None, 0.7)
    expected = sampling_distribution(logits, 1.0, None, 0.7)
    assert f"{int((expected > 0).sum())} drawable" in page and f"{expected[0]:.3f}" in page


def test_sampling_explorer_carries_every_setting_of_its_grid() -> None:
    logits = np.linspace(3, -3, 50)
    tokens = [f"t{i}" for i in range(50)]
    explorer = sampling_explorer(logits, tokens, temperature=0.8, top_k=0, top_p=1.0, prompt="p")
    assert 0.8 in explorer.controls[0].values  # the starting temperature joins the grid
    assert "50 drawable" in explorer.output(temperature=0.8, top_k=0, top_p=1.0)
    assert "7 drawable" not in explorer.output(temperature=1.0, top_k=5, top_p=1.0)
    assert "5 drawable" in explorer.output(temperature=1.0, top_k=5, top_p=1.0)
    assert "1 drawable" in explorer.output(temperature=0.0, top_k=0, top_p=1.0)
    for t in (0.3, 1.5):
        for p in (0.5, 0.9):
            assert explorer.output(temperature=t, top_k=50, top_p=p) == sampling_html(
                logits, tokens, t, 50, p, n_show=10
            )


def test_live_sampling_explorer_updates_on_slider_change() -> None:
    logits = np.linspace(3, -3, 50)
    box = sampling_explorer(logits, [f"t{i}" for i in range(50)], temperature=1.0, top_k=0, top_p=1.0).live()
    (temperature, top_k, _), out = box.children[0].children, box.children[1]
    assert "50 drawable" in out.value
    top_k.value = 5
    assert "5 drawable" in out.value
    temperature.value = 0.0
    assert "1 drawable" in out.value


def test_routing_explorer_plans_every_threshold_with_the_library() -> None:
    from playbook_lib.decide.cost import PathStats, plan_routing_from_evals
    from playbook_lib.widgets.models import routing_explorer, routing_html

    rng = np.random.default_rng(0)
    ok = rng.random(200) < 0.7
    confidence = np.clip(np.where(ok, rng.beta(6, 2, 200), rng.beta(2, 4, 200)), 0, 1)
    strong = PathStats("strong", 0.02, 0.9)
    explorer = routing_explorer(confidence, ok, 0.002, strong, threshold=0.62, cheap_name="small")
    assert 0.62 in explorer.controls[0].values and explorer.initial() == {"threshold": 0.62, "validator": "no"}
    for t in (0.0, 0.62, 1.0):
        for validator in ("no", "yes"):
            plan = plan_routing_from_evals(confidence, ok, 0.002, strong, t, validator == "yes", "small")
            assert explorer.output(threshold=t, validator=validator) == routing_html(plan)
    assert "0.0%" in explorer.output(threshold=0.0, validator="no")  # nothing escalates below confidence 0
    assert "100.0%" in explorer.output(threshold=1.0, validator="no")
