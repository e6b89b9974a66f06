"""The one embed-with-cache: vectors keyed by ``(embedder settings, content hash)``, so an unchanged text is never
embedded twice; optionally persisted as ``.npz``. :func:`embed_cached` is the entry point of the embedding checks
and the experiments; the refreshing index keeps an :class:`EmbeddingCache` of its own."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from playbook_lib.embeddings.model import Embedder
from playbook_lib.errors import DataError, UsageError
from playbook_lib.io.digest import content_hash, settings_hash
from playbook_lib.io.outputs import write_atomic


def embedder_key(embedder: Embedder) -> str:
    """What identifies an embedder's vectors (its class, model folder and normalisation): the key of its cache.

    An embedder without an explicit ``model_path`` is keyed by the folder its ``config`` names (the packaged MiniLM,
    or the static model's content-hashed build), so that vectors of another default model are never reused."""
    model = getattr(embedder, "model_path", None)
    config = getattr(embedder, "config", None)
    if model is None and isinstance(config, dict):
        model = config.get("model")
    return settings_hash(
        {
            "embedder": type(embedder).__name__,
            "model": str(model) if model else "default",
            "normalize": getattr(embedder, "normalize", True),
        }
    )


class EmbeddingCache:
    """Vectors keyed by content hash, for one embedder configuration; optionally persisted as ``.npz``."""

    def __init__(self, embedder_key: str) -> None:
        self.embedder_key = embedder_key
        self._vectors: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def get(self, key: str) -> np.ndarray:
        return self._vectors[key]

    def put(self, keys: Sequence[str], vectors: np.ndarray | Sequence[np.ndarray]) -> None:
        """Store ``vectors[i]`` (as float32) under ``keys[i]``: a matrix's rows or a list of vectors."""
        for key, vector in zip(keys, vectors):
            self._vectors[key] = np.asarray(vector, dtype=np.float32)

    def add_missing(self, hashes: Sequence[str], texts: Sequence[str], embedder: Embedder) -> list[str]:
        """Embed, in one batch, each distinct text whose content hash (``hashes[i]`` for ``texts[i]``) is not cached
        yet; return the hashes added (empty when every text was cached)."""
        todo: dict[str, str] = {}
        for key, text in zip(hashes, texts):
            if key not in self._vectors and key not in todo:
                todo[key] = text
        if todo:
            self.put(list(todo), embedder.embed_documents(list(todo.values())))
        return list(todo)

    def stack(self, hashes: Sequence[str], dim: int) -> np.ndarray:
        """The cached vectors of ``hashes``, in order, as one ``(len(hashes), dim)`` float32 array."""
        if not hashes:
            return np.zeros((0, dim), np.float32)
        return np.stack([self._vectors[h] for h in hashes]).astype(np.float32, copy=False)

    def save(self, path: str | Path) -> None:
        """Write the cache atomically (temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._vectors)
        matrix = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)
        buffer = io.BytesIO()
        np.savez(buffer, keys=np.array(keys), vectors=matrix, embedder=np.array(self.embedder_key))
        write_atomic(path, buffer.getvalue(), what="the embedding cache")

    @classmethod
    def load(cls, path: str | Path, embedder_key: str) -> EmbeddingCache:
        """Read a saved cache; an empty cache when the file is missing or made with other embedder settings."""
        cache = cls(embedder_key)
        path = Path(path)
        if not path.exists():
            return cache
        try:
            with np.load(path) as data:
                if str(data["embedder"]) != embedder_key:
                    return cache
                cache.put([str(k) for k in data["keys"]], data["vectors"])
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"{path}: unreadable embedding cache ({exc})") from None
        return cache


def embed_cached(
    texts: Sequence[str],
    embedder: Embedder,
    *,
    file: str | Path | None = None,
    memo: EmbeddingCache | None = None,
    key: str | None = None,
    max_chars: int | None = None,
    on_write_error: Literal["raise", "warn"] = "raise",
) -> np.ndarray:
    """Embed ``texts`` with ``embedder``, each distinct text at most once: ``(len(texts), dim)`` float32.

    Vectors are looked up by content hash, first in ``memo`` (an in-memory cache the caller keeps between calls),
    then in the ``.npz`` ``file``; only the texts found in neither are embedded, in one batch. New vectors go into
    ``memo`` and, when there are any, into ``file`` (written atomically). ``key`` names the embedder configuration
    (default :func:`embedder_key`): a file made with another key is ignored. ``max_chars`` cuts each text first.
    A file that cannot be written is a :class:`~playbook_lib.errors.UsageError` (``on_write_error="raise"``, the
    checks) or a warning, the vectors still returned (``"warn"``: an experiment must not stop for a read-only home).
    """
    key = key if key is not None else embedder_key(embedder)
    cut = [t[:max_chars] for t in texts] if max_chars is not None else list(texts)
    hashes = [content_hash(t) for t in cut]
    store = memo if memo is not None else EmbeddingCache(key)
    disk = EmbeddingCache.load(file, key) if file is not None else None
    if disk is not None:
        found = [h for h in dict.fromkeys(hashes) if h not in store and h in disk]
        store.put(found, [disk.get(h) for h in found])
    store.add_missing(hashes, cut, embedder)
    out = store.stack(hashes, embedder.dim)
    if file is not None and disk is not None and any(h not in disk for h in hashes):
        disk.put(hashes, out)
        try:
            disk.save(file)
        except OSError as exc:
            if on_write_error == "raise":
                raise UsageError(f"{file}: cannot write the embedding cache ({exc.strerror or exc})") from None
            warnings.warn(f"embedding cache not saved to {file}: {exc}", stacklevel=3)
    return out
