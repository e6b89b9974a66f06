"""Every notebook runs headless with papermill and overridden parameters, as a practitioner would on their data.

``pytest --nbval-lax notebooks/`` (part of ``make test``) runs them again with their default parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.extend(str(v) for v in out.get("data", {}).values())
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs_and_parameterised(path: Path) -> None:
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "strip outputs before committing"
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code), "no papermill parameters cell"


def run_notebook(tmp_path: Path, name: str, parameters: dict) -> nbformat.NotebookNode:
    import papermill

    out = tmp_path / f"{name}.out.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(out), parameters=parameters,
                               cwd=str(ROOT / "notebooks"), kernel_name="python3", progress_bar=False,
                               execution_timeout=600)
    return nbformat.read(out, as_version=4)


def test_minimal_rag_with_another_query(tmp_path: Path) -> None:
    nb = run_notebook(tmp_path, "ops_06_minimal_rag", {"query": "What does error E22 mean?", "k": 3,
                                                       "budget_tokens": 90})
    text = outputs_text(nb)
    assert "kb-021" in text  # the E22 article is retrieved
    assert "of 90 tokens" in text
    assert "nDCG@10" in text


def test_minimal_rag_on_a_beir_folder(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(tmp_path, "ops_06_minimal_rag", {
        "corpus": str(shared_data / "scifact"), "query": "Vitamin D deficiency and bone fractures",
        "n_queries": 5, "n_distractors": 60, "k": 4})
    text = outputs_text(nb)
    assert "BEIR folder scifact (subset)" in text and "5 judged queries" in text
    assert "nDCG@10" in text


def test_practical_impact_small(tmp_path: Path) -> None:
    nb = run_notebook(tmp_path, "ops_09_practical_impact", {"n_questions": 2, "ks": [1], "max_tokens": 24})
    text = outputs_text(nb)
    assert "2 questions" in text and "with retrieval, k=1" in text and "without retrieval" in text
    assert "with retrieval, k=3" not in text
    assert "re-embedded 1 of 36 documents" in text
