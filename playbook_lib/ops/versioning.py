"""Content-addressed versions: a document, a chunk set or a whole dataset is named by the hash of its content.

Taught in the book's *Design principles* page of the Model–Data Operations chapter. Two corpora with the same
documents get the same version on any machine; changing one character of one document changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from playbook_lib.io.digest import content_hash, settings_hash

__all__ = ["content_hash", "dataset_version", "settings_hash"]


def dataset_version(items: Iterable[tuple[str, str]]) -> str:
    """Version of a collection of ``(id, content_hash)`` pairs, independent of their order."""
    digest = hashlib.sha256()
    for item_id, item_hash in sorted(items):
        digest.update(f"{item_id}\t{item_hash}\n".encode())
    return digest.hexdigest()[:16]
