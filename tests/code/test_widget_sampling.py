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


def test_sampling_explorer_updates_on_slider_change() -> None:
    logits = np.linspace(3, -3, 50)
    box = sampling_explorer(logits, [f"t{i}" for i in range(50)], temperature=1.0, top_k=0, top_p=1.0)
    temperature, top_k, _, out = box.children
    assert "50 drawable" in out.value
    top_k.value = 7
    assert "7 drawable" in out.value
    temperature.value = 0.0
    assert "1 drawable" in out.value
