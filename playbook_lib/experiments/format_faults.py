"""Formatting faults in a chat-format training file, what a quick loading script does with them, and what the
project's loader and ``formatting`` check report instead.

Taught in the book's *Formatting errors* page (``notebooks/exp_08_formatting_errors.ipynb``).

A task row becomes one JSONL line ``{"messages": [{"role": "user", "content": TEXT}, {"role": "assistant",
"content": LABEL}]}``. :func:`corrupt_lines` breaks a share of the lines in one of four ways (:data:`CORRUPTIONS`)
and says which. :func:`naive_load` is the loader people write in five minutes; comparing its output with the truth
shows rows silently dropped, labels shifted and garbage labels created. :func:`check_file` runs the project's
loader and the ``formatting`` and ``sft_pairs`` checks on the same file; :func:`run_seeds` repeats the whole
experiment over seeds and :func:`judge_format_faults` turns the runs into the page's two verdicts, with rules and
thresholds (:data:`MIN_DROP`, :data:`MIN_RECALL`, :data:`MIN_PRECISION`, :data:`MAX_LOSS`) fixed here before any run.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from playbook_lib.checks import CheckContext, CheckResult, get_check
from playbook_lib.data import load_records
from playbook_lib.embeddings.model import Embedder
from playbook_lib.errors import UsageError
from playbook_lib.experiments.runs import VectorTable
from playbook_lib.experiments.tasks import (
    TextTask,
    evaluate_probe,
    split_task,
    stratified_sample,
    train_probe,
)
from playbook_lib.experiments.verdict import (
    Claim,
    Interval,
    Verdict,
    combine,
    difference_interval,
    proportion_interval,
)
from playbook_lib.io.outputs import write_atomic

CORRUPTIONS = ("empty_output", "wrong_role", "truncated_json", "mojibake")


def chat_line(text: str, label: str) -> str:
    """One training example as a chat-format JSONL line."""
    return json.dumps(
        {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": label}]}, ensure_ascii=False
    )


def mojibake(text: str) -> str:
    """The text with typographic quotes, saved as UTF-8 and read back as Windows-1252 (``’`` becomes ``â€™``)."""
    quoted = text.replace("'", "\u2019") if "'" in text else f"\u201c{text}\u201d"
    return quoted.encode("utf-8").decode("cp1252", errors="replace")


def corrupt_line(text: str, label: str, kind: str) -> str:
    """The chat line of ``(text, label)`` broken in the way ``kind`` names (one of :data:`CORRUPTIONS`)."""
    if kind == "empty_output":
        return chat_line(text, "")
    if kind == "wrong_role":  # turns written in the wrong order: the answer first
        return json.dumps(
            {"messages": [{"role": "assistant", "content": label}, {"role": "user", "content": text}]},
            ensure_ascii=False,
        )
    if kind == "truncated_json":
        line = chat_line(text, label)
        return line[: len(line) // 2]
    if kind == "mojibake":
        return chat_line(mojibake(text), label)
    raise UsageError(f"unknown corruption {kind!r}; valid: {', '.join(CORRUPTIONS)}")


def corrupt_lines(
    task: TextTask, rate: float, seed: int = 0, kinds: Sequence[str] = CORRUPTIONS
) -> tuple[list[str], np.ndarray]:
    """JSONL lines for every row of ``task``; ``round(rate * n)`` of them, chosen at random, are broken with the
    ``kinds`` in turn. Returns the lines and, per line, ``"ok"`` or the corruption applied."""
    if not 0.0 <= rate <= 1.0:
        raise UsageError(f"rate must be in [0, 1], got {rate}")
    for kind in kinds:
        if kind not in CORRUPTIONS:
            raise UsageError(f"unknown corruption {kind!r}; valid: {', '.join(CORRUPTIONS)}")
    rng = np.random.default_rng(seed)
    n = len(task)
    chosen = np.sort(rng.choice(n, size=int(round(rate * n)), replace=False))
    applied = np.full(n, "ok", dtype=object)
    for k, i in enumerate(chosen):
        applied[i] = kinds[k % len(kinds)]
    lines = [
        chat_line(t, task.label_names[y]) if a == "ok" else corrupt_line(t, task.label_names[y], a)
        for t, y, a in zip(task.texts, task.labels.tolist(), applied)
    ]
    return lines, applied


def write_lines(lines: Sequence[str], path: str | Path) -> Path:
    """Write ``lines`` as a UTF-8 text file, atomically (temporary file, then rename)."""
    path = Path(path)
    write_atomic(path, "\n".join(lines) + "\n", what="the data file")
    return path


@dataclass
class NaiveLoad:
    """What :func:`naive_load` produced: texts, labels, and the 1-based lines it skipped without a word."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)


def naive_load(path: str | Path, on_error: str = "skip", labels: Sequence[str] | None = None) -> NaiveLoad:
    """The five-minute loader: ``json.loads`` each line, take the first turn as the text and the last as the label.

    ``on_error="raise"`` lets the first malformed line raise :class:`json.JSONDecodeError` (the crashed job);
    ``"skip"`` drops it silently (the quiet data loss). With ``labels`` (a separate labels file, one per line of the
    data file) the labels are paired with the kept rows *by position*, as ``zip(rows, labels)`` does: one dropped
    line shifts every label after it.
    """
    if on_error not in ("skip", "raise"):
        raise UsageError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    out = NaiveLoad()
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if on_error == "raise":
                    raise
                out.skipped_lines.append(number)
                continue
            out.texts.append(row["messages"][0]["content"])
            out.labels.append(row["messages"][-1]["content"])
    if labels is not None:
        out.labels = list(labels[: len(out.texts)])
    return out


def label_ids(labels: Sequence[str], label_names: Sequence[str]) -> np.ndarray:
    """Label strings as indices into ``label_names``; a string that is not a label name gets a new index after them
    (what ``LabelEncoder`` does with garbage labels): they become classes of their own."""
    known = {name: i for i, name in enumerate(label_names)}
    extra: dict[str, int] = {}
    out = []
    for label in labels:
        if label not in known and label not in extra:
            extra[label] = len(known) + len(extra)
        out.append(known.get(label, extra.get(label)))
    return np.asarray(out, dtype=int)


#: The registered checks the page runs on chat data, in order.
CHECKS = ("formatting", "sft_pairs")

#: The four training sets the page compares, each as a loader returned it (the keys of :attr:`FaultRun.accuracy`).
VARIANTS = (
    "clean file (no faults)",
    "lenient loader, labels in the file",
    "lenient loader, separate labels file",
    "project loader + format checks",
)

#: Claim (a): clean accuracy minus the accuracy after the lenient loader with a separate labels file is above this.
MIN_DROP = 0.05
#: Claim (b): the loader plus both checks find more than this share of the planted faults ...
MIN_RECALL = 0.9
#: ... more than this share of what they flag was planted ...
MIN_PRECISION = 0.9
#: ... and training on the rows they keep loses less than this much accuracy against the clean file.
MAX_LOSS = 0.03


@dataclass
class CheckedFile:
    """What the project's loader and the :data:`CHECKS` report on one file: the loaded ``records``, each check's
    result, the 1-based lines the loader could not read, per check (and ``"either"``) the lines it flagged or the
    loader could not read, and the rows left after dropping every flagged row (``kept``)."""

    records: pd.DataFrame
    results: dict[str, CheckResult]
    unreadable: set[int]
    flagged: dict[str, set[int]]
    kept: pd.DataFrame


def check_file(path: str | Path, checks: Sequence[str] = CHECKS) -> CheckedFile:
    """Load ``path`` with :func:`~playbook_lib.data.load_records` and run the registered ``checks`` on it."""
    records = load_records(path)
    prefix = len(records.attrs["path"]) + 1
    unreadable = {int(s[prefix:].split(":", 1)[0]) for s in records.attrs["skipped"]}
    results = {name: get_check(name)().run(records, CheckContext()) for name in checks}
    lines = records["line"].astype(int).to_numpy()
    flagged = {name: set(lines[res.flags].tolist()) | unreadable for name, res in results.items()}
    flagged["either"] = set().union(unreadable, *flagged.values())
    drop = np.zeros(len(records), dtype=bool)
    for res in results.values():
        drop |= res.flags
    kept = records[~drop].reset_index(drop=True)
    return CheckedFile(records, results, unreadable, flagged, kept)


def caught_by_fault(applied: np.ndarray, flagged: set[int]) -> dict[str, int]:
    """Per corruption, how many of the lines it was applied to (``applied`` as :func:`corrupt_lines` returns it)
    are among the 1-based ``flagged`` lines."""
    return {k: sum(int(i) + 1 in flagged for i in np.flatnonzero(applied == k)) for k in CORRUPTIONS}


@dataclass(frozen=True)
class FaultRun:
    """One seed of the page's experiment: per corruption how many lines were ``planted`` and how many each check
    (and ``"either"``, with the loader's unreadable lines) ``caught``; how many lines were flagged in all and how
    many of those were clean (``false_flags``); whether the strict loader crashed; how many lines the lenient loader
    dropped silently and how many labels it shifted; and the test accuracy of a probe trained on each of
    :data:`VARIANTS`."""

    seed: int
    planted: dict[str, int]
    caught: dict[str, dict[str, int]]
    flagged: int
    false_flags: int
    crashed: bool
    dropped_silently: int
    shifted_labels: int
    accuracy: dict[str, float]


@dataclass(frozen=True)
class FaultReport:
    """What the loaders and the :data:`CHECKS` make of one training file with a share ``rate`` of its ``lines``
    broken, no model trained: per corruption the lines ``planted`` and, per check (and ``"either"``, with the
    loader's ``unreadable`` lines), those ``caught``; the lines ``flagged`` in all and how many of them were clean
    (``false_flags``); whether the strict loader crashed; the lines the lenient loader dropped silently and the
    labels a separate labels file then shifted; each check's grade of the file (``outcomes``, e.g. ``"fail"``)."""

    rate: float
    lines: int
    planted: dict[str, int]
    caught: dict[str, dict[str, int]]
    unreadable: int
    flagged: int
    false_flags: int
    crashed: bool
    dropped_silently: int
    shifted_labels: int
    outcomes: dict[str, str]


@dataclass
class _Loaded:
    report: FaultReport
    variants: dict[str, tuple[list[str], list[str]]]


def _load(train: TextTask, rate: float, seed: int, path: Path) -> _Loaded:
    """Break ``rate`` of ``train``'s lines, write them to ``path``, and read them with every loader and check."""
    lines, applied = corrupt_lines(train, rate, seed=seed)
    truth = [train.label_names[y] for y in train.labels]
    data_file = write_lines(lines, path)
    try:
        naive_load(data_file, on_error="raise")
        crashed = False
    except json.JSONDecodeError:
        crashed = True
    lenient = naive_load(data_file)
    by_position = naive_load(data_file, labels=truth)
    true_of = dict(zip(train.texts, truth))
    shifted = sum(t in true_of and true_of[t] != y for t, y in zip(by_position.texts, by_position.labels))
    checked = check_file(data_file)
    either = checked.flagged["either"]
    report = FaultReport(
        rate=float(rate),
        lines=len(lines),
        planted={k: int((applied == k).sum()) for k in CORRUPTIONS},
        caught={name: caught_by_fault(applied, flagged) for name, flagged in checked.flagged.items()},
        unreadable=len(checked.unreadable),
        flagged=len(either),
        false_flags=int(sum(applied[line - 1] == "ok" for line in either)),
        crashed=crashed,
        dropped_silently=len(lenient.skipped_lines),
        shifted_labels=int(shifted),
        outcomes={name: res.outcome.value for name, res in checked.results.items()},
    )
    variants = {
        VARIANTS[0]: (list(train.texts), truth),
        VARIANTS[1]: (lenient.texts, lenient.labels),
        VARIANTS[2]: (by_position.texts, by_position.labels),
        VARIANTS[3]: (checked.kept["instruction"].tolist(), checked.kept["output"].tolist()),
    }
    return _Loaded(report, variants)


def fault_report(train: TextTask, rate: float, seed: int = 0, folder: str | Path | None = None) -> FaultReport:
    """Break a share ``rate`` of ``train``'s lines as :func:`corrupt_lines` does (same ``seed``, same lines), write
    the file (under ``folder``, or a temporary folder removed after) and report what the strict, lenient and
    by-position loaders and the project's loader and checks make of it. No model: cheap enough to compute at
    every ``rate`` of a grid (the page's corrupt-rate control)."""
    if folder is not None:
        return _load(train, rate, seed, Path(folder) / f"train-{seed}-{rate:g}.jsonl").report
    with tempfile.TemporaryDirectory(prefix="formatting-") as tmp:
        return _load(train, rate, seed, Path(tmp) / "train.jsonl").report


@dataclass
class _Prepared:
    seed: int
    test: TextTask
    loaded: _Loaded


def _prepare(task: TextTask, seed: int, rate: float, per_class: int, test_per_class: int, folder: Path) -> _Prepared:
    pool, test = split_task(task, test_per_class, seed=seed)
    train = stratified_sample(pool, per_class, seed=seed)
    return _Prepared(seed, test, _load(train, rate, seed, folder / f"train-{seed}.jsonl"))


def run_seeds(
    task: TextTask,
    seeds: Sequence[int],
    rate: float,
    per_class: int,
    test_per_class: int,
    folder: str | Path,
    embedder: Embedder | None = None,
    cache_dir: str | Path | None = None,
) -> list[FaultRun]:
    """The page's experiment once per seed: split ``task`` (``test_per_class`` test rows per label), sample
    ``per_class`` training rows per label, break a share ``rate`` of their lines (:func:`corrupt_lines`), write
    them under ``folder``, load them with the strict, lenient and by-position loaders and with the project's loader
    and checks, and score a linear probe trained on each of :data:`VARIANTS` on the clean test rows. Every text is
    embedded once, in one batch (cached on disk in ``cache_dir``)."""
    if not seeds:
        raise UsageError("run_seeds needs at least one seed")
    folder = Path(folder)
    prepared = [_prepare(task, s, rate, per_class, test_per_class, folder) for s in seeds]
    texts = [t for p in prepared for t in p.test.texts] + [
        t for p in prepared for texts, _ in p.loaded.variants.values() for t in texts
    ]
    table = VectorTable.embed(texts, embedder=embedder, cache_dir=cache_dir)
    runs = []
    for p in prepared:
        accuracy = {}
        for name, (texts_v, labels_v) in p.loaded.variants.items():
            model = train_probe(table.matrix(texts_v), label_ids(labels_v, task.label_names), seed=p.seed)
            accuracy[name] = evaluate_probe(model, table.matrix(p.test.texts), p.test.labels).accuracy
        r = p.loaded.report
        runs.append(
            FaultRun(
                seed=p.seed,
                planted=r.planted,
                caught=r.caught,
                flagged=r.flagged,
                false_flags=r.false_flags,
                crashed=r.crashed,
                dropped_silently=r.dropped_silently,
                shifted_labels=r.shifted_labels,
                accuracy=accuracy,
            )
        )
    return runs


@dataclass(frozen=True)
class FormatVerdicts:
    """The page's two claims judged over seeds. (a) ``drop``: clean accuracy minus the lenient loader's with a
    separate labels file, paired by seed, against :data:`MIN_DROP`. (b) ``recall`` and ``precision`` of the loader
    plus both checks on the planted faults, pooled over seeds (Wilson intervals), against :data:`MIN_RECALL` and
    :data:`MIN_PRECISION`, and ``loss``: the checked rows' accuracy minus the clean file's, paired by seed, against
    ``-MAX_LOSS``; ``b`` combines the three."""

    a: Verdict
    drop: Interval
    b: Verdict
    recall: Interval
    precision: Interval
    loss: Interval
    seeds: int

    def lines(self) -> list[str]:
        """One Markdown bullet per judged quantity, with its rule."""
        return [
            "- **(a)** " + CLAIM_DROP.sentence(self.drop),
            f"- **(b)** {self.b.value} (all three parts below must hold):",
            "  - " + CLAIM_RECALL.sentence(self.recall),
            "  - " + CLAIM_PRECISION.sentence(self.precision),
            "  - " + CLAIM_LOSS.sentence(self.loss),
        ]


CLAIM_DROP = Claim("clean minus shifted-labels accuracy", MIN_DROP, "above")
CLAIM_RECALL = Claim("share of planted faults the loader and checks found (recall)", MIN_RECALL, "above")
CLAIM_PRECISION = Claim("share of flagged lines that were planted (precision)", MIN_PRECISION, "above")
CLAIM_LOSS = Claim("checked-rows minus clean-file accuracy", -MAX_LOSS, "above")


def judge_format_faults(runs: Sequence[FaultRun]) -> FormatVerdicts:
    """Judge the page's claims from :func:`run_seeds` (see :class:`FormatVerdicts`). With fewer than two runs the
    accuracy intervals are infinite, so (a) and (b) are inconclusive."""
    if not runs:
        raise UsageError("no runs to judge")
    clean = [r.accuracy[VARIANTS[0]] for r in runs]
    drop = difference_interval(clean, [r.accuracy[VARIANTS[2]] for r in runs], paired=True)
    loss = difference_interval([r.accuracy[VARIANTS[3]] for r in runs], clean, paired=True)
    planted = sum(sum(r.planted.values()) for r in runs)
    caught = sum(sum(r.caught["either"].values()) for r in runs)
    flagged = sum(r.flagged for r in runs)
    recall = proportion_interval(caught, planted)
    precision = proportion_interval(flagged - sum(r.false_flags for r in runs), flagged)
    b = combine([CLAIM_RECALL.judge(recall), CLAIM_PRECISION.judge(precision), CLAIM_LOSS.judge(loss)])
    return FormatVerdicts(CLAIM_DROP.judge(drop), drop, b, recall, precision, loss, len(runs))


def seeds_record(runs: Sequence[FaultRun]) -> list[str]:
    """Markdown bullet lines saying what happened over ``runs``, counted from them (for the page's reading of its
    verdicts, so no outcome is written by hand): in how many seeds the strict loader crashed, the lenient one dropped
    lines silently and the separate labels file shifted labels; in how many the loader plus the checks found every
    planted line and how many clean lines they flagged; which faults a check found none of; and the best lower
    bound the recall interval can reach with this many planted lines."""
    if not runs:
        raise UsageError("no runs to summarise")
    n = len(runs)
    planted = {k: sum(r.planted[k] for r in runs) for k in CORRUPTIONS}
    all_found = sum(all(r.caught["either"][k] >= r.planted[k] for k in CORRUPTIONS) for r in runs)
    missed = [
        f"`{name}` found none of the {planted[k]} {k} lines"
        for name in runs[0].caught
        if name != "either"
        for k in CORRUPTIONS
        if planted[k] and not sum(r.caught[name][k] for r in runs)
    ]
    total = sum(planted.values())
    best = proportion_interval(total, total)
    return [
        f"- The strict loader crashed in {sum(r.crashed for r in runs)} of {n} seeds; the lenient loader dropped "
        f"lines without a message in {sum(r.dropped_silently > 0 for r in runs)} of {n} "
        f"({sum(r.dropped_silently for r in runs)} lines in all), and the separate labels file shifted labels in "
        f"{sum(r.shifted_labels > 0 for r in runs)} of {n} ({sum(r.shifted_labels for r in runs)} rows in all).",
        f"- The loader plus the checks found every planted line in {all_found} of {n} seeds and flagged "
        f"{sum(r.false_flags for r in runs)} clean lines over all seeds.",
        "- A check alone: " + ("; ".join(missed) if missed else "each check found some lines of every fault") + ".",
        f"- Recall is judged on {total} planted lines: even with every one found, the lower end of its 95 % Wilson "
        f"interval is {best.low:.3f}.",
    ]


def recall_table(runs: Sequence[FaultRun]) -> pd.DataFrame:
    """Per corruption (rows) and per check (columns, with ``"either"``), the planted lines caught over all
    ``runs``, as ``"caught/planted [low, high]"`` with the 95 % Wilson interval of the recall."""
    rows = {}
    for kind in CORRUPTIONS:
        planted = sum(r.planted[kind] for r in runs)
        row: dict[str, int | str] = {"planted": planted}
        for name in runs[0].caught:
            found = sum(r.caught[name][kind] for r in runs)
            iv = proportion_interval(found, planted)
            row[name] = f"{found}/{planted} [{iv.low:.2f}, {iv.high:.2f}]"
        rows[kind] = row
    return pd.DataFrame(rows).T
