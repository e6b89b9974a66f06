"""states_fact / contradicts / is_correct on planted right, wrong and hedged answers."""

from __future__ import annotations

import json

import pytest

from playbook_lib import sample_data
from playbook_lib.rag.answer_scoring import contradicts, is_correct, normalise, quantities, states_fact
from playbook_lib.rag.pipeline import contains_fact


@pytest.mark.parametrize(
    ("answer", "fact"),
    [
        ("Calibrate the pH probe every 14 days.", "14 days"),
        ("It costs 2950 euros.", "2,950 euros"),
        ("The warranty is 3 years.", "three-year"),
        ("It works down to -10 degrees Celsius.", "minus 10 degrees Celsius"),
        ("Around 20% off.", "20 percent"),
        ("Ingrid  AASHEIM is the CEO.", "Ingrid Aasheim"),
        ("Firmware 5.3.", "5.3"),
        ("It is rated IP68 to 3 meters.", "3 metres"),
        ("Accurate to plus or minus 0.01 pH after calibration.", "0.01 pH"),
    ],
)
def test_states_fact_after_normalising(answer: str, fact: str) -> None:
    assert states_fact(answer, fact)
    assert is_correct(answer, fact)


@pytest.mark.parametrize(
    ("answer", "fact"),
    [
        ("Calibrate every 114 days.", "14 days"),
        ("Firmware 15.3 added it.", "5.3"),
        ("It was 12017.", "2017"),
        ("It needs 140 euros.", "40 euros"),
    ],
)
def test_word_boundaries(answer: str, fact: str) -> None:
    assert contains_fact(answer, fact)  # the substring test is fooled (the planted flaw)
    assert not states_fact(answer, fact)
    assert not is_correct(answer, fact)


def test_a_changed_number_is_incorrect() -> None:
    fact = "1,890 euros"
    assert is_correct("The Wren-3 Lite costs 1,890 euros.", fact)
    assert not is_correct("The Wren-3 Lite costs 2,040 euros.", fact)
    assert not is_correct("The Wren-3 Lite costs 1,980 euros.", fact)


def test_a_hedge_is_not_correct() -> None:
    answer = "You should calibrate it every 14 days or 90 days."
    assert contains_fact(answer, "14 days")  # the substring test counts it
    assert states_fact(answer, "14 days") and contradicts(answer, "14 days")
    assert not is_correct(answer, "14 days")


def test_a_rival_unit_of_the_same_family_contradicts() -> None:
    assert contradicts("Soak it for 14 days.", "24 hours")
    assert contradicts("About 24 hours, and the cell every 14 days.", "14 days")
    assert not contradicts("Every two weeks (14 days).", "14 days")  # the same duration in two units
    assert not contradicts("It weighs 410 grams and runs 46 hours.", "46 hours")  # another family is no rival
    assert contradicts("It employs 120 people.", "84 people")  # a count of a named unit
    assert not contradicts("Founded in 2016.", "2017")  # no unit: a year cannot be contradicted, only missed
    assert contradicts("Support answers from 08:00 to 19:00.", "07:00 to 19:00")


def test_normalise_and_quantities() -> None:
    assert normalise("Ten working-days,  2,000 cycles, €95") == "10 working day, 2000 cycles, 95 euro"
    assert not states_fact("Every 4 days.", "14 days")
    families = [(q.family, q.value) for q in quantities("ten working days and 15 minutes at 07:30")]
    assert families == [("duration", 864000.0), ("duration", 900.0), ("clock time", 450)]
    with pytest.raises(ValueError):
        states_fact("anything", "  ")


def test_every_impact_question_names_one_document_that_states_its_fact() -> None:
    kb = {}
    for line in sample_data.path("heronsgate_kb.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        kb[row["_id"]] = row["title"] + ". " + row["text"]
    rows = [json.loads(x) for x in sample_data.path("heronsgate_impact_questions.jsonl").read_text().splitlines()]
    assert len(rows) >= 40 and len({r["_id"] for r in rows}) == len(rows)
    for row in rows:
        assert set(row) == {"_id", "text", "relevant", "answer"}
        assert row["answer"] in kb[row["relevant"][0]]  # verbatim from its document
        assert [d for d, text in kb.items() if states_fact(text, row["answer"])] == row["relevant"]
