"""Lexical measures on hand-made examples whose values are worked out in the comments."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from playbook_lib.experiments.lexical import (
    detokenize,
    distinct_n,
    entropy_bits,
    kl_divergence,
    msttr,
    mtld,
    ngram_counts,
    take_tokens,
    tokenize,
    type_token_ratio,
)


def test_tokenize_with_and_without_punctuation() -> None:
    assert tokenize("Tom's 3 apples, please!") == ["tom", "s", "3", "apples", "please"]
    assert tokenize("Tom's 3 apples, please!", punctuation=True) == ["tom", "'", "s", "3", "apples", ",", "please", "!"]
    assert detokenize(["it", "costs", "$", "5", ",", "right", "?"]) == "it costs $5, right?"


def test_distinct_n_counts_within_documents_only() -> None:
    assert distinct_n([["a", "b", "a", "b"]], 1) == 0.5  # {a, b} of 4
    assert distinct_n([["a", "b", "a", "b"]], 2) == pytest.approx(2 / 3)  # ab, ba, ab
    # two documents: "b b" would only appear across the boundary, so it is not counted
    assert ngram_counts([["a", "b"], ["b", "a"]], 2) == Counter({("a", "b"): 1, ("b", "a"): 1})
    assert distinct_n([["a", "b"], ["b", "a"]], 2) == 1.0
    assert distinct_n([["a"]], 2) == 0.0
    with pytest.raises(ValueError):
        distinct_n([["a"]], 0)


def test_take_tokens_cuts_at_the_budget() -> None:
    assert take_tokens([["a", "b", "c"], ["d", "e"], ["f"]], 4) == [["a", "b", "c"], ["d"]]
    assert take_tokens([["a"]], 10) == [["a"]]


def test_type_token_ratios() -> None:
    assert type_token_ratio(["a", "a", "b", "c"]) == 0.75
    assert type_token_ratio([]) == 0.0
    assert msttr(["a", "b", "a", "b"], 2) == 1.0  # segments ab, ab
    assert msttr(["a", "b", "a", "b", "c"], 3) == pytest.approx(2 / 3)  # aba -> 2/3; "bc" is a partial segment
    assert math.isnan(msttr(["a"], 2))


def test_mtld_by_hand() -> None:
    # "a a a a": the TTR hits 1/2 <= 0.72 after every second token: 2 factors, 4 tokens -> 2.0 both ways
    assert mtld(["a"] * 4) == 2.0
    # "a b c a": TTR 1, 1, 1, 0.75: no full factor; partial (1 - 0.75) / (1 - 0.72) = 0.8929 -> 4 / 0.8929
    assert mtld(["a", "b", "c", "a"]) == pytest.approx(4 / (0.25 / 0.28))
    assert mtld(["a", "b", "c"]) == 3.0  # never falls: scores its own length
    assert mtld([]) == 0.0
    # a varied text scores higher than a repetitive one of the same length
    assert mtld(list("abcdefghij" * 3)) > mtld(list("ab" * 15))


def test_entropy_and_kl_by_hand() -> None:
    assert entropy_bits({"a": 1, "b": 1}) == pytest.approx(1.0)
    assert entropy_bits({"a": 2, "b": 1, "c": 1}) == pytest.approx(1.5)
    assert entropy_bits({}) == 0.0
    assert kl_divergence({"a": 1, "b": 1}, {"a": 5, "b": 5}, add_k=0) == pytest.approx(0.0)
    # 0.5 log2(0.5/0.75) + 0.5 log2(0.5/0.25)
    assert kl_divergence({"a": 1, "b": 1}, {"a": 3, "b": 1}, add_k=0) == pytest.approx(
        0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(2)
    )
    # Q lost "b": smoothed over {a, b} with k = 0.5 -> q(a) = 2.5/3, q(b) = 0.5/3
    assert kl_divergence({"a": 1, "b": 1}, {"a": 2}) == pytest.approx(
        0.5 * math.log2(0.5 / (2.5 / 3)) + 0.5 * math.log2(0.5 / (0.5 / 3))
    )
    assert kl_divergence({"a": 1, "b": 1}, {"a": 2}, add_k=0) == math.inf
