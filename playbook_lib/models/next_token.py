"""Sampling over a real language model's next-token logits, token by token, with our own sampler and a seed.

Taught in the book's *Probabilistic outputs* page (``notebooks/dm_06_probabilistic_outputs.ipynb``).

:class:`NextTokenModel` wraps the local SmolLM2-135M-Instruct (``llama-cpp-python``, loaded as in
:class:`playbook_lib.rag.generate.LocalLlamaGenerator`). It reads the logits of the last position with
``llama_cpp.llama_get_logits_ith(ctx, -1)`` after ``Llama.eval`` (no ``logits_all``, which would keep a vocabulary-
sized row per token), and :meth:`NextTokenModel.generate` draws each token with
:func:`playbook_lib.models.sampling.sample` (temperature, then top-k, then top-p). The prompt is evaluated once and
its logits kept, so repeated samples of one prompt only pay for the generated tokens.

:func:`extraction_tasks` reads short field-extraction tasks (a business record, a question about one field, the
value) from the bundled sample data; :func:`measure_consistency` samples each task repeatedly at each setting and
reports distinct outputs, entropy, agreement and accuracy. A :class:`Setting` with ``retries`` puts a workflow
constraint around the sampler: :func:`grounded_value` (every word of the answer is in the record or frames it) checks each
draw, a failed draw is drawn again, and when every retry fails the greedy answer is used, so the output the workflow
returns is constrained whatever the temperature.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from playbook_lib import sample_data
from playbook_lib.errors import DataError
from playbook_lib.io.jsonl import iter_jsonl
from playbook_lib.models.sampling import consistency, sampling_distribution
from playbook_lib.rag.generate import LocalLlamaGenerator

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage

#: The instruction sent with every extraction prompt.
EXTRACTION_SYSTEM = "Answer with the exact value from the text, nothing else."


@dataclass(frozen=True)
class Sampled:
    """One generated continuation: its text, token ids and the probability our sampler gave each token."""

    text: str
    token_ids: list[int]
    token_probs: list[float]
    stopped: bool


class NextTokenModel:
    """Next-token logits and token-by-token sampling on a local GGUF chat model (default: SmolLM2-135M-Instruct).

    Args:
        model_path: a GGUF file; default as :class:`~playbook_lib.rag.generate.LocalLlamaGenerator`.
        n_ctx: context window in tokens.
        threads: CPU threads (``None``: ``PLAYBOOK_THREADS`` or all cores).
    """

    def __init__(self, model_path: str | None = None, n_ctx: int = 1024, threads: int | None = None) -> None:
        self._generator = LocalLlamaGenerator(model_path=model_path, n_ctx=n_ctx, threads=threads, system_prompt=None)
        self.name = self._generator.name
        self._prompt_cache: dict[tuple[int, ...], np.ndarray] = {}

    @property
    def llm(self) -> Any:
        """The loaded ``llama_cpp.Llama``."""
        return self._generator.llm

    @property
    def n_vocab(self) -> int:
        """Vocabulary size (the length of a logits vector)."""
        return int(self.llm.n_vocab())

    @property
    def eos_ids(self) -> set[int]:
        """Token ids that end a generation (end of sequence and the chat template's end-of-turn)."""
        ids = {int(self.llm.token_eos())}
        ids.update(self.llm.tokenize(b"<|im_end|>", add_bos=False, special=True)[:1])
        return ids

    def chat_tokens(self, user: str, system: str | None = None) -> list[int]:
        """Token ids of a one-turn chat prompt in the model's own chat template, ending where the answer starts."""
        from llama_cpp.llama_chat_format import (
            Jinja2ChatFormatter,  # lazy: llama-cpp loads a native library; only the local generator needs it
        )

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError(f"{self.name}: the GGUF file has no chat template")
        messages: list[ChatCompletionRequestMessage] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": user})
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode("utf-8", "replace")
        bos = self.llm.detokenize([self.llm.token_bos()], special=True).decode("utf-8", "replace")
        formatted = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)(messages=messages)
        return self.llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=False, special=True)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids (special tokens left out)."""
        return self.llm.detokenize(list(ids)).decode("utf-8", "replace")

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """Each token id as its own string, for plots and tables."""
        return [self.llm.detokenize([int(i)], special=True).decode("utf-8", "replace") for i in ids]

    def _fits(self, n: int, what: str) -> None:
        """A prompt longer than the context window is bad input (a long record in a user's tasks file), not a
        llama.cpp crash: one clear :class:`~playbook_lib.errors.DataError` before anything is evaluated."""
        if n > self._generator.n_ctx:
            raise DataError(
                f"{what}: {n} tokens, more than the model's context window of {self._generator.n_ctx}; "
                "shorten the record or pass a larger n_ctx"
            )

    def _eval(self, tokens: Sequence[int]) -> np.ndarray:
        import llama_cpp  # lazy: llama-cpp loads a native library; only the local generator needs it

        self.llm.eval(list(tokens))
        ptr = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).astype(np.float64)  # a copy: the buffer is reused

    def logits(self, tokens: Sequence[int]) -> np.ndarray:
        """Next-token logits after ``tokens`` (float64, length :attr:`n_vocab`); the prompt is evaluated afresh."""
        if len(tokens) == 0:
            raise ValueError("tokens must not be empty")
        self._fits(len(tokens), "the prompt")
        key = tuple(int(t) for t in tokens)
        if key not in self._prompt_cache:
            self.llm.reset()
            self._prompt_cache.clear()  # the model's KV cache now holds only this prompt
            self._prompt_cache[key] = self._eval(key)
        return self._prompt_cache[key].copy()

    def generate(
        self,
        tokens: Sequence[int],
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        max_tokens: int = 16,
        rng: np.random.Generator | int | None = None,
    ) -> Sampled:
        """Generate up to ``max_tokens`` tokens after ``tokens``, each drawn by our own sampler.

        Temperature 0 is greedy. The prompt's logits are computed once per prompt and reused; the model state is
        rewound to the end of the prompt before each generation, so samples are independent given ``rng``.
        """
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        self._fits(len(tokens) + max_tokens, f"the prompt and {max_tokens} generated tokens")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        logits = self.logits(tokens)
        self.llm.n_tokens = len(tokens)  # rewind: drop the previous generation from the KV cache
        stop = self.eos_ids
        out: list[int] = []
        probs: list[float] = []
        for _ in range(max_tokens):
            dist = sampling_distribution(logits, temperature, top_k, top_p)
            # exactly what `sample` does, without computing the distribution twice
            tok = int(np.argmax(dist)) if temperature == 0 else int(gen.choice(dist.size, p=dist))
            probs.append(float(dist[tok]))
            if tok in stop:
                return Sampled(self.decode(out).strip(), out, probs, True)
            out.append(tok)
            logits = self._eval([tok])
        return Sampled(self.decode(out).strip(), out, probs, False)

    def reference_greedy(self, tokens: Sequence[int], max_tokens: int = 16) -> str:
        """llama-cpp's own greedy decoding (its sampler, temperature 0) of the same prompt: the check on our logits."""
        self._prompt_cache.clear()
        self.llm.reset()
        out = self.llm.create_completion(
            list(tokens), max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0, stop=[]
        )
        self.llm.reset()
        return str(out["choices"][0]["text"])


@dataclass(frozen=True)
class ExtractionTask:
    """A prompt whose correct answer contains ``answer`` (case-insensitive); ``context`` is the record the prompt
    quotes (what a validator may check an answer against; it never sees ``answer``)."""

    id: str
    prompt: str
    answer: str
    context: str = ""

    def correct(self, output: str) -> bool:
        """Whether ``output`` contains the expected value."""
        return self.answer.casefold() in output.casefold()


def extraction_tasks(n: int | None = None, path: str | None = None) -> list[ExtractionTask]:
    """Field-extraction prompts: a short business record, a question about one field, the field's value.

    Read from ``path`` (JSONL with ``id``, ``context``, ``question``, ``answer``) or the bundled
    ``extraction_tasks.jsonl`` (records of the fictional Heronsgate Instruments, written for this project);
    the first ``n`` tasks in file order (all when ``None``).
    """

    source = Path(path) if path else sample_data.path("extraction_tasks.jsonl")
    if not source.is_file():
        raise DataError(f"{source}: extraction tasks file not found")
    tasks = []
    for line, row in iter_jsonl(source):
        if not isinstance(row, dict) or not all(
            isinstance(row.get(k), str) and row[k] for k in ("context", "question", "answer")
        ):
            raise DataError(f"{source}:{line}: expected context, question and answer strings")
        tasks.append(
            ExtractionTask(
                str(row.get("id", line)),
                f"{row['context']}\n\nQuestion: {row['question']}",
                row["answer"],
                row["context"],
            )
        )
    if not tasks:
        raise DataError(f"{source}: no extraction tasks in the file")
    return tasks[:n] if n is not None else tasks


#: Words an answer may use without the record containing them: the frame of a one-sentence answer ("The amount is
#: ...", "It was shipped to ..."), never a value.
FRAME_WORDS = frozenset(
    "a an the is are was were be been it its this that of to for in on at by from with and or as "
    "answer value text record exact named called".split()
)


def _words(text: str) -> list[str]:
    return re.findall(r"[\w][\w.,:/-]*[\w]|[\w]", text.casefold())


def grounded_value(output: str, context: str, max_words: int = 12) -> bool:
    """The extraction validator: ``output`` is non-empty, at most ``max_words`` words, and every word of it is in
    ``context`` or is one of :data:`FRAME_WORDS` (case ignored; the question's own words count as unsupported, as
    the validator sees only the record). It knows the record, never the expected answer: a constraint any
    extraction workflow can apply, and one that rejects an answer adding a city, a date or a number the record
    does not hold."""
    words = _words(output)
    if not words or len(words) > max_words:
        return False
    record = _words(context)
    known = set(record) | {w.strip(".,:") for w in record}
    return all(w in FRAME_WORDS or w in known or w.strip(".,:") in known for w in words)


@dataclass(frozen=True)
class Setting:
    """One sampling configuration; ``retries`` > 0 adds the validator loop (module docstring): up to ``retries``
    more draws while :func:`grounded_value` rejects the answer, then the greedy answer."""

    temperature: float
    top_k: int | None = None
    top_p: float | None = None
    retries: int = 0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")

    @property
    def label(self) -> str:
        """A short label, e.g. ``T=0.7 k=40 p=0.9`` or ``T=0.7 +validator(3)``."""
        parts = [f"T={self.temperature:g}"]
        if self.top_k is not None:
            parts.append(f"k={self.top_k}")
        if self.top_p is not None:
            parts.append(f"p={self.top_p:g}")
        if self.retries:
            parts.append(f"+validator({self.retries})")
        return " ".join(parts)


def measure_consistency(
    model: NextTokenModel,
    tasks: Sequence[ExtractionTask],
    settings: Sequence[Setting],
    n_samples: int = 5,
    max_tokens: int = 12,
    seed: int = 0,
    system: str = EXTRACTION_SYSTEM,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    first_index: int = 0,
) -> pd.DataFrame:
    """Sample every task ``n_samples`` times under every setting; one row per (setting, task).

    Columns: setting, temperature, top_k, top_p, retries, task, n, n_distinct, entropy_bits, agreement, accuracy
    (share of samples containing the answer), grounded (share passing :func:`grounded_value`), draws (model calls
    per returned answer: 1 without a validator), mode (the most frequent output), mode_correct. Seeds are derived
    from ``seed``, the setting's values and the task's position (``first_index`` is the position of ``tasks[0]`` in
    the whole list, so a run split into parts draws the same samples), so a run is reproducible. Temperature 0 is sampled
    ``n_samples`` times too: that it repeats itself is measured, not assumed.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    rows = []
    # task-major order: each prompt is evaluated once and its logits reused by every setting
    pairs = [(s, ti, t) for ti, t in enumerate(tasks) for s in settings]
    iterator = progress(pairs) if progress is not None else pairs
    for s, ti, task in iterator:
        tokens = model.chat_tokens(task.prompt, system)
        # the seed depends on the setting's values and the task, not on list positions: a setting gives the same
        # samples whichever other settings are measured beside it
        rng = np.random.default_rng(
            [seed, first_index + ti, round(s.temperature * 1000), s.top_k or 0, round((s.top_p or 0) * 1000)]
        )
        drawn = [_draw(model, tokens, s, max_tokens, rng, task.context) for _ in range(n_samples)]
        outputs = [text for text, _, _ in drawn]
        c = consistency(outputs)
        rows.append(
            {
                "setting": s.label,
                "temperature": s.temperature,
                "top_k": s.top_k,
                "top_p": s.top_p,
                "retries": s.retries,
                "task": task.id,
                "n": c.n,
                "n_distinct": c.n_distinct,
                "entropy_bits": c.entropy_bits,
                "agreement": c.agreement,
                "accuracy": float(np.mean([task.correct(o) for o in outputs])),
                "grounded": float(np.mean([ok for _, _, ok in drawn])),
                "draws": float(np.mean([calls for _, calls, _ in drawn])),
                "mode": c.mode,
                "mode_correct": task.correct(str(c.mode)),
            }
        )
    order = {id(s): i for i, s in enumerate(settings)}
    frame = pd.DataFrame(rows)
    frame["_order"] = [order[id(s)] for s, _, _ in pairs]
    return frame.sort_values(["_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _draw(
    model: NextTokenModel,
    tokens: Sequence[int],
    s: Setting,
    max_tokens: int,
    rng: np.random.Generator,
    context: str,
) -> tuple[str, int, bool]:
    """One answer under setting ``s``, the number of model calls it took (the validator loop of :class:`Setting`)
    and whether it passes :func:`grounded_value`, each draw checked once."""
    text = model.generate(tokens, s.temperature, s.top_k, s.top_p, max_tokens, rng).text
    ok = grounded_value(text, context)
    for attempt in range(s.retries):
        if ok:
            return text, attempt + 1, ok
        text = model.generate(tokens, s.temperature, s.top_k, s.top_p, max_tokens, rng).text
        ok = grounded_value(text, context)
    if s.retries and not ok:
        text = model.generate(tokens, 0.0, max_tokens=max_tokens).text  # the greedy fallback
        return text, s.retries + 2, grounded_value(text, context)
    return text, s.retries + 1, ok


def distribution_grid(
    logits: np.ndarray, temperatures: Sequence[float], top_ks: Sequence[int | None], top_ps: Sequence[float | None]
) -> pd.DataFrame:
    """For every (temperature, top_k, top_p): how many tokens can be drawn, the top token's probability and the
    entropy (bits) of the distribution :func:`~playbook_lib.models.sampling.sample` draws from. Pure arithmetic on
    one logits vector: the precomputed grid a static page shows in place of the sliders."""

    rows = []
    for t in temperatures:
        for k in top_ks:
            for p in top_ps:
                dist = sampling_distribution(logits, t, k, p)
                nz = dist[dist > 0]
                rows.append(
                    {
                        "temperature": t,
                        "top_k": k,
                        "top_p": p,
                        "candidates": int(nz.size),
                        "top_prob": float(dist.max()),
                        "entropy_bits": float(-(nz * np.log2(nz)).sum()),
                    }
                )
    return pd.DataFrame(rows)
