"""Preprocessing and curation of a corpus: normalise text, drop empty documents, remove exact and near duplicates.

Taught in the book's *Pipeline overview* and *Why operations matter* pages of the Model–Data Operations chapter.
Duplicate detection reuses the dataset checks (:class:`~playbook_lib.checks.uniqueness.NearDuplicatesCheck`,
MinHash over word 3-grams), so a corpus and a training set are deduplicated the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playbook_lib.rag.corpus import Document

if TYPE_CHECKING:
    from playbook_lib.checks.base import Check


@dataclass(frozen=True)
class CurationReport:
    """What curation kept and why it dropped the rest (``removed[doc_id] = reason``)."""

    kept: list[Document]
    removed: dict[str, str]

    @property
    def n_removed(self) -> int:
        return len(self.removed)


def normalise_document(doc: Document) -> Document:
    """Unicode NFC and collapsed whitespace in title and text; id and metadata unchanged."""
    clean = lambda s: " ".join(unicodedata.normalize("NFC", s).split())  # noqa: E731
    return Document(id=doc.id, text=clean(doc.text), title=clean(doc.title), metadata=doc.metadata)


def curate(documents: Sequence[Document], near_threshold: float | None = 0.8, min_words: int = 3) -> CurationReport:
    """Normalise, drop documents under ``min_words`` words, then remove duplicates keeping the first of each cluster.

    Duplicates are found by :class:`~playbook_lib.checks.uniqueness.ExactDuplicatesCheck` (equal after
    lower-casing and collapsing whitespace) and, unless ``near_threshold`` is ``None``, by
    :class:`~playbook_lib.checks.uniqueness.NearDuplicatesCheck` (estimated Jaccard >= ``near_threshold``).
    """
    import pandas as pd  # lazy: pandas stays out of `import playbook_lib.ops.curate` (tests/code/test_imports.py)

    from playbook_lib.checks.base import CheckContext  # lazy: the checks import pandas
    from playbook_lib.checks.uniqueness import ExactDuplicatesCheck, NearDuplicatesCheck  # lazy: as above

    removed: dict[str, str] = {}
    candidates: list[Document] = []
    for doc in map(normalise_document, documents):
        if len(doc.full_text.split()) < min_words:
            removed[doc.id] = f"fewer than {min_words} words"
        else:
            candidates.append(doc)
    checks: list[Check] = [ExactDuplicatesCheck(fields=["text"])]
    if near_threshold is not None:
        checks.append(NearDuplicatesCheck(threshold=near_threshold, fields=["text"]))
    for check in checks:
        if len(candidates) < 2:
            break
        records = pd.DataFrame({"line": range(1, len(candidates) + 1), "text": [d.full_text for d in candidates]})
        flags = check.run(records, CheckContext()).flags
        removed.update((d.id, check.name.replace("_", " ")) for d, f in zip(candidates, flags) if f)
        candidates = [d for d, f in zip(candidates, flags) if not f]
    return CurationReport(kept=candidates, removed=removed)
