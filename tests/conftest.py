"""Shared fixtures. Suites: tests/code (unit), tests/data (real shared data), tests/notebooks, tests/site.

``--shared-data PATH`` points at the public datasets (default ``../shared/data``). Tests that need them skip
when they are absent, except under ``CI=true``, where a missing dataset is a failure.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shared-data",
        default=str(ROOT.parent / "shared" / "data"),
        help="folder of the public datasets (scifact/, sft/)",
    )


def need(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, but fail under CI=true: CI must run every test."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason, allow_module_level=True)


def need_module(name: str, reason: str | None = None) -> Any:
    """Import ``name``; when it is missing, skip (or fail under CI=true, like :func:`need`)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        need(False, reason or f"{name} is not installed")


@pytest.fixture(scope="session")
def shared_data(request: pytest.FixtureRequest) -> Path:
    path = Path(request.config.getoption("--shared-data"))
    need(path.is_dir(), f"public datasets not found at {path}")
    return path


@pytest.fixture(scope="session")
def embedder():
    """One real all-MiniLM-L6-v2 for the whole session (loading it takes seconds)."""
    from playbook_lib.embeddings.model import MiniLMEmbedder

    return MiniLMEmbedder(show_progress=False)


@pytest.fixture(scope="session")
def sample_docs():
    from playbook_lib import sample_data
    from playbook_lib.rag.corpus import load_corpus

    return load_corpus(sample_data.path("heronsgate_kb.jsonl"))
