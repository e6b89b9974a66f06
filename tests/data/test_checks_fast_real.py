"""The vectorised check internals agree with their plain-Python definitions on real text (GSM8K, LIMA from
``../shared/data/sft``, read at test time; nothing copied into the repository)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from playbook_lib.checks.contamination import ngrams, overlap, overlap_plain
from playbook_lib.checks.hashing import ngram_hashes, normal_hashes, whitespace_tokens
from playbook_lib.checks.uniqueness import shingles
from playbook_lib.data import load_records, record_text
from playbook_lib.text.normal import normalise
from tests.conftest import need


def sft(shared_data: Path, name: str) -> Path:
    path = shared_data / "sft" / name
    need(path.is_file(), f"{path} not found")
    return path


def test_fast_13gram_contamination_equals_the_plain_pass_on_gsm8k(shared_data: Path) -> None:
    """GSM8K train questions plus planted leaks (copies with changed case and spacing, 13+-word quotes, a quote
    one word short) against the test questions: every flag, score, exact match, shared count and eval row agrees."""
    train = record_text(load_records(sft(shared_data, "gsm8k_train.jsonl")), ("instruction", "input"))
    test = record_text(load_records(sft(shared_data, "gsm8k_test.jsonl")), ("instruction", "input"))
    rng = random.Random(3)
    planted = []
    for j in rng.sample(range(len(test)), 30):
        words = test[j].split()
        planted.append("  " + test[j].upper().replace(" ", "   ") + " ")  # exact after normalisation
        if len(words) > 14:
            k = rng.randrange(0, len(words) - 13)
            planted.append("Consider this: " + " ".join(words[k : k + 13]) + " and more.")  # one shared 13-gram
            planted.append("Short quote: " + " ".join(words[k : k + 12]))  # 12 words: no 13-gram
    texts = train + planted
    for n in (13, 5):
        fast, plain = overlap(texts, test, n), overlap_plain(texts, test, n)
        assert fast.flags.sum() > 30
        assert np.array_equal(fast.flags, plain.flags)
        assert np.allclose(fast.scores, plain.scores)
        assert np.array_equal(fast.exact, plain.exact)
        assert np.array_equal(fast.shared, plain.shared)
        assert np.array_equal(fast.first_eval, plain.first_eval)
        assert fast.hit_eval == plain.hit_eval


def test_hashed_words_ngrams_and_normal_forms_match_python_on_lima(shared_data: Path) -> None:
    """Per LIMA row: as many distinct hashed n-grams as distinct string n-grams (3-grams with the whole-text rule,
    13-grams without), equal normal forms iff equal hashes, and whitespace token counts equal to ``str.split``."""
    texts = record_text(load_records(sft(shared_data, "lima_llamafactory.json")))
    texts += ["", "  A  b\tC ", "a b c", "Straße STRASSE", "x", "É\u00a0é", "don’t stop", "x\x00y"]
    for n, whole in ((3, True), (13, False)):
        offsets, grams = ngram_hashes(texts, n, whole_short=whole)
        for i, t in enumerate(texts):
            expected = len(shingles(t, n)) if whole else len(ngrams(t, n))
            assert len(set(grams[offsets[i] : offsets[i + 1]].tolist())) == expected, (n, i)
    for t in texts + ["\x1c a\u2003b\u200b c\x85\u3000", "\t\n"]:
        assert normalise(t) == re.sub(r"\s+", " ", t).strip().casefold()
    hashes = normal_hashes(texts).tolist()
    by_hash: dict[int, str] = {}
    for h, t in zip(hashes, texts):
        assert by_hash.setdefault(h, normalise(t)) == normalise(t)
    assert len(set(hashes)) == len({normalise(t) for t in texts})
    assert whitespace_tokens(texts).tolist() == [len(t.split()) for t in texts]


def test_hyperscan_prefilters_find_the_rows_re_finds_on_real_text(shared_data: Path) -> None:
    """The PII prefilter and the formatting patterns flag the same GSM8K and LIMA rows through Hyperscan (ASCII
    rows) as through Python's ``re`` alone; GSM8K's numbers make the PII prefilter fire often."""
    from playbook_lib.checks.formatting import _CONTROL, _MOJIBAKE
    from playbook_lib.text.pii import MAYBE_PII, MAYBE_SECRET
    from playbook_lib.text.scan import hyperscan_scanner, rows_matching, rows_matching_re

    assert hyperscan_scanner(tuple(MAYBE_PII), MAYBE_SECRET[0]) is not None
    texts = record_text(load_records(sft(shared_data, "gsm8k_train.jsonl")))
    texts += record_text(load_records(sft(shared_data, "lima_llamafactory.json")))
    for patterns, ignorecase in (((*MAYBE_PII,), MAYBE_SECRET), ((_CONTROL, _MOJIBAKE), None)):
        fast = rows_matching(patterns, texts, ignorecase=ignorecase)
        assert np.array_equal(fast, rows_matching_re(patterns, texts, ignorecase=ignorecase))
    assert rows_matching(tuple(MAYBE_PII), texts, ignorecase=MAYBE_SECRET).sum() > 500


def test_compiled_loops_equal_numpy_on_real_text(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On LIMA (long, multilingual, code) and GSM8K: the compiled word n-gram hashes, MinHash signatures, token counts
    and normal-form hashes are the NumPy path's, bit for bit, and the normal-form hash groups rows as ``normalise``
    does."""
    from playbook_lib.checks.hashing import use_native
    from playbook_lib.checks.uniqueness import oph_signatures

    texts = record_text(load_records(sft(shared_data, "lima_llamafactory.json")))
    texts += record_text(load_records(sft(shared_data, "gsm8k_test.jsonl")))
    texts += [t.upper() + "  " for t in texts[:200]]

    def run() -> list[np.ndarray]:
        offsets, grams = ngram_hashes(texts, 3, whole_short=True)
        return [
            offsets,
            grams,
            oph_signatures(offsets, grams, 128, 1),
            *ngram_hashes(texts, 13),
            whitespace_tokens(texts),
            normal_hashes(texts),
        ]

    monkeypatch.setenv("PLAYBOOK_NATIVE", "1")
    assert use_native()
    fast = run()
    monkeypatch.setenv("PLAYBOOK_NATIVE", "0")
    slow = run()
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow))
    first_hash: dict[str, int] = {}
    first_key: dict[int, str] = {}
    for h, k in zip(fast[-1].tolist(), (normalise(t) for t in texts)):
        assert first_hash.setdefault(k, h) == h and first_key.setdefault(h, k) == k
