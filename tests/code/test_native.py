"""The compiled loops (:mod:`playbook_lib.checks.native`, Numba) give the NumPy path's answers bit for bit: word
n-gram hashes, one-permutation MinHash signatures, whitespace token counts and normal-form hashes; and the
normal-form hash groups texts exactly as :func:`~playbook_lib.checks.base.normalise` does, on both paths. Small
inputs use NumPy unless the loops are loaded already (:func:`~playbook_lib.checks.hashing.use_native`)."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import playbook_lib.checks
from playbook_lib.checks.hashing import NATIVE_MIN_CHARS, ngram_hashes, normal_hashes, use_native, whitespace_tokens
from playbook_lib.checks.uniqueness import oph_signatures
from playbook_lib.text.normal import normalise

PIECES = [
    "a",
    "B",
    "ab",
    "Zz",
    "1",
    "_",
    " ",
    "  ",
    "\t",
    "\n",
    "\u00a0",
    "\u2003",
    ".",
    ",",
    "'",
    "-",
    "é",
    "É",
    "ß",
    "SS",
    "Straße",
    "İ",
    "\u212a",
    "٣",
    "中文",
    "\x00",
    "\x1f",
    "😀",
    "ﬁ",
]
texts = st.lists(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), min_size=1, max_size=30)


def both(monkeypatch: pytest.MonkeyPatch, fn, *args):  # type: ignore[no-untyped-def]
    """``fn(*args)`` with the compiled loops (``PLAYBOOK_NATIVE=1``), then with NumPy alone (``0``)."""
    with monkeypatch.context() as m:
        m.setenv("PLAYBOOK_NATIVE", "1")
        assert use_native(), "numba is a dependency: the compiled path must be available in the tests"
        fast = fn(*args)
        m.setenv("PLAYBOOK_NATIVE", "0")
        assert not use_native(10**9)
        slow = fn(*args)
    return fast, slow


def signatures(items: list[str], n: int) -> np.ndarray:
    offsets, grams = ngram_hashes(items, n, whole_short=True)
    return oph_signatures(offsets, grams, 64, 3)


@settings(max_examples=150, deadline=None)
@given(items=texts)
def test_compiled_hashes_equal_numpy(items: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for n, whole in ((1, False), (3, True), (13, False)):
            (fo, fg), (so, sg) = both(monkeypatch, ngram_hashes, items, n, whole)
            assert np.array_equal(fo, so) and np.array_equal(fg, sg)
        fast, slow = both(monkeypatch, signatures, items, 3)
        assert np.array_equal(fast, slow)
        fast, slow = both(monkeypatch, whitespace_tokens, items)
        assert fast.tolist() == slow.tolist() == [len(t.split()) for t in items]
        fast, slow = both(monkeypatch, normal_hashes, items)
        assert np.array_equal(fast, slow)


SPACES = st.sampled_from([" ", "  ", "\t", "\n ", "\u00a0", "\u2003", "\r\n"])


@st.composite
def variants(draw: st.DrawFn) -> list[str]:
    """A text and variants of it: other whitespace runs, leading and trailing whitespace, other case; most have
    the same normal form, some (a space removed) do not."""
    words = draw(st.lists(st.sampled_from([p for p in PIECES if p.strip()]), min_size=1, max_size=6))
    out = [" ".join(words)]
    for _ in range(draw(st.integers(1, 6))):
        seps = [draw(SPACES) for _ in words[1:]]
        text = words[0] + "".join(sep + w for sep, w in zip(seps, words[1:]))
        text = draw(st.sampled_from(["", " ", "\t\n"])) + text + draw(st.sampled_from(["", " ", "\u3000"]))
        out.append(draw(st.sampled_from([str, str.upper, str.lower, str.swapcase]))(text))
    if len(words) > 1:
        out.append("".join(words))
    return out


@settings(max_examples=200, deadline=None)
@given(items=st.one_of(texts, variants()), mode=st.sampled_from(["0", "1"]))
def test_normal_hash_groups_like_normalise(items: list[str], mode: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("PLAYBOOK_NATIVE", mode)
        hashes = normal_hashes(items)
    for i, j in itertools.combinations(range(len(items)), 2):
        assert (hashes[i] == hashes[j]) == (normalise(items[i]) == normalise(items[j])), (items[i], items[j])


def test_long_rows_and_sparse_rows_densify_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows with one n-gram (127 empty bins to fill), thousands of n-grams (none empty), and none at all."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(500)]
    items = ["one", "", " ".join(rng.choice(words, 5000)), "two words", " ".join(words[:130])]
    fast, slow = both(monkeypatch, signatures, items, 1)
    assert np.array_equal(fast, slow)
    assert (fast[1] == 0xFFFFFFFF).all() and len(set(fast[0].tolist())) == 1


def test_long_rows_hash_their_ngrams_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled n-gram loop on rows of every length around ``n`` (none, one and many n-grams per row, rows
    with no words between them): the same hashes and offsets as NumPy's ``n`` passes."""
    rng = np.random.default_rng(5)
    items = [" ".join(f"w{k}" for k in rng.integers(0, 40, int(size))) for size in rng.integers(0, 60, 300)]
    for n in (2, 3, 13):
        (fast_offsets, fast), (slow_offsets, slow) = both(monkeypatch, ngram_hashes, items, n)
        assert slow.size > 2000 and np.array_equal(fast_offsets, slow_offsets) and np.array_equal(fast, slow)


def test_when_the_loops_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """``0`` never, ``1`` always, ``auto`` from :data:`NATIVE_MIN_CHARS` characters on or once loaded."""
    monkeypatch.setenv("PLAYBOOK_NATIVE", "0")
    assert not use_native(10**9)
    monkeypatch.setenv("PLAYBOOK_NATIVE", "1")
    assert use_native(0)
    monkeypatch.setenv("PLAYBOOK_NATIVE", "auto")
    monkeypatch.delitem(sys.modules, "playbook_lib.checks.native")
    monkeypatch.delattr(playbook_lib.checks, "native")
    assert not use_native(NATIVE_MIN_CHARS - 1)
    assert "playbook_lib.checks.native" not in sys.modules
    assert use_native(NATIVE_MIN_CHARS)
    assert use_native(0)  # loaded now: small inputs use it too
