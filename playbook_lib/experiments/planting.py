"""Plant known problems into real rows with seeded edits, and record which rows were planted, so a check can be
graded against the truth instead of against itself.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``: near duplicates
planted into GSM8K rows) and *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``: one
problem per checklist item planted into GSM8K rows). The rows are real public data read at run time
(``../shared/data``, never copied into the repository); only the edits, and the fictional e-mail addresses, are ours.

- :func:`perturb_words` edits a text word by word at a known rate: each word dropped or swapped with the next
  (``rate``), and, independently, its case or punctuation changed (``cosmetic``: invisible to a check that
  case-folds and tokenises on word characters, as the duplicate checks do).
- :func:`plant_near_duplicates` appends edited copies of randomly chosen rows: *near* copies (a light edit rate)
  and *far* copies (a heavy one), shuffles, and records each copy's source row.
- :func:`plant_problems` plants one problem per kind (:data:`PROBLEMS`) into distinct rows and records them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from playbook_lib.errors import UsageError
from playbook_lib.text.normal import normalise

TEXT_FIELDS = ("instruction", "input", "output")

_PUNCT = (",", ".", ";", "!", "?")


def _cosmetic(word: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return word.upper() if word != word.upper() else word.lower()
    if kind == 1:
        return word + _PUNCT[int(rng.integers(0, len(_PUNCT)))]
    stripped = word.rstrip(".,;:!?")
    return stripped if stripped else word.capitalize()


def perturb_words(text: str, rate: float, rng: np.random.Generator, cosmetic: float = 0.0) -> str:
    """``text`` edited word by word (whitespace tokens; the result joined by single spaces): with probability
    ``rate`` a word is dropped or swapped with the next one (even odds), and independently with probability
    ``cosmetic`` its case flips or a punctuation mark is added or stripped. A text of one word is never dropped."""
    if not (0.0 <= rate <= 1.0 and 0.0 <= cosmetic <= 1.0):
        raise UsageError(f"edit rates must be in [0, 1], got rate={rate}, cosmetic={cosmetic}")
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if len(words) > 1 and rng.random() < rate:
            if rng.random() < 0.5:
                i += 1
                continue
            if i + 1 < len(words):
                out += [words[i + 1], word]
                i += 2
                continue
        out.append(_cosmetic(word, rng) if cosmetic and rng.random() < cosmetic else word)
        i += 1
    return " ".join(out) if out else text


def _edit_row(row: pd.Series, rate: float, cosmetic: float, rng: np.random.Generator) -> pd.Series:
    row = row.copy()
    for name in TEXT_FIELDS:
        if name in row.index and isinstance(row[name], str) and row[name]:
            row[name] = perturb_words(row[name], rate, rng, cosmetic)
    return row


def _append(frame: pd.DataFrame, extra: Sequence[pd.Series]) -> pd.DataFrame:
    """``frame`` with the rows ``extra`` appended, missing values kept as ``None`` (as the loader gives them), not
    turned into NaN by the concatenation: a float where text belongs is a formatting fault of its own."""
    rows = pd.concat([frame, pd.DataFrame(list(extra))], ignore_index=True) if len(extra) else frame.copy()
    for name in frame.columns:
        if frame[name].dtype == object:
            rows[name] = rows[name].astype(object).where(rows[name].notna(), None)
    return rows


def _renumber(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame["line"] = np.arange(1, len(frame) + 1)
    return frame


@dataclass(frozen=True)
class NearPlant:
    """Rows with planted copies: ``kind[i]`` is ``real``, ``near`` or ``far``; ``source[i]`` the row a copy was made
    from (``-1`` for a real row)."""

    records: pd.DataFrame
    kind: np.ndarray
    source: np.ndarray

    def group(self) -> np.ndarray:
        """Per row, the planted near pair it belongs to (the source row's index), ``-1`` for other rows."""
        out = np.full(len(self.kind), -1, dtype=int)
        near = np.flatnonzero(self.kind == "near")
        out[near] = self.source[near]
        out[self.source[near]] = self.source[near]
        return out


def plant_near_duplicates(
    base: pd.DataFrame,
    near: int,
    far: int,
    rate: float,
    far_rate: float,
    cosmetic: float = 0.0,
    seed: int = 0,
) -> NearPlant:
    """``base`` plus ``near`` copies edited at ``rate`` and ``far`` copies edited at ``far_rate`` (both with
    ``cosmetic``, :func:`perturb_words`), each made from a different row chosen at random; rows shuffled and
    renumbered (``line`` 1..n)."""
    if near < 0 or far < 0 or near + far > len(base):
        raise UsageError(f"can copy at most {len(base)} distinct rows, asked for {near} + {far}")
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(base), size=near + far, replace=False)
    copies = [_edit_row(base.iloc[int(s)], rate if k < near else far_rate, cosmetic, rng) for k, s in enumerate(picked)]
    rows = _append(base, copies)
    kind = np.array(["real"] * len(base) + ["near"] * near + ["far"] * far, dtype=object)
    source = np.r_[np.full(len(base), -1), picked].astype(int)
    order = rng.permutation(len(rows))
    where = np.empty_like(order)
    where[order] = np.arange(len(order))  # old index -> new index
    source = np.where(source >= 0, where[np.maximum(source, 0)], -1)[order]
    return NearPlant(_renumber(rows.iloc[order]), kind[order], source)


#: The problems :func:`plant_problems` plants, each into its own rows.
PROBLEMS = (
    "exact_duplicate",
    "near_duplicate",
    "empty_output",
    "forbidden_phrase",
    "personal_data",
    "no_licence",
    "no_provenance",
    "off_topic",
    "eval_copy",
)

_GIVEN = ("maria", "jon", "aisha", "tomas", "priya", "lena", "omar", "sofia", "ivan", "chen", "nadia", "felix")
_FAMILY = ("keller", "okafor", "lindqvist", "moreau", "tanaka", "rossi", "novak", "haddad", "walsh", "berg")
_PROVIDERS = ("gmail.com", "outlook.com", "yahoo.co.uk", "proton.me", "web.de", "icloud.com")
_IN_PLACE = ("empty_output", "forbidden_phrase", "personal_data", "no_licence", "no_provenance")
FORBIDDEN = "As an AI language model, "


def fictional_email(rng: np.random.Generator) -> str:
    """A made-up personal address (``maria.keller83@gmail.com``): shaped like real personal data, at real providers,
    so a PII check must count it; generated, never taken from anyone."""
    pick = lambda xs: xs[int(rng.integers(0, len(xs)))]  # noqa: E731
    return f"{pick(_GIVEN)}.{pick(_FAMILY)}{int(rng.integers(10, 99))}@{pick(_PROVIDERS)}"


def _near_copy(row: pd.Series, rate: float, rng: np.random.Generator, tries: int = 20) -> pd.Series:
    """:func:`_edit_row` (cosmetic 0.1) until the copy differs from ``row`` after normalisation, so a near copy is
    never also an exact one (with few words an edit can come out as a case flip alone)."""
    same = lambda r: [normalise(str(r[f])) for f in TEXT_FIELDS if f in r.index]  # noqa: E731
    for _ in range(tries):
        copy = _edit_row(row, rate, 0.1, rng)
        if same(copy) != same(row):
            return copy
    return _edit_row(row, max(rate, 0.5), 0.1, rng)


@dataclass(frozen=True)
class ProblemPlant:
    """Training rows with problems planted: ``rows[kind]`` the row indices (0-based) planted with ``kind``;
    ``source[i]`` for a planted copy (exact or near duplicate) the row it copies; ``eval`` the held-out rows (some
    copied into training as ``eval_copy``)."""

    records: pd.DataFrame
    eval: pd.DataFrame
    rows: dict[str, np.ndarray]
    source: dict[int, int] = field(default_factory=dict)


def plant_problems(
    base: pd.DataFrame,
    eval_rows: pd.DataFrame,
    off_topic: pd.DataFrame,
    per_problem: int,
    seed: int = 0,
    near_rate: float = 0.01,
    kinds: Sequence[str] = PROBLEMS,
) -> ProblemPlant:
    """``base`` (real training rows, tagged with their ``licence`` and ``provenance`` by the caller, as are
    ``eval_rows`` and ``off_topic``) with
    ``per_problem`` rows of each of ``kinds`` (:data:`PROBLEMS`) planted, every planted row carrying one problem:

    - ``exact_duplicate`` / ``near_duplicate``: a copy of another base row, verbatim up to case and spacing / edited
      at ``near_rate`` (:func:`perturb_words`, cosmetic 0.1; edited again until it differs after normalisation, so
      it is never an exact copy too), appended;
    - ``empty_output``, ``forbidden_phrase`` (:data:`FORBIDDEN` prefixed to the output), ``personal_data`` (a
      :func:`fictional_email` added to the instruction), ``no_licence``, ``no_provenance``: a base row edited in place;
    - ``off_topic``: a row of ``off_topic`` (another dataset) appended; ``eval_copy``: a row of ``eval_rows`` appended.

    Rows are shuffled and renumbered; ``rows`` and ``source`` give the planted indices after the shuffle."""
    unknown = sorted(set(kinds) - set(PROBLEMS))
    if unknown:
        raise UsageError(f"unknown problems {', '.join(unknown)}; valid: {', '.join(PROBLEMS)}")
    in_place = [k for k in kinds if k in _IN_PLACE]
    copies = [k for k in kinds if k in ("exact_duplicate", "near_duplicate")]
    need = per_problem * (len(in_place) + len(copies))
    if need > len(base) or per_problem > min(len(eval_rows), len(off_topic)):
        raise UsageError(f"{per_problem} rows per problem need {need} base rows, {per_problem} eval and off-topic rows")
    rng = np.random.default_rng(seed)
    frame = base.reset_index(drop=True).copy()
    chosen = rng.choice(len(frame), size=need, replace=False)
    planted: dict[str, list[int]] = {}
    source: dict[int, int] = {}
    extra: list[pd.Series] = []
    for k, kind in enumerate(in_place + copies):
        for i in chosen[k * per_problem : (k + 1) * per_problem].tolist():
            if kind in copies:
                row = frame.iloc[i].copy()
                if kind == "exact_duplicate":
                    row["instruction"] = "  ".join(str(row["instruction"]).upper().split())
                else:
                    row = _near_copy(row, near_rate, rng)
                source[len(frame) + len(extra)] = i
                planted.setdefault(kind, []).append(len(frame) + len(extra))
                extra.append(row)
                continue
            planted.setdefault(kind, []).append(i)
            if kind == "empty_output":
                frame.at[i, "output"] = ""
            elif kind == "forbidden_phrase":
                frame.at[i, "output"] = FORBIDDEN + str(frame.at[i, "output"])
            elif kind == "personal_data":
                frame.at[i, "instruction"] = f"{frame.at[i, 'instruction']} Reply to {fictional_email(rng)}."
            else:
                frame.at[i, "licence" if kind == "no_licence" else "provenance"] = None
    for kind, pool in (("off_topic", off_topic), ("eval_copy", eval_rows)):
        if kind in kinds:
            for j in rng.choice(len(pool), size=per_problem, replace=False).tolist():
                row = pool.iloc[j].copy()
                planted.setdefault(kind, []).append(len(frame) + len(extra))
                extra.append(row)
    rows = _append(frame, extra)
    order = rng.permutation(len(rows))
    where = np.empty_like(order)
    where[order] = np.arange(len(order))
    return ProblemPlant(
        _renumber(rows.iloc[order]),
        eval_rows.reset_index(drop=True),
        {kind: np.sort(where[np.asarray(ix)]) for kind, ix in planted.items()},
        {int(where[c]): int(where[s]) for c, s in source.items()},
    )
