"""Formatting faults in a chat-format training file, what a quick loading script does with them, and what the
project's loader and ``formatting`` check report instead.

Taught in the book's *Formatting errors* page (``notebooks/exp_08_formatting_errors.ipynb``).

A task row becomes one JSONL line ``{"messages": [{"role": "user", "content": TEXT}, {"role": "assistant",
"content": LABEL}]}``. :func:`corrupt_lines` breaks a share of the lines in one of four ways (:data:`CORRUPTIONS`)
and says which. :func:`naive_load` is the loader people write in five minutes; comparing its output with the truth
shows rows silently dropped, labels shifted and garbage labels created.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from playbook_lib.errors import UsageError
from playbook_lib.experiments.tasks import TextTask
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
