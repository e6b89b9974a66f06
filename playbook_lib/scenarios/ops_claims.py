"""The claims of the Model–Data Operations pages, judged on what each page measured.

Taught in the chapter's pages ``notebooks/ops_01_pipeline_overview``, ``ops_02_why_ops_matter``,
``ops_04_data_types``, ``ops_05_rag_workflow``, ``ops_06_minimal_rag`` and ``ops_07_operation_types``. Each page
states what the chapter says must happen (a content hash changes exactly when the content does, a refresh
re-embeds only what changed, session memory makes follow-ups answerable, ...), runs the operation, and passes the
*measured outputs* (counts, versions, ranks, per-question scores) to a judge here. A judge tests the chapter's
sentence on those outputs, not the code path that produced them, so it can fail.

Three kinds of claim, all through :mod:`playbook_lib.experiments.verdict`:

- **rules** (a deterministic statement about this run): named :class:`~playbook_lib.experiments.verdict.Check`
  results and the :func:`~playbook_lib.experiments.verdict.rules` verdict (held when every check passed, did not
  hold when one failed, inconclusive when one could not be measured);
- **measured over items** (questions, conversations, changed facts): an interval (Wilson for a share, Student's
  t for a mean of paired differences) against a threshold fixed below, before the numbers; such a check passes
  when the interval lies wholly on the claimed side, fails when it lies wholly on the other, and is *not
  measured* (so the claim is inconclusive) when it straddles the threshold.

- **timed** (a step is slower or faster than another): each step timed once per repeat, the steps of a repeat
  one after another (:mod:`playbook_lib.scenarios.ops_timing`), so that the ratio of two steps' seconds within a
  repeat cancels the machine load both shared; the geometric-mean ratio over the repeats and its 95 % interval
  (:func:`~playbook_lib.experiments.verdict.ratio_interval`) against a "times faster" threshold fixed below. With
  fewer than :data:`MIN_REPEATS` repeats, or an interval that straddles the threshold, the check is undecided.

Timings come from whatever machine built the page: the verdict says what this build measured, with its noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from playbook_lib.experiments.verdict import (
    Check,
    Interval,
    RuleVerdict,
    Side,
    Verdict,
    difference_interval,
    judge,
    mean_interval,
    proportion_interval,
    ratio_interval,
    rule_verdict,
    within,
)

#: The chapter's chain of stages, in order (the *Pipeline overview* page runs each once).
PIPELINE_STAGES = (
    "ingest",
    "preprocess / curate",
    "chunk",
    "embed",
    "index",
    "retrieve",
    "context",
    "generate",
    "post-process",
    "feedback",
)
#: "Time is not spread evenly": the slowest stage takes at least this many times an even share of the total.
CONCENTRATION = 2.0
#: "Most" conversations / questions: a share whose whole Wilson interval lies above this.
MOST = 0.5
#: A refreshed index serves the new version of a changed fact for more than this share of them.
FRESH_MIN = 0.5
#: Corrections leave the other questions alone: their mean nDCG@10 change lies within this margin.
UNDISTURBED_MARGIN = 0.05
#: A timing claim rests on at least this many paired repeats; with fewer it is not measured.
MIN_REPEATS = 5
#: "Step A is slower than step B": the ratio of their seconds in the same repeat lies above this.
SLOWER = 1.0
#: "Generation dominates a request": it takes longer than every other step of the request together, this many
#: times over.
DOMINATES = 1.0
#: "A larger batch is faster": each batch size above 1 embeds the same texts faster than batch 1 (time ratio).
BATCH_SPEEDUP = 1.0
#: "An incremental refresh costs a fraction of a rebuild": a full rebuild takes at least this many times as long.
REFRESH_SPEEDUP = 2.0


def interval_check(name: str, interval: Interval, threshold: float, side: Side = "above") -> Check:
    """A check on a measured share or mean: passed when ``interval`` lies wholly ``side`` of ``threshold``,
    failed when wholly on the other side, not measured (inconclusive) when it straddles it."""
    verdict = judge(interval, threshold, side)
    passed = {Verdict.HELD: True, Verdict.DID_NOT_HOLD: False}.get(verdict)
    op = ">" if side == "above" else "<"
    return Check(name, passed, f"{interval}, claim {op} {threshold:g}: {verdict.value}")


def ratio_text(interval: Interval) -> str:
    """A ratio interval for the page: ``2.41x [2.10, 2.77] (95%, n=5)``."""
    if interval.high == float("inf") or interval.low == float("-inf"):
        return f"{interval.estimate:.2f}x (n={interval.n}: too few repeats for an interval)"
    return (
        f"{interval.estimate:.2f}x [{interval.low:.2f}, {interval.high:.2f}] "
        f"({interval.confidence:.0%}, n={interval.n})"
    )


def ratio_check(
    name: str, slow: Sequence[float], fast: Sequence[float], threshold: float, what: str = "slower / faster"
) -> Check:
    """A timed claim from paired repeats (``slow[i]`` and ``fast[i]`` timed in the same repeat ``i``): passed when
    the geometric-mean ratio ``slow / fast``'s 95 % interval lies wholly above ``threshold``, failed when wholly
    below, not measured when it straddles it or with fewer than :data:`MIN_REPEATS` repeats."""
    if len(slow) != len(fast):
        raise ValueError(f"paired repeats must match: {len(slow)} and {len(fast)}")
    if len(slow) < MIN_REPEATS:
        return Check(name, None, f"{len(slow)} repeats, fewer than {MIN_REPEATS}: not measured")
    interval = ratio_interval(slow, fast)
    verdict = judge(interval, threshold)
    passed = {Verdict.HELD: True, Verdict.DID_NOT_HOLD: False}.get(verdict)
    return Check(name, passed, f"{what} {ratio_text(interval)}, claim > {threshold:g}x: {verdict.value}")


def _share_check(name: str, flags: Sequence[bool], threshold: float, what: str) -> Check:
    if not flags:
        return Check(name, None, f"no {what}")
    ok = int(sum(bool(f) for f in flags))
    check = interval_check(name, proportion_interval(ok, len(flags)), threshold)
    return Check(name, check.passed, f"{ok} of {len(flags)} {what}; share {check.detail}")


# ---- ops_01: the pipeline, stage by stage ------------------------------------------------------------------------


def judge_stages(
    expected: Sequence[str], produced: Mapping[str, int], logged_versions: Mapping[str, str], corpus_version: str
) -> RuleVerdict:
    """Every stage of ``expected`` ran and left something to inspect (``produced``: stage -> count of what it
    produced), and the feedback entry read back from the log carries the corpus version the ingest computed and an
    index version (``logged_versions``: ``corpus_version``/``index_version`` as read back)."""
    missing = [s for s in expected if s not in produced]
    empty = [s for s in expected if s in produced and produced[s] <= 0]
    logged = logged_versions.get("corpus_version")
    return rule_verdict(
        "every stage is a separate step that leaves an output to inspect",
        [
            Check(
                "every stage of the chain ran",
                not missing,
                f"{len(expected) - len(missing)} of {len(expected)}" + (f"; missing: {missing}" if missing else ""),
            ),
            Check(
                "every stage produced something",
                not empty,
                "counts " + ", ".join(f"{s} {produced.get(s, 0)}" for s in expected if s in produced),
            ),
            Check(
                "the logged request carries the corpus and index versions",
                logged == corpus_version and bool(logged_versions.get("index_version")),
                f"logged corpus version {logged}, ingest {corpus_version}; index version "
                f"{logged_versions.get('index_version') or 'missing'}",
            ),
        ],
    )


def _columns(seconds: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    out = {name: np.asarray(values, dtype=float) for name, values in seconds.items()}
    if len({v.size for v in out.values()}) > 1:
        raise ValueError(f"every step needs one time per repeat: {[v.size for v in out.values()]}")
    return out


def dominant_check(
    name: str,
    seconds: Mapping[str, Sequence[float]],
    stage: str,
    among: Sequence[str],
    over: Literal["max", "sum"] = "max",
) -> Check:
    """``stage`` took longer than the other stages ``among``, repeat by repeat (``seconds``: stage -> one time per
    repeat): the ratio of its seconds to the slowest other's (``over="max"``) or to all the others' together
    (``over="sum"``, :data:`DOMINATES`) in the same repeat, by :func:`ratio_check` against :data:`SLOWER`. Not
    measured when it did not run or has nothing to compare with."""
    if over not in ("max", "sum"):
        raise ValueError(f"over must be 'max' or 'sum', not {over!r}")
    times = _columns(seconds)
    others = [s for s in among if s in times and s != stage]
    if stage not in times or not others:
        return Check(name, None, f"{stage} did not run" if stage not in times else "no other stage to compare")
    stacked = np.stack([times[s] for s in others])
    rest = stacked.max(axis=0) if over == "max" else stacked.sum(axis=0)
    what = f"{stage} / slowest other ({_most_often(stacked, others)})" if over == "max" else f"{stage} / the rest"
    return ratio_check(name, list(times[stage]), list(rest), SLOWER if over == "max" else DOMINATES, what)


def _most_often(stacked: np.ndarray, names: Sequence[str]) -> str:
    counts = np.bincount(stacked.argmax(axis=0), minlength=len(names))
    return names[int(counts.argmax())]


def judge_time(seconds: Mapping[str, Sequence[float]], offline: Sequence[str], online: Sequence[str]) -> RuleVerdict:
    """Time is not spread evenly: the slowest stage of each repeat takes at least :data:`CONCENTRATION` times an
    even share of that repeat's total; generation is the slowest online stage and embedding the slowest offline one
    (the page's prose). ``seconds``: stage -> one time per repeat (paired: the stages of a repeat timed together)."""
    times = _columns(seconds)
    names = list(times)
    if names:
        stacked = np.stack([times[s] for s in names])
        top, even = list(stacked.max(axis=0)), list(stacked.sum(axis=0) / len(names))
        concentrated = ratio_check(
            f"the slowest stage takes >= {CONCENTRATION:g}x an even share",
            top,
            even,
            CONCENTRATION,
            f"slowest ({_most_often(stacked, names)}) / even share",
        )
    else:
        concentrated = Check(f"the slowest stage takes >= {CONCENTRATION:g}x an even share", None, "no stages")
    return rule_verdict(
        "the time is concentrated in one or two stages",
        [
            concentrated,
            dominant_check("generation is the slowest online stage", seconds, "generate", online),
            dominant_check("embedding is the slowest offline stage", seconds, "embed", offline),
        ],
    )


# ---- ops_02: each operation improves a measure -------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One measure of an operation, before and after: one total each (a deterministic count) or one value per item
    (question, changed fact), paired; ``better`` is the side an improvement moves it to."""

    name: str
    before: Sequence[float]
    after: Sequence[float]
    better: Side

    def check(self) -> Check:
        """Improved? A total: strictly better after. Items: the paired mean change's interval wholly on the better
        side of zero (a tie or a straddling interval is not measured)."""
        b, a = np.asarray(self.before, dtype=float), np.asarray(self.after, dtype=float)
        if b.size == 0 or b.shape != a.shape:
            return Check(self.name, None, f"{b.size} values before, {a.size} after")
        if b.size == 1:
            moved = a[0] < b[0] if self.better == "below" else a[0] > b[0]
            return Check(self.name, bool(moved), f"{b[0]:.4g} -> {a[0]:.4g}")
        check = interval_check(self.name, mean_interval(a - b), 0.0, self.better)
        return Check(self.name, check.passed, f"{b.mean():.3f} -> {a.mean():.3f}; change {check.detail}")


def judge_improves(operation: str, measures: Sequence[Measure]) -> RuleVerdict:
    """The claim that ``operation`` improves at least one of its measures: held when any measure improved, did
    not hold when every one was measured and none improved, else inconclusive."""
    checks = tuple(m.check() for m in measures)
    if any(c.passed is True for c in checks):
        verdict = Verdict.HELD
    elif checks and all(c.passed is False for c in checks):
        verdict = Verdict.DID_NOT_HOLD
    else:
        verdict = Verdict.INCONCLUSIVE
    return RuleVerdict(f"{operation} improves at least one measure", checks, verdict)


def judge_refresh(
    embedded: int,
    changed: Sequence[str],
    added: Sequence[str],
    n_documents: int,
    version_before: str,
    version_after: str,
) -> RuleVerdict:
    """A refresh re-embeds only what changed (``changed`` and ``added``: what the page did to the corpus, not the
    refresh's own report), fewer than the whole corpus, and moves the version."""
    touched = len(set(changed) | set(added))
    return rule_verdict(
        "a refresh re-embeds only the changed documents",
        [
            Check("re-embedded exactly the changed documents", embedded == touched, f"{embedded} of {touched} changed"),
            Check("fewer than a full rebuild", embedded < n_documents, f"{embedded} of {n_documents} documents"),
            Check(
                "the corpus version moved" if touched else "the corpus version stayed",
                (version_before != version_after) == (touched > 0),
                f"{version_before} -> {version_after}",
            ),
        ],
    )


# ---- ops_04: data types --------------------------------------------------------------------------------------------


def judge_versions(base: str, reloaded: str, reordered: str, edited: str, undone: str) -> RuleVerdict:
    """A dataset version changes exactly when content does: same on reload and reorder, new after a one-character
    edit, the old one back when the edit is undone."""
    return rule_verdict(
        "a version changes exactly when the content changes",
        [
            Check("loading again keeps the version", reloaded == base, reloaded),
            Check("reordering keeps the version", reordered == base, reordered),
            Check("a one-character edit changes it", edited != base, edited),
            Check("undoing the edit restores it", undone == base, undone),
        ],
    )


@dataclass(frozen=True)
class Snapshot:
    """What the page did to the corpus for one snapshot (``added``, ``changed``, ``deleted`` ids) and what the
    refresh reported (``embedded``, ``version``)."""

    name: str
    added: Sequence[str]
    changed: Sequence[str]
    deleted: Sequence[str]
    embedded: int
    version: str


def judge_snapshots(
    snapshots: Sequence[Snapshot], new_id: str, new_top: str, deleted_id: str, deleted_indexed: bool
) -> RuleVerdict:
    """A refresh follows a changing corpus: each snapshot embeds exactly what was added or changed, the version moves
    with each change, a new document becomes retrievable (``new_top``: the top hit for a question it answers) and a
    deleted one stops being indexed."""
    bad_embed = [s.name for s in snapshots if s.embedded != len(set(s.added) | set(s.changed))]
    versions = [s.version for s in snapshots]
    bad_version = [
        s.name
        for prev, s in zip(versions, snapshots[1:])
        if (prev != s.version) != bool(s.added or s.changed or s.deleted)
    ]
    return rule_verdict(
        "the refreshing index follows the corpus snapshot by snapshot",
        [
            Check(
                "each snapshot embedded exactly what was added or changed",
                None if not snapshots else not bad_embed,
                ", ".join(f"{s.name}: {s.embedded}" for s in snapshots)
                + (f"; against it: {bad_embed}" if bad_embed else ""),
            ),
            Check(
                "the version moved with every change",
                None if len(snapshots) < 2 else not bad_version,
                " -> ".join(versions) + (f"; against it: {bad_version}" if bad_version else ""),
            ),
            Check("the added document is retrieved", new_top == new_id, f"top hit {new_top}"),
            Check(
                "the deleted document is no longer indexed",
                not deleted_indexed,
                f"{deleted_id} indexed: {deleted_indexed}",
            ),
        ],
    )


def judge_memory(without: Sequence[bool], with_memory: Sequence[bool]) -> RuleVerdict:
    """Session memory makes follow-ups answerable: per conversation (paired), the share whose follow-up retrieves a
    relevant document rises with memory (the mean paired gain's interval above 0) and is above :data:`MOST` with
    memory (Wilson interval)."""
    if len(without) != len(with_memory):
        raise ValueError(f"paired conversations must match: {len(without)} and {len(with_memory)}")
    gain = [float(w) - float(o) for o, w in zip(without, with_memory)]
    checks = [
        interval_check("memory raises the share answered", mean_interval(gain), 0.0)
        if len(gain) > 1
        else Check("memory raises the share answered", None, f"{len(gain)} conversations: too few for an interval"),
        _share_check(f"with memory, most (> {MOST:g}) follow-ups are answered", with_memory, MOST, "conversations"),
    ]
    return rule_verdict("session memory makes follow-up questions answerable", checks)


def judge_session_lifecycle(
    added: int, max_turns: int, kept: int, after_ttl: int, left_after_forget: int
) -> RuleVerdict:
    """Session data is bounded (no more than ``max_turns`` kept of ``added``), expires after its time to live and is
    erased on request."""
    return rule_verdict(
        "session data is bounded, expires and can be erased",
        [
            Check(
                "bounded to the window",
                kept == min(added, max_turns),
                f"{added} added, {kept} kept (window {max_turns})",
            ),
            Check("expired after the time to live", after_ttl == 0, f"{after_ttl} turns left"),
            Check("erased on request", left_after_forget == 0, f"{left_after_forget} turns left"),
        ],
    )


def judge_feedback(
    questions: Sequence[str],
    rated: Sequence[tuple[str, int | None]],
    reviewed: Sequence[str],
    golden_queries: Sequence[str],
    failure_ndcg_at_1: float | None,
) -> RuleVerdict:
    """Feedback is logged, then promoted: one rating per question asked (``rated``: query, rating as read back),
    a review appended for every rated-down answer and for no other (``reviewed``: their queries), one golden item
    per question asked, and the failures score zero at rank 1 on the retriever that failed them (not measured with
    no failure)."""
    down = sorted(q for q, r in rated if r is not None and r <= 2)
    return rule_verdict(
        "feedback is logged, then promoted into a golden set",
        [
            Check(
                "one rating per question asked",
                sorted(q for q, _ in rated) == sorted(questions) and all(r is not None for _, r in rated),
                f"{len(rated)} ratings, {len(questions)} questions",
            ),
            Check(
                "a review for every rated-down answer, and only those",
                sorted(reviewed) == down,
                f"{len(reviewed)} reviews, {len(down)} rated down",
            ),
            Check(
                "one golden item per question",
                sorted(golden_queries) == sorted(set(questions)),
                f"{len(golden_queries)} items, {len(set(questions))} questions",
            ),
            Check(
                "the promoted failures score 0 at rank 1",
                None if failure_ndcg_at_1 is None else failure_ndcg_at_1 == 0.0,
                "no failure promoted" if failure_ndcg_at_1 is None else f"nDCG@1 {failure_ndcg_at_1:.3f}",
            ),
        ],
    )


def judge_synthetic_easier(human: Sequence[float], synthetic: Sequence[float]) -> RuleVerdict:
    """Synthetic questions are easier than human-written ones for the same retriever: synthetic minus human mean
    per-question score, Welch interval above 0 (different questions, so unpaired). Not measured without human
    questions."""
    if len(human) < 2 or len(synthetic) < 2:
        check = Check(
            "synthetic minus human reciprocal rank > 0",
            None,
            f"{len(human)} human, {len(synthetic)} synthetic questions",
        )
    else:
        check = interval_check(
            "synthetic minus human reciprocal rank > 0", difference_interval(synthetic, human, paired=False), 0.0
        )
    return rule_verdict("synthetic questions are easier than human ones", [check])


# ---- ops_05: one question down the workflow ------------------------------------------------------------------------


def judge_traceable(
    ranked_ids: Sequence[str], scores: Sequence[float], used_ids: Sequence[str], cited: Sequence[str]
) -> RuleVerdict:
    """The answer can be traced: every chunk in the prompt came from the ranked search, in rank order, whose scores
    fall with rank, and every id the answer cites (``cited``: all of them, valid or not) was in the prompt."""
    position = {d: i for i, d in enumerate(ranked_ids)}
    order = [position.get(d, -1) for d in used_ids]
    return rule_verdict(
        "the prompt and the answer's citations can be traced back to the search",
        [
            Check(
                "the prompt's chunks came from the search, in rank order",
                None if not used_ids else -1 not in order and order == sorted(order),
                f"used {list(used_ids)} of {list(ranked_ids)}",
            ),
            Check(
                "the scores fall with rank",
                all(a >= b for a, b in zip(scores, scores[1:])),
                f"{[round(float(s), 3) for s in scores]}",
            ),
            Check("every cited id was in the prompt", set(cited) <= set(used_ids), f"cited {list(cited) or 'none'}"),
        ],
    )


def judge_dominates(claim: str, seconds: Mapping[str, Sequence[float]], stage: str) -> RuleVerdict:
    """``stage`` takes longer than all the other steps timed in ``seconds`` together (step -> one time per repeat,
    paired), :data:`DOMINATES` times over, by :func:`dominant_check`."""
    return rule_verdict(
        claim,
        [dominant_check(f"{stage} takes longer than the other steps together", seconds, stage, list(seconds), "sum")],
    )


def judge_grounded(sentences: Sequence[str], supported: Sequence[bool]) -> RuleVerdict:
    """This answer is grounded: every sentence is supported by a chunk in the prompt (not measured for an empty
    answer). An unsupported sentence makes it *did not hold*: the check caught it."""
    checks = [
        Check(f"sentence {i + 1} supported", bool(ok), s[:80]) for i, (s, ok) in enumerate(zip(sentences, supported))
    ]
    return rule_verdict("every sentence of the answer is supported by the prompt", checks)


# ---- ops_06: minimal RAG -------------------------------------------------------------------------------------------


def judge_first_hit(first_ranks: Sequence[int | None]) -> RuleVerdict:
    """Dense retrieval puts the answering document first for most (> :data:`MOST`) judged questions: the Wilson
    interval of the share at rank 1 above :data:`MOST`. Not measured without judged questions."""
    return rule_verdict(
        "dense retrieval puts the answering document first for most questions",
        [
            _share_check(
                f"relevant document at rank 1 for > {MOST:g} of questions",
                [r == 1 for r in first_ranks],
                MOST,
                "questions",
            )
        ],
    )


def judge_same_ranking(index_ids: Sequence[str], by_inner_product: Sequence[str], by_l2: Sequence[str]) -> RuleVerdict:
    """An exact inner-product index over unit vectors ranks as cosine and as L2 distance do."""
    return rule_verdict(
        "inner product, cosine and L2 give the same ranking on unit vectors",
        [
            Check(
                "the index ranks as the inner product", list(index_ids) == list(by_inner_product), f"{list(index_ids)}"
            ),
            Check("L2 distance ranks the same", list(by_l2) == list(by_inner_product), f"{list(by_l2)}"),
        ],
    )


# ---- ops_07: operation types ---------------------------------------------------------------------------------------


def judge_training_time(moved: int, same_vectors: bool, batch_seconds: Mapping[int, Sequence[float]]) -> RuleVerdict:
    """Hash sharding moves no existing item when the data grows; sharded encoding equals one pass; every batch size
    above 1 embeds the same texts faster than batch 1 (``batch_seconds``: batch size -> seconds per repeat, paired;
    :func:`ratio_check` of batch 1's time to its, against :data:`BATCH_SPEEDUP`). The batching check is not
    measured without a batch of 1 and a larger one."""
    base = batch_seconds.get(1)
    sizes = sorted(b for b in batch_seconds if b > 1)
    if base is None or not sizes:
        batching = [Check("a larger batch is faster than batch 1", None, "needs batch 1 and a larger one")]
    else:
        batching = [
            ratio_check(
                f"batch {b} is faster than batch 1",
                base,
                batch_seconds[b],
                BATCH_SPEEDUP,
                f"batch 1 time / batch {b} time",
            )
            for b in sizes
        ]
    return rule_verdict(
        "training-time operations: stable shards, equal vectors, faster batches",
        [
            Check("no existing item moved shard", moved == 0, f"{moved} moved"),
            Check("sharded encoding equals one pass", bool(same_vectors), ""),
            *batching,
        ],
    )


def judge_offline(
    n_served: int,
    n_read_back: int,
    read_back_equal: bool,
    embedded: int,
    n_changed: int,
    n_documents: int,
    same_version: bool,
    same_rankings: bool,
    incremental_s: Sequence[float],
    rebuild_s: Sequence[float],
) -> RuleVerdict:
    """Online logs feed offline work, and an incremental refresh equals a rebuild at a fraction of its cost: the log
    read back equals what was served; the refresh re-embedded exactly the ``n_changed`` documents and gave the
    rebuild's version and rankings; a full rebuild takes at least :data:`REFRESH_SPEEDUP` times as long
    (``incremental_s``, ``rebuild_s``: seconds per repeat, paired; :func:`ratio_check`)."""
    return rule_verdict(
        "online logs and an incremental refresh do the offline work",
        [
            Check(
                "the request log reproduces what was served",
                n_read_back == n_served and bool(read_back_equal),
                f"{n_read_back} of {n_served} rows",
            ),
            Check(
                "the refresh re-embedded exactly the changed documents",
                embedded == n_changed,
                f"{embedded} embedded, {n_changed} changed of {n_documents}",
            ),
            Check("same version as a full rebuild", bool(same_version), ""),
            Check("same top-10 for every question", bool(same_rankings), ""),
            ratio_check(
                f"a full rebuild takes >= {REFRESH_SPEEDUP:g}x as long",
                rebuild_s,
                incremental_s,
                REFRESH_SPEEDUP,
                "rebuild time / incremental time",
            ),
        ],
    )


def judge_corrections(
    before: Sequence[int | None], after: Sequence[int | None], others_change: Sequence[float]
) -> RuleVerdict:
    """A reviewer's corrections move each corrected question's relevant document up (a rank of ``None``, not in the
    top 10, counts as below every rank) and leave the other questions alone: their per-question nDCG@10 change
    (``others_change``), mean interval within ±:data:`UNDISTURBED_MARGIN`. Not measured with no correction."""
    worst = 10**9

    def r(x: int | None) -> int:
        return worst if x is None else x

    up = [r(a) < r(b) for b, a in zip(before, after)]
    if len(others_change) > 1:
        interval = mean_interval(others_change)
        verdict = within(interval, UNDISTURBED_MARGIN)
        passed = {Verdict.HELD: True, Verdict.DID_NOT_HOLD: False}.get(verdict)
        alone = Check(f"other questions within ±{UNDISTURBED_MARGIN:g} nDCG@10", passed, f"{interval}: {verdict.value}")
    else:
        alone = Check(f"other questions within ±{UNDISTURBED_MARGIN:g} nDCG@10", None, "too few other questions")
    return rule_verdict(
        "a reviewer's correction fixes its question and leaves the others alone",
        [
            Check(
                "every corrected question moved up",
                None if not up else all(up),
                f"ranks {list(before)} -> {list(after)}",
            ),
            alone,
        ],
    )
