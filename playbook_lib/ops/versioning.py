"""Content-addressed versions: a document, a chunk set or a whole dataset is named by the hash of its content.

Taught in the book's *Design principles* page of the Model–Data Operations chapter. Two corpora with the same
documents get the same version on any machine; changing one character of one document changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any


def content_hash(text: str) -> str:
    """SHA-256 of the UTF-8 text, hex, first 16 characters (64 bits: collisions are not a practical concern)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def settings_hash(settings: Mapping[str, Any]) -> str:
    """Hash of a settings mapping (key order does not matter), e.g. chunker or embedder settings."""
    return content_hash(json.dumps(settings, sort_keys=True, default=str))


def dataset_version(items: Iterable[tuple[str, str]]) -> str:
    """Version of a collection of ``(id, content_hash)`` pairs, independent of their order."""
    digest = hashlib.sha256()
    for item_id, item_hash in sorted(items):
        digest.update(f"{item_id}\t{item_hash}\n".encode())
    return digest.hexdigest()[:16]
