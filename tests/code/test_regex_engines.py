"""Hyperscan and Python's ``re`` find the same rows (:func:`~playbook_lib.checks.hashing.rows_matching`).

The PII prefilter and the formatting patterns run through Hyperscan on ASCII texts and through ``re`` otherwise;
both must flag exactly the rows a per-row ``pattern.search`` flags, on random texts built from the characters
the patterns care about (digits, separators, ``@``, ``:``, capitals, control characters, mojibake, non-ASCII)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_lib.checks.formatting import _CONTROL, _MOJIBAKE
from playbook_lib.text.pii import MAYBE_PII, MAYBE_SECRET
from playbook_lib.text.scan import hyperscan_scanner, rows_matching, rows_matching_re

PIECES = [
    "0",
    "1",
    "4",
    "9",
    "12",
    "1234",
    "5678",
    " ",
    "-",
    ".",
    ":",
    "(",
    ")",
    "+",
    "@",
    "a",
    "B",
    "DE",
    "GB",
    "x.io",
    "AKIA",
    "sk-",
    "ghp_",
    "xoxb-",
    "AIza",
    "api_key",
    "ApI-KeY",
    "SECRET",
    "password",
    "-----BEGIN",
    "\x01",
    "\x7f",
    "\t",
    "Ã©",
    "â€™",
    "Â\xa0",
    "\ufffd",
    "é",
    "\u212a",
    "٣",
    "ſecret",
    "\n",
]
texts = st.lists(st.lists(st.sampled_from(PIECES), max_size=25).map("".join), max_size=40)
values = st.lists(
    st.one_of(st.none(), st.integers(), st.lists(st.sampled_from(PIECES), max_size=25).map("".join)), max_size=40
)
PATTERN_SETS = [(tuple(MAYBE_PII), MAYBE_SECRET), ((_CONTROL, _MOJIBAKE), None)]


def per_row(
    patterns: tuple[re.Pattern[str], ...],
    ignorecase: tuple[re.Pattern[str], re.Pattern[str]] | None,
    items: list[object],
) -> list[bool]:
    """The definition: a string matches when one pattern's ``search`` finds something in it."""
    out = []
    for t in items:
        ok = isinstance(t, str) and (
            any(p.search(t) for p in patterns) or (ignorecase is not None and ignorecase[1].search(t) is not None)
        )
        out.append(bool(ok))
    return out


def test_hyperscan_takes_the_check_patterns() -> None:
    """The fast path is really on for the patterns the checks use (the package is a dependency on x86-64 Linux)."""
    pytest.importorskip("hyperscan", reason="Hyperscan is installed on x86-64 Linux only")
    for patterns, ignorecase in PATTERN_SETS:
        assert hyperscan_scanner(patterns, ignorecase[0] if ignorecase else None) is not None
    assert hyperscan_scanner((re.compile(r"(?<=a)b"),)) is None  # look-behind: Hyperscan refuses, re runs


def test_playbook_regex_re_turns_hyperscan_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``PLAYBOOK_REGEX=re`` no Hyperscan database is scanned (a scanner that raises would show it)."""
    pytest.importorskip("hyperscan", reason="Hyperscan is installed on x86-64 Linux only")
    scanner = hyperscan_scanner((_CONTROL, _MOJIBAKE), None)  # the cached one rows_matching uses
    assert scanner is not None

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Hyperscan scanned although PLAYBOOK_REGEX=re")

    monkeypatch.setattr(scanner, "database", type("Refuse", (), {"scan": staticmethod(refuse)})())
    monkeypatch.setenv("PLAYBOOK_REGEX", "re")
    assert rows_matching((_CONTROL, _MOJIBAKE), ["a\x01", "b"]).tolist() == [True, False]
    monkeypatch.delenv("PLAYBOOK_REGEX")
    with pytest.raises(AssertionError, match="PLAYBOOK_REGEX"):
        rows_matching((_CONTROL, _MOJIBAKE), ["a\x01", "b"])


@settings(max_examples=300, deadline=None)
@given(items=values)
def test_rows_matching_equals_per_row_search(items: list[object]) -> None:
    """Mixed ASCII, non-ASCII and non-string values (texts may hold newlines: no pattern matches one)."""
    strings = [t if isinstance(t, str) else "" for t in items]
    for patterns, ignorecase in PATTERN_SETS:
        want = per_row(patterns, ignorecase, items)
        assert rows_matching(patterns, items, ignorecase=ignorecase).tolist() == want
        assert rows_matching_re(patterns, strings, ignorecase=ignorecase).tolist() == want


@settings(max_examples=200, deadline=None)
@given(items=texts)
def test_ascii_rows_hyperscan_equals_re(items: list[str]) -> None:
    """On ASCII rows alone (the Hyperscan path) the answer is ``re``'s, row by row."""
    items = [t for t in items if t.isascii()]
    for patterns, ignorecase in PATTERN_SETS:
        scanner = hyperscan_scanner(patterns, ignorecase[0] if ignorecase else None)
        if scanner is None:
            pytest.skip("Hyperscan is not installed")
        assert scanner(items).tolist() == rows_matching_re(patterns, items, ignorecase=ignorecase).tolist()
        assert np.array_equal(scanner(items), np.array(per_row(patterns, ignorecase, items), dtype=bool))
