"""Every control on the built site works without a kernel, and what it shows agrees with the library.

Opens each page that has explorers (:mod:`playbook_lib.widgets.explorer`) in headless Chromium and, for every
control of every explorer, moves it to its last, first and middle position (the others at their start) the way a
reader does (the input's value, then its ``input``/``change`` event). After each move it checks that

- the readout shows the control's new value, and the output is the one the page carries for that setting;
- each control changes the output for at least one of its moves (a control that never does is a frozen widget);
- the output agrees with the library's own value for that setting, recomputed here from the explorer's exported
  inputs by the oracle of the explorer's kind (:data:`ORACLES`: the check's grade, the compute-optimal split, the
  sampler's distribution for the page's prompt, the model ranking, the retriever's hits, the chunker's chunks, the
  assembled prompt, the approximate index's recall, the committed table's summary, ...); a kind without an oracle
  fails.

Needs the built site (``make book``, which ``make test`` runs, or ``$PLAYBOOK_SITE``: a partial build that executes
at least the pages in :data:`CONTROL_PAGES`) and Debian's ``chromium``; skips with the reason when either is
missing, except under ``CI=true``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, need
from tests.site.cdp import Browser
from tests.site.serving import SITE, chromium_executable, serve

#: Pages with controls, and the explorer kinds each must show; a page listed here that the build did not execute
#: fails the test.
CONTROL_PAGES: dict[str, set[str]] = {
    "notebooks/dm_01_data_centric.html": {"budget-split"},
    "notebooks/dm_02_dataset_engineering.html": {"near-threshold"},
    "notebooks/dm_03_data_synthesis.html": {"mix-ratio"},
    "notebooks/dm_04_scaling.html": {"compute-budget"},
    "notebooks/dm_05_post_training.html": {"table", "checklist-threshold"},
    "notebooks/ops_01_pipeline_overview.html": {"prompt"},
    "notebooks/dm_06_probabilistic_outputs.html": {"sampling"},
    "notebooks/dm_07_model_selection.html": {"model-selection", "routing"},
    "notebooks/dm_08_prompt_rag_finetune.html": {"ladder", "agent-guard"},
    "notebooks/dm_09_production_checklists.html": {"checklist-threshold"},
    "notebooks/dm_10_default_recommendation.html": {"default-path"},
    "notebooks/exp_01_quality_vs_quantity.html": {"table"},
    "notebooks/exp_02_learning_curve.html": {"table"},
    "notebooks/exp_03_peft_vs_full.html": {"table"},
    "notebooks/exp_04_contamination.html": {"contamination"},
    "notebooks/exp_05_coverage.html": {"coverage"},
    "notebooks/exp_06_model_collapse.html": {"table"},
    "notebooks/exp_07_provenance.html": {"table"},
    "notebooks/exp_08_formatting_errors.html": {"format-faults"},
    "notebooks/ops_02_why_ops_matter.html": {"duplicates"},
    "notebooks/ops_03_core_components.html": {"retrieval", "fusion"},
    "notebooks/ops_04_data_types.html": {"session-ttl"},
    "notebooks/ops_05_rag_workflow.html": {"chunking"},
    "notebooks/ops_06_minimal_rag.html": {"retrieval"},
    "notebooks/ops_07_operation_types.html": {"batch-throughput"},
    "notebooks/ops_08_design_principles.html": {"ann"},
    "notebooks/ops_09_practical_impact.html": {"table"},
    "notebooks/ops_10_intuition_summary.html": {"context-share"},
}

EXPLORERS_JS = """JSON.stringify([...document.querySelectorAll('.pb-explorer')].map(box => ({
  kind: box.dataset.pbKind,
  inputs: JSON.parse(box.dataset.pbInputs),
  data: JSON.parse(box.querySelector('script.pb-explorer-data').textContent),
  positions: [...box.querySelectorAll('[data-pb-control]')].map(c => parseInt(c.value, 10)),
})))"""

#: Move control ``c`` of explorer ``b`` to position ``p`` as a reader would; report what the explorer then shows.
MOVE_JS = """((b, c, p) => {
  const box = document.querySelectorAll('.pb-explorer')[b];
  const control = box.querySelectorAll('[data-pb-control]')[c];
  control.value = String(p);
  control.dispatchEvent(new Event(control.tagName === 'SELECT' ? 'change' : 'input', {bubbles: true}));
  return JSON.stringify({
    output: box.querySelector('.pb-explorer-output').innerHTML,
    readout: control.tagName === 'SELECT' ? control.selectedOptions[0].textContent
                                          : control.parentNode.querySelector('output').textContent,
    positions: [...box.querySelectorAll('[data-pb-control]')].map(x => parseInt(x.value, 10)),
  });
})"""

Oracle = Callable[[dict[str, Any], dict[str, Any], str], None]


def _normal(fragment: str) -> str:
    """HTML as the DOM serialises it (attribute quotes, entities), for comparing with the page's JSON."""
    fragment = re.sub(r"(\w[\w-]*)='([^']*)'", lambda m: f'{m.group(1)}="{m.group(2)}"', fragment)
    return re.sub(r"\s+", " ", html.unescape(fragment)).strip()


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


# -- oracles: the library's value for a setting, from the explorer's exported inputs ------------------------------


def _threshold(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.checks import get_check
    from playbook_lib.errors import UsageError

    try:
        check = get_check(inputs["check"])(**{**inputs["params"], "warn": setting["warn"], "fail": setting["fail"]})
        expected = check.grade(inputs["value"]).value
    except UsageError:
        expected = "refused"
    assert f'data-pb-outcome="{expected}"' in output
    if expected != "refused":
        assert expected.upper() in _text(output)
        assert f"warn > {setting['warn']:.3f}" in _text(output) or f"warn < {setting['warn']:.3f}" in _text(output)


def _budget(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.models.scaling import optimal_by_loss, optimal_by_rule

    text = _text(output)
    for allocation in (optimal_by_rule(setting["flops"]), optimal_by_loss(setting["flops"])):
        assert f"{allocation.params / 1e9:,.2f} B" in text and f"{allocation.tokens / 1e9:,.1f} B" in text


def _budget_split(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    import pandas as pd

    from playbook_lib.experiments.budget import Budget, budget_verdict, upgrade_cost_per_1m
    from playbook_lib.widgets.decisions import budget_split_html

    curve = pd.DataFrame(inputs["curve"])
    assert _normal(output) == _normal(
        budget_split_html(curve, inputs["cheap_per_s"], inputs["better_per_s"], **setting)
    )
    per_1m = upgrade_cost_per_1m(inputs["cheap_per_s"], inputs["better_per_s"], setting["eur_per_cpu_hour"])
    b = Budget(setting["budget_eur"], setting["label_cost_eur"], per_1m)
    text = _text(output)
    assert f"{b.reviews:,} reviewed rows" in text
    assert f"{b.months_covered(setting['requests_per_month']):,.1f} months" in text
    rows = curve[curve["reviews_bought"] == b.reviews]
    assert f'data-pb-outcome="{budget_verdict(rows).value}"' in output
    assert f"{rows['data_centric'].mean():.3f}" in text


def _ladder(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.decide.ladder import LadderState, recommend
    from playbook_lib.widgets.decisions import ladder_html

    scenarios = [(s["name"], s["failures"], LadderState(**s["state"])) for s in inputs["scenarios"]]
    tolerance, examples = setting["tolerance"], int(setting["min_finetune_examples"])
    baseline = (inputs["baseline"][0], int(inputs["baseline"][1]))
    assert _normal(output) == _normal(ladder_html(scenarios, tolerance, examples, baseline=baseline))
    actions = re.findall(r'data-pb-action="([a-z_]+)"', output)
    assert actions == [
        recommend(f, s, tolerance=tolerance, min_finetune_examples=examples).action for _, f, s in scenarios
    ]


def _agent_guard(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.decide.ladder import AgentBudget, BudgetExceeded
    from playbook_lib.widgets.decisions import guard_html

    costs, steps, cap = inputs["step_costs"], int(setting["max_steps"]), setting["max_cost"]
    assert _normal(output) == _normal(guard_html(costs, steps, cap))
    budget, stop = AgentBudget(max_steps=steps, max_cost=cap), None
    try:
        for cost in costs:
            budget.step(cost)
    except BudgetExceeded as err:
        stop = str(err)
    text = _text(output)
    assert f"steps taken: {budget.steps}, spent ${budget.spent:.2f}" in text
    assert stop is None or stop in text, f"the guard stopped with {stop!r}"


def _default_path(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    import tempfile
    from pathlib import Path

    from playbook_lib.decide.evals import load_eval_results
    from playbook_lib.decide.recommend import DatasetFacts, default_path
    from playbook_lib.decide.select import ModelSpec, Requirements
    from playbook_lib.widgets.decisions import steps_html

    catalog = [ModelSpec(**{**m, "priced_on": dt.date.fromisoformat(m["priced_on"])}) for m in inputs["catalog"]]
    evals = None
    if inputs["evals"] is not None:
        with tempfile.TemporaryDirectory() as folder:  # through the library's own loader, as the page read them
            path = Path(folder) / "evals.jsonl"
            path.write_text("".join(json.dumps(row) + "\n" for row in inputs["evals"]), encoding="utf-8")
            evals = load_eval_results(path)
    facts = DatasetFacts(
        **{
            **inputs["facts"],
            "curated_examples": int(setting["curated_examples"]),
            "tried_prompt_constraints": setting["tried"] == "yes",
        }
    )
    steps = default_path(
        Requirements(**inputs["requirements"]),
        catalog,
        evals,
        facts,
        model=inputs["model"],
        tolerance=setting["tolerance"],
        min_examples=int(setting["min_examples"]),
        min_repeats=int(setting["min_repeats"]),
    )
    assert _normal(output) == _normal(steps_html(steps))
    assert re.findall(r'data-pb-taken="(true|false)"', output) == [str(s.taken).lower() for s in steps]


_MODELS: list[Any] = []


def _next_token_model() -> Any:
    """SmolLM2, loaded once for the module and closed after it (see the ``browser`` fixture)."""
    if not _MODELS:
        from playbook_lib.models.next_token import NextTokenModel

        _MODELS.append(NextTokenModel(threads=1))
    return _MODELS[0]


def _sampling(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    import numpy as np

    from playbook_lib.models.next_token import EXTRACTION_SYSTEM
    from playbook_lib.models.sampling import sampling_distribution

    assert inputs["prompt"], "the sampling explorer carries no prompt to check it against"
    model = _next_token_model()
    logits = model.logits(model.chat_tokens(inputs["prompt"], EXTRACTION_SYSTEM))
    top_k, top_p = int(setting["top_k"]) or None, setting["top_p"] if setting["top_p"] < 1 else None
    dist = sampling_distribution(logits, setting["temperature"], top_k, top_p)
    found = re.search(r"([\d,]+) drawable token\(s\) of ([\d,]+); entropy (-?[\d.]+) bits; top token ([\d.]+)%", output)
    assert found is not None, output[:300]
    drawable, vocab, _, top = found.groups()
    assert int(vocab.replace(",", "")) == logits.size
    assert abs(int(drawable.replace(",", "")) - int(np.count_nonzero(dist))) <= 1  # a tie at the cut-off
    assert abs(float(top) / 100 - float(dist.max())) < 0.002


def _selection(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.decide.select import ModelSpec, Requirements
    from playbook_lib.widgets.models import selection_html

    catalog = [ModelSpec(**{**m, "priced_on": dt.date.fromisoformat(m["priced_on"])}) for m in inputs["catalog"]]
    req = dataclasses.replace(
        Requirements(**inputs["requirements"]),
        superpower=setting["superpower"],
        reasoning=setting["reasoning"] == "yes",
        require_open_weights=setting["open_weights"] == "yes",
        data_residency=[r for r in setting["residency"].split(",") if r],
    )
    assert _normal(output) == _normal(selection_html(catalog, req))


def _routing(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.decide.cost import PathStats, plan_routing_from_evals
    from playbook_lib.widgets.models import routing_html

    plan = plan_routing_from_evals(
        inputs["confidence"],
        inputs["ok"],
        inputs["cheap_cost"],
        PathStats(**inputs["strong"]),
        setting["threshold"],
        failures_detectable=setting["validator"] == "yes",
        cheap_name=inputs["cheap_name"],
    )
    assert _normal(output) == _normal(routing_html(plan))
    assert f"{plan.escalation_rate:.1%}" in _text(output)


def _fusion(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.rag.hybrid import HybridRetriever
    from playbook_lib.widgets.ops import fusion_html

    assert inputs["corpus"] == "bundled, curated", "the fusion oracle knows the bundled corpus only"
    dense, bm25 = _bundled_dense(True), _bundled_bm25(bool(inputs["keyword"]["stem"]))
    fused = HybridRetriever([dense, bm25], method="weighted", weights=[setting["weight"], 1 - setting["weight"]])
    run = {qid: [h.doc_id for h in fused.retrieve(text, 10)] for qid, text in inputs["queries"].items()}
    assert _normal(output) == _normal(fusion_html(run, inputs["qrels"], setting["weight"]))


@functools.cache
def _bundled_documents(curated: bool) -> Any:
    """The bundled Heronsgate corpus, as the pages load it (ops_03 curates it first)."""
    from playbook_lib import sample_data
    from playbook_lib.ops.curate import curate
    from playbook_lib.rag.corpus import load_corpus

    documents = load_corpus(sample_data.path("heronsgate_kb.jsonl"))
    return curate(documents).kept if curated else documents


@functools.cache
def _bundled_bm25(stem: bool) -> Any:
    from playbook_lib.rag.keyword import BM25Retriever

    return BM25Retriever.from_documents(_bundled_documents(True), stem=stem)


@functools.cache
def _bundled_dense(curated: bool) -> Any:
    from playbook_lib.embeddings.model import MiniLMEmbedder
    from playbook_lib.rag.retrieve import DenseRetriever

    return DenseRetriever.from_documents(_bundled_documents(curated), MiniLMEmbedder(threads=1))


def _retrieval(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    ids = re.findall(r"<th>(\d+)</th>\s*<td>([^<]+)</td>\s*<td>([-\d.e]+)</td>", output)
    k = int(setting["k"])
    assert [int(rank) for rank, _, _ in ids] == list(range(1, k + 1)), output[:300]
    scores = [float(s) for _, _, s in ids]
    assert scores == sorted(scores, reverse=True) or setting.get("method", "").startswith("hybrid")
    method = inputs.get("method") or inputs.get("methods", {}).get(setting.get("method"))
    if method == "DenseRetriever" and inputs["corpus"] in ("bundled", "bundled, curated"):
        dense = _bundled_dense(inputs["corpus"] == "bundled, curated")
        assert [doc for _, doc, _ in ids] == [h.doc_id for h in dense.retrieve(setting["query"], k)]


def _chunking(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.rag.chunk import ChunkSpec, chunk_documents
    from playbook_lib.rag.corpus import Document
    from playbook_lib.widgets.rag import chunks_html

    assert inputs["tokenizer"] == "MiniLMEmbedder", "the chunking oracle knows the MiniLM tokenizer only"
    spec = ChunkSpec(setting["strategy"], int(setting["size"]), int(setting["overlap"]))
    chunks = chunk_documents([Document(inputs["doc_id"], inputs["text"])], _minilm().count_tokens, spec)
    assert _normal(output) == _normal(chunks_html(chunks, int(inputs["show"])))
    assert f"{len(chunks)} chunk(s)" in _text(output)


@functools.cache
def _minilm() -> Any:
    from playbook_lib.embeddings.model import MiniLMEmbedder

    return MiniLMEmbedder(threads=1, show_progress=False)


def _prompt(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.rag.corpus import Document
    from playbook_lib.rag.generate import LocalLlamaGenerator

    chunks = [Document(c["id"], c["text"], c["title"]) for c in inputs["chunks"]][: int(setting["k"])]
    if inputs["tokenizer"] == "MiniLMEmbedder":
        _check_prompt(inputs["question"], chunks, _minilm().count_tokens, int(setting["budget"]), output)
        return
    llm = LocalLlamaGenerator(threads=1)  # loaded per call (a fraction of a second) and closed, not at exit
    assert llm.name == inputs["tokenizer"], f"the page counted with {inputs['tokenizer']}, here {llm.name}"
    try:
        _check_prompt(inputs["question"], chunks, llm.count_tokens, int(setting["budget"]), output)
    finally:
        llm.llm.close()


def _check_prompt(question: str, chunks: list[Any], count: Callable[[str], int], budget: int, output: str) -> None:
    from playbook_lib.rag.context import build_prompt
    from playbook_lib.widgets.rag import prompt_html

    assert _normal(output) == _normal(prompt_html(question, chunks, count, budget))
    try:
        prompt = build_prompt(question, chunks, count, budget=budget)
    except ValueError:
        assert 'data-pb-outcome="refused"' in _normal(output)
        return
    assert f"{prompt.n_tokens} of {budget} tokens" in _text(output)
    assert f"used {', '.join(prompt.used_ids) or 'none'};" in _text(output)


def _table(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    import importlib

    from playbook_lib.experiments.tables import read_table

    module, _, name = inputs["summary"].partition(":")
    assert module.startswith("playbook_lib."), f"the summary {inputs['summary']} is not a library function"
    summary = getattr(importlib.import_module(module), name)
    frame, _ = read_table(ROOT / "notebooks" / inputs["table"])
    assert _normal(output) == _normal(summary(frame, **setting))


@functools.cache
def _ann_bench(inputs_json: str) -> Any:
    """The page's ANN indexes, rebuilt from the explorer's inputs: the BEIR corpus and questions its source names
    (a path relative to notebooks/, the page's folder), embedded by MiniLM through the page's embedding cache."""
    from playbook_lib.embeddings.cache import embed_cached
    from playbook_lib.rag.ann import AnnBench, vectors_fingerprint
    from playbook_lib.rag.corpus import load_corpus, load_queries
    from playbook_lib.settings import cache_dir

    inputs = json.loads(inputs_json)
    source = inputs["source"]
    assert source.get("embedder") == "MiniLMEmbedder", "the ann oracle knows MiniLM vectors of a BEIR corpus only"
    folder = ROOT / "notebooks" / source["corpus"]
    texts = [d.full_text for d in load_corpus(folder / "corpus.jsonl")][: source["documents"]]
    questions = list(load_queries(folder / "queries.jsonl").values())[: source["questions"]]
    file = cache_dir() / source["cache"]
    vectors = embed_cached(texts, _minilm(), file=file, on_write_error="warn")
    queries = embed_cached(questions, _minilm(), file=file, on_write_error="warn")
    assert vectors_fingerprint(vectors, queries) == inputs["fingerprint"], "not the vectors the page searched"
    params = {name: inputs[name] for name in ("k", "nlist", "hnsw_m", "ef_construction")}
    return AnnBench(vectors, queries, **params)


def _ann(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    bench = _ann_bench(json.dumps(inputs, sort_keys=True))
    points = {
        "exact": bench.exact_point(repeats=1),
        "ivf": bench.ivf_point(int(setting["nprobe"]), repeats=1),
        "hnsw": bench.hnsw_point(int(setting["ef_search"]), repeats=1),
    }
    shown = _normal(output)
    for key, point in points.items():
        row = re.search(rf'<tr data-pb-row="{key}">(.*?)</tr>', shown)
        assert row is not None, f"no {key} row in {shown[:300]}"
        cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
        # every cell but the time per query, which is the build machine's
        assert cells[1:5] == [
            "all vectors" if key == "exact" else f"{point.knob}={point.value}",
            f"{point.recall:.4f}",
            f"{point.hits:,} of {point.trials:,}",
            f"{point.distances:,.1f} ({point.distances / bench.n:.1%})",
        ], f"{key} at {setting}: page {cells}"
    assert "measured on the machine that built this page" in _text(output)


def _contamination(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    import numpy as np

    from playbook_lib.experiments.leakage import detection, flags_at
    from playbook_lib.widgets.data_checks import contamination_html

    ngram, threshold = int(setting["ngram"]), float(setting["threshold"])
    scores = inputs["scores"][str(ngram)]
    assert _normal(output) == _normal(contamination_html(scores, inputs["truth"], inputs["modes"], ngram, threshold))
    found = detection(flags_at(scores, threshold), np.array(inputs["truth"], dtype=bool))
    shown = f"flags {found.flagged} of {len(scores)} training rows, {found.true_positives} of the {found.planted}"
    assert shown + " planted" in _text(output), _text(output)[:300]


def _coverage(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    import numpy as np

    from playbook_lib.widgets.data_checks import coverage_html

    sims = inputs["similarity"][f"{setting['training']}/{setting['search']}"]
    expected = coverage_html(
        sims,
        inputs["labels"],
        inputs["label_names"],
        inputs["slice"],
        setting["threshold"],
        setting["training"],
        setting["search"],
    )
    assert _normal(output) == _normal(expected)
    uncovered = int((np.array(sims) < setting["threshold"]).sum())
    assert f": {uncovered} of {len(sims)} traffic queries" in _text(output), _text(output)[:300]


@functools.cache
def _fault_training_set(inputs_json: str) -> Any:
    """The exp_08 page's training set, drawn again from the shared data as the page drew it (data_dir is relative
    to notebooks/, the page's folder)."""
    from playbook_lib.experiments.tasks import load_task, split_task, stratified_sample

    inputs = json.loads(inputs_json)
    data = ROOT / "notebooks" / inputs["data_dir"]
    need((data / "sft").is_dir(), f"the shared data the formatting page read ({data}) is not here")
    task = load_task(data, n_per_class=inputs["n_per_class"], seed=inputs["seed"])
    pool, _ = split_task(task, inputs["test_per_class"], seed=inputs["seed"])
    return stratified_sample(pool, inputs["per_class"], seed=inputs["seed"])


def _format_faults(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.experiments.format_faults import fault_report
    from playbook_lib.widgets.data_checks import faults_html

    train = _fault_training_set(json.dumps(inputs, sort_keys=True))
    report = fault_report(train, setting["corrupt_rate"], seed=inputs["seed"])
    assert _normal(output) == _normal(faults_html(report))
    assert sum(report.planted.values()) == round(setting["corrupt_rate"] * len(train))
    assert f"with the checks it flags {report.flagged} lines" in _text(output), _text(output)[:300]


@functools.cache
def _gsm8k_rows(shared: str) -> Any:
    from playbook_lib.experiments.dataset_claims import gsm8k_rows

    folder = ROOT / "notebooks" / shared
    need(folder.is_dir(), f"{folder}: the public data folder the page planted copies into is missing")
    return gsm8k_rows(folder)


def _near_threshold(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib import sample_data
    from playbook_lib.checks import CheckContext
    from playbook_lib.checks.uniqueness import NearDuplicatesCheck
    from playbook_lib.data import load_records
    from playbook_lib.experiments.dataset_claims import judge_near, near_plant, run_near_plants
    from playbook_lib.widgets.dedup import near_threshold_html

    assert inputs["data"] == "bundled", "the near-threshold oracle knows the bundled sample only"
    records = load_records(sample_data.path("sft_sample.jsonl"))
    threshold, planted = setting["threshold"], inputs["planted"]
    plants = [near_plant(_gsm8k_rows(planted["shared"]), s) for s in planted["seeds"]] if planted else []
    expected = near_threshold_html(records, threshold, plants, int(inputs["show"]), "The bundled sample")
    assert _normal(output) == _normal(expected)
    result = NearDuplicatesCheck(threshold=threshold).run(records, CheckContext())
    text = _text(output)
    assert f"{result.summary['removable']} removable rows in {result.summary['clusters']} clusters" in text
    if planted:
        runs = run_near_plants(_gsm8k_rows(planted["shared"]), seeds=planted["seeds"], threshold=threshold)
        verdict = judge_near(runs)
        assert f"recall of the near pairs {verdict.recall.text()} , precision" in text, text[-600:]
        assert f"precision of the flags {verdict.precision.text()} (Wilson" in text
        assert f"each interval wholly): {verdict.verdict.value} ." in text


@functools.cache
def _mix_rows(source_json: str) -> Any:
    """The page's real rows and ledger rows, drawn as the page draws them from the explorer's source, and their
    MiniLM vectors (through the page's embedding cache)."""
    from playbook_lib.experiments import synthesis_mix as sm
    from playbook_lib.experiments.runs import VectorTable
    from playbook_lib.experiments.tasks import load_task, stratified_sample
    from playbook_lib.ops import synthesis

    source, folder = json.loads(source_json), ROOT / "notebooks"
    need((folder / source["data_dir"]).is_dir(), f"{folder / source['data_dir']}: the page's data folder is missing")
    _, rest_all = sm.reserve_parents(load_task(folder / source["data_dir"], seed=0), source["parents"], seed=0)
    rest = stratified_sample(rest_all, source["n_per_class"], seed=source["seed"])
    synth = sm.synthetic_task(synthesis.read_ledger(folder / source["ledger"]), rest.label_names)
    return rest, synth, VectorTable.embed(rest.texts + synth.texts, cache_dir=source["cache_dir"] or None)


def _mix_ratio(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.experiments.verdict import mean_interval
    from playbook_lib.widgets.mixing import mix_html, mix_runs

    rest, synth, table = _mix_rows(json.dumps(inputs["source"], sort_keys=True))
    ratio, per_class = setting["ratio"], int(inputs["per_class"])
    ratios = sorted({0.0, ratio, 1.0})
    frame = mix_runs(rest, synth, table, per_class, inputs["test_per_class"], inputs["seeds"], ratios)
    assert _normal(output) == _normal(mix_html(frame, ratio, per_class, len(rest.label_names)))
    here = frame[frame["ratio"] == ratio]
    text = _text(output)
    assert f"accuracy {mean_interval(here['accuracy']).text()}" in text, text[:400]
    assert f"macro-F1 {mean_interval(here['macro_f1']).text()}" in text
    k = round(ratio * per_class)
    assert f"per label {per_class - k} real + {k} synthetic" in text


def _duplicates(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.scenarios.operations import add_noisy_duplicates
    from playbook_lib.widgets.duplicates_knob import duplicate_runs, duplicates_html

    assert inputs["corpus"] == "bundled", "the duplicates oracle knows the bundled corpus only"
    documents, share, k = _bundled_documents(False), setting["duplicate_share"], int(setting["k"])
    # indexed afresh and asked at this k (the page cut its rankings from the largest k, with shared vectors)
    careless, curated, removed = duplicate_runs(documents, inputs["queries"], _minilm(), share, k)
    assert _normal(output) == _normal(duplicates_html(careless, curated, inputs["qrels"], removed, share, k))
    copies = len(add_noisy_duplicates(documents, share)) - len(documents)
    assert f"indexes {len(documents) + copies} passages, {copies} of them second exports" in _text(output)


def _session_ttl(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.widgets.session_knob import Conversation, session_html

    assert inputs["corpus"] == "bundled" and inputs["method"] == "DenseRetriever", "bundled dense retrieval only"
    dense, follow_up = _bundled_dense(False), inputs["follow_up"]
    talks = [Conversation(**c) for c in inputs["conversations"]]
    ttl, k = float(setting["session_ttl_s"]), int(setting["k"])
    ranked = {q: dense.retrieve(q, k) for q in [follow_up, *(f"{t.question} {follow_up}" for t in talks)]}
    assert _normal(output) == _normal(session_html(ranked, talks, inputs["qrels"], follow_up, ttl, k))
    held = sum(t.silence_s <= ttl for t in talks)  # SessionMemory forgets after more than ttl s of silence
    assert f"held the conversation in {held} of {len(talks)} conversations" in _text(output)


@functools.cache
def _context_grid(inputs_json: str) -> Any:
    """The intuition-summary page's grid, recomputed from the explorer's inputs on the bundled knowledge base."""
    from playbook_lib.rag.chunk import ChunkSpec
    from playbook_lib.scenarios.pipeline_summary import context_grid
    from playbook_lib.scenarios.workload import load_workload

    inputs = json.loads(inputs_json)
    work, embedder = load_workload(""), _minilm()
    return context_grid(
        work.documents,
        work.queries,
        work.qrels,
        work.facts,
        embedder,
        embedder.count_tokens,
        embedder_settings=inputs["settings"],
        spec=ChunkSpec(**inputs["spec"]),
        shares=inputs["shares"],
        ks=inputs["ks"],
        seeds=range(int(inputs["seeds"])),
    )


def _context_share(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    from playbook_lib.experiments.verdict import difference_interval
    from playbook_lib.scenarios.pipeline_summary import CONTEXT_CLAIMS, context_html

    grid = _context_grid(json.dumps(inputs, sort_keys=True))
    assert _normal(output) == _normal(context_html(grid, setting["change_share"], setting["k"]))
    here = grid[(grid["change_share"] == setting["change_share"]) & (grid["k"] == setting["k"])]
    unreliable = difference_interval(here["fresh_current"].astype(float), here["stale_current"].astype(float))
    assert CONTEXT_CLAIMS["unreliable"].sentence(unreliable) in _text(output)
    assert f"{here['fresh_current'].mean():.3f}" in _text(output)


def _batch_throughput(inputs: dict[str, Any], setting: dict[str, Any], output: str) -> None:
    """Only the deterministic part: the page's own timings (the build machine's) travel in its inputs."""
    import pandas as pd

    from playbook_lib.experiments.verdict import ratio_interval
    from playbook_lib.scenarios.ops_timing import batch_html

    seconds = pd.DataFrame({int(b): s for b, s in inputs["seconds"].items()})
    size, n = int(setting["batch_size"]), int(inputs["n_texts"])
    assert _normal(output) == _normal(batch_html(seconds, n, size))
    assert f"Batch size {size}: {n} texts embedded" in _text(output)
    assert f"{n / round(float(seconds[size].median()), 4):,.1f}" in _text(output)
    ratio = ratio_interval(seconds[min(seconds.columns)], seconds[size])
    assert f"{round(ratio.estimate, 2):.2f} [" in _text(output)


ORACLES: dict[str, Oracle] = {
    "checklist-threshold": _threshold,
    "compute-budget": _budget,
    "budget-split": _budget_split,
    "ladder": _ladder,
    "agent-guard": _agent_guard,
    "default-path": _default_path,
    "sampling": _sampling,
    "model-selection": _selection,
    "routing": _routing,
    "fusion": _fusion,
    "table": _table,
    "retrieval": _retrieval,
    "chunking": _chunking,
    "prompt": _prompt,
    "contamination": _contamination,
    "coverage": _coverage,
    "format-faults": _format_faults,
    "ann": _ann,
    "near-threshold": _near_threshold,
    "mix-ratio": _mix_ratio,
    "duplicates": _duplicates,
    "session-ttl": _session_ttl,
    "context-share": _context_share,
    "batch-throughput": _batch_throughput,
}


@pytest.fixture(scope="module")
def browser() -> Iterator[tuple[Browser, str]]:
    need((SITE / "notebooks").is_dir(), f"the book is not built ({SITE / 'notebooks'} missing): run `make book`")
    with serve(SITE) as url, Browser(chromium_executable(), width=1200) as b:
        yield b, url
    for model in _MODELS:  # llama.cpp frees its model now, not in a finaliser at interpreter exit
        model.llm.close()
    _MODELS.clear()


def _setting(data: dict[str, Any], positions: list[int]) -> tuple[dict[str, Any], int]:
    at = sum(p * s for p, s in zip(positions, data["stride"], strict=True))
    return {n: data["values"][i][p] for i, (n, p) in enumerate(zip(data["names"], positions, strict=True))}, at


@pytest.mark.parametrize("page", sorted(CONTROL_PAGES))
def test_every_control_changes_the_page_and_agrees_with_the_library(browser: tuple[Browser, str], page: str) -> None:
    b, url = browser
    need((SITE / page).is_file(), f"{page} is not in the built site")
    b.visit(f"{url}/{page}", settle=0.5)
    explorers = json.loads(b.evaluate(EXPLORERS_JS))
    assert "cell_output" in (SITE / page).read_text(), f"{page} was not executed in this build"
    assert {e["kind"] for e in explorers} >= CONTROL_PAGES[page], f"{page}: explorers {[e['kind'] for e in explorers]}"
    for n, explorer in enumerate(explorers):
        data, oracle = explorer["data"], ORACLES.get(explorer["kind"])
        assert oracle is not None, f"no oracle for explorer kind {explorer['kind']!r}"
        start = list(explorer["positions"])
        checked: set[int] = set()  # settings the oracle has judged (the start is visited once per control)
        for c, labels in enumerate(data["labels"]):
            shown: set[str] = set()
            # last, first, middle, then back to the start (so the next control moves from the initial setting)
            for p in [*dict.fromkeys([len(labels) - 1, 0, len(labels) // 2]), start[c]]:
                moved = json.loads(b.evaluate(f"{MOVE_JS}({n}, {c}, {p})"))
                positions = start[:c] + [p] + start[c + 1 :]
                assert moved["positions"] == positions
                setting, at = _setting(data, positions)
                assert moved["readout"] == labels[p], f"{page} explorer {n}: readout {moved['readout']!r}"
                assert _normal(moved["output"]) == _normal(data["outputs"][data["index"][at]])
                if at not in checked:
                    checked.add(at)
                    oracle(explorer["inputs"], setting, moved["output"])
                shown.add(_normal(moved["output"]))
            assert len(labels) == 1 or len(shown) > 1, f"{page} explorer {n}: control {data['names'][c]} is frozen"


def test_no_built_page_has_an_explorer_without_an_oracle(browser: tuple[Browser, str]) -> None:
    kinds = {
        (page.relative_to(SITE).as_posix(), kind)
        for page in SITE.glob("notebooks/*.html")
        for kind in re.findall(r"data-pb-kind=['\"]([^'\"]+)", page.read_text(encoding="utf-8"))
    }
    assert {kind for _, kind in kinds} <= set(ORACLES), kinds
    assert {page for page, _ in kinds} <= set(CONTROL_PAGES), "a page with controls is missing from CONTROL_PAGES"
