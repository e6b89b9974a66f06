"""Instruction following with the pretrained weights held fixed: the same model used as a raw text continuer, in
the chat template it was post-trained with, and in that template behind an output validator; and the verdicts of
the post-training data validators.

Taught in the book's *Post-training* page (``notebooks/dm_05_post_training.ipynb``), which tests the chapter's
heuristic: when "the model doesn't follow instructions reliably", you are hitting the limits of post-training or of
your prompt and output constraints, not of pretraining.

:func:`format_instructions` reads instructions that each carry a checkable format requirement (one letter from a
list, yes or no, a number only, a JSON object with a given key, one word, a comma-separated list of *n* items;
:data:`KINDS`), bundled in ``format_instructions.jsonl`` (written for this project). :func:`complies` is the checker
of each kind. :func:`run_instruction_following` samples every instruction over seeds under the three
:data:`CONDITIONS`, with one :class:`~playbook_lib.models.next_token.NextTokenModel` (so one set of weights):

1. ``raw text``: the instruction as plain text followed by ``Answer:`` (:data:`RAW_FORMAT`), no chat template: the
   model as a text continuer, the way a model is used before post-training;
2. ``chat template``: the one-turn chat prompt of the model's own template;
3. ``chat + validator``: the chat sample checked by :func:`complies` and drawn again, up to :data:`MAX_ATTEMPTS` in
   all, while it fails (the first attempt is the chat condition's own sample).

:func:`judge_instruction_following` judges the heuristic from the per-instruction compliance rates: it held when
compliance with the validator minus compliance as raw text is above :data:`MARGIN` over the whole paired 95 %
interval; the template alone and the validator alone are reported as parts. Every setting (temperature, token
limit, attempts, margin) is fixed here, before any run. :func:`judge_validators` holds the page's verdicts on the
post-training data checks (planted problems caught, length bias, real curated data rarely flagged).
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from playbook_lib import sample_data
from playbook_lib.errors import DataError, UsageError
from playbook_lib.experiments.tables import read_table
from playbook_lib.experiments.verdict import (
    Claim,
    Interval,
    Verdict,
    combine,
    difference_interval,
    proportion_interval,
)
from playbook_lib.io.jsonl import iter_jsonl

#: The format requirements an instruction can carry (the ``kind`` field of the instructions file).
KINDS = ("choice", "yes_no", "number", "json_key", "one_word", "comma_list")

#: The three ways of prompting the same weights (the ``condition`` column of a run's frame), in order.
CONDITIONS = ("raw text", "chat template", "chat + validator")

#: Condition 1's prompt: the instruction as a line of text and an answer cue, no chat template.
RAW_FORMAT = "{instruction}\nAnswer:"
#: Sampling temperature of every generation (no top-k or top-p), so seeds differ and a retry can differ.
TEMPERATURE = 0.7
#: Tokens generated at most per attempt (a compliant answer to every bundled instruction needs far fewer).
MAX_TOKENS = 16
#: Attempts in all under the validator (the first is the chat template's sample).
MAX_ATTEMPTS = 3
#: The heuristic held when compliance rises by more than this (a share of samples, 10 points) from raw text.
MARGIN = 0.10


@dataclass(frozen=True)
class Profile:
    """How much of the experiment a run covers: the first ``prompts`` instructions (all when ``None``) and the
    seeds ``0 .. seeds - 1``."""

    prompts: int | None
    seeds: int


#: ``small`` is what the page runs live (the first four instructions: a choice, yes/no, a number, JSON; about 20 s
#: on one uncontended thread); ``full`` is the committed table's run (``bench/instruction_following.py``, ~4 min).
PROFILES = {"small": Profile(prompts=4, seeds=5), "full": Profile(prompts=None, seeds=5)}


@dataclass(frozen=True)
class FormatInstruction:
    """An instruction whose answer must take a checkable form: ``kind`` (one of :data:`KINDS`), the allowed
    answers of a ``choice``, the key a ``json_key`` object must hold, the item count of a ``comma_list``."""

    id: str
    kind: str
    instruction: str
    options: tuple[str, ...] = ()
    key: str = ""
    count: int = 0

    def complies(self, output: str) -> bool:
        """Whether ``output`` meets this instruction's format (:func:`complies`)."""
        return complies(self, output)


_QUOTES = "\"'`"
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")


def _bare(output: str) -> str:
    """The answer without surrounding whitespace and quotes and one final full stop or exclamation mark."""
    text = output.strip()
    if text[-1:] in (".", "!"):
        text = text[:-1].rstrip()
    return text.strip(_QUOTES).strip()


def complies(item: FormatInstruction, output: str) -> bool:
    """Whether the whole of ``output`` has the form ``item`` asks for; the rules, per kind:

    - ``choice``: exactly one of ``item.options`` (case-insensitive);
    - ``yes_no``: ``yes`` or ``no`` (case-insensitive);
    - ``number``: one number in digits (``42``, ``-3.5``, ``1,000``);
    - ``json_key``: a JSON object (nothing before or after it) with ``item.key`` among its keys;
    - ``one_word``: one word of letters (an apostrophe or hyphen inside allowed);
    - ``comma_list``: ``item.count`` non-empty items separated by commas, each of at most three words, on one line.

    Surrounding whitespace and quotes and one final ``.`` or ``!`` are ignored (except for JSON); anything else
    (an explanation, a second line, Markdown) fails the format.
    """
    if item.kind == "json_key":
        try:
            value = json.loads(output.strip())
        except ValueError:
            return False
        return isinstance(value, dict) and item.key in value
    text = _bare(output)
    if item.kind == "choice":
        return text.casefold() in {o.casefold() for o in item.options}
    if item.kind == "yes_no":
        return text.casefold() in ("yes", "no")
    if item.kind == "number":
        return _NUMBER.fullmatch(text) is not None
    if item.kind == "one_word":
        return _WORD.fullmatch(text) is not None
    if item.kind == "comma_list":
        parts = [p.strip() for p in text.split(",")]
        return "\n" not in text and len(parts) == item.count and all(p and len(p.split()) <= 3 for p in parts)
    raise UsageError(f"unknown format kind {item.kind!r}; valid: {', '.join(KINDS)}")


def format_instructions(n: int | None = None, path: str | Path | None = None) -> list[FormatInstruction]:
    """Instructions with a format requirement, from ``path`` (JSONL: ``id``, ``kind``, ``instruction``, and
    ``options`` for ``choice``, ``key`` for ``json_key``, ``count`` for ``comma_list``) or the bundled
    ``format_instructions.jsonl`` (42 instructions, 7 of each kind, interleaved, written for this project); the
    first ``n`` in file order (all when ``None``). A row that does not say its requirement is a
    :class:`~playbook_lib.errors.DataError`."""
    source = Path(path) if path else sample_data.path("format_instructions.jsonl")
    if not source.is_file():
        raise DataError(f"{source}: instructions file not found")
    items = []
    for line, row in iter_jsonl(source):
        where = f"{source.name}:{line}"
        if not isinstance(row, dict) or not isinstance(row.get("instruction"), str) or not row["instruction"]:
            raise DataError(f"{where}: expected an object with an 'instruction' string")
        kind = row.get("kind")
        if kind not in KINDS:
            raise DataError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        options = row.get("options", [])
        if kind == "choice" and not (
            isinstance(options, list) and options and all(isinstance(o, str) and o for o in options)
        ):
            raise DataError(f"{where}: a choice needs a non-empty 'options' list of strings")
        if kind == "json_key" and not (isinstance(row.get("key"), str) and row["key"]):
            raise DataError(f"{where}: a json_key instruction needs a 'key' string")
        count = row.get("count", 0)
        if kind == "comma_list" and not (isinstance(count, int) and not isinstance(count, bool) and count >= 2):
            raise DataError(f"{where}: a comma_list needs an integer 'count' >= 2")
        items.append(
            FormatInstruction(
                str(row.get("id", line)),
                kind,
                row["instruction"],
                tuple(options) if kind == "choice" else (),
                str(row.get("key", "")) if kind == "json_key" else "",
                int(count) if kind == "comma_list" else 0,
            )
        )
    if not items:
        raise DataError(f"{source}: no instructions")
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise DataError(f"{source}: ids must be unique (repeated: {sorted({i for i in ids if ids.count(i) > 1})})")
    return items[:n] if n is not None else items


class _Sample(Protocol):
    text: str
    token_ids: list[int]


class SamplingModel(Protocol):
    """What :func:`run_instruction_following` needs of a model (:class:`~playbook_lib.models.next_token.
    NextTokenModel` has it): its ``llm`` (for ``tokenize``), ``chat_tokens`` and ``generate``."""

    name: str

    @property
    def llm(self) -> Any: ...

    def chat_tokens(self, user: str, system: str | None = None) -> list[int]: ...

    def generate(
        self,
        tokens: Sequence[int],
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        max_tokens: int = 16,
        rng: np.random.Generator | int | None = None,
    ) -> _Sample: ...


def raw_tokens(model: SamplingModel, instruction: str) -> list[int]:
    """Token ids of condition 1's prompt (:data:`RAW_FORMAT`): plain text, no special tokens, no template."""
    text = RAW_FORMAT.format(instruction=instruction)
    return list(model.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))


def first_line(output: str) -> str:
    """The output up to its first line break (what a ``stop=["\\n"]`` setting would have kept)."""
    return output.strip().split("\n", 1)[0]


def run_instruction_following(
    model: SamplingModel,
    items: Sequence[FormatInstruction],
    seeds: int,
    temperature: float = TEMPERATURE,
    max_tokens: int = MAX_TOKENS,
    max_attempts: int = MAX_ATTEMPTS,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> pd.DataFrame:
    """Sample every instruction with seeds ``0 .. seeds - 1`` under every condition; one row per (instruction,
    condition, seed).

    Columns: ``id``, ``kind``, ``condition``, ``seed``, ``output`` (the last attempt's text), ``complies``
    (:func:`complies` on it), ``first_line_complies`` (the same on its :func:`first_line`, a descriptive extra),
    ``attempts``, ``tokens`` (generated over all attempts) and ``seconds``. Each (instruction, seed) has its own
    random generator per prompt format, so a run is reproducible and a subset of instructions gives the same rows
    as the full run; the validator's retries continue the chat condition's generator.
    """
    if seeds < 1:
        raise UsageError(f"seeds must be >= 1, got {seeds}")
    if max_attempts < 1:
        raise UsageError(f"max_attempts must be >= 1, got {max_attempts}")
    rows: list[dict[str, Any]] = []
    iterator = progress(list(enumerate(items))) if progress is not None else enumerate(items)
    for index, item in iterator:
        # instruction-major order: each prompt is evaluated once and reused by every seed
        for fmt, tokens in ((0, raw_tokens(model, item.instruction)), (1, model.chat_tokens(item.instruction))):
            for seed in range(seeds):
                rng = np.random.default_rng([seed, index, fmt])
                start = time.perf_counter()
                sample = model.generate(tokens, temperature, max_tokens=max_tokens, rng=rng)
                ok, used, spent = complies(item, sample.text), 1, len(sample.token_ids)
                rows.append(_row(item, CONDITIONS[fmt], seed, sample.text, ok, used, spent, start))
                if fmt == 0:
                    continue
                while not ok and used < max_attempts:
                    sample = model.generate(tokens, temperature, max_tokens=max_tokens, rng=rng)
                    ok, used, spent = complies(item, sample.text), used + 1, spent + len(sample.token_ids)
                rows.append(_row(item, CONDITIONS[2], seed, sample.text, ok, used, spent, start))
    frame = pd.DataFrame(rows)
    frame["_c"] = frame["condition"].map({c: i for i, c in enumerate(CONDITIONS)})
    return frame.sort_values(["_c"], kind="stable").drop(columns="_c").reset_index(drop=True)


def _row(
    item: FormatInstruction, condition: str, seed: int, text: str, ok: bool, attempts: int, tokens: int, start: float
) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "condition": condition,
        "seed": seed,
        "output": text,
        "complies": bool(ok),
        "first_line_complies": complies(item, first_line(text)),
        "attempts": attempts,
        "tokens": tokens,
        "seconds": round(time.perf_counter() - start, 4),
    }


#: Columns a run's frame (and the committed table) must have.
RESULT_COLUMNS = ("id", "kind", "condition", "seed", "output", "complies", "first_line_complies", "attempts")


def compliance_by_prompt(frame: pd.DataFrame, column: str = "complies") -> pd.DataFrame:
    """Per instruction (rows) and condition (columns, in :data:`CONDITIONS` order), the share of seeds whose
    output complies."""
    _require(frame)
    table = frame.pivot_table(index="id", columns="condition", values=column, aggfunc="mean")
    return table.reindex(columns=[c for c in CONDITIONS if c in table.columns]).astype(float)


def compliance_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per condition: samples, compliance with its 95 % Wilson interval (samples of one instruction are not
    independent, so the verdict uses the paired per-instruction interval instead), compliance of the first line
    only, mean attempts and generated tokens per sample."""
    _require(frame)
    rows = []
    for condition in CONDITIONS:
        part = frame[frame["condition"] == condition]
        if part.empty:
            continue
        iv = proportion_interval(int(part["complies"].sum()), len(part))
        rows.append(
            {
                "condition": condition,
                "samples": len(part),
                "compliance": iv.estimate,
                "95% interval": f"[{iv.low:.2f}, {iv.high:.2f}]",
                "first line only": float(part["first_line_complies"].mean()),
                "attempts": float(part["attempts"].mean()),
                "tokens": float(part["tokens"].mean()) if "tokens" in part else float("nan"),
            }
        )
    return pd.DataFrame(rows).set_index("condition")


def _require(frame: pd.DataFrame) -> None:
    missing = set(RESULT_COLUMNS) - set(frame.columns)
    if missing:
        raise UsageError(f"not a run of run_instruction_following: missing columns {sorted(missing)}")


#: The heuristic: compliance with the template and validator minus compliance as raw text.
CLAIM_STACK = Claim("compliance(chat + validator) - compliance(raw text)", MARGIN, "above")
#: Part: what the post-training chat template alone adds.
CLAIM_TEMPLATE = Claim("compliance(chat template) - compliance(raw text)", MARGIN, "above")
#: Part: what the output validator adds on top of the template.
CLAIM_VALIDATOR = Claim("compliance(chat + validator) - compliance(chat template)", MARGIN, "above")


@dataclass(frozen=True)
class InstructionVerdicts:
    """The page's verdicts on the heuristic: ``stack`` (the heuristic, :data:`CLAIM_STACK`) and its parts
    ``template`` and ``validator``, each with the paired interval over ``prompts`` instructions of the
    per-instruction difference in compliance (each instruction's share of ``seeds`` seeds)."""

    stack: Verdict
    template: Verdict
    validator: Verdict
    intervals: dict[str, Interval]
    prompts: int
    seeds: int

    def lines(self) -> list[str]:
        """One Markdown bullet per claim: the verdict, the effect with its interval, the rule."""
        claims = (("stack", CLAIM_STACK), ("template", CLAIM_TEMPLATE), ("validator", CLAIM_VALIDATOR))
        names = {
            "stack": "**the heuristic**",
            "template": "part: the template alone",
            "validator": "part: the validator",
        }
        return [f"- {names[k]}: {c.sentence(self.intervals[k])}" for k, c in claims]


def judge_instruction_following(frame: pd.DataFrame) -> InstructionVerdicts:
    """Judge the heuristic from a run (:func:`run_instruction_following` or the committed table) with the claims
    fixed above: per instruction the share of seeds that comply under each condition, then paired differences
    over instructions (a t interval; fewer than two instructions give an infinite one, so inconclusive)."""
    rates = compliance_by_prompt(frame)
    missing = [c for c in CONDITIONS if c not in rates.columns]
    if missing:
        raise UsageError(f"the run lacks condition(s) {missing}")
    raw, chat, valid = (rates[c].to_numpy() for c in CONDITIONS)
    intervals = {
        "stack": difference_interval(valid, raw),
        "template": difference_interval(chat, raw),
        "validator": difference_interval(valid, chat),
    }
    return InstructionVerdicts(
        CLAIM_STACK.judge(intervals["stack"]),
        CLAIM_TEMPLATE.judge(intervals["template"]),
        CLAIM_VALIDATOR.judge(intervals["validator"]),
        intervals,
        len(rates),
        int(frame["seed"].nunique()),
    )


def matching_share(live: pd.DataFrame, table: pd.DataFrame) -> float:
    """The share of ``live`` rows (instruction, condition, seed) whose output equals the same row of ``table`` (a
    run on the same machine and settings reproduces its subset of the full run: 1.0); NaN when none is shared."""
    _require(live)
    _require(table)
    keys = ["id", "condition", "seed"]
    both = live[[*keys, "output"]].merge(table[[*keys, "output"]], on=keys, suffixes=("", "_table"))
    return float((both["output"] == both["output_table"]).mean()) if len(both) else float("nan")


def read_results(path: str | Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The committed full-profile table (``notebooks/results/dm_05_post_training.csv``, written by
    ``bench/instruction_following.py``): its rows and ``# key: value`` header."""
    frame, meta = read_table(path, RESULT_COLUMNS)
    frame["output"] = frame["output"].fillna("").astype(str)
    for column in ("complies", "first_line_complies"):
        frame[column] = frame[column].astype(bool)
    return frame, meta


#: What each kind of format asks for, as the page's explorer names it.
KIND_LABELS = {
    "choice": "one letter from a list",
    "yes_no": "yes or no",
    "number": "a number only",
    "json_key": "a JSON object with a given key",
    "one_word": "one word",
    "comma_list": "a comma-separated list of n items",
}


def _cells(cells: list[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"


def kind_summary(frame: pd.DataFrame, kind: str) -> str:
    """HTML for one setting of the post-training page's explorer over the committed table (:func:`read_results`
    or :func:`~playbook_lib.experiments.tables.read_table` of it): for the instructions of format ``kind`` (one of
    :data:`KINDS`, or ``"all"``), each condition's compliance with its 95 % Wilson interval over samples (as in
    :func:`compliance_table`), the first-line-only share, mean attempts and tokens; then what the page's rule (:func:`judge_instruction_following`) says on those
    instructions: for one kind a subgroup of the page's verdict, for ``"all"`` the page's verdict itself, with the
    count of kinds on which the heuristic held."""
    _require(frame)
    if kind != "all" and kind not in KINDS:
        raise UsageError(f"unknown format kind {kind!r}; valid: all, {', '.join(KINDS)}")
    part = frame if kind == "all" else frame[frame["kind"] == kind]
    if part.empty:
        raise UsageError(f"the table has no instructions of kind {kind!r}")
    rows = [
        [
            str(condition),
            f"{int(r['samples']):,}",
            f"{r['compliance']:.2f} {r['95% interval']}",
            f"{r['first line only']:.2f}",
            f"{r['attempts']:.2f}",
            f"{r['tokens']:.1f}" if "tokens" in part else "n/a",
        ]
        for condition, r in compliance_table(part).iterrows()
    ]
    header = ["condition", "samples", "compliance", "first line only", "attempts", "tokens"]
    table = f"<table><thead>{_cells(header, 'th')}</thead><tbody>{''.join(_cells(r) for r in rows)}</tbody></table>"
    what = "all formats" if kind == "all" else f"{kind} ({KIND_LABELS[kind]})"
    verdicts = judge_instruction_following(part)
    head = (
        f"<p data-pb-format='{html.escape(kind)}'>{html.escape(what)}: {verdicts.prompts} instructions x "
        f"{verdicts.seeds} seeds; compliance is the share of samples in the asked format [95 % Wilson interval; "
        "the verdict below pairs the conditions per instruction instead]</p>"
    )
    claims = (("stack", CLAIM_STACK), ("template", CLAIM_TEMPLATE), ("validator", CLAIM_VALIDATOR))
    names = {"stack": "the heuristic", "template": "part: the template alone", "validator": "part: the validator"}
    items = "".join(f"<li>{names[k]}: {html.escape(c.sentence(verdicts.intervals[k]))}</li>" for k, c in claims)
    if kind == "all":
        held = sum(
            judge_instruction_following(frame[frame["kind"] == k]).stack is Verdict.HELD
            for k in KINDS
            if (frame["kind"] == k).any()
        )
        scope = f"The page's verdict, over every instruction; judged kind by kind, the heuristic held for {held}."
    else:
        scope = (
            f"Judged on this kind's {verdicts.prompts} instructions only: a subgroup of the page's verdict, "
            "which is the one over every instruction."
        )
    return (
        head
        + table
        + f"<p><strong>The heuristic on {html.escape(what)}: {verdicts.stack.value}</strong></p>"
        + f"<ul>{items}</ul><p>{html.escape(scope)}</p>"
    )


# --- the post-training data validators' verdicts -------------------------------------------------------------------

#: Planted problems flagged, over every planted problem in the bundled samples.
CLAIM_RECALL = Claim("share of planted problems flagged", 0.9, "above")
#: Flagged rows that carry a planted problem, over every flagged row.
CLAIM_PRECISION = Claim("share of flagged rows that were planted", 0.9, "above")
#: Pairs whose chosen answer is the longer (ties count half): 0.5 means length does not predict the label.
CLAIM_LENGTH = Claim("share of pairs whose chosen answer is longer", 0.5, "above")
#: Rows of a real curated SFT set that the ``sft_pairs`` check flags.
CLAIM_REAL = Claim("share of curated rows flagged", 0.05, "below")


@dataclass(frozen=True)
class ValidatorVerdicts:
    """The page's verdicts on the post-training data checks; a part is ``None`` where its input was not given
    (the user's own files carry no planted marks). ``planted`` combines recall and precision."""

    planted: Verdict | None = None
    length_bias: Verdict | None = None
    real: Verdict | None = None
    intervals: dict[str, Interval] = field(default_factory=dict)
    counts: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """One Markdown bullet per judged claim, with its counts."""
        out = []
        for key, claim in (
            ("recall", CLAIM_RECALL),
            ("precision", CLAIM_PRECISION),
            ("length", CLAIM_LENGTH),
            ("real", CLAIM_REAL),
        ):
            if key in self.intervals:
                out.append(f"- {claim.sentence(self.intervals[key])}; {self.counts[key]}")
        return out


def judge_validators(
    planted: Sequence[np.ndarray | Sequence[bool]] = (),
    flags: Sequence[np.ndarray | Sequence[bool]] = (),
    chosen_longer: float | None = None,
    pairs: int | None = None,
    real_flagged: int | None = None,
    real_rows: int | None = None,
) -> ValidatorVerdicts:
    """Judge the validators: ``planted`` and ``flags`` are, per sample file, which rows carry a planted problem
    and which the check flagged (pooled: recall and precision must both be above 0.9 over their Wilson
    intervals); ``chosen_longer`` of ``pairs`` preference pairs have the longer chosen answer (ties count half;
    the share must be above 0.5); ``real_flagged`` of ``real_rows`` curated rows are flagged (below 5 %)."""
    if len(planted) != len(flags):
        raise UsageError(f"one flags array per planted array: {len(planted)} and {len(flags)}")
    intervals: dict[str, Interval] = {}
    counts: dict[str, str] = {}
    planted_verdict = length_verdict = real_verdict = None
    if planted:
        marks = [np.asarray(p, dtype=bool) for p in planted]
        hits = [np.asarray(f, dtype=bool) for f in flags]
        if any(m.shape != h.shape for m, h in zip(marks, hits)):
            raise UsageError("each flags array must have one value per row of its planted array")
        n_planted = sum(int(m.sum()) for m in marks)
        caught = sum(int((m & h).sum()) for m, h in zip(marks, hits))
        flagged = sum(int(h.sum()) for h in hits)
        intervals["recall"] = proportion_interval(caught, n_planted)
        intervals["precision"] = proportion_interval(caught, flagged)
        counts["recall"] = f"{caught} of {n_planted} planted problems flagged"
        counts["precision"] = f"{flagged - caught} false alarms among {flagged} flagged rows"
        planted_verdict = combine(
            [CLAIM_RECALL.judge(intervals["recall"]), CLAIM_PRECISION.judge(intervals["precision"])]
        )
    if chosen_longer is not None and pairs is not None:
        if not 0 <= chosen_longer <= pairs:
            raise UsageError(f"chosen_longer must be in [0, pairs], got {chosen_longer} of {pairs}")
        intervals["length"] = proportion_interval(int(round(chosen_longer)), int(pairs))
        counts["length"] = f"chosen longer in {chosen_longer:g} of {pairs} pairs (ties count half)"
        length_verdict = CLAIM_LENGTH.judge(intervals["length"])
    if real_flagged is not None and real_rows is not None:
        if not 0 <= real_flagged <= real_rows:
            raise UsageError(f"real_flagged must be in [0, real_rows], got {real_flagged} of {real_rows}")
        intervals["real"] = proportion_interval(int(real_flagged), int(real_rows))
        counts["real"] = f"{real_flagged} of {real_rows} rows flagged"
        real_verdict = CLAIM_REAL.judge(intervals["real"])
    return ValidatorVerdicts(planted_verdict, length_verdict, real_verdict, intervals, counts)
