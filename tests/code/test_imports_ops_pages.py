"""The operations-page modules do no work at import either: no model, no torch, no FAISS, no plotting."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "sentence_transformers", "transformers", "faiss", "matplotlib", "ipywidgets", "pandas"]


def test_ops_page_modules_import_nothing_heavy() -> None:
    code = (
        "import sys, playbook_lib.ops.trace, playbook_lib.ops.workload, playbook_lib.ops.scenarios, "
        "playbook_lib.ops.ann, playbook_lib.ops.lineage, playbook_lib.ops.batching, playbook_lib.ops.memory, "
        "playbook_lib.rag.curate, playbook_lib.widgets.ops\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at import time: {out}"
