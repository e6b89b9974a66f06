"""Content hashes: what names a text, a settings mapping, a version or a cache entry, the same on any machine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def content_hash(text: str) -> str:
    """SHA-256 of the UTF-8 text, hex, first 16 characters (64 bits: collisions are not a practical concern)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def settings_hash(settings: Mapping[str, Any]) -> str:
    """Hash of a settings mapping (key order does not matter), e.g. chunker or embedder settings."""
    return content_hash(json.dumps(settings, sort_keys=True, default=str))
