"""The claims of the *Practical impact* page, measured over many questions and judged before the numbers.

Taught in ``notebooks/ops_09_practical_impact.ipynb``. The chapter says data operations turn (A) high
hallucination into grounded responses and (B) stale knowledge into up-to-date answers. Over the bundled fictional
Heronsgate knowledge base and its impact questions (``heronsgate_impact_questions.jsonl``, one fact per question):

- :func:`run_impact` asks every question without retrieval and with the top ``k`` passages, and scores each answer
  with :func:`~playbook_lib.rag.answer_scoring.is_correct` (states the fact, no rival value) and the judge-free
  groundedness of :func:`~playbook_lib.rag.pipeline.compare_grounding`;
- :func:`judge_retrieval` (A1 correct, A2 grounded): the per-question change from no retrieval to ``k=1``, paired
  over questions (:func:`~playbook_lib.experiments.verdict.difference_interval`); **held** when the 95 % interval
  lies wholly above 0;
- :func:`judge_more_context` (A3): ``k=3`` minus ``k=1`` correct, judged two-sided with
  :func:`~playbook_lib.experiments.verdict.differs` at :data:`K_MARGIN`: **held** when three passages move the
  correct share by more than the margin either way, **did not hold** when the interval lies inside it;
- :func:`updated_documents` edits :data:`FRESHNESS_UPDATES` facts in memory (the file is never touched) and
  :func:`run_freshness` asks each edited fact's question against the stale index and after a refresh;
  :func:`judge_refresh` checks (rules) that the refresh re-embedded exactly the edited documents, and
  :func:`judge_freshness` compares the Wilson intervals of refreshed and stale answers stating the new value:
  **held** when the refreshed interval lies wholly above the stale one, **did not hold** when it lies wholly
  below or at it, else inconclusive.

The rules and :data:`K_MARGIN` were fixed in code before the first full run (``bench/impact.py``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from playbook_lib import sample_data
from playbook_lib.embeddings.model import Embedder
from playbook_lib.errors import DataError
from playbook_lib.experiments.verdict import (
    Check,
    Claim,
    Interval,
    RuleVerdict,
    Verdict,
    difference_interval,
    differs,
    mean_interval,
    proportion_interval,
    rule_verdict,
)
from playbook_lib.ops.refresh import RefreshingIndex, RefreshReport
from playbook_lib.rag.answer_scoring import contradicts, is_correct, states_fact
from playbook_lib.rag.corpus import Document, load_reference_answers
from playbook_lib.rag.generate import Generator
from playbook_lib.rag.pipeline import answer_question, compare_grounding
from playbook_lib.rag.retrieve import Retriever

if TYPE_CHECKING:
    import pandas as pd

WITHOUT = "without retrieval"
#: A3's margin: three passages "change" the correct share only when they move it by more than 5 points either way.
K_MARGIN = 0.05
#: The facts the freshness test changes: question id (``heronsgate_impact_questions.jsonl``) -> the new fact,
#: replacing the question's reference fact in its one relevant document (eight documents, one edit each).
FRESHNESS_UPDATES: dict[str, str] = {
    "iq24": "2,040 euros",
    "iq04": "52 hours",
    "iq08": "21 days",
    "iq21": "30 days",
    "iq39": "900 requests per minute",
    "iq40": "45 euros",
    "iq41": "390 euros",
    "iq45": "265 euros",
}


def with_k(k: int) -> str:
    """The mode label of :func:`~playbook_lib.rag.pipeline.compare_grounding` for ``k`` passages."""
    return f"with retrieval, k={k}"


def score_answers(frame: pd.DataFrame, facts: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` (one row per question and mode, with ``qid`` and ``answer``) with ``states_fact``,
    ``contradicts`` and ``correct`` recomputed by :mod:`playbook_lib.rag.answer_scoring`."""
    out = frame.copy()
    pairs = list(zip(out["answer"].astype(str), out["qid"].map(facts)))
    out["states_fact"] = [states_fact(a, f) for a, f in pairs]
    out["contradicts"] = [contradicts(a, f) for a, f in pairs]
    out["correct"] = [is_correct(a, f) for a, f in pairs]
    return out


def run_impact(
    queries: Mapping[str, str],
    facts: Mapping[str, str],
    retriever: Retriever,
    llm: Generator,
    bare_llm: Generator,
    embedder: Embedder,
    ks: Sequence[int] = (1, 3),
    max_tokens: int = 64,
) -> pd.DataFrame:
    """Every question without retrieval (``bare_llm``) and with the top ``k`` passages for each ``k`` (``llm``),
    scored by :func:`score_answers` (groundedness as in :func:`~playbook_lib.rag.pipeline.compare_grounding`)."""
    frame = compare_grounding(queries, facts, retriever, llm, bare_llm, embedder, ks=ks, max_tokens=max_tokens)
    return score_answers(frame, facts)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per mode: questions asked and the mean of ``correct``, ``states_fact``, ``contradicts``, ``grounded``."""
    cols = ["correct", "states_fact", "contradicts", "grounded"]
    out = frame.groupby("mode")[cols].mean().round(3)
    out.insert(0, "questions", frame.groupby("mode")["qid"].nunique())
    return out


def paired_difference(frame: pd.DataFrame, column: str, mode: str, baseline: str) -> Interval:
    """Mean per-question ``column`` in ``mode`` minus in ``baseline`` (questions asked in both), paired t
    interval (:func:`~playbook_lib.experiments.verdict.difference_interval`)."""
    wide = frame.pivot_table(index="qid", columns="mode", values=column, aggfunc="mean")
    if mode not in wide or baseline not in wide:
        raise DataError(f"the frame has no {mode!r} or no {baseline!r} rows")
    both = wide[[mode, baseline]].dropna().astype(float)
    if both.empty:
        raise DataError(f"no question was asked both {mode!r} and {baseline!r}")
    return difference_interval(both[mode].to_numpy(), both[baseline].to_numpy(), paired=True)


@dataclass(frozen=True)
class IntervalVerdict:
    """A claim judged on an interval: what it says, the interval, the verdict and the rule that gave it."""

    name: str
    claim: str
    interval: Interval
    verdict: Verdict
    rule: str

    def markdown(self) -> str:
        """One Markdown list item for the page."""
        return f"- **{self.name}** {self.claim}: **{self.verdict.value}**, {self.interval} ({self.rule})"


def judge_retrieval(frame: pd.DataFrame, k: int = 1) -> list[IntervalVerdict]:
    """A1 and A2: retrieval with ``k`` passages raises the per-question ``correct`` and ``grounded`` scores over
    no retrieval; held when the paired 95 % interval lies wholly above 0."""
    out = []
    for name, column in (("A1", "correct"), ("A2", "grounded")):
        claim = Claim(f"{column}, k={k} minus without retrieval")
        interval = paired_difference(frame, column, with_k(k), WITHOUT)
        out.append(
            IntervalVerdict(
                name,
                f"retrieval (k={k}) raises the {column} score per question",
                interval,
                claim.judge(interval),
                "held when the paired interval lies wholly above 0",
            )
        )
    return out


def judge_more_context(frame: pd.DataFrame, small: int = 1, large: int = 3) -> IntervalVerdict:
    """A3: ``k=large`` changes the correct share against ``k=small`` by more than :data:`K_MARGIN` either way
    (:func:`~playbook_lib.experiments.verdict.differs`); the estimate's sign says which way."""
    interval = paired_difference(frame, "correct", with_k(large), with_k(small))
    return IntervalVerdict(
        "A3",
        f"{large} passages change the correct share against {small} (k={large} minus k={small})",
        interval,
        differs(interval, K_MARGIN),
        f"two-sided: held beyond ±{K_MARGIN:g}, did not hold inside it, else inconclusive",
    )


def updated_documents(
    documents: Sequence[Document],
    facts: Mapping[str, str],
    relevant: Mapping[str, Sequence[str]],
    updates: Mapping[str, str] = FRESHNESS_UPDATES,
) -> list[Document]:
    """A copy of ``documents`` where, for each question id in ``updates``, its reference fact (``facts``) in its
    one relevant document is replaced by the new fact; the others are the same objects. A fact that is not in its
    document exactly once, or two updates of one document, is a :class:`~playbook_lib.errors.DataError`."""
    by_id = {d.id: d for d in documents}
    edited: dict[str, Document] = {}
    for qid, new in updates.items():
        docs = list(relevant.get(qid, ()))
        if len(docs) != 1 or docs[0] not in by_id:
            raise DataError(f"question {qid!r} needs exactly one relevant document in the corpus, has {docs}")
        doc, old = by_id[docs[0]], facts[qid]
        if doc.id in edited:
            raise DataError(f"two updates edit {doc.id}")
        if doc.text.count(old) != 1 or old == new:
            raise DataError(f"{doc.id}: the fact {old!r} must occur once and differ from {new!r}")
        edited[doc.id] = replace(doc, text=doc.text.replace(old, new))
    return [edited.get(d.id, d) for d in documents]


def edited_ids(relevant: Mapping[str, Sequence[str]], qids: Iterable[str] = FRESHNESS_UPDATES) -> list[str]:
    """The documents :func:`updated_documents` edits for updates of the questions ``qids`` (an ``updates``
    mapping's keys): each question's relevant document."""
    return sorted({doc for qid in qids for doc in relevant[qid]})


def run_freshness(
    queries: Mapping[str, str],
    facts: Mapping[str, str],
    documents: Sequence[Document],
    updated: Sequence[Document],
    updates: Mapping[str, str],
    llm: Generator,
    embedder: Embedder,
    k: int = 1,
    max_tokens: int = 64,
) -> tuple[pd.DataFrame, RefreshReport]:
    """Index ``documents``, ask each updated fact's question (stale), refresh with ``updated`` and ask again.

    One row per question and index (``stale``/``refreshed``): the answer, whether it states the new value and
    the old one (:func:`~playbook_lib.rag.answer_scoring.is_correct`); and the refresh's report."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    live = RefreshingIndex(embedder, {"model": getattr(embedder, "name", type(embedder).__name__)})
    live.refresh(documents)

    def ask(index: str) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for qid, new in updates.items():
            text = answer_question(queries[qid], live, llm, embedder, k=k, max_tokens=max_tokens).generation.text
            old = facts[qid]
            rows.append({"qid": qid, "question": queries[qid], "index": index, "old": old, "new": new, "answer": text})
        return rows

    stale = ask("stale")
    report = live.refresh(updated)
    return score_freshness(pd.DataFrame(stale + ask("refreshed"))), report


def refresh_meta(report: RefreshReport) -> dict[str, str]:
    """The refresh report as ``# key: value`` lines for a results table (:func:`refresh_from_meta` reads them)."""
    return {
        "refresh_changed": " ".join(report.changed) or "-",
        "refresh_added_deleted": " ".join(report.added + report.deleted) or "-",
        "refresh_embedded": str(report.embedded),
        "refresh_unchanged": str(report.unchanged),
        "refresh_versions": f"{report.version_before} {report.version_after}",
    }


def refresh_from_meta(meta: Mapping[str, str]) -> RefreshReport:
    """The :class:`~playbook_lib.ops.refresh.RefreshReport` kept by :func:`refresh_meta` (added and deleted
    documents are kept together, as added)."""
    ids = lambda key: [] if meta[key] == "-" else meta[key].split()  # noqa: E731
    before, after = meta["refresh_versions"].split()
    return RefreshReport(
        added=ids("refresh_added_deleted"),
        changed=ids("refresh_changed"),
        deleted=[],
        unchanged=int(meta["refresh_unchanged"]),
        embedded=int(meta["refresh_embedded"]),
        version_before=before,
        version_after=after,
    )


def judge_refresh(report: RefreshReport, edited: Sequence[str]) -> RuleVerdict:
    """B1 (rules): the refresh found exactly the ``edited`` documents changed, embedded that many texts, added
    and deleted none, and moved the corpus version."""
    changed, expected = sorted(report.changed), sorted(set(edited))
    checks = [
        Check("the changed documents are exactly the edited ones", changed == expected, f"changed {changed}"),
        Check(
            "it re-embedded one text per edited document",
            report.embedded == len(expected),
            f"{report.embedded} embedded for {len(expected)} edited of {report.unchanged + len(changed)}",
        ),
        Check("nothing was added or deleted", not report.added and not report.deleted),
        Check(
            "the corpus version moved",
            report.version_before != report.version_after,
            f"{report.version_before} -> {report.version_after}",
        ),
    ]
    return rule_verdict("B1 the refresh re-embedded exactly the changed documents", checks)


def judge_freshness(frame: pd.DataFrame) -> IntervalVerdict:
    """B2: the share of refreshed answers stating the new value against the share of stale answers stating it,
    each with its Wilson interval; held when the refreshed interval lies wholly above the stale one, did not hold
    when it lies wholly below or touches only at or under it (refreshed high <= stale low), else inconclusive.
    The interval shown is the refreshed share's."""
    if frame.empty:
        frame = frame.reindex(columns=["index", "states_new"])
    stale = frame[frame["index"] == "stale"]["states_new"].astype(bool)
    fresh = frame[frame["index"] == "refreshed"]["states_new"].astype(bool)
    s = proportion_interval(int(stale.sum()), len(stale))
    f = proportion_interval(int(fresh.sum()), len(fresh))
    if not len(stale) or not len(fresh):
        verdict = Verdict.INCONCLUSIVE
    elif f.low > s.high:
        verdict = Verdict.HELD
    elif f.high <= s.low:
        verdict = Verdict.DID_NOT_HOLD
    else:
        verdict = Verdict.INCONCLUSIVE
    return IntervalVerdict(
        "B2",
        f"refreshed answers state the new value ({int(fresh.sum())} of {len(fresh)}) more often than stale ones "
        f"({int(stale.sum())} of {len(stale)}, Wilson [{s.low:.3f}, {s.high:.3f}])",
        f,
        verdict,
        "held when the refreshed Wilson interval lies wholly above the stale one",
    )


def verdicts_markdown(
    impact: pd.DataFrame, freshness: pd.DataFrame, report: RefreshReport, edited: Sequence[str]
) -> str:
    """Every verdict of the page (A1-A3, B1, B2) as one Markdown list."""
    parts = [v.markdown() for v in judge_retrieval(impact)]
    if with_k(3) in set(impact["mode"]):
        parts.append(judge_more_context(impact).markdown())
    parts += [judge_refresh(report, edited).markdown(), judge_freshness(freshness).markdown()]
    return "\n".join(parts)


def results_frame(impact: pd.DataFrame, freshness: pd.DataFrame) -> pd.DataFrame:
    """Both runs in one table (``part`` is ``impact`` or ``freshness``), as ``bench/impact.py`` commits it."""
    import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

    return pd.concat([impact.assign(part="impact"), freshness.assign(part="freshness")], ignore_index=True)


def score_freshness(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (one row per updated fact and index, with ``answer``, ``old`` and ``new``) with ``states_new``
    and ``states_old`` recomputed by :func:`~playbook_lib.rag.answer_scoring.is_correct`."""
    out = frame.copy()
    answers = out["answer"].fillna("").astype(str)
    out["states_new"] = [is_correct(a, f) for a, f in zip(answers, out["new"].astype(str))]
    out["states_old"] = [is_correct(a, f) for a, f in zip(answers, out["old"].astype(str))]
    return out


def split_results(frame: pd.DataFrame, facts: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(impact, freshness)`` from a :func:`results_frame` table read back from CSV. The scores are recomputed
    from the stored answers (:func:`score_answers` with ``facts``, :func:`score_freshness`), so the committed
    answers are always judged by the current scoring; ``grounded`` is kept as measured."""
    impact = frame[frame["part"] == "impact"].dropna(axis=1, how="all").copy()
    freshness = frame[frame["part"] == "freshness"].dropna(axis=1, how="all").copy()
    impact["answer"] = impact["answer"].fillna("").astype(str)
    impact["grounded"] = impact["grounded"].astype(float)
    return score_answers(impact, facts).reset_index(drop=True), score_freshness(freshness).reset_index(drop=True)


#: The bundled questions whose reference facts score a committed table (:func:`k_summary`).
QUESTIONS_FILE = "heronsgate_impact_questions.jsonl"


def k_summary(frame: pd.DataFrame, k: int) -> str:
    """HTML for one setting of the page's explorer over a committed :func:`results_frame` table: the answers with
    ``k`` passages (``k=0``: without retrieval), rescored from their text against the bundled reference facts
    (:func:`split_results`), as shares with their 95 % Wilson intervals (correct, states the fact, contradicts it;
    :func:`~playbook_lib.experiments.verdict.proportion_interval`) and the mean groundedness with its 95 % t
    interval (:func:`~playbook_lib.experiments.verdict.mean_interval`); for ``k > 0`` the rule of A1 and A2
    (:func:`judge_retrieval`) applied at that ``k``, and A3 (:func:`judge_more_context`) at ``k=3``."""
    facts = load_reference_answers(sample_data.path(QUESTIONS_FILE))
    impact, _ = split_results(frame, facts)
    mode = WITHOUT if int(k) == 0 else with_k(int(k))
    rows = impact[impact["mode"] == mode]
    if rows.empty:
        raise DataError(f"the table has no answers {mode!r} (modes: {sorted(set(impact['mode']))})")
    n = len(rows)
    cells = [
        (f"share {label}", proportion_interval(int(rows[col].astype(bool).sum()), n).text())
        for label, col in (
            ("correct", "correct"),
            ("stating the fact", "states_fact"),
            ("with a rival value", "contradicts"),
        )
    ]
    cells.append(("mean groundedness", mean_interval(rows["grounded"].to_numpy(dtype=float)).text()))
    body = "".join(f"<tr><td>{html.escape(a)}</td><td>{b}</td></tr>" for a, b in cells)
    head = (
        f"<p data-pb-k='{int(k)}'>{html.escape(mode)}: {n} questions of the committed run, "
        "each share or mean [95 % interval]</p>"
    )
    table = f"<table><thead><tr><th>measure</th><th>value</th></tr></thead><tbody>{body}</tbody></table>"
    if int(k) == 0:
        return head + table + "<p>The baseline: each k is judged against these answers, question by question.</p>"
    verdicts = judge_retrieval(impact, int(k))
    if int(k) == 3 and with_k(1) in set(impact["mode"]):
        verdicts.append(judge_more_context(impact))
    items = "".join(
        f"<li><strong>{html.escape(v.name)}</strong> {html.escape(v.claim)}: <strong>{v.verdict.value}</strong>, "
        f"{html.escape(str(v.interval))} ({html.escape(v.rule)})</li>"
        for v in verdicts
    )
    return head + table + f"<ul>{items}</ul>"
