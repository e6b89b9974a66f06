"""A static (token-lookup) embedder distilled locally from the packaged all-MiniLM-L6-v2, for the dataset checks.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``, "Two embedders").

MiniLM runs a six-layer transformer over every text: tens to a few hundred texts a second on two CPU cores. A
static model keeps one vector per word piece (here MiniLM's own vectors of each token of its vocabulary, reduced by
PCA, model2vec's ``distill``) and embeds a text as the mean of its tokens' vectors: tens of thousands of texts a
second, at some loss of quality, which ``bench/embedders.py`` measures on the checks' planted and real cases.

The model is built from the MiniLM files on this machine (nothing is downloaded; about ten seconds on two cores)
the first time it is asked for, into the project's cache directory (:func:`playbook_lib.settings.cache_dir`) under a
name that hashes everything that determines it: the source model's files, the model2vec version and the
distillation settings. A changed source model or setting builds a new one; an unchanged one is never rebuilt.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from playbook_lib import settings
from playbook_lib.errors import DataError, UsageError
from playbook_lib.io.digest import settings_hash
from playbook_lib.io.outputs import publish_folder

if TYPE_CHECKING:
    from model2vec import StaticModel

#: Dimensions kept by the distillation's PCA (MiniLM's vectors have 384).
PCA_DIMS = 256
#: Bumped when the way the model is built changes, so that older cached builds are not reused.
RECIPE = 1
#: Word pieces read per text (MiniLM reads 256; a static model costs nothing per extra token but the lookup).
MAX_TOKENS = 512
#: Texts tokenised and pooled at once (bounds the memory of one batch's token ids).
BATCH = 8192
#: The source model's files that determine its vectors (weights, vocabulary, tokenizer and pooling settings).
SOURCE_FILES = ("*.safetensors", "*.bin", "vocab.txt", "tokenizer*.json", "config.json", "*/config.json")


def _source_files(source: Path) -> tuple[tuple[str, int, int], ...]:
    """The source model's files that determine its vectors, with their sizes and modification times (so that a
    changed file is hashed again)."""
    files = sorted({p for pattern in SOURCE_FILES for p in source.glob(pattern) if p.is_file()})
    if not files:
        raise UsageError(f"{source}: no model files found to distil a static embedder from")
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


@functools.lru_cache(maxsize=8)
def _source_digest(source: Path, files: tuple[tuple[str, int, int], ...]) -> str:
    """SHA-256 over the names (relative to ``source``) and bytes of ``files``."""
    digest = hashlib.sha256()
    for name, _, _ in files:
        path = Path(name)
        digest.update(str(path.relative_to(source)).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _build_key(source: Path, pca_dims: int) -> str:
    from importlib.metadata import version  # lazy: only when a static model is asked for

    digest = _source_digest(source, _source_files(source))
    return settings_hash({"source": digest, "model2vec": version("model2vec"), "pca_dims": pca_dims, "recipe": RECIPE})


def static_model_path(source: str | Path | None = None, pca_dims: int = PCA_DIMS) -> Path:
    """Where the static model distilled from ``source`` (default: the packaged MiniLM,
    :func:`settings.embedding_model_path`) lives, or will, in the cache directory; the name is a content hash."""
    src = Path(source) if source is not None else settings.embedding_model_path()
    return settings.cache_dir() / "static-embedders" / f"minilm-m2v-{pca_dims}-{_build_key(src, pca_dims)}"


def build_static_model(source: str | Path | None = None, pca_dims: int = PCA_DIMS) -> Path:
    """Distil the static model from ``source`` into :func:`static_model_path` unless it is there; return its folder.

    Runs offline from the local files. The model is written into a temporary folder beside its final place and
    renamed into it, so an interrupted build leaves nothing that looks finished, and two processes building at
    once both end with the same complete folder.

    Raises:
        UsageError: the cache directory cannot be written (set ``PLAYBOOK_CACHE_DIR``), or ``pca_dims`` is out of
            range.
    """
    if not 2 <= pca_dims <= 384:
        raise UsageError(f"pca_dims must be between 2 and 384, got {pca_dims}")
    src = Path(source) if source is not None else settings.embedding_model_path()
    target = static_model_path(src, pca_dims)
    if (target / "model.safetensors").is_file():
        return target
    settings.force_offline()

    def distil_into(folder: Path) -> None:
        from unittest import mock  # lazy: only to build the model

        from model2vec.distill import distill, inference  # lazy: imports torch and transformers; only to build
        from tqdm import tqdm  # lazy: only to build the model

        # distill draws its "Encoding tokens" bar unconditionally; keep logs and CI output clean like our own bars
        quiet_bar = functools.partial(tqdm, disable=not settings.progress_bars())
        with mock.patch.object(inference, "tqdm", quiet_bar), settings.quiet_model_loading():
            model = distill(model_name=str(src), pca_dims=pca_dims, device="cpu")
        model.save_pretrained(str(folder))

    try:
        return publish_folder(target, distil_into, what="the static embedder", done="model.safetensors")
    except UsageError as exc:
        raise UsageError(f"{exc}; set PLAYBOOK_CACHE_DIR to a writable folder") from None


class StaticEmbedder:
    """A model2vec static embedder; by default the one distilled from the packaged MiniLM (:func:`build_static_model`).

    Args:
        model_path: a local model2vec model folder; default: the distilled MiniLM, built on first use.
        normalize: L2-normalise the vectors (an inner product is then a cosine similarity).
        max_tokens: word pieces read per text (the rest is ignored).
    """

    def __init__(self, model_path: str | Path | None = None, *, normalize: bool = True, max_tokens: int = MAX_TOKENS):
        self.model_path = Path(model_path) if model_path is not None else None
        self.normalize = normalize
        self.max_tokens = max_tokens
        self._model: StaticModel | None = None
        self._table: np.ndarray | None = None

    @property
    def model(self) -> StaticModel:
        """The loaded model2vec model (built or loaded on first use, from local files only)."""
        if self._model is None:
            settings.force_offline()
            from model2vec import StaticModel  # lazy: only when a model is loaded

            path = self.model_path or build_static_model()
            try:
                self._model = StaticModel.from_pretrained(str(path), force_download=False)
            except (OSError, ValueError, KeyError) as exc:
                raise DataError(
                    f"{path}: not a readable static embedding model ({str(exc)[:200]}); delete the folder to rebuild it"
                ) from None
        return self._model

    @property
    def config(self) -> dict[str, object]:
        """What determines this embedder's vectors, e.g. for cache keys."""
        return {"model": str(self.model_path or build_static_model()), "normalize": self.normalize}

    @property
    def dim(self) -> int:
        return int(self.model.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as the mean of their tokens' vectors (model2vec's ``encode``, pooled in one sparse
        product per batch instead of a Python loop per text; the same vectors to float rounding)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            out[start : start + BATCH] = self._pool(texts[start : start + BATCH])
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.where(norms > 0, norms, 1.0)
        return out

    def _pool(self, texts: Sequence[str]) -> np.ndarray:
        from scipy import sparse  # lazy: only when texts are embedded

        model = self.model
        if self._table is None:
            self._table = np.ascontiguousarray(model.embedding, dtype=np.float32)
        cut = self.max_tokens * int(getattr(model, "median_token_length", 8) or 8)  # as model2vec cuts, by chars
        encodings = model.tokenizer.encode_batch_fast([t[:cut] for t in texts], add_special_tokens=False)
        ids = [e.ids[: self.max_tokens] for e in encodings]
        lengths = np.fromiter((len(i) for i in ids), np.int64, len(ids))
        flat = np.fromiter(itertools.chain.from_iterable(ids), np.int64, int(lengths.sum()))
        weights = np.ones(len(flat), np.float32)
        if model.unk_token_id is not None:  # model2vec drops the unknown token before pooling
            weights[flat == model.unk_token_id] = 0.0
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        counts = sparse.csr_matrix((weights, flat, indptr), shape=(len(ids), len(self._table)))
        sums = np.asarray(counts @ self._table, dtype=np.float32)
        kept = np.add.reduceat(weights, indptr[:-1]) if len(flat) else np.zeros(len(ids), np.float32)
        kept = np.where(lengths > 0, kept, 0.0)
        return sums / np.maximum(kept, 1.0)[:, None]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
