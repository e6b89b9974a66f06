"""Data synthesis with provenance: write synthetic rows for a coverage gap with a generator, tag every row with
where it came from (generator, prompt, seed, parent rows, time), and keep the rows in a JSONL ledger.

Taught in the book's *Data synthesis* page (``notebooks/dm_03_data_synthesis.ipynb``).

The generator is anything with the :class:`~playbook_lib.rag.generation.Generator` API (``name`` and
``generate(prompt, max_tokens, temperature, seed)``): the packaged SmolLM2 (:class:`~playbook_lib.rag.generate.
LocalLlamaGenerator`), an OpenAI-compatible endpoint, or :class:`TemplateGenerator`, a deterministic recombiner of
the parent rows for tests. The gap comes from the ``coverage`` check (:func:`gap_slices`). Rows that are empty, too
short, duplicates, or verbatim copies of a parent are rejected and counted, never kept silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from playbook_lib.checks.base import CheckResult
from playbook_lib.checks.contamination import ngrams
from playbook_lib.errors import DataError, UsageError
from playbook_lib.io.jsonl import iter_jsonl
from playbook_lib.io.outputs import check_outputs, write_atomic
from playbook_lib.rag.generation import Generation, Generator
from playbook_lib.text.normal import normalise

#: The prompt's name in the ledger, and its text; ``{label}``, ``{examples}`` and ``{next}`` are filled in.
PROMPT_NAME = "requests-v1"
PROMPT_TEMPLATE = (
    "Requests that need the '{label}' tool:\n{examples}\n\n"
    "Write request {next}: a new request of the same kind on a different topic. Reply with the request only."
)
#: The system prompt sent with :data:`PROMPT_TEMPLATE` to a chat model.
SYSTEM_PROMPT = "You write realistic example requests for a dataset."
#: Fields every ledger row has (``prompt`` may be null: see :func:`synthesize`'s ``keep_prompt``).
FIELDS = (
    "row_id",
    "text",
    "label",
    "provenance",
    "generator",
    "prompt_name",
    "prompt",
    "prompt_sha256",
    "seed",
    "parent_ids",
    "created",
)
_OPENER = re.compile(
    r"^(?:(?:sure|certainly|of course)\b[!,.]?|here(?:'s| is| are)[^:]*:|request \d+:|\d+[.)]|[-*\u2022])\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LedgerRow:
    """One synthetic row and its provenance: which generator wrote it, from which prompt (by name, SHA-256 and,
    when kept, text), with which seed, from which parent rows (their ids), and when (ISO 8601, UTC)."""

    row_id: str
    text: str
    label: str
    generator: str
    prompt_name: str
    prompt: str | None
    prompt_sha256: str
    seed: int
    parent_ids: tuple[str, ...]
    created: str
    provenance: str = "synthetic"

    def as_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict (``parent_ids`` as a list)."""
        out = asdict(self)
        out["parent_ids"] = list(self.parent_ids)
        return out


@dataclass
class SynthesisResult:
    """The rows kept and, per reason, how many generations were rejected."""

    rows: list[LedgerRow]
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def gap_slices(result: CheckResult) -> list[str]:
    """The slices a ``coverage`` check result names as under-covered or missing: what to synthesise for."""
    summary = result.summary
    if "under_covered" not in summary:
        raise UsageError("not a coverage check result (no 'under_covered' in its summary)")
    return [str(s) for s in list(summary["under_covered"]) + list(summary.get("missing_slices", []))]


def build_prompt(label: str, examples: Sequence[str], template: str = PROMPT_TEMPLATE) -> str:
    """The prompt asking for one new row of ``label`` after the numbered ``examples`` (whitespace collapsed)."""
    if not examples:
        raise UsageError("a synthesis prompt needs at least one parent example")
    lines = "\n".join(f"{i}. {' '.join(e.split())}" for i, e in enumerate(examples, start=1))
    return template.format(label=label, examples=lines, next=len(examples) + 1)


def clean_output(text: str) -> str:
    """The first non-empty line of a generation, without a stock opener, list marker or surrounding quotes."""
    for line in text.splitlines():
        line = line.strip()
        for _ in range(3):
            line = _OPENER.sub("", line).strip()
        line = line.strip("\"'` ").strip()
        if line:
            return line
    return ""


def parent_overlap(text: str, parents: Sequence[str], n: int = 5) -> float:
    """Share of the distinct word ``n``-grams of ``text`` found in any of ``parents``: 1.0 for a verbatim copy,
    0.0 for a row that shares no ``n``-word run with them (0.0 too for a row shorter than ``n`` words)."""
    grams = ngrams(text, n)
    if not grams:
        return 0.0
    seen = set().union(*(ngrams(p, n) for p in parents)) if parents else set()
    return len(grams & seen) / len(grams)


def _row_seed(seed: int, label: str, i: int) -> int:
    digest = hashlib.sha256(f"{seed}:{label}:{i}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def synthesize(
    generator: Generator,
    label: str,
    parents: Sequence[tuple[str, str]],
    n: int,
    seed: int = 0,
    shots: int = 3,
    min_words: int = 4,
    max_tokens: int = 48,
    temperature: float = 0.7,
    keep_prompt: bool = True,
    max_attempts: int | None = None,
    created: str | None = None,
) -> SynthesisResult:
    """Ask ``generator`` for ``n`` new rows of ``label``, each from a prompt showing ``shots`` of the ``parents``
    (``(id, text)`` pairs, drawn per row with the row's own seed), and tag each with its provenance.

    A generation is rejected (counted in ``rejected`` by reason) when, after :func:`clean_output`, it is empty,
    has fewer than ``min_words`` words, repeats a kept row, or is a verbatim copy of a parent (normalised text).
    Stops after ``max_attempts`` generations (default ``3 * n``), so fewer than ``n`` rows can come back.
    ``keep_prompt=False`` stores the prompt's name and SHA-256 but not its text: parents quoted from data you may
    not redistribute stay out of the ledger (rebuild the prompt from ``parent_ids`` and check the hash).
    """
    if n < 0 or shots < 1:
        raise UsageError(f"n must be >= 0 and shots >= 1, got n={n}, shots={shots}")
    if not parents:
        raise UsageError(f"no parent rows for {label!r}: synthesis starts from real examples")
    attempts = max_attempts if max_attempts is not None else 3 * n
    stamp = created or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    parent_keys = {normalise(t) for _, t in parents}
    seen: set[str] = set()
    out = SynthesisResult([])
    for i in range(attempts):
        if len(out.rows) >= n:
            break
        row_seed = _row_seed(seed, label, i)
        rng = np.random.default_rng(row_seed)
        pick = rng.choice(len(parents), size=min(shots, len(parents)), replace=False)
        shown = [parents[int(j)] for j in pick]
        prompt = build_prompt(label, [t for _, t in shown])
        generation: Generation = generator.generate(
            prompt, max_tokens=max_tokens, temperature=temperature, seed=row_seed
        )
        out.seconds += generation.seconds
        text = clean_output(generation.text)
        key = normalise(text)
        reason = (
            "empty"
            if not text
            else "too short"
            if len(text.split()) < min_words
            else "copies a parent"
            if key in parent_keys
            else "duplicate"
            if key in seen
            else None
        )
        if reason:
            out.rejected[reason] += 1
            continue
        seen.add(key)
        sha = _sha(prompt)
        out.rows.append(
            LedgerRow(
                row_id=_sha(f"{generation.model}\n{sha}\n{row_seed}\n{text}")[:16],
                text=text,
                label=label,
                generator=generation.model or generator.name,
                prompt_name=PROMPT_NAME,
                prompt=prompt if keep_prompt else None,
                prompt_sha256=sha,
                seed=row_seed,
                parent_ids=tuple(pid for pid, _ in shown),
                created=stamp,
            )
        )
    return out


def write_ledger(path: str | Path, rows: Sequence[LedgerRow], inputs: Mapping[str, str | Path | None] = {}) -> None:
    """Write ``rows`` as a JSONL ledger at ``path``, atomically; refused (:class:`UsageError`) when ``path`` names
    one of ``inputs`` (``{label: path}``, e.g. the parent data), so a ledger never replaces its own input."""
    check_outputs(dict(inputs), {"ledger": path})
    text = "".join(json.dumps(r.as_dict(), ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    write_atomic(path, text, what="the synthesis ledger")


def read_ledger(path: str | Path) -> list[LedgerRow]:
    """The rows of a ledger written by :func:`write_ledger`; a row missing a field, or not a synthetic row, is a
    :class:`DataError` naming ``file:line``."""
    rows = []
    for number, obj in iter_jsonl(Path(path)):
        missing = [f for f in FIELDS if not isinstance(obj, dict) or f not in obj]
        if missing:
            raise DataError(f"{path}:{number}: ledger row lacks {', '.join(missing)}")
        if obj["provenance"] != "synthetic" or not isinstance(obj["parent_ids"], list):
            raise DataError(f"{path}:{number}: not a synthetic ledger row (provenance, parent_ids)")
        rows.append(
            LedgerRow(
                row_id=str(obj["row_id"]),
                text=str(obj["text"]),
                label=str(obj["label"]),
                generator=str(obj["generator"]),
                prompt_name=str(obj["prompt_name"]),
                prompt=None if obj["prompt"] is None else str(obj["prompt"]),
                prompt_sha256=str(obj["prompt_sha256"]),
                seed=int(obj["seed"]),
                parent_ids=tuple(str(p) for p in obj["parent_ids"]),
                created=str(obj["created"]),
            )
        )
    return rows


class TemplateGenerator:
    """A deterministic stand-in for a language model (tests, machines without one): it reads the numbered
    examples of a :func:`build_prompt` prompt and splices the first half of one onto the second half of another,
    chosen by ``seed``. No model, no randomness beyond the seed."""

    name = "template"

    def generate(self, prompt: str, max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> Generation:
        examples = [m.group(1) for m in re.finditer(r"^\d+\. (.*)$", prompt, re.MULTILINE)]
        if not examples:
            return Generation("", self.name, 0, 0, 0.0)
        rng = np.random.default_rng(seed)
        a, b = (examples[int(i)].split() for i in rng.integers(0, len(examples), size=2))
        text = " ".join(a[: max(1, len(a) // 2)] + b[len(b) // 2 :])
        return Generation(text, self.name, len(prompt.split()), len(text.split()), 0.0)
