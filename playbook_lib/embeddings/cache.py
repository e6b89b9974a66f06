"""The one embed-with-cache: vectors keyed by ``(embedder settings, content hash)``, so an unchanged text is never
embedded twice; optionally persisted as ``.npz``. Used by the refreshing index and the embedding checks."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from playbook_lib import settings
from playbook_lib.embeddings.model import Embedder, MiniLMEmbedder
from playbook_lib.errors import DataError
from playbook_lib.io.digest import settings_hash
from playbook_lib.io.outputs import write_atomic


def embedder_key(embedder: Embedder) -> str:
    """What identifies an embedder's vectors (its class, model folder and normalisation): the key of its cache."""
    model = getattr(embedder, "model_path", None)
    if model is None and isinstance(embedder, MiniLMEmbedder):
        model = settings.embedding_model_path()
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

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
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
