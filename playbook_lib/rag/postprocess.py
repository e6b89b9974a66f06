"""Post-processing: check an answer's citations and measure how much of it the context supports.

Taught in the book's *Practical impact* page of the Model–Data Operations chapter. The groundedness score needs
no judge model: an answer sentence counts as supported when most of its content words appear in one retrieved
passage (lexical support), so the score is cheap, deterministic and explainable sentence by sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from playbook_lib.rag.retrieve import Hit

_CITATION = re.compile(r"\[([^\[\]\s]{1,64})\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that these "
    "those there their they them he she his her we you your i my our not no yes do does did so than then too very can "
    "could should would will shall may might must have has had what which who whom whose when where why how about "
    "into over under again further once here all any both each few more most other some such only own same just "
    "answer question context know don t sure cannot unable information provided".split()
)


@dataclass(frozen=True)
class CitationCheck:
    """Citations found in an answer, split into those that name a retrieved passage and those that do not."""

    cited: list[str]
    valid: list[str]
    invalid: list[str]

    @property
    def ok(self) -> bool:
        return bool(self.cited) and not self.invalid


def check_citations(answer: str, allowed_ids: Iterable[str]) -> CitationCheck:
    """Find ``[id]`` citations in ``answer`` and check each names one of ``allowed_ids``."""
    allowed = set(allowed_ids)
    cited = list(dict.fromkeys(_CITATION.findall(answer)))
    return CitationCheck(
        cited=cited, valid=[c for c in cited if c in allowed], invalid=[c for c in cited if c not in allowed]
    )


def content_words(text: str) -> set[str]:
    """Lower-cased words and numbers of ``text`` without stopwords or citations."""
    return {w for w in _WORD.findall(_CITATION.sub(" ", text.lower())) if w not in STOPWORDS}


@dataclass(frozen=True)
class Groundedness:
    """Share of answer sentences supported by the context, with the per-sentence evidence."""

    score: float
    sentences: list[str]
    support: list[float]
    supported: list[bool]


def groundedness(answer: str, context: Sequence[Hit | str], threshold: float = 0.6) -> Groundedness:
    """Share of the answer's sentences whose content words are at least ``threshold`` covered by one passage.

    A sentence with no content word ("I do not know.") is left out; an answer with no such sentence scores 1.0
    when it says nothing checkable, which is the honest score for a refusal.
    """
    passages = [content_words(c.document.full_text if isinstance(c, Hit) else c) for c in context]
    sentences = [s.strip() for s in _SENTENCE.split(answer) if s.strip()]
    kept, support = [], []
    for sentence in sentences:
        words = content_words(sentence)
        if not words:
            continue
        kept.append(sentence)
        support.append(max((len(words & p) / len(words) for p in passages), default=0.0))
    flags = [s >= threshold for s in support]
    score = sum(flags) / len(flags) if flags else 1.0
    return Groundedness(score=score, sentences=kept, support=support, supported=flags)
