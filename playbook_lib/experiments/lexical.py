"""Lexical measures of a corpus: tokens, distinct-n, type-token ratios, MTLD, unigram entropy and KL divergence.

Used on the *Model collapse* page (``notebooks/exp_06_model_collapse.ipynb``) and the *Human vs synthetic* page
(``notebooks/exp_07_provenance.ipynb``).

Every measure that depends on how much text it sees (distinct-n, type-token ratio) is only comparable between
samples of the same size: cut samples to the same token budget with :func:`take_tokens` first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

_WORDS = re.compile(r"\w+", re.UNICODE)
_WORDS_AND_PUNCT = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str, punctuation: bool = False) -> list[str]:
    """Lower-cased word tokens of ``text`` (``\\w+`` runs); with ``punctuation``, each other non-space character too."""
    return (_WORDS_AND_PUNCT if punctuation else _WORDS).findall(text.casefold())


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens with spaces, attaching punctuation to the word before it (for showing generated text)."""
    return re.sub(r" ([.,;:!?)\]}%])", r"\1", " ".join(tokens)).replace("( ", "(").replace("$ ", "$")


def ngram_counts(docs: Iterable[Sequence[str]], n: int) -> Counter[tuple[str, ...]]:
    """Counts of token ``n``-grams within each document (never across a document boundary)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    counts: Counter[tuple[str, ...]] = Counter()
    for doc in docs:
        counts.update(tuple(doc[i : i + n]) for i in range(len(doc) - n + 1))
    return counts


def distinct_n(docs: Iterable[Sequence[str]], n: int) -> float:
    """Distinct-n (Li et al., 2016): unique ``n``-grams divided by all ``n``-grams; 0.0 when there are none."""
    counts = ngram_counts(docs, n)
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def take_tokens(docs: Iterable[Sequence[str]], budget: int) -> list[list[str]]:
    """The documents, in order, until ``budget`` tokens are taken (the last one cut), for equal-size comparisons."""
    out: list[list[str]] = []
    left = budget
    for doc in docs:
        if left <= 0:
            break
        out.append(list(doc[:left]))
        left -= len(out[-1])
    return out


def type_token_ratio(tokens: Sequence[str]) -> float:
    """Distinct tokens divided by tokens (0.0 for no tokens). Falls as text grows: compare equal lengths only."""
    return len(set(tokens)) / len(tokens) if tokens else 0.0


def msttr(tokens: Sequence[str], window: int = 100) -> float:
    """Mean segmental type-token ratio: the mean TTR of consecutive ``window``-token segments (a partial last segment
    is dropped). Independent of text length; NaN when the text is shorter than one window."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    segments = [tokens[i : i + window] for i in range(0, len(tokens) - window + 1, window)]
    if not segments:
        return math.nan
    return sum(type_token_ratio(s) for s in segments) / len(segments)


def _mtld_pass(tokens: Sequence[str], threshold: float) -> float:
    factors = 0.0
    types: set[str] = set()
    count = 0
    ttr = 1.0
    for token in tokens:
        types.add(token)
        count += 1
        ttr = len(types) / count
        if ttr <= threshold:
            factors += 1
            types, count, ttr = set(), 0, 1.0
    if count:
        factors += (1 - ttr) / (1 - threshold)
    return len(tokens) / factors if factors else float(len(tokens))


def mtld(tokens: Sequence[str], threshold: float = 0.72) -> float:
    """Measure of textual lexical diversity (McCarthy & Jarvis, 2010): the mean length of runs whose type-token ratio
    stays above ``threshold``, averaged over a forward and a backward pass. Text that never falls to the threshold
    scores its own length. Higher means more diverse; largely independent of text length."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if not tokens:
        return 0.0
    return (_mtld_pass(tokens, threshold) + _mtld_pass(list(reversed(tokens)), threshold)) / 2


def entropy_bits(counts: Mapping[str, int] | Counter[str]) -> float:
    """Shannon entropy, in bits, of the distribution the counts define (0.0 for no counts)."""
    total = sum(counts.values())
    if not total:
        return 0.0
    return -sum(c / total * math.log2(c / total) for c in counts.values() if c)


def kl_divergence(p: Mapping[str, int], q: Mapping[str, int], add_k: float = 0.5) -> float:
    """KL(P || Q) in bits between two count tables; Q is add-``k`` smoothed over the union of both supports so that a
    word P uses and Q lost costs a finite, large amount. 0.0 when the counts are proportional and ``add_k`` is 0."""
    if add_k < 0:
        raise ValueError(f"add_k must be non-negative, got {add_k}")
    support = set(p) | set(q)
    p_total = sum(p.values())
    q_total = sum(q.values()) + add_k * len(support)
    if not p_total:
        return 0.0
    kl = 0.0
    for word, count in p.items():
        if count:
            pw = count / p_total
            qw = (q.get(word, 0) + add_k) / q_total
            if qw == 0:
                return math.inf
            kl += pw * math.log2(pw / qw)
    return kl
