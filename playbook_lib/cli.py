"""The ``playbook`` command line.

Exit codes are documented in :mod:`playbook_lib.errors` and in ``playbook --help``. Errors caused by input are
printed as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from playbook_lib import __version__
from playbook_lib.errors import ExitCode, PlaybookError

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 warnings with --fail-on warn; 2 a check failed; "
    "3 usage or configuration error; 4 data error."
)

app = typer.Typer(
    name="playbook",
    help=f"The Data + Models Playbook: dataset checks and an offline RAG pipeline.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
rag_app = typer.Typer(help="Retrieval-augmented generation over your own documents.", no_args_is_help=True)
app.add_typer(rag_app, name="rag")
feedback_app = typer.Typer(help="The feedback log: review answers, promote them into a golden set.",
                           no_args_is_help=True)
rag_app.add_typer(feedback_app, name="feedback")


class FailOn(str, Enum):
    warn = "warn"
    fail = "fail"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"playbook {__version__}")
        raise typer.Exit()


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
    threads: Annotated[int | None, typer.Option(help="Torch threads for embedding (default: all cores).")] = None,
) -> None:
    """Embed a corpus with all-MiniLM-L6-v2 (offline), search it exactly, and print the ranked hits."""
    from playbook_lib.rag.corpus import load_corpus
    from playbook_lib.rag.embed import MiniLMEmbedder
    from playbook_lib.rag.retrieve import DenseRetriever

    documents = load_corpus(corpus)
    retriever = DenseRetriever.from_documents(documents, MiniLMEmbedder(threads=threads))
    hits = retriever.retrieve(question, k)
    if output is OutputFormat.json:
        rows = [{"rank": h.rank, "doc_id": h.doc_id, "score": round(h.score, 6), "title": h.document.title,
                 "text": h.document.text} for h in hits]
        typer.echo(json.dumps({"question": question, "hits": rows}, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Top {len(hits)} of {len(documents)} documents for: {question}")
    table.add_column("rank", justify="right")
    table.add_column("score", justify="right")
    table.add_column("id")
    table.add_column("text")
    for h in hits:
        snippet = h.document.full_text
        table.add_row(str(h.rank), f"{h.score:.3f}", h.doc_id, snippet if len(snippet) < 160 else snippet[:159] + "…")
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
    threads: Annotated[int | None, typer.Option(help="Torch threads for embedding (default: all cores).")] = None,
) -> None:
    """Score retrieval methods on a BEIR folder: nDCG@10, Recall@10/100, MRR and query latency."""
    from rich.console import Console
    from rich.table import Table

    from playbook_lib.rag.corpus import load_beir, subsample_beir
    from playbook_lib.rag.evaluate import evaluate_retriever

    dataset = load_beir(beir_dir, split)
    if max_queries:
        dataset = subsample_beir(dataset, n_queries=max_queries, n_distractors=len(dataset.corpus))
    names = {m.value for m in method}
    retrievers = build_retrievers(dataset.corpus, names, stem=stem, threads=threads, fusion=fusion.value,
                                  rerank=rerank.value, mmr_lambda=mmr_lambda)
    suffix = "" if rerank is RerankMethod.none else f"+{rerank.value}"
    reports = [evaluate_retriever(retrievers[m.value], dataset.queries, dataset.qrels, m.value + suffix)
               for m in method]
    rows = [r.row() for r in reports]
    table = Table(title=f"{Path(beir_dir).name}: {len(dataset.queries)} queries, {len(dataset.corpus)} documents")
    for column in rows[0]:
        table.add_column(str(column), justify="left" if column == "method" else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)


def build_retrievers(documents: list, methods: set[str], *, stem: bool = True, threads: int | None = None,
                     fusion: str = "rrf", rerank: str = "none", mmr_lambda: float = 0.5) -> dict:
    """The retrievers named in ``methods`` (dense, bm25, hybrid) over ``documents``, each followed by ``rerank``."""
    from playbook_lib.rag.embed import MiniLMEmbedder
    from playbook_lib.rag.hybrid import HybridRetriever
    from playbook_lib.rag.keyword import BM25Retriever
    from playbook_lib.rag.rerank import RerankingRetriever, make_reranker
    from playbook_lib.rag.retrieve import DenseRetriever

    built: dict = {}
    # first, so that a misconfigured reranker fails before minutes of embedding
    reranker = make_reranker(rerank, vectors=lambda ids: built["dense"].vectors_for(ids), lambda_=mmr_lambda)
    if methods & {"dense", "hybrid"} or rerank == "mmr":
        built["dense"] = DenseRetriever.from_documents(documents, MiniLMEmbedder(threads=threads))
    if methods & {"bm25", "hybrid"}:
        built["bm25"] = BM25Retriever.from_documents(documents, stem=stem)
    if "hybrid" in methods:
        built["hybrid"] = HybridRetriever([built["dense"], built["bm25"]], method=fusion)  # type: ignore[arg-type]
    if reranker is None:
        return built
    return {name: RerankingRetriever(r, reranker) for name, r in built.items()}


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
    from playbook_lib.errors import UsageError
    from playbook_lib.ops.feedback import FeedbackLog, promote, write_golden

    if out.resolve() == log.resolve():
        raise UsageError(f"{out}: --out must differ from the log (the log is never rewritten)")
    entries = FeedbackLog(log).entries()
    items = promote(entries, min_rating=min_rating)
    write_golden(items, out)
    with_ids = sum(bool(i.relevant) for i in items)
    typer.echo(f"{len(entries)} entries, {sum(e.reviewed for e in entries)} reviewed -> {len(items)} golden "
               f"questions ({with_ids} with relevant ids) written to {out}")


@app.command("check")
def check(
    checklist: Annotated[Path, typer.Argument(help="A checklist YAML file, e.g. checklists/dataset_readiness.yaml.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="The training data: JSONL, JSON array, CSV or Parquet.")],
    eval_path: Annotated[Path | None, typer.Option("--eval", help="An eval/test file (contamination, splits).")] = None,
    traffic: Annotated[Path | None, typer.Option("--traffic", help="A sample of production queries.")] = None,
    golden: Annotated[Path | None, typer.Option("--golden", help="The golden set of real failure cases.")] = None,
    data_format: Annotated[str | None, typer.Option("--format", help="Override the data format (jsonl, json, csv, "
                                                                          "parquet); default: from the extension.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    junit_out: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report here (for CI).")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="warn: exit 1 on warnings and unevaluated items.")] = (
        FailOn.fail
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
) -> int:
    """Run a dataset-readiness checklist on your data; print a summary and write JSON / JUnit / HTML reports.

    Input files are only read. The same inputs give the same reports (no timestamps, sorted keys).
    """
    from playbook_lib.checklist.parse import parse_checklist
    from playbook_lib.checklist.report import print_terminal, to_html, to_json, to_junit, write_atomic
    from playbook_lib.checklist.run import exit_code, run_checklist
    from playbook_lib.checks import CheckContext
    from playbook_lib.data import load_records

    spec = parse_checklist(checklist)
    records = load_records(data, format=data_format)
    context = CheckContext(
        eval=load_records(eval_path) if eval_path is not None else None,
        traffic=load_records(traffic) if traffic is not None else None,
        golden=load_records(golden) if golden is not None else None,
    )
    if quiet or not sys.stderr.isatty():
        report = run_checklist(spec, records, context)
    else:  # a progress bar on an interactive terminal only: logs and CI output stay clean
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("checking", total=len(spec.items))

            def step(item: object) -> None:
                progress.update(task, description=f"{getattr(item, 'id', '')}", advance=0)

            def done(_: object) -> None:
                progress.advance(task)

            report = run_checklist(spec, records, context, on_item=step, on_done=done)
    if json_out is not None:
        write_atomic(json_out, to_json(report))
    if junit_out is not None:
        write_atomic(junit_out, to_junit(report))
    if html_out is not None:
        write_atomic(html_out, to_html(report))
    if not quiet:
        from rich.console import Console

        print_terminal(report, Console(width=160))
    return int(exit_code(report, fail_on.value))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``playbook`` console script; returns the exit code (see :class:`ExitCode`)."""
    try:
        result = app(args=argv, prog_name="playbook", standalone_mode=False)
    except PlaybookError as exc:
        typer.echo(f"playbook: error: {exc}", err=True)
        return int(exc.exit_code)
    except typer.Abort:
        typer.echo("playbook: aborted", err=True)
        return 130
    except typer.TyperException as exc:  # the usage errors of Typer's own (vendored) click
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())  # type: ignore[attr-defined]
            return int(ExitCode.OK)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"playbook: error: {message}{hint}", err=True)
        return int(ExitCode.USAGE)
    return result if isinstance(result, int) else int(ExitCode.OK)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
