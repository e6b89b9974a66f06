"""The ``playbook`` command line.

Exit codes are documented in :mod:`playbook_lib.errors` and in ``playbook --help``. Errors caused by input are
printed as one line on stderr, never as a traceback; so is an internal error (exit code 5, the traceback only with
``PLAYBOOK_DEBUG=1``). Every command checks its output paths against its inputs before any work
(:mod:`playbook_lib.io.outputs`), and draws progress bars only on a terminal and never with ``-q``.
"""

from __future__ import annotations

import errno
import fnmatch
import functools
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from playbook_lib import __version__, settings
from playbook_lib.decide.ladder import LadderState, Rung, recommend
from playbook_lib.errors import ExitCode, PlaybookError, UsageError, final_code
from playbook_lib.io.jsonl import check_data_file
from playbook_lib.io.outputs import check_outputs, readable_inputs, write_atomic
from playbook_lib.io.sources import compression_of, data_sources, is_pattern, is_sharded
from playbook_lib.ops.feedback import FeedbackLog, promote, write_golden
from playbook_lib.rag.corpus import load_beir, load_corpus, subsample_beir
from playbook_lib.text.masking import masked, plain
from playbook_lib.text.pii import mask_pii

if TYPE_CHECKING:
    from playbook_lib.decide.select import Candidate

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 warnings with --fail-on warn; 2 a check failed; "
    "3 usage or configuration error (including an output path that cannot be written or names an input); "
    "4 data error; 5 internal error (PLAYBOOK_DEBUG=1 for the traceback); 130 interrupted; "
    "141 standard output closed early."
)

app = typer.Typer(
    name="playbook",
    help="The Data + Models Playbook: dataset and model checks, an offline RAG pipeline, model decisions.\n\n"
    f"{EXIT_CODES_HELP}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
rag_app = typer.Typer(help="Retrieval-augmented generation over your own documents.", no_args_is_help=True)
app.add_typer(rag_app, name="rag")
decide_app = typer.Typer(
    help="Decisions from requirements and eval results: which model, and which rung of the escalation ladder next.\n\n"
    "Exit codes: 0 a recommendation was made; 2 no model meets the hard constraints (decide model); "
    "3 bad option or malformed YAML, or a --log that cannot be written or names the evals; "
    "4 missing or malformed eval results; 5 internal error.",
    no_args_is_help=True,
)
app.add_typer(decide_app, name="decide")
feedback_app = typer.Typer(
    help="The feedback log: review answers, promote them into a golden set.", no_args_is_help=True
)
rag_app.add_typer(feedback_app, name="feedback")


class FailOn(str, Enum):
    warn = "warn"
    fail = "fail"


class Engine(str, Enum):
    memory = "memory"
    local = "local"
    ray = "ray"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"playbook {__version__}")
        raise typer.Exit()


def _guard(
    inputs: dict[str, Path | None],
    outputs: dict[str, Path | None] | None = None,
    data: tuple[str, ...] = (),
    shards: tuple[str, ...] = (),
    files: tuple[str, ...] = (),
) -> None:
    """Before any work: refuse outputs that cannot be written or that would replace an input of the run, and inputs
    that cannot be read as files (labels in ``data`` are data files: exit code 4; the rest configuration: 3). When
    both are wrong, the higher code wins, as everywhere (:func:`~playbook_lib.errors.final_code`).

    Labels in ``shards`` (``playbook check --data``) may name a folder or glob pattern of data files
    (:func:`~playbook_lib.io.sources.data_sources`): every file it names is an input (no output may be one; an input
    folder protects everything below it), an output the pattern would match is refused, and a folder or pattern
    with no data file, or with files of two formats, is a data error. Labels in ``files`` must name one data file
    (a folder is a data error, and so is a pattern: it is a missing file)."""
    errors: list[PlaybookError] = []
    matching: list[PlaybookError] = []  # after the clashes with a shard itself, which name both paths
    pairs: list[tuple[str, Path | None]] = []
    for label, path in inputs.items():
        pairs.append((label, path))
        if label in shards and path is not None and is_sharded(path):
            try:
                pairs.extend((label, file) for file in data_sources(path))
            except PlaybookError as exc:
                errors.append(exc)
            if is_pattern(path):
                matching.extend(_matching_outputs(label, path, outputs or {}))
        elif label in files and path is not None and (os.path.isdir(path) or is_pattern(path)):
            try:
                check_data_file(path)  # "is a folder, expected a data file"; a pattern: "file not found"
            except PlaybookError as exc:
                errors.append(exc)
    for step in (lambda: check_outputs(pairs, outputs or {}), lambda: readable_inputs(pairs, data=data)):
        try:
            step()
        except PlaybookError as exc:
            errors.append(exc)
    errors.extend(matching)
    if errors:
        raise max(errors, key=lambda e: int(e.exit_code))


def _matching_outputs(label: str, pattern: Path, outputs: dict[str, Path | None]) -> list[PlaybookError]:
    """An output that the glob ``pattern`` of an input matches would be read as one of its shards by the next run."""
    full = os.path.abspath(pattern)
    return [
        UsageError(f"{out_label} {out}: matches {label} {pattern}; an output never lands among the shards it reads")
        for out_label, out in outputs.items()
        if out is not None and fnmatch.fnmatchcase(os.path.abspath(out), full)
    ]


QUIET_PROGRESS_HELP = "No progress bars (they are drawn only when stderr is a terminal anyway)."


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """The Data + Models Playbook."""


@rag_app.command("query")
def rag_query(
    question: Annotated[str, typer.Argument(help="The question to retrieve documents for.")],
    corpus: Annotated[
        Path,
        typer.Option(
            "--corpus",
            "-c",
            help="A JSONL file of documents ({'_id', 'title', 'text'} per line) or a BEIR folder.",
        ),
    ],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, help="How many documents to return.")] = 5,
    output: Annotated[OutputFormat, typer.Option("--format", help="table for people, json for programs.")] = (
        OutputFormat.table
    ),
    threads: Annotated[int | None, typer.Option(min=1, help="Torch threads for embedding (default: all cores).")] = (
        None
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_PROGRESS_HELP)] = False,
) -> None:
    """Embed a corpus with all-MiniLM-L6-v2 (offline), search it exactly, and print the ranked hits."""
    from playbook_lib.embeddings.model import MiniLMEmbedder  # lazy: numpy, and torch when it embeds
    from playbook_lib.rag.retrieve import DenseRetriever  # lazy: numpy

    corpus_files: dict[str, Path | None] = {"--corpus": corpus}
    if corpus.is_dir():  # a BEIR folder: its corpus.jsonl is what is read
        corpus_files["--corpus/corpus.jsonl"] = corpus / "corpus.jsonl"
    _guard(corpus_files, data=tuple(corpus_files))
    documents = load_corpus(corpus)
    with settings.quiet_progress(quiet):
        retriever = DenseRetriever.from_documents(documents, MiniLMEmbedder(threads=threads))
        hits = retriever.retrieve(question, k)
    if output is OutputFormat.json:
        rows = [
            {
                "rank": h.rank,
                "doc_id": h.doc_id,
                "score": round(h.score, 6),
                "title": h.document.title,
                "text": h.document.text,
            }
            for h in hits
        ]
        # masked like every other output: a document (or the question) can hold a key or a phone number
        typer.echo(json.dumps(masked({"question": question, "hits": rows}), ensure_ascii=False, indent=2))
        return
    from rich.console import Console  # lazy: rich loads only to draw a table
    from rich.table import Table  # lazy: rich loads only to draw a table

    table = Table(title=plain(f"Top {len(hits)} of {len(documents)} documents for: {question}"))
    table.add_column("rank", justify="right")
    table.add_column("score", justify="right")
    table.add_column("id")
    table.add_column("text")
    for h in hits:
        snippet = masked(h.document.full_text)
        snippet = snippet if len(snippet) < 160 else snippet[:159] + "…"
        table.add_row(str(h.rank), f"{h.score:.3f}", plain(h.doc_id), plain(snippet))
    Console().print(table)


class RetrievalMethod(str, Enum):
    dense = "dense"
    bm25 = "bm25"
    hybrid = "hybrid"


class RerankMethod(str, Enum):
    none = "none"
    mmr = "mmr"
    cross_encoder = "cross-encoder"


class FusionMethod(str, Enum):
    rrf = "rrf"
    weighted = "weighted"


@rag_app.command("eval")
def rag_eval(
    beir_dir: Annotated[Path, typer.Argument(help="A BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.")],
    method: Annotated[
        list[RetrievalMethod], typer.Option("--method", "-m", help="Retrieval method; repeat to compare several.")
    ] = [RetrievalMethod.dense],  # noqa: B006
    split: Annotated[str, typer.Option(help="Which qrels file to score against.")] = "test",
    stem: Annotated[bool, typer.Option("--stem/--no-stem", help="Snowball stemming for BM25.")] = True,
    fusion: Annotated[FusionMethod, typer.Option(help="How hybrid fuses dense and BM25 rankings.")] = FusionMethod.rrf,
    rerank: Annotated[
        RerankMethod,
        typer.Option(help="Rerank each method's top 100: mmr (diversity), cross-encoder (PLAYBOOK_CROSS_ENCODER)."),
    ] = RerankMethod.none,
    mmr_lambda: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="MMR trade-off: 1 = relevance order, 0 = diversity only.")
    ] = 0.5,
    max_queries: Annotated[
        int, typer.Option(min=0, help="Score only this many judged queries (fixed seed); 0 = all.")
    ] = 0,
    threads: Annotated[int | None, typer.Option(min=1, help="Torch threads for embedding (default: all cores).")] = (
        None
    ),
    passages: Annotated[
        bool,
        typer.Option(
            "--passages/--no-passages",
            help="Dense scores each document by the mean of its whole-text and best-chunk similarity "
            "(128-token sentence chunks): reads past the model's 256-token window; about 3x the "
            "embedding time.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_PROGRESS_HELP)] = False,
) -> None:
    """Score retrieval methods on a BEIR folder: nDCG@10, Recall@10/100, MRR and query latency."""
    from rich.console import Console  # lazy: rich loads only to draw a table
    from rich.table import Table  # lazy: rich loads only to draw a table

    from playbook_lib.rag.evaluate import evaluate_retriever  # lazy: numpy
    from playbook_lib.rag.retrievers import build_retrievers  # lazy: numpy, and torch when it embeds

    beir_files: dict[str, Path | None] = {"BEIR_DIR": beir_dir}
    if beir_dir.is_dir():  # the files read inside it (a FIFO there would hang the run)
        beir_files |= {
            "BEIR_DIR/corpus.jsonl": beir_dir / "corpus.jsonl",
            "BEIR_DIR/queries.jsonl": beir_dir / "queries.jsonl",
            f"BEIR_DIR/qrels/{split}.tsv": beir_dir / "qrels" / f"{split}.tsv",
        }
    _guard(beir_files, data=tuple(beir_files))
    dataset = load_beir(beir_dir, split)
    if max_queries:
        dataset = subsample_beir(dataset, n_queries=max_queries, n_distractors=len(dataset.corpus))
    names = {m.value for m in method}
    suffix = "" if rerank is RerankMethod.none else f"+{rerank.value}"
    labels = {
        m: m.value + ("+passages" if passages and m is not RetrievalMethod.bm25 else "") + suffix for m in method
    }  # passages change the dense scores only
    with settings.quiet_progress(quiet):
        retrievers = build_retrievers(
            dataset.corpus,
            names,
            stem=stem,
            threads=threads,
            fusion=fusion.value,
            rerank=rerank.value,
            mmr_lambda=mmr_lambda,
            passages=passages,
        )
        reports = [evaluate_retriever(retrievers[m.value], dataset.queries, dataset.qrels, labels[m]) for m in method]
    rows = [r.row() for r in reports]
    table = Table(title=f"{Path(beir_dir).name}: {len(dataset.queries)} queries, {len(dataset.corpus)} documents")
    for column in rows[0]:
        table.add_column(str(column), justify="left" if column == "method" else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)


@feedback_app.command("promote")
def feedback_promote(
    log: Annotated[Path, typer.Argument(help="A feedback log (JSONL, written by playbook_lib.ops.feedback).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The golden set to write (labelled-query JSONL).")],
    min_rating: Annotated[
        int, typer.Option(min=1, max=5, help="Ratings at or above this count as a correct answer.")
    ] = 4,
) -> None:
    """Promote rated and corrected answers into a deduplicated golden evaluation set, written atomically.

    The log is only read. The output has one line per distinct question: _id, text, relevant ids, answer.
    """
    _guard({"LOG": log}, {"--out": out}, data=("LOG",))  # the log is never rewritten
    entries = FeedbackLog(log).entries()
    items = promote(entries, min_rating=min_rating)
    write_golden(items, out)
    with_ids = sum(bool(i.relevant) for i in items)
    typer.echo(
        f"{len(entries)} entries, {sum(e.reviewed for e in entries)} reviewed -> {len(items)} golden "
        f"questions ({with_ids} with relevant ids) written to {out}"
    )


@app.command("check")
def check(
    checklist: Annotated[Path, typer.Argument(help="A checklist YAML file, e.g. checklists/dataset_readiness.yaml.")],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="The training data (dataset checklists): a JSONL, JSON array, CSV or Parquet file, a folder of "
            "such shards or a quoted glob pattern ('data/train-*.jsonl.gz'); JSONL, JSON and CSV may be gzip "
            "(.gz) or zstd (.zst) compressed.",
        ),
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="A model plan YAML: superpower, model, cost model, routing, guardrails, eval harness "
            "(model checklists).",
        ),
    ] = None,
    evals: Annotated[
        Path | None, typer.Option("--evals", help="Eval results JSONL, one attempt per line (model checklists).")
    ] = None,
    eval_path: Annotated[Path | None, typer.Option("--eval", help="An eval/test file (contamination, splits).")] = None,
    traffic: Annotated[Path | None, typer.Option("--traffic", help="A sample of production queries.")] = None,
    golden: Annotated[
        Path | None,
        typer.Option("--golden", help="The golden set of real failure cases (any data format; golden_set item)."),
    ] = None,
    validation: Annotated[
        Path | None,
        typer.Option(
            "--validation",
            help="The validation split, when it is a file of its own (splits item); or give rows a split column.",
        ),
    ] = None,
    licence: Annotated[
        str | None,
        typer.Option(
            "--licence",
            "--license",
            metavar="NAME",
            help="The dataset's licence, declared once for every row without a licence of its own (licence item), "
            "e.g. CC-BY-NC-SA-4.0.",
        ),
    ] = None,
    data_format: Annotated[
        str | None,
        typer.Option(
            "--format", help="Override the data format (jsonl, json, csv, parquet); default: from the extension."
        ),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    junit_out: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report here (for CI).")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")] = None,
    flags_out: Annotated[
        Path | None,
        typer.Option(
            "--flags",
            help="Write every flagged row here (.jsonl or .parquet): item, check, row, line, id, reason, score, "
            "detail; masked.",
        ),
    ] = None,
    clean_out: Annotated[
        Path | None,
        typer.Option(
            "--write-clean",
            metavar="OUT",
            help="Write a cleaned copy of --data here: removable duplicates and contaminated rows dropped, personal "
            "data masked in flagged rows, every other record byte-identical. Never in place.",
        ),
    ] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="warn: exit 1 on warnings and unevaluated items.")] = (
        FailOn.fail
    ),
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="An item that could not be evaluated (an input not given, data of another shape) fails: exit 2. "
            "Also `strict: true` in the checklist.",
        ),
    ] = False,
    engine: Annotated[
        Engine | None,
        typer.Option(
            "--engine",
            help="local (the default for dataset checklists): read --data in batches and keep compact per-row "
            "features in an on-disk store capped by --memory-limit, so memory does not grow with the rows. memory "
            "(the default for model checklists and with --write-clean): load --data whole, then run each item. "
            "ray: as local, with the reading and per-row work on a Ray cluster (--address; else a local one of "
            "--num-cpus), one task per shard or byte span of a JSONL file (needs Ray: the package's ray extra). "
            "All three write the same reports.",
            show_default=False,
        ),
    ] = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit",
            metavar="SIZE",
            help="With --engine local or ray: the feature store's memory cap (e.g. 4GB, 512MiB; default 1GB); "
            "past it, it spills to a temporary folder.",
        ),
    ] = None,
    batch_rows: Annotated[
        int | None,
        typer.Option(
            "--batch-rows",
            min=1,
            metavar="N",
            help="With --engine local or ray: rows per batch (default 65536); smaller batches, less memory.",
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            metavar="ADDR",
            help="With --engine ray: a running Ray cluster to use (host:port of its head, ray://host:port or "
            "auto); its workers must read --data at the same path. Default: start a local cluster for the run.",
        ),
    ] = None,
    num_cpus: Annotated[
        int | None,
        typer.Option(
            "--num-cpus",
            min=1,
            help="With --engine ray and no --address: the CPUs (workers) of the local Ray cluster (default 2).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
) -> int:
    """Run a checklist; print a summary and write JSON / JUnit / HTML reports.

    Dataset checklists read --data (and --eval, --validation, --traffic, --golden, --licence), e.g.
    `playbook check checklists/dataset_readiness.yaml --data train.jsonl --eval test.jsonl --licence MIT`; model
    checklists read --plan and --evals, e.g. `playbook check checklists/model_readiness.yaml --plan plan.yaml
    --evals evals.jsonl`. The checklist's checks decide which inputs are required; an item whose optional input
    is absent is "not evaluated" and says how to supply it (--strict: that fails). Input files are only read. The
    same inputs give the same reports (no timestamps, sorted keys).
    """
    from playbook_lib.checklist.clean import write_clean  # lazy: pandas
    from playbook_lib.checklist.inputs import assemble  # lazy: pandas
    from playbook_lib.checklist.parse import parse_checklist  # lazy: pandas and yaml, through the checks
    from playbook_lib.checklist.report import print_terminal  # lazy: pandas
    from playbook_lib.checklist.rows import flags_format, write_flags  # lazy: pandas
    from playbook_lib.checklist.run import exit_code, run_checklist  # lazy: pandas

    _guard(
        {
            "CHECKLIST": checklist,
            "--data": data,
            "--eval": eval_path,
            "--traffic": traffic,
            "--golden": golden,
            "--validation": validation,
            "--plan": plan,
            "--evals": evals,
        },
        {
            "--json": json_out,
            "--junit": junit_out,
            "--html": html_out,
            "--flags": flags_out,
            "--write-clean": clean_out,
        },
        data=("--data", "--eval", "--traffic", "--golden", "--validation", "--evals"),
        shards=("--data",),
        files=("--eval", "--traffic", "--golden", "--validation"),
    )
    if flags_out is not None:
        flags_format(flags_out)
    if clean_out is not None and data is None:
        raise UsageError("--write-clean needs --data (the dataset to copy)")
    if clean_out is not None and data is not None and (is_sharded(data) or compression_of(data)):
        what = "a folder of shards" if data.is_dir() else "a glob pattern" if is_pattern(data) else "compressed"
        raise UsageError(f"--write-clean needs --data to be one uncompressed file; {data} is {what}")
    spec = parse_checklist(checklist)
    if engine is None:  # batched where the checklist can be: dataset checklists, unless a clean copy is asked for
        from playbook_lib.checklist.stream import whole_items  # lazy: pandas, through the checks

        batchable = data is not None and clean_out is None and not whole_items(spec)
        engine = Engine.local if batchable or memory_limit is not None or batch_rows is not None else Engine.memory
    streamed = engine in (Engine.local, Engine.ray)
    if batch_rows is not None and not streamed:
        raise UsageError("--batch-rows applies to --engine local and ray (a batched run)")
    if memory_limit is not None:
        if not streamed:
            raise UsageError("--memory-limit applies to --engine local and ray (the feature store of a batched run)")
        from playbook_lib.checks.batch import parse_memory_limit  # lazy: pandas and pyarrow, through the checks

        memory_limit = parse_memory_limit(memory_limit)
    if engine is not Engine.ray and (address is not None or num_cpus is not None):
        raise UsageError(f"{'--address' if address is not None else '--num-cpus'} applies to --engine ray")
    if address is not None and num_cpus is not None:
        raise UsageError("--num-cpus sizes the local Ray cluster: leave it out with --address")
    if streamed and clean_out is not None:
        raise UsageError("--write-clean needs --engine memory (it copies the loaded records)")
    if streamed and data is None:
        raise UsageError(f"--engine {engine.value} runs dataset checklists: give --data")
    if streamed and batch_rows is None:
        from playbook_lib.checklist.stream import BATCH_ROWS  # lazy: pandas, DuckDB

        batch_rows = BATCH_ROWS
    make_pass = None
    if engine is Engine.ray:
        from playbook_lib.checklist.ray_engine import INSTALL, RayPass, ray_available  # lazy: pandas, pyarrow

        if not ray_available():
            raise UsageError(f"--engine ray needs Ray: {INSTALL}")
        assert batch_rows is not None  # set above for a batched run
        make_pass = functools.partial(RayPass, address=address, num_cpus=num_cpus, batch_rows=batch_rows)
    inputs = assemble(
        spec,
        data=data,
        eval=eval_path,
        traffic=traffic,
        golden=golden,
        plan=plan,
        evals=evals,
        validation=validation,
        licence=licence,
        data_format=data_format,
        load_data=not streamed,
    )
    records, context = inputs.records, inputs.context
    if streamed:
        assert data is not None and batch_rows is not None  # checked and set above
        return _check_streamed(
            spec,
            data,
            data_format,
            context,
            memory_limit,
            quiet,
            flags_out,
            json_out,
            junit_out,
            html_out,
            fail_on.value,
            strict,
            make_pass,
            batch_rows,
        )
    with _item_progress(len(spec.items), quiet) as (on_item, on_done):
        report = run_checklist(spec, records, context, on_item=on_item, on_done=on_done)
    if flags_out is not None:
        write_flags(report, records, flags_out)
        report.data["flags_file"] = str(flags_out)
    if clean_out is not None:
        report.data["clean"] = write_clean(report, records, clean_out).as_dict()
    _write_reports(report, json_out, junit_out, html_out)
    if not quiet:
        from rich.console import Console  # lazy: rich loads only to print the summary

        print_terminal(report, Console(width=160))
    return int(exit_code(report, fail_on.value, strict=strict))


@contextmanager
def _item_progress(
    items: int, quiet: bool
) -> Iterator[tuple[Callable[[Any], None] | None, Callable[[Any], None] | None]]:
    """``(on_item, on_done)`` for ``run_checklist``: a bar over the checklist's ``items`` on an interactive
    terminal only (logs and CI output stay clean); otherwise no callbacks, with library progress quietened as
    ``quiet`` asks."""
    if quiet or not settings.progress_bars():
        with settings.quiet_progress(quiet):
            yield None, None
        return
    from rich.console import Console  # lazy: rich loads only to draw a progress bar
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # lazy: rich

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("checking", total=items)

        def step(item: object) -> None:
            progress.update(task, description=f"{getattr(item, 'id', '')}", advance=0)

        yield step, lambda _: progress.advance(task)


@contextmanager
def _batched_progress(
    items: int, quiet: bool
) -> Iterator[tuple[Callable[[int], None] | None, Callable[[Any], None] | None, Callable[[Any], None] | None]]:
    """``(on_batch, on_item, on_done)`` for ``run_checklist_batched``: rows read (with rows/s), then the items'
    global steps, on an interactive terminal only; otherwise none, as :func:`_item_progress`."""
    if quiet or not settings.progress_bars():
        with settings.quiet_progress(quiet):
            yield None, None, None
        return
    from rich.console import Console  # lazy: rich loads only to draw a progress bar
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # lazy: rich

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        reading = progress.add_task("rows read", total=None, rate="")
        steps = progress.add_task("global steps", total=items, rate="", visible=False)
        started = time.perf_counter()

        def batch(rows: int) -> None:
            progress.advance(reading, rows)
            done = progress.tasks[reading].completed
            progress.update(reading, rate=f"{done / max(time.perf_counter() - started, 1e-9):,.0f} rows/s")

        def item(spec: Any) -> None:
            progress.update(steps, description=f"global step: {spec.id}", visible=True)

        yield batch, item, lambda _: progress.advance(steps)


def _write_reports(report: Any, json_out: Path | None, junit_out: Path | None, html_out: Path | None) -> None:
    """Write the JSON, JUnit and HTML reports asked for (atomically), after the flags and clean files."""
    from playbook_lib.checklist.report import to_html, to_json, to_junit  # lazy: pandas

    for path, render in ((json_out, to_json), (junit_out, to_junit), (html_out, to_html)):
        if path is not None:
            write_atomic(path, render(report))


def _check_streamed(
    spec: Any,
    data: Path,
    data_format: str | None,
    context: Any,
    memory_limit: str | None,
    quiet: bool,
    flags_out: Path | None,
    json_out: Path | None,
    junit_out: Path | None,
    html_out: Path | None,
    fail_on: str,
    strict: bool,
    make_pass: Callable[..., Any] | None,
    batch_rows: int,
) -> int:
    """``playbook check --engine local`` (and ``ray``: ``make_pass(source, on_batch=...)`` gives the pass over
    ``source`` elsewhere): the checklist over --data read in batches, then the same reports."""
    from playbook_lib.checklist.report import print_terminal  # lazy: pandas
    from playbook_lib.checklist.rows import write_flags  # lazy: pandas
    from playbook_lib.checklist.run import exit_code  # lazy: pandas
    from playbook_lib.checklist.stream import DEFAULT_MEMORY_LIMIT, FileRows, run_checklist_batched  # lazy: DuckDB

    source = FileRows(data, format=data_format)
    with _batched_progress(len(spec.items), quiet) as (on_batch, on_item, on_done):
        report, refs, store = run_checklist_batched(
            spec,
            source,
            context,
            memory_limit=memory_limit or DEFAULT_MEMORY_LIMIT,
            batch_rows=batch_rows,
            describe_data=source.describe,
            on_batch=on_batch,
            feature_pass=None if make_pass is None else make_pass(source, on_batch=on_batch),
            on_item=on_item,
            on_done=on_done,
        )
    try:
        if flags_out is not None:
            write_flags(report, refs, flags_out)
            report.data["flags_file"] = str(flags_out)
        _write_reports(report, json_out, junit_out, html_out)
    finally:
        store.close()
    if not quiet:
        from rich.console import Console  # lazy: rich loads only to print the summary

        print_terminal(report, Console(width=160))
    return int(exit_code(report, fail_on, strict=strict))


@decide_app.command("model")
def decide_model(
    profile: Annotated[
        Path,
        typer.Option(
            "--profile",
            "-p",
            help="Requirements profile YAML (superpower, residency, latency, cost ceiling, reasoning, ...).",
        ),
    ],
    catalog: Annotated[
        Path, typer.Option("--catalog", "-c", help="Model catalog YAML (dated prices, regions, strengths, ...).")
    ],
    top: Annotated[int, typer.Option("--top", min=1, help="Show at most this many ranked models.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for programs) instead of a table.")] = False,
) -> int:
    """Rank the catalog's models for a requirements profile, with the reasons for each score and each exclusion.

    Hard constraints (governance, data residency, context, modalities, latency, cost ceiling) exclude a model;
    the rest are ranked by fit to the needed superpower and reasoning, then by cost. Exits 2 when every model is
    excluded.
    """
    from playbook_lib.decide.select import load_catalog, load_requirements, select_models  # lazy: yaml

    _guard({"--profile": profile, "--catalog": catalog})
    requirements = load_requirements(profile)
    models = load_catalog(catalog)
    selection = select_models(models, requirements)
    code = int(ExitCode.OK) if selection.best is not None else int(ExitCode.FAIL)
    if as_json:

        def row(c: Candidate, rank: int | None) -> dict[str, object]:
            m = c.model
            return {
                "rank": rank,
                "model": m.name,
                "provider": m.provider,
                "open_weights": m.open_weights,
                "reasoning": m.reasoning,
                "score": c.score,
                "cost_per_1k_requests": round(c.cost_per_1k_requests, 6),
                "priced_on": m.priced_on.isoformat(),
                "reasons": c.reasons,
                "excluded_because": c.excluded_because,
            }

        payload = {
            "profile": requirements.name,
            "recommended": selection.best.model.name if selection.best else None,
            "ranked": [row(c, i) for i, c in enumerate(selection.ranked[:top], start=1)],
            "excluded": [row(c, None) for c in selection.excluded],
        }
        typer.echo(json.dumps(masked(payload), indent=2, sort_keys=True, ensure_ascii=False))
        return code
    from rich.console import Console  # lazy: rich loads only to draw a table
    from rich.table import Table  # lazy: rich loads only to draw a table

    console = Console(width=160)
    table = Table(
        title=plain(
            f"Models for {requirements.name!r} (superpower {requirements.superpower}, "
            f"reasoning {'needed' if requirements.reasoning else 'not needed'})"
        )
    )
    for column in ("rank", "model", "score", "$/1k req", "reasons"):
        table.add_column(column, justify="right" if column in ("rank", "score", "$/1k req") else "left")
    for i, c in enumerate(selection.ranked[:top], start=1):
        table.add_row(
            str(i), plain(c.model.name), f"{c.score:g}", f"{c.cost_per_1k_requests:.2f}", plain("; ".join(c.reasons))
        )
    console.print(table)
    for c in selection.excluded:
        console.print(
            masked(f"excluded {c.model.name}: " + "; ".join(c.excluded_because)), markup=False, highlight=False
        )
    if selection.best is None:
        console.print("no model meets the hard constraints: relax a requirement or add candidates", markup=False)
    else:
        console.print(masked(f"recommended: {selection.best.model.name}"), markup=False, highlight=False)
    return code


class LadderRung(str, Enum):
    prompting = "prompting"
    rag = "rag"
    advanced_rag = "advanced_rag"
    custom_evals = "custom_evals"
    fine_tune = "fine_tune"


@decide_app.command("next")
def decide_next(
    evals: Annotated[
        Path,
        typer.Option(
            "--evals",
            "-e",
            help="Eval results JSONL: task_id, success and, for "
            "failures, category (knowledge_missing, "
            "behavior_format, reasoning, cost_latency).",
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Judge this model's results (needed when the file holds several models)."),
    ] = None,
    rung: Annotated[LadderRung, typer.Option("--rung", help="The rung the project is on now.")] = LadderRung.prompting,
    has_rag: Annotated[
        bool | None,
        typer.Option("--has-rag/--no-rag", help="A retrieval pipeline is in place (default: implied by --rung)."),
    ] = None,
    tried_prompts: Annotated[
        bool, typer.Option("--tried-prompts", help="Prompt constraints and output validators were already tried.")
    ] = False,
    examples: Annotated[int, typer.Option("--examples", min=0, help="Curated examples of the desired behaviour.")] = 0,
    has_routing: Annotated[bool, typer.Option("--has-routing", help="Cheap-then-strong routing is in place.")] = False,
    tolerance: Annotated[
        float,
        typer.Option("--tolerance", min=0.0, max=0.99, help="Failure share at or below which no escalation is needed."),
    ] = 0.05,
    log: Annotated[
        Path | None, typer.Option("--log", help="Append the decision, with its evidence, to this JSONL decision log.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> int:
    """Recommend the next rung of the escalation ladder from categorised eval results, with its evidence.

    RAG fixes missing knowledge, fine-tuning fixes behaviour, a reasoning model fixes reasoning, routing then
    distillation fix cost; without categorised evals the answer is to build them first.
    """
    from playbook_lib.decide.evals import failure_counts, load_eval_results  # lazy: pandas

    _guard({"--evals": evals}, {"--log": log}, data=("--evals",))  # the log never appends to the evals it reads
    frame = load_eval_results(evals)
    counts = failure_counts(frame, model)
    current = Rung[rung.value.upper()]
    rag = has_rag if has_rag is not None else current in (Rung.RAG, Rung.ADVANCED_RAG)
    if current in (Rung.RAG, Rung.ADVANCED_RAG) and not rag:
        raise UsageError(f"--rung {rung.value} implies a RAG pipeline: drop --no-rag")
    state = LadderState(
        rung=current,
        has_evals=True,
        has_rag=rag,
        n_curated_examples=examples,
        tried_prompt_constraints=tried_prompts,
        has_routing=has_routing,
    )
    decision = recommend(counts, state, tolerance=tolerance)
    decision.evidence["evals"] = {"path": str(evals), "model": model, "rows": len(frame)}
    # masked before the log and the output see it: a model name or a category can hold anything
    decision = replace(decision, evidence=masked(decision.evidence), reasons=masked(list(decision.reasons)))
    if log is not None:
        decision.append_to(log)  # a failure is one line (exit code 3) and leaves the log as it was
    if as_json:
        typer.echo(json.dumps(decision.to_dict(), indent=2, sort_keys=True))
        return int(ExitCode.OK)
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    typer.echo(masked(f"eval results: {shown} ({sum(counts.values())} tasks{', model ' + model if model else ''})"))
    typer.echo(f"next: {decision.action} (rung: {decision.rung.label})")
    for reason in decision.reasons:
        typer.echo(f"  - {reason}")
    return int(ExitCode.OK)


def _one_line(text: str, limit: int = 2000) -> str:
    """``text`` on one line (a message may quote a multi-line value), personal data and secrets masked (an error
    may quote a value from the data or the configuration), cut at ``limit`` characters."""
    flat = " ".join(str(text).split())
    try:
        flat = " ".join(mask_pii(flat).split())
    except Exception:  # noqa: BLE001 - the masker failing must not turn a one-line error into a traceback
        flat = "(message withheld: it could not be masked)"
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _internal_error(exc: BaseException) -> int:
    """Report an exception that is not bad input: one line naming it, its message masked (exception texts can
    echo data), and the traceback only under ``PLAYBOOK_DEBUG=1``."""
    message = _one_line(str(exc))
    try:
        message = mask_pii(message)
    except Exception:  # noqa: BLE001 - the masker itself failing must not hide the error; print no message then
        message = "(message withheld: it could not be masked)"
    typer.echo(
        f"playbook: internal error: {type(exc).__name__}: {message} (set PLAYBOOK_DEBUG=1 for the traceback)", err=True
    )
    if settings.debug():
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return int(ExitCode.INTERNAL)


def _broken_pipe() -> int:
    """Standard output was closed by its reader (``playbook ... | head -1``): stop quietly. Point stdout at
    /dev/null so the interpreter's final flush does not complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (in-process runs)
        pass
    return int(ExitCode.BROKEN_PIPE)


def _is_broken_pipe(exc: BaseException | None) -> bool:
    return isinstance(exc, BrokenPipeError) or isinstance(exc, OSError) and exc.errno == errno.EPIPE


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``playbook`` console script; returns the exit code (see :class:`ExitCode`).

    Bad input is one line ``playbook: error: <message>`` with its code (3 usage, 4 data); any other exception is
    one line ``playbook: internal error: ...`` and code 5; Ctrl-C is 130, a closed stdout 141 (quietly). Every code
    goes through :func:`~playbook_lib.errors.final_code`.
    """
    for stream in (sys.stdout, sys.stderr):  # a character the terminal cannot encode is escaped, never a crash
        reconfigure = getattr(stream, "reconfigure", None)  # only a TextIOWrapper has it (not in-process capture)
        try:
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # closed
            pass
    try:
        settings.validate_environment()  # a hostile PLAYBOOK_* value fails before any work
        result = app(args=argv, prog_name="playbook", standalone_mode=False)
        sys.stdout.flush()
    except PlaybookError as exc:
        typer.echo(f"playbook: error: {_one_line(str(exc))}", err=True)
        return int(final_code(exc.exit_code))
    except typer.Abort:
        typer.echo("playbook: aborted", err=True)
        return int(ExitCode.INTERRUPTED)
    except typer.TyperException as exc:  # the usage errors of Typer's own (vendored) click
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())
            return int(ExitCode.OK)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"playbook: error: {_one_line(message)}{hint}", err=True)
        return int(ExitCode.USAGE)
    except SystemExit as exc:  # Typer exits 1 on EPIPE itself; anything else is passed on
        if _is_broken_pipe(exc.__context__):
            return _broken_pipe()
        raise
    except KeyboardInterrupt:
        typer.echo("playbook: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: one line, code 5, never a bare traceback
        if _is_broken_pipe(exc):
            return _broken_pipe()
        return _internal_error(exc)
    if result == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C inside a command into exit code 130, silently
        typer.echo("playbook: interrupted", err=True)
    return int(final_code(result if isinstance(result, int) else ExitCode.OK))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
