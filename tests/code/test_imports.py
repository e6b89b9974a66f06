"""Importing the library does no work: no model, no torch, no file I/O at import time."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "sentence_transformers", "transformers", "faiss", "matplotlib", "ipywidgets"]


def loaded_at_import(modules: list[str], heavy: list[str]) -> str:
    """The ``heavy`` modules that importing ``modules`` in a fresh interpreter loads, comma-separated."""
    code = f"import sys, {', '.join(modules)}\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_import_loads_nothing_heavy() -> None:
    modules = [
        "playbook_lib",
        "playbook_lib.cli",
        "playbook_lib.rag.corpus",
        "playbook_lib.embeddings.model",
        "playbook_lib.rag.retrieve",
        "playbook_lib.rag.context",
        "playbook_lib.rag.evaluate",
        "playbook_lib.plots",
        "playbook_lib.widgets.rag",
        "playbook_lib.settings",
        "playbook_lib.models.scaling",
        "playbook_lib.models.sampling",
        "playbook_lib.decide.cost",
        "playbook_lib.decide.ladder",
        "playbook_lib.decide.select",
        "playbook_lib.data",
        "playbook_lib.checks",
        "playbook_lib.checklist.parse",
        "playbook_lib.checklist.run",
        "playbook_lib.checklist.report",
        "playbook_lib.rag.keyword",
        "playbook_lib.rag.hybrid",
        "playbook_lib.rag.chunk",
        "playbook_lib.rag.ingest",
        "playbook_lib.rag.generate",
        "playbook_lib.rag.postprocess",
        "playbook_lib.rag.pipeline",
        "playbook_lib.ops.versioning",
        "playbook_lib.ops.refresh",
    ]
    out = loaded_at_import(modules, HEAVY)
    assert out == "", f"imported at import time: {out}"


def test_ops_page_modules_import_nothing_heavy() -> None:
    """The operations-page modules do no work at import either: no model, no torch, no FAISS, no plotting, no pandas."""
    modules = [
        "playbook_lib.ops.trace",
        "playbook_lib.scenarios.workload",
        "playbook_lib.scenarios.operations",
        "playbook_lib.rag.ann",
        "playbook_lib.ops.lineage",
        "playbook_lib.ops.batching",
        "playbook_lib.ops.memory",
        "playbook_lib.ops.curate",
        "playbook_lib.rag.passages",
        "playbook_lib.widgets.ops",
    ]
    out = loaded_at_import(modules, HEAVY + ["pandas"])
    assert out == "", f"imported at import time: {out}"


def test_cli_import_loads_no_numpy() -> None:
    """``playbook --help`` and a usage error answer in about a tenth of a second: the CLI module imports the library's
    commands when they run (its function-local imports say ``# lazy: ...``), not at import."""
    out = loaded_at_import(["playbook_lib.cli"], ["numpy", "pandas", "yaml", "pyarrow"])
    assert out == "", f"imported at import time: {out}"
