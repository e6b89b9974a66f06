"""Citation checks and the judge-free groundedness score."""

from __future__ import annotations

import pytest

from playbook_lib.rag.corpus import Document
from playbook_lib.rag.postprocess import check_citations, content_words, groundedness
from playbook_lib.rag.retrieve import Hit


def test_citations() -> None:
    check = check_citations("It is 14 days [kb-004]. Also [kb-999] and again [kb-004].", ["kb-004", "kb-005"])
    assert check.cited == ["kb-004", "kb-999"] and check.valid == ["kb-004"] and check.invalid == ["kb-999"]
    assert not check.ok and check_citations("14 days [kb-004]", ["kb-004"]).ok
    assert not check_citations("no citation", ["kb-004"]).ok


def test_content_words_drop_stopwords_and_citations() -> None:
    assert content_words("The probe is calibrated every 14 days [kb-004].") == {
        "probe",
        "calibrated",
        "every",
        "14",
        "days",
    }


def test_groundedness_scores_supported_sentences() -> None:
    context = [Hit(1, 0.9, Document("kb-004", "Field teams must calibrate the pH probe every 14 days."))]
    grounded = groundedness("Calibrate the pH probe every 14 days [kb-004].", context)
    assert grounded.score == 1.0 and grounded.supported == [True]
    mixed = groundedness("Calibrate the pH probe every 14 days. It was invented by Marie Curie in Paris.", context)
    assert mixed.score == pytest.approx(0.5) and mixed.supported == [True, False]
    invented = groundedness("The Wren-3 is a high precision meter used by NASA astronauts.", context)
    assert invented.score == 0.0
    assert groundedness("I do not know.", context).score == 1.0
    assert groundedness("Every 14 days.", ["calibrate every 14 days"]).score == 1.0
