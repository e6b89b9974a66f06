"""Importing the library does no work: no model, no torch, no file I/O at import time."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "sentence_transformers", "transformers", "faiss", "matplotlib", "ipywidgets"]


def test_import_loads_nothing_heavy() -> None:
    code = (
        "import sys, playbook_lib, playbook_lib.cli, playbook_lib.rag.corpus, playbook_lib.rag.embed, "
        "playbook_lib.rag.retrieve, playbook_lib.rag.context, playbook_lib.rag.evaluate, playbook_lib.plots, "
        "playbook_lib.widgets.rag, playbook_lib.settings, playbook_lib.models.scaling, playbook_lib.models.sampling, "
        "playbook_lib.decide.cost, playbook_lib.decide.ladder, playbook_lib.decide.select, "
        "playbook_lib.data, playbook_lib.checks, playbook_lib.checklist.parse, playbook_lib.checklist.run, "
        "playbook_lib.checklist.report, playbook_lib.rag.keyword, playbook_lib.rag.hybrid, playbook_lib.rag.chunk, "
        "playbook_lib.rag.ingest, playbook_lib.rag.generate, playbook_lib.rag.postprocess, playbook_lib.rag.pipeline, "
        "playbook_lib.ops.versioning, playbook_lib.ops.refresh\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at import time: {out}"
