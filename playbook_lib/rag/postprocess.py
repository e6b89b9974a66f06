"""Post-processing: check an answer's citations and measure how much of it the context supports.

Taught in the book's *Practical impact* page of the Model–Data Operations chapter. The groundedness score needs
no judge model: an answer sentence counts as supported when most of its content words appear in one retrieved
passage (lexical support) and every fact a reader would act on appears in that same passage: each number with its
unit ("14 days" is not "24 hours", nor "14 hours"), each date and each named entity (a capitalised word inside the
sentence). So the score is cheap, deterministic and explainable sentence by sentence, and a changed number lowers
it however many other words match.
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


_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,:]\d+)*)(?:\s*(%|[^\W\d_]+))?")
_ENTITY = re.compile(r"(?<=[^\s(\[\"'“‘])\s+([A-Z][\w-]*(?:\s+[A-Z][\w-]*)*)")


def _unit(word: str | None) -> str:
    """A unit word in one form ("days" -> "day"); "" for none or a stopword ("14 of them" has no unit)."""
    if not word:
        return ""
    word = word.lower()
    if word in STOPWORDS:
        return ""
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _quantities(text: str) -> Iterable[tuple[str, str]]:
    """``(number, unit)`` for each number of ``text``: the unit is the word right after it, in one form (""
    for none, a stopword, or a number inside an identifier such as ``HG-730``)."""
    for m in _NUMBER.finditer(text):
        inside = m.start() > 0 and text[m.start() - 1] == "-"
        yield m.group(1).replace(",", ""), "" if inside else _unit(m.group(2))


def key_facts(text: str) -> set[str]:
    """The facts of ``text`` a reader would act on, normalised: each number with the unit word after it
    (``"14 day"``, ``"3.5 %"``, ``"2024"``) and each named entity, a run of capitalised words that does not start
    the text or a sentence (``"marie curie"``). Citations are left out."""
    text = _CITATION.sub(" ", text)
    facts = {f"{number} {unit}".strip() for number, unit in _quantities(text)}
    for sentence in _SENTENCE.split(text):
        for m in _ENTITY.finditer(sentence.strip()):
            words = [w for w in _WORD.findall(m.group(1).lower()) if w not in STOPWORDS]
            if words:
                facts.add(" ".join(words))
    return facts


def _facts_in(passage: str) -> tuple[dict[str, set[str]], str]:
    """A passage's numbers, each with the units it carries there ("" for bare), and its lower-cased words (entities
    are looked up as words in it)."""
    units: dict[str, set[str]] = {}
    for number, unit in _quantities(_CITATION.sub(" ", passage)):
        units.setdefault(number, set()).add(unit)
    return units, " ".join(_WORD.findall(_CITATION.sub(" ", passage.lower())))


def _missing(facts: set[str], passage: tuple[dict[str, set[str]], str]) -> list[str]:
    """The facts not found in the passage. A number must appear there; with a unit, with that unit, unless the
    passage gives the number with no unit at all ("14 days" is not "14 hours"; "HG-730 works" is "HG-730"). An
    entity must appear as those words."""
    units, words = passage
    out = []
    for fact in sorted(facts):
        if fact[:1].isdigit():
            number, _, unit = fact.partition(" ")
            there = units.get(number)
            if there is None or (unit and unit not in there and there != {""}):
                out.append(fact)
        elif f" {fact} " not in f" {words} ":
            out.append(fact)
    return out


@dataclass(frozen=True)
class Groundedness:
    """Share of answer sentences supported by the context, with the per-sentence evidence: ``support`` (the best
    passage's share of the sentence's content words) and ``unsupported`` (the sentence's key facts, numbers with
    units and named entities, that passage does not hold)."""

    score: float
    sentences: list[str]
    support: list[float]
    supported: list[bool]
    unsupported: list[list[str]]


def groundedness(answer: str, context: Sequence[Hit | str], threshold: float = 0.6) -> Groundedness:
    """Share of the answer's sentences supported by one passage: at least ``threshold`` of the sentence's content
    words appear in it and so does every key fact of the sentence (:func:`key_facts`: numbers with their units,
    named entities).

    A sentence with no content word ("I do not know.") is left out; an answer with no such sentence scores 1.0
    when it says nothing checkable, which is the honest score for a refusal.
    """
    texts = [c.document.full_text if isinstance(c, Hit) else c for c in context]
    passages = [content_words(t) for t in texts]
    facts_of = [_facts_in(t) for t in texts]
    sentences = [s.strip() for s in _SENTENCE.split(answer) if s.strip()]
    kept, support, flags, unsupported = [], [], [], []
    for sentence in sentences:
        words = content_words(sentence)
        if not words:
            continue
        kept.append(sentence)
        facts = key_facts(sentence)
        best: tuple[bool, float, list[str]] = (False, 0.0, sorted(facts))
        for p, f in zip(passages, facts_of):
            share = len(words & p) / len(words)
            missing = _missing(facts, f)
            candidate = (share >= threshold and not missing, share, missing)
            # the passage that supports the sentence; else the one covering most words, with fewest missing facts
            if (candidate[0], candidate[1], -len(missing)) > (best[0], best[1], -len(best[2])):
                best = candidate
        flags.append(best[0])
        support.append(best[1])
        unsupported.append(best[2])
    score = sum(flags) / len(flags) if flags else 1.0
    return Groundedness(score=score, sentences=kept, support=support, supported=flags, unsupported=unsupported)
