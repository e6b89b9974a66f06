"""The notebooks run headless with papermill and overridden parameters, as a practitioner would on their data.

The book build (``make book``, part of ``make test``) runs each of them once with its default parameters and fails
on any cell that raises; ``pytest --nbval-lax notebooks/`` does the same by hand. Tests of a page's default run read
that run from the build (:func:`built_notebook`) rather than executing the notebook again.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
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


def built_notebook(tmp_path: Path, name: str) -> nbformat.NotebookNode:
    """The notebook as the book build executed it, with its default parameters: the page a reader is shown.

    ``make test`` builds the book first, then runs pytest with ``PLAYBOOK_SITE`` set. When that is this checkout's
    build (``_build/html``) and its execution cache is current (:func:`_current_cache`), the code cells' outputs come
    from the cache entry of this notebook's code, so a page's default run is not executed twice. Otherwise (another
    build, a stale or missing cache, a notebook edited since the build) the notebook runs here with papermill and its
    defaults.
    """
    cache = _current_cache()
    if cache is not None:
        from jupyter_cache import get_cache

        source = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        _, key = get_cache(str(cache)).create_hashed_notebook(source)  # a hash: reads and writes nothing
        executed = cache / "executed" / key / "base.ipynb"  # jupyter-cache's layout; read, never touched
        if executed.is_file():
            return nbformat.read(executed, as_version=4)
    return run_notebook(tmp_path, name, {})


@functools.cache
def _current_cache() -> Path | None:
    """This checkout's book-build execution cache (``_build/.jupyter_cache``) when ``PLAYBOOK_SITE`` names this
    checkout's ``_build/html`` and ``make -q`` finds the Makefile's ``_build/.library-stamp`` up to date (the stamp
    whose rule drops the cache whenever the library, its data, the dependency files or the committed results
    change); else None."""
    site = os.environ.get("PLAYBOOK_SITE")
    build = ROOT / "_build"
    if not site or (ROOT / site).resolve() != (build / "html").resolve():
        return None
    cache = build / ".jupyter_cache"
    if not (cache / "global.db").is_file():
        return None
    try:
        asked = subprocess.run(["make", "-q", "_build/.library-stamp"], cwd=ROOT, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):  # no make: the cache cannot be vouched for
        return None
    return cache if asked.returncode == 0 else None


def run_notebook(tmp_path: Path, name: str, parameters: dict) -> nbformat.NotebookNode:
    import papermill

    out = tmp_path / f"{name}.out.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{name}.ipynb"),
        str(out),
        parameters=parameters,
        cwd=str(ROOT / "notebooks"),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=600,
    )
    return nbformat.read(out, as_version=4)


def test_minimal_rag_with_another_query(tmp_path: Path) -> None:
    nb = run_notebook(
        tmp_path, "ops_06_minimal_rag", {"query": "What does error E22 mean?", "k": 3, "budget_tokens": 90}
    )
    text = outputs_text(nb)
    assert "kb-021" in text  # the E22 article is retrieved
    assert "of 90 tokens" in text
    assert "nDCG@10" in text


def test_minimal_rag_on_a_beir_folder(tmp_path: Path, shared_data: Path) -> None:
    nb = run_notebook(
        tmp_path,
        "ops_06_minimal_rag",
        {
            "corpus": str(shared_data / "scifact"),
            "query": "Vitamin D deficiency and bone fractures",
            "n_queries": 5,
            "n_distractors": 60,
            "k": 4,
        },
    )
    text = outputs_text(nb)
    assert "BEIR folder scifact (subset)" in text and "5 judged queries" in text
    assert "nDCG@10" in text


def test_scaling_with_another_text_head_and_budget(tmp_path: Path) -> None:
    from playbook_lib.models.scaling import optimal_by_rule

    nb = run_notebook(
        tmp_path, "dm_04_scaling", {"text": "Zebras graze quietly", "layer": 4, "head": 7, "compute_budget": 1e21}
    )
    text = outputs_text(nb)
    assert "zebra" in text.lower() and "layer 4, head 7" in text
    assert "compute budget C = 1e+21 FLOPs" in text
    assert f"{optimal_by_rule(1e21).params:.3g}" in text  # the rule's N for this budget, not the default's


def test_model_selection_with_an_open_weights_profile(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "name: on-prem-code-helper\nsuperpower: code\nrequire_open_weights: true\nmax_latency: high\n", encoding="utf-8"
    )
    nb = run_notebook(tmp_path, "dm_07_model_selection", {"profile_path": str(profile), "n_tasks": 50, "seed": 3})
    text = outputs_text(nb)
    assert "profile 'on-prem-code-helper'" in text
    assert "governance: open weights required" in text  # closed APIs are excluded, with the reason
    from playbook_lib import sample_data
    from playbook_lib.decide.select import load_catalog, load_requirements, select_models

    best = select_models(load_catalog(sample_data.path("model_catalog.yaml")), load_requirements(profile)).best
    assert best is not None and best.model.open_weights
    assert f"recommended for 'on-prem-code-helper': {best.model.name}" in text


def test_ladder_with_other_thresholds_and_budget(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    nb = run_notebook(
        tmp_path,
        "dm_08_prompt_rag_finetune",
        {"min_finetune_examples": 100, "max_steps": 3, "max_cost": 10.0, "decision_log": str(log)},
    )
    text = outputs_text(nb)
    assert "step 4 exceeds max_steps=3" in text
    assert "at least 100 curated examples" in text
    # the fine-tuning boundary moves with the parameter: 99 examples -> collect more, 100 -> PEFT
    assert re.search(r"\b99\s+collect_examples", text) and re.search(r"\b100\s+peft_fine_tune", text)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rows) == 5 and rows[0]["action"] == "build_evals"
    assert all(r["evidence"]["counts"] is not None for r in rows)
    # every claim prints its rule verdict from the library, with the page's own threshold
    assert "the decision flips to PEFT at 100 curated examples**: **held**" in text
    assert "the ladder's rule on the scenario table**: **" in text
    assert "a step-and-cost budget stops a runaway agent and lets a workflow finish**: **held**" in text


def write_small_dataset(tmp_path: Path) -> tuple[Path, Path, str]:
    """A 12-row training file with one planted duplicate pair and one planted email, plus a 3-row eval file."""
    topics = [
        "reset the meter",
        "replace the battery",
        "clean the probe",
        "update the firmware",
        "export readings",
        "pair the app",
        "change units",
        "set an alarm",
        "read the log",
        "calibrate conductivity",
    ]
    rows = [
        {
            "instruction": f"How do I {t}?",
            "output": f"To {t}, open the settings menu and follow step {i} of the guide for the {t} procedure.",
            "category": "support",
            "provenance": "human",
            "licence": "CC-BY-4.0",
            "split": "train",
        }
        for i, t in enumerate(topics)
    ]
    rows.append(dict(rows[3], instruction=rows[3]["instruction"].upper()))  # exact duplicate after normalisation
    email = "dana.tester@corp-mail.net"  # real-looking: a documentation address (example.org) is not counted
    rows.append(dict(rows[0], instruction="Who do I write to?", output=f"Write to {email} for help."))
    data = tmp_path / "mini_train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    evals = tmp_path / "mini_eval.jsonl"
    evals.write_text(
        "\n".join(
            json.dumps(
                {"instruction": f"Question {i} about a topic never trained", "output": f"Answer {i}.", "split": "test"}
            )
            for i in range(3)
        )
        + "\n"
    )
    return data, evals, email


def test_production_checklists_on_a_small_file_and_another_plan(tmp_path: Path) -> None:
    data, evals, email = write_small_dataset(tmp_path)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: no-routing\nsuperpower: accuracy\nmodel: open-weights-70b\n"
        "cost_model: {target_cost_per_success: 0.01}\n",
        encoding="utf-8",
    )
    params = {"data_path": str(data), "eval_path": str(evals), "widget_item": "quality.uniqueness.exact"}
    params |= {"scale_sizes": [1_000, 3_000], "ray_at": 0}  # section 8 small (Ray: tests/code/test_ray_engine.py)
    params["shared_data"] = str(tmp_path / "absent")  # the GSM8K plants: test_papermill_dm_rules.py
    nb = run_notebook(tmp_path, "dm_09_production_checklists", {**params, "plan_path": str(plan)})
    text = outputs_text(nb)
    assert re.search(r"the streamed one's memory stays flat\*\*: \*\*(held|did not hold|inconclusive)", text)
    assert "every engine writes the memory engine's report at every size (2 of 2 runs identical)" in text
    # the model plan: no routing section, so its checklist fails
    assert "plan 'no-routing'" in text and "no routing plan" in text and "overall fail: exit code 2" in text
    assert "mini_train.jsonl: 12 rows" in text and "mini_eval.jsonl: 3 rows" in text
    assert "sft_sample" not in text and "sft_traffic" not in text  # the bundled samples were not used
    assert "1 removable rows in 1 clusters" in text  # the planted duplicate pair
    assert "[EMAIL]" in text and email not in text  # the planted email, masked
    command = next(line for line in text.splitlines() if line.startswith("playbook check "))
    assert f"--data {data.resolve()}" in command and "--traffic" not in command
    assert "no production traffic sample given" in text  # coverage not evaluated without --traffic


def test_dataset_engineering_on_a_small_file(tmp_path: Path) -> None:
    data, evals, email = write_small_dataset(tmp_path)
    # no public data folder: the embedder comparison on real data and the GSM8K plants are left out (the GSM8K
    # test in test_papermill_dataset_embedding_checks.py and the book build run them)
    params = {"data_path": str(data), "eval_path": str(evals), "shared_data": str(tmp_path / "absent")}
    nb = run_notebook(tmp_path, "dm_02_dataset_engineering", params)
    text = outputs_text(nb)
    assert "mini_train.jsonl: 12 rows" in text
    assert "exact_duplicates: FAIL" in text and "1 removable rows in 1 clusters" in text
    assert "[EMAIL]" in text and email not in text
    assert "contamination: PASS" in text  # the eval rows share nothing with training
    assert "coverage: NOT_EVALUATED" in text  # no traffic file given
    # the threshold explorer runs the check on the user's rows at every threshold; no GSM8K plantings without the data
    assert "data-pb-kind='near-threshold'" in text and "The training set (12 rows), Jaccard &ge; 0.80" in text
    assert "Copies planted into real rows" not in text
