"""Score a short answer against a reference fact: does it state the fact, and does it state a rival value?

Taught in the book's *Practical impact* page (``notebooks/ops_09_practical_impact.ipynb``). A substring test
(:func:`playbook_lib.rag.pipeline.contains_fact`) counts "14 days" inside "114 days" and a hedge such as "14 days or
90 days" as correct. Here:

- :func:`states_fact`: the fact appears in the answer on word boundaries, after both are normalised
  (:func:`normalise`: case, spacing, thousands separators, number words up to twenty and the tens, "minus 10" as
  "-10", hyphens inside words, the units' symbols and plurals), so "4 days" does not match "14 days" but "3 years"
  matches "three-year";
- :func:`contradicts`: the fact states a number with a unit and the answer states another number of the same unit
  family (:data:`UNIT_FAMILIES`), e.g. "24 hours" for a fact of "14 days" (both durations, different lengths) or
  "90 days" next to "14 days". Values are compared in the family's base unit, so "2 weeks" does not contradict
  "14 days";
- :func:`is_correct`: ``states_fact and not contradicts``.

Unit families (:data:`UNIT_FAMILIES`, each unit with its factor to the family's base unit):

- **duration**: second, minute, hour, day, working day (a day), week, month (30 days), year (365 days);
- **money**: euro (also written ``€`` or ``EUR``);
- **percentage**: percent (also ``%`` and "per cent");
- **mass**: gram, kilogram; **length**: millimetre, centimetre, metre, kilometre (also spelt "meter", so a
  number of the instruments, "two meters", reads as a length: none of the bundled facts counts meters);
- **temperature**: degree (Celsius);
- **clock time**: a time of day written ``hh:mm``;
- any other word right after a number is a **count of that named unit** ("84 people", "600 requests"): another
  number before the same word is a rival value.

A number with no word after it (a year, a version such as "5.3") has no unit and cannot be contradicted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Unit family of each (singular, lower-case) unit word, with its factor to the family's base unit.
UNIT_FAMILIES: dict[str, tuple[str, float]] = {
    "second": ("duration", 1.0),
    "minute": ("duration", 60.0),
    "hour": ("duration", 3600.0),
    "day": ("duration", 86400.0),
    "working day": ("duration", 86400.0),
    "week": ("duration", 7 * 86400.0),
    "month": ("duration", 30 * 86400.0),
    "year": ("duration", 365 * 86400.0),
    "euro": ("money", 1.0),
    "percent": ("percentage", 1.0),
    "gram": ("mass", 1.0),
    "kilogram": ("mass", 1000.0),
    "millimetre": ("length", 0.001),
    "centimetre": ("length", 0.01),
    "metre": ("length", 1.0),
    "kilometre": ("length", 1000.0),
    "degree": ("temperature", 1.0),
}

_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
).split()
_TENS = {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_WORD_VALUE = {w: i for i, w in enumerate(_NUMBER_WORDS)} | _TENS
_WORD_RE = re.compile(r"\b(" + "|".join(_WORD_VALUE) + r")\b")
# plural and spelling variants -> the singular unit word of UNIT_FAMILIES
_UNIT_SPELLINGS = {
    "seconds": "second",
    "secs": "second",
    "minutes": "minute",
    "mins": "minute",
    "hours": "hour",
    "hrs": "hour",
    "days": "day",
    "weeks": "week",
    "months": "month",
    "years": "year",
    "yrs": "year",
    "euros": "euro",
    "eur": "euro",
    "grams": "gram",
    "kilograms": "kilogram",
    "kg": "kilogram",
    "millimetres": "millimetre",
    "millimeters": "millimetre",
    "mm": "millimetre",
    "centimetres": "centimetre",
    "centimeters": "centimetre",
    "cm": "centimetre",
    "metres": "metre",
    "meters": "metre",
    "meter": "metre",
    "km": "kilometre",
    "kilometres": "kilometre",
    "kilometers": "kilometre",
    "degrees": "degree",
}
_SPELLING_RE = re.compile(r"\b(" + "|".join(sorted(_UNIT_SPELLINGS, key=len, reverse=True)) + r")\b")
_NUMBER = r"-?\d+(?:\.\d+)?"
_EDGE_BEFORE = r"(?<![\w.])"  # not inside a word or after a digit's decimal point: "4 days" is not in "14 days"
_QUANTITY_RE = re.compile(
    _EDGE_BEFORE + r"(?P<time>\d{1,2}:\d{2})(?!\w)|" + _EDGE_BEFORE + rf"(?P<num>{_NUMBER})(?: (?P<unit>[a-z]+))?"
)


def normalise(text: str) -> str:
    """Lower case, one space between words, no thousands separators ("2,950" -> "2950"), number words as digits
    ("three" -> "3"), "minus 10" as "-10" but "plus or minus 0.01" as "±0.01", hyphens inside words as spaces ("three-year" -> "3 year"), ``%``/"per
    cent" as "percent", ``€2,950`` as "2950 euro", and unit plurals and abbreviations as the singular word of
    :data:`UNIT_FAMILIES` ("hours" -> "hour")."""
    s = text.lower().replace("\u2212", "-")
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    s = re.sub(r"(?<=\w)-(?=\w)", " ", s)
    s = re.sub(r"(?<=\d)(?=[a-z%])", " ", s)  # "10km", "46h" -> "10 km"
    s = s.replace("%", " percent").replace("per cent", "percent")
    s = re.sub(r"€\s*(" + _NUMBER + ")", r"\1 euro", s)
    s = _WORD_RE.sub(lambda m: str(_WORD_VALUE[m.group(1)]), s)
    s = re.sub(r"\b(?:plus or minus|plus/minus|\+/-) ?(?=\d)", "±", s)  # a tolerance, not a negative number
    s = re.sub(r"\bminus (?=\d)", "-", s)
    s = _SPELLING_RE.sub(lambda m: _UNIT_SPELLINGS[m.group(1)], s)
    return " ".join(s.split())


def states_fact(answer: str, fact: str) -> bool:
    """Whether ``answer`` states ``fact``: the normalised fact (:func:`normalise`) occurs in the normalised answer
    starting and ending on word boundaries ("4 days" is not in "14 days", "5.3" not in "15.3")."""
    target = normalise(fact)
    if not target:
        raise ValueError("an empty fact cannot be stated")
    pattern = _EDGE_BEFORE + re.escape(target) + r"(?![\w]|\.\d)"
    return re.search(pattern, normalise(answer)) is not None


@dataclass(frozen=True)
class Quantity:
    """A number with its unit family, in the family's base unit (``family`` is ``"count of <word>"`` for a word
    that is not in :data:`UNIT_FAMILIES`)."""

    family: str
    value: float


def quantities(text: str) -> list[Quantity]:
    """Every number in ``text`` that carries a unit (:data:`UNIT_FAMILIES`, a clock time, or the word after it as
    a named count), after :func:`normalise`; numbers with no word after them are left out."""
    s = normalise(text)
    out: list[Quantity] = []
    for m in _QUANTITY_RE.finditer(s):
        if m.group("time"):
            hours, minutes = m.group("time").split(":")
            out.append(Quantity("clock time", int(hours) * 60 + int(minutes)))
            continue
        unit = m.group("unit")
        if unit is None:
            continue
        value = float(m.group("num"))
        rest = s[m.end() :]
        if unit == "working" and rest.startswith(" day"):
            unit = "working day"
        if unit in UNIT_FAMILIES:
            family, factor = UNIT_FAMILIES[unit]
            out.append(Quantity(family, value * factor))
        else:
            out.append(Quantity(f"count of {unit}", value))
    return out


def contradicts(answer: str, fact: str) -> bool:
    """Whether ``answer`` states a rival value: a number of a unit family the fact's numbers carry
    (:func:`quantities`) that is none of the fact's values in that family ("24 hours" or "90 days" against
    "14 days"; "2 weeks" is the same duration and does not contradict it)."""
    expected: dict[str, list[float]] = {}
    for q in quantities(fact):
        expected.setdefault(q.family, []).append(q.value)
    return any(
        q.family in expected and not any(math.isclose(q.value, v, rel_tol=1e-9) for v in expected[q.family])
        for q in quantities(answer)
    )


def is_correct(answer: str, fact: str) -> bool:
    """The answer states the fact and no rival value of it (:func:`states_fact` and not :func:`contradicts`)."""
    return states_fact(answer, fact) and not contradicts(answer, fact)
