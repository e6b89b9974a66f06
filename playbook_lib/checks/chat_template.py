"""Chat data against the target model's own chat template: role order, the generation prompt, and token counts.

Taught in the book's *Post-training* page (``notebooks/dm_05_post_training.ipynb``), "Post-training": a chat row is
trained on the text the model's chat template renders from it, so the template is the real validator of role order
and the real measure of length. :class:`ChatTemplateCheck` (``chat_template``) renders each chat row's ``messages``
with the Jinja template of a local ``tokenizer_config.json`` the team points to (``tokenizer_config``: the file, its
folder, or a ``.gguf`` model file whose metadata holds ``tokenizer.chat_template``) and flags a row when

- the template raises for it (``raise_exception('Conversation roles must alternate ...')``): the template's own
  message, masked, on one line;
- the template renders it but the chat still breaks the order :func:`~playbook_lib.checks.formatting._role_problem`
  checks (a template that does not validate roles);
- with ``add_generation_prompt`` (default): the prompt rendered with ``add_generation_prompt=True`` (what the model
  sees at inference) is not a prefix of the training text, or the training text after it is not the last assistant
  turn's content followed only by the template's special tokens (end of turn) and whitespace, or holds no special
  token at all (the model would not learn to stop);
- with ``max_tokens``: the training text has more tokens than that, counted with the model's own tokenizer
  (``tokenizer``, or ``tokenizer.json`` beside the config, read with the ``tokenizers`` package; for a ``.gguf``, its
  own vocabulary read with llama-cpp-python when installed). Without tokenizer files no count is guessed: the summary
  and the message say that token counts were not evaluated.

The metric ``flagged_rate`` is the share of chat rows flagged. Rows without ``messages`` are not this check's (a
dataset with no chat row is not evaluated), and without ``tokenizer_config`` the check is not evaluated, with the
one line that says how to supply it. A template file that is missing, not JSON, holds no ``chat_template`` or does
not compile is a :class:`~playbook_lib.errors.UsageError` naming the file.

The template is treated as hostile, as ``transformers`` does: it runs in Jinja's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` (no attribute starting with ``_``, no mutation of the data,
no file system: there is no loader, so ``include`` and ``import`` fail), with ``trim_blocks``, ``lstrip_blocks``,
``raise_exception``, ``tojson`` and ``strftime_now`` as in ``transformers``. On top of that: ``*``, ``**`` and ``+``
refuse results longer than :data:`MAX_VALUE` items, filters refuse integer arguments above it (``center(10**9)``),
a rendering longer than ``max_render_ratio`` times the row's text (plus a per-turn allowance) is stopped as it is
produced, and a rendering that runs longer than ``timeout_s`` is stopped by a trace function on the template's own
code (loops that print nothing included). Any of these, or an unsafe attribute access, refuses the template for the
whole run (a :class:`UsageError`), since it would do the same on every row. Not capped: the memory one string
concatenation (``~``) can take inside the time limit.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import re
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

import jinja2
import numpy as np
import pandas as pd
import pyarrow as pa
from jinja2.sandbox import ImmutableSandboxedEnvironment

from playbook_lib.checks.base import CheckContext, CheckResult
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.formatting import _role_problem
from playbook_lib.checks.registry import register
from playbook_lib.errors import UsageError
from playbook_lib.text.normal import snippet

#: The longest string or list ``*``, ``**`` and ``+`` may build, and the largest integer a filter may take.
MAX_VALUE = 100_000
#: Characters of rendered text allowed per turn on top of ``max_render_ratio`` times the row's text (a template
#: adds role headers, a default system prompt, a date line).
TURN_ALLOWANCE = 256
_HINT = (
    "no chat template: set tokenizer_config to the target model's local tokenizer_config.json (or its folder, "
    "or its .gguf file)"
)


class _Refused(Exception):
    """The template did something no chat template needs (ran too long, rendered too much): refused for the run."""


class _Guarded(ImmutableSandboxedEnvironment):
    """The sandbox of ``transformers`` plus size limits on ``*``, ``**`` and ``+`` (intercepted operators are also
    never folded at compile time, so ``{{ 9 ** 9 ** 9 }}`` cannot hang the compiler)."""

    intercepted_binops = frozenset(["*", "**", "+"])

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64 and abs(left) > 1:
            raise jinja2.sandbox.SecurityError(f"power with exponent {right} is not allowed")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_VALUE:
                    raise jinja2.sandbox.SecurityError(f"a sequence longer than {MAX_VALUE} is not allowed")
        if operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            if len(left) + len(right) > 10 * MAX_VALUE:
                raise jinja2.sandbox.SecurityError(f"a sequence longer than {10 * MAX_VALUE} is not allowed")
        return super().call_binop(context, operator, left, right)

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        """An unsafe attribute (``__class__``) refuses the template at once (Jinja's default prints nothing)."""
        raise jinja2.sandbox.SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} is unsafe")

    def _load_template(self, name: Any, globals: Any) -> jinja2.Template:
        """``include``, ``import`` and ``extends``: a chat template reads no other file."""
        raise jinja2.sandbox.SecurityError(f"a chat template cannot load another template ({snippet(str(name), 60)})")


def _capped(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses integer arguments above :data:`MAX_VALUE` (``center(10**9)``, ``indent(10**9)``)."""

    @functools.wraps(fn)  # copies jinja_pass_arg, so pass_context/pass_environment filters keep working
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for value in (*args[1:], *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_VALUE:
                raise jinja2.sandbox.SecurityError(f"filter {fn.__name__} argument {value} is too large")
        return fn(*args, **kwargs)

    return wrapper


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(
    x: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None, sort_keys: bool = False
) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


def _environment() -> _Guarded:
    env = _Guarded(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters = {name: _capped(fn) for name, fn in env.filters.items()}
    env.filters["tojson"] = _capped(_tojson)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


class _Deadline:
    """A trace function on the template's compiled code only (``<template>``): past the deadline the next line the
    template runs raises :class:`_Refused` inside it, so a loop that prints nothing is stopped too."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = math.inf
        self.events = 0

    def __enter__(self) -> _Deadline:
        self.deadline = time.monotonic() + self.seconds
        self.previous = sys.gettrace()
        sys.settrace(self.calls)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self.previous)

    def calls(self, frame: FrameType, event: str, arg: Any) -> Any:
        return self.lines if frame.f_code.co_filename == "<template>" else None

    def lines(self, frame: FrameType, event: str, arg: Any) -> Any:
        self.events += 1
        if self.events % 256 == 0 and time.monotonic() > self.deadline:
            raise _Refused(f"rendering one row took more than {self.seconds:g} s")
        return self.lines


def _token_text(value: Any) -> str | None:
    """A special token given as a string or as an ``AddedToken`` dict (``{"content": ...}``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None


@dataclass
class ChatTemplate:
    """A model's chat template: the Jinja source, where it came from, the special tokens the template sees as
    variables (``bos_token``, ``eos_token``, ...) and every special token string (for the end-of-turn test)."""

    source: str
    origin: str
    variables: dict[str, str] = field(default_factory=dict)
    special: set[str] = field(default_factory=set)
    tokenizer: Path | None = None

    def compile(self) -> jinja2.Template:
        """The template compiled in the sandbox; a syntax error is a one-line :class:`UsageError`."""
        try:
            return _environment().from_string(self.source)
        except jinja2.TemplateSyntaxError as exc:
            raise UsageError(
                f"{self.origin}: chat_template does not compile: {exc.message} (line {exc.lineno})"
            ) from None
        except jinja2.TemplateError as exc:
            raise UsageError(f"{self.origin}: chat_template does not compile: {snippet(str(exc), 200)}") from None


def _pick(template: Any, name: str | None, origin: str) -> str:
    """The template text of ``chat_template``: a string, or a list of ``{"name", "template"}`` (Hugging Face's named
    templates: ``name``, else ``default``, else the only one)."""
    if isinstance(template, str) and template.strip():
        if name is not None:
            raise UsageError(f"{origin}: template_name {name!r} given but chat_template is a single template")
        return template
    if isinstance(template, list) and template:
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        wanted = name or ("default" if "default" in named or len(named) != 1 else next(iter(named)))
        chosen = named.get(wanted)
        if not isinstance(chosen, str) or not chosen.strip():
            names = ", ".join(str(k) for k in named)
            raise UsageError(f"{origin}: no chat template named {wanted!r} (templates: {names})")
        return chosen
    raise UsageError(f"{origin}: chat_template is not a template (a string or a list of named templates)")


def load_chat_template(path: str | Path, template_name: str | None = None) -> ChatTemplate:
    """Read a chat template from a ``tokenizer_config.json``, a folder holding one (or ``chat_template.jinja``), or
    a ``.gguf`` file's metadata. A ``tokenizer.json`` in the same folder is the tokenizer.

    Raises:
        UsageError: one line naming the file: missing, unreadable, not JSON, no ``chat_template``.
    """
    p = Path(path)
    if p.suffix.lower() == ".gguf":
        return _from_gguf(p, template_name)
    folder = p if p.is_dir() else p.parent
    config_path = folder / "tokenizer_config.json" if p.is_dir() else p
    if not config_path.is_file():
        raise UsageError(f"{config_path}: tokenizer_config not found (a tokenizer_config.json or its folder)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise UsageError(f"{config_path}: not a JSON tokenizer config ({reason})") from None
    if not isinstance(config, dict):
        raise UsageError(f"{config_path}: not a JSON object")
    origin = str(config_path)
    template = config.get("chat_template")
    jinja_file = folder / "chat_template.jinja"
    if template is None and jinja_file.is_file():  # newer Hugging Face repositories keep the template apart
        template, origin = jinja_file.read_text(encoding="utf-8"), str(jinja_file)
    if template is None:
        raise UsageError(f"{config_path}: no chat_template in the tokenizer config")
    variables: dict[str, str] = {}
    special: set[str] = set()
    for key, value in config.items():
        text = _token_text(value)
        if key.endswith("_token") and text is not None:
            variables[key] = text
            special.add(text)
    for value in config.get("additional_special_tokens") or []:
        if _token_text(value):
            special.add(str(_token_text(value)))
    decoder = config.get("added_tokens_decoder")
    for value in decoder.values() if isinstance(decoder, dict) else []:
        if isinstance(value, dict) and value.get("special") and _token_text(value):
            special.add(str(_token_text(value)))
    tokenizer = folder / "tokenizer.json"
    special.discard("")
    return ChatTemplate(
        _pick(template, template_name, origin),
        origin,
        variables,
        special,
        tokenizer if tokenizer.is_file() else None,
    )


# GGUF metadata value types (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): scalars by struct code.
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_gguf_metadata(path: str | Path) -> dict[str, Any]:
    """The scalar and string metadata of a GGUF file (arrays skipped, except the token list), read from its header
    without loading the model. Raises :class:`UsageError` naming the file when it is not a readable GGUF."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            return _gguf_header(f)
    except (OSError, struct.error, ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{p}: not a readable GGUF file ({type(exc).__name__}: {snippet(str(exc), 120)})") from None


def _gguf_header(f: BinaryIO) -> dict[str, Any]:
    def read(fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        data = f.read(size)
        if len(data) != size:
            raise ValueError("truncated header")
        return struct.unpack("<" + fmt, data)[0]

    def string(limit: int = 1 << 24) -> str:
        n = read("Q")
        if n > limit:
            raise ValueError(f"a {n}-byte string in the header")
        data = f.read(n)
        if len(data) != n:
            raise ValueError("truncated header")
        return data.decode("utf-8")

    def value(kind: int, keep: bool) -> Any:
        if kind in _GGUF_SCALARS:
            return read(_GGUF_SCALARS[kind])
        if kind == 8:
            return string()
        if kind == 9:
            inner, n = read("I"), read("Q")
            if n > 1 << 24:
                raise ValueError(f"an array of {n} items in the header")
            if inner in _GGUF_SCALARS and not keep:
                f.seek(n * struct.calcsize("<" + _GGUF_SCALARS[inner]), 1)
                return None
            items = [value(inner, keep) for _ in range(n)]
            return items if keep else None
        raise ValueError(f"unknown metadata type {kind}")

    if f.read(4) != b"GGUF":
        raise ValueError("no GGUF magic")
    version = read("I")
    if version < 2:
        raise ValueError(f"GGUF version {version} is not supported")
    read("Q")  # tensor count
    count = read("Q")
    meta: dict[str, Any] = {}
    for _ in range(min(count, 1 << 16)):
        key = string(1 << 16)
        kind = read("I")
        item = value(kind, keep=key == "tokenizer.ggml.tokens")
        if item is not None:
            meta[key] = item
    return meta


def _from_gguf(path: Path, template_name: str | None) -> ChatTemplate:
    if not path.is_file():
        raise UsageError(f"{path}: GGUF file not found")
    meta = read_gguf_metadata(path)
    template = meta.get("tokenizer.chat_template")
    if template_name is not None:
        template = meta.get(f"tokenizer.chat_template.{template_name}")
    if not isinstance(template, str) or not template.strip():
        raise UsageError(f"{path}: no tokenizer.chat_template in the GGUF metadata")
    tokens = meta.get("tokenizer.ggml.tokens") or []
    variables: dict[str, str] = {}
    for name in ("bos", "eos", "unknown", "padding"):
        index = meta.get(f"tokenizer.ggml.{name}_token_id")
        if isinstance(index, int) and 0 <= index < len(tokens) and isinstance(tokens[index], str):
            key = {"unknown": "unk_token", "padding": "pad_token"}.get(name, f"{name}_token")
            variables[key] = tokens[index]
    # control tokens (token_type 3) are not kept; the special tokens are those the header names
    special = {t for t in variables.values() if t}
    special |= set(re.findall(r"<\|[^|<>\s]{1,40}\|>|</?s>|\[/?INST\]", template))
    # the GGUF's own vocabulary counts tokens when llama-cpp-python (the [llm] extra) is installed
    counter = path if importlib.util.find_spec("llama_cpp") is not None else None
    return ChatTemplate(template, str(path), variables, special, counter)


Counter = Callable[[list[str]], list[int]]


def _load_tokenizer(path: Path) -> Counter:
    """A function that counts each text's tokens: a ``tokenizer.json`` read with ``tokenizers``, or a ``.gguf``
    file's vocabulary read with llama-cpp-python (the vocabulary only, not the weights). Special tokens written in
    the text (``<|im_end|>``) count as one token each; nothing is added, truncated or padded."""
    if path.suffix.lower() == ".gguf":
        return _gguf_counter(path)
    try:
        from tokenizers import Tokenizer  # lazy: the tokenizers extension only when a chat template names one
    except ImportError:  # pragma: no cover - installed with sentence-transformers
        raise UsageError(f"{path}: counting tokens needs the tokenizers package (pip install tokenizers)") from None
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - the Rust library raises bare Exception for a malformed file
        raise UsageError(f"{path}: not a readable tokenizer.json ({snippet(str(exc), 120)})") from None
    tokenizer.no_truncation()  # a tokenizer.json may pad or truncate to a length: count the whole text
    tokenizer.no_padding()

    def count(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

    return count


def _gguf_counter(path: Path) -> Counter:
    try:
        import llama_cpp  # lazy: llama-cpp-python (a C extension, the optional [llm] extra) only for a GGUF
        from llama_cpp import _internals  # lazy: as above
    except ImportError:
        raise UsageError(f"{path}: counting a GGUF's tokens needs llama-cpp-python (pip install '.[llm]')") from None
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    try:
        model = _internals.LlamaModel(path_model=str(path), params=params, verbose=False)
    except Exception as exc:  # noqa: BLE001 - llama.cpp reports a bad file as a bare ValueError/RuntimeError
        raise UsageError(f"{path}: llama.cpp could not read the GGUF vocabulary ({snippet(str(exc), 120)})") from None

    def count(texts: list[str]) -> list[int]:
        return [len(model.tokenize(t.encode("utf-8"), add_bos=False, special=True)) for t in texts]

    return count


def _messages(row: dict[str, Any]) -> Any:
    """The row's chat turns (``messages``, or the raw ``messages`` / ``conversations``), or None for a non-chat row."""
    messages = row.get("messages")
    given = row.get("raw")
    raw: dict[str, Any] = given if isinstance(given, dict) else {}
    if messages is None and ("messages" in raw or "conversations" in raw):
        messages = raw.get("messages", raw.get("conversations"))
    return messages


def _shape_ok(messages: Any) -> bool:
    return (
        isinstance(messages, list)
        and bool(messages)
        and all(isinstance(t, dict) and isinstance(t.get("content"), str) for t in messages)
    )


_NUMBER = re.compile(r"\d+")
_CHATS = pa.schema([("row", pa.int64()), ("problems", pa.list_(pa.string()))])
_TOKENS = pa.schema([("row", pa.int64()), ("tokens", pa.int64())])


@register
class ChatTemplateCheck(BatchCheck):
    """Flags chat rows the target model's chat template rejects, mis-renders or renders too long; the metric is the
    share of chat rows flagged (see the module docstring).

    ``tokenizer_config``: a local ``tokenizer_config.json``, its folder, or a ``.gguf`` file (relative to the
    working directory); ``template_name``: one of a list of named templates. ``tokenizer``: a ``tokenizer.json``
    (default: the one beside the config). ``max_tokens``: flag longer training texts. ``add_generation_prompt``:
    check the inference prompt against the training text. ``max_render_ratio`` and ``timeout_s``: the guards on a
    hostile template.

    In batches (:mod:`playbook_lib.checks.batch`): the template (and tokenizer) is loaded once per run; each batch
    renders its chat rows and stores their problems and token counts; the global step counts them, takes the
    median token count in the store and reads back the first flagged rows for the examples.
    """

    name = "chat_template"
    metric = "flagged_rate"
    shapes = ("chat", "sharegpt")
    tables = ("chats", "tokens")
    #: The loaded template, compiled template, tokenizer path and counter of the run in progress.
    _cache: tuple[ChatTemplate, jinja2.Template, Path | None, Counter | None] | None = None

    def __init__(
        self,
        tokenizer_config: str | None = None,
        template_name: str | None = None,
        tokenizer: str | None = None,
        max_tokens: int | None = None,
        add_generation_prompt: bool = True,
        max_render_ratio: float = 10.0,
        timeout_s: float = 5.0,
        warn: float | None = 0.0,
        fail: float | None = 0.05,
    ) -> None:
        super().__init__(warn, fail)
        self.require(
            max_tokens is None or (isinstance(max_tokens, int) and max_tokens > 0),
            f"max_tokens must be a positive integer or null, got {max_tokens}",
        )
        self.require(max_render_ratio >= 1, f"max_render_ratio must be >= 1, got {max_render_ratio}")
        self.require(timeout_s > 0, f"timeout_s must be > 0, got {timeout_s}")
        self.tokenizer_config = tokenizer_config
        self.template_name = template_name
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.add_generation_prompt = add_generation_prompt
        self.max_render_ratio = max_render_ratio
        self.timeout_s = timeout_s

    def _render(
        self, compiled: jinja2.Template, template: ChatTemplate, messages: list[Any], generation: bool, limit: int
    ) -> str:
        """Render ``messages``; the template's own error propagates as :class:`jinja2.TemplateError`, a hostile
        rendering as :class:`UsageError`."""
        parts: list[str] = []
        size = 0
        variables = {**template.variables, "messages": messages, "add_generation_prompt": generation}
        try:
            with _Deadline(self.timeout_s):
                stream: Iterator[str] = compiled.generate(**variables)
                for part in stream:
                    size += len(part)
                    if size > limit:
                        raise _Refused(f"rendering one row passed {limit} characters (max_render_ratio)")
                    parts.append(part)
        except (_Refused, jinja2.sandbox.SecurityError, RecursionError, MemoryError) as exc:
            raise UsageError(f"{template.origin}: chat template refused: {snippet(str(exc), 160)}") from None
        return "".join(parts)

    def _row(self, compiled: jinja2.Template, template: ChatTemplate, messages: Any) -> tuple[list[str], str | None]:
        """A chat row's problems and its training text (None when it did not render)."""
        if not _shape_ok(messages):
            return [f"chat: {_role_problem(messages)}"], None
        chars = sum(len(t["content"]) for t in messages)
        limit = int(self.max_render_ratio * (chars + TURN_ALLOWANCE * (len(messages) + 1)))
        try:
            text = self._render(compiled, template, messages, False, limit)
        except jinja2.TemplateError as exc:
            return [f"template: {snippet(exc.message or type(exc).__name__, 200)}"], None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            return [f"template failed: {type(exc).__name__}: {snippet(str(exc), 160)}"], None
        problems: list[str] = []
        role = _role_problem(messages)
        if role:
            problems.append(f"chat: {role} (the template accepts it)")
        last = messages[-1]
        if self.add_generation_prompt and last.get("role") == "assistant" and len(messages) > 1:
            problems += self._generation_problems(compiled, template, messages, text, limit)
        return problems, text

    def _generation_problems(
        self, compiled: jinja2.Template, template: ChatTemplate, messages: list[Any], text: str, limit: int
    ) -> list[str]:
        try:
            prompt = self._render(compiled, template, messages[:-1], True, limit)
        except jinja2.TemplateError as exc:
            return [f"template with add_generation_prompt: {snippet(exc.message or type(exc).__name__, 200)}"]
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            return [f"template with add_generation_prompt failed: {type(exc).__name__}: {snippet(str(exc), 160)}"]
        if not text.startswith(prompt):
            return ["generation prompt is not a prefix of the training text (inference differs from training)"]
        completion = text[len(prompt) :].lstrip()
        answer = messages[-1]["content"].strip()
        if not completion.startswith(answer):
            return ["the training text after the generation prompt is not the assistant's answer"]
        rest = completion[len(answer) :]
        tokens = sorted(template.special, key=len, reverse=True)
        stripped = re.sub("|".join(re.escape(t) for t in tokens), "", rest) if tokens else rest
        if stripped.strip():
            return [f"text after the assistant's answer that is not an end-of-turn token: {snippet(stripped, 60)!r}"]
        if tokens and stripped == rest:
            return ["no end-of-turn token after the assistant's answer (the model does not learn to stop)"]
        return []

    def _loaded(self) -> tuple[ChatTemplate, jinja2.Template, Path | None, Counter | None]:
        """The template, compiled, the tokenizer's path and counter: loaded on first use in a run, then kept
        (:meth:`finish` and :meth:`run` let the next run load them again)."""
        cached = self._cache
        if cached is None:
            template = load_chat_template(str(self.tokenizer_config), self.template_name)
            compiled = template.compile()
            tokenizer_path = Path(self.tokenizer) if self.tokenizer else template.tokenizer
            if tokenizer_path is not None and not tokenizer_path.is_file():
                raise UsageError(f"{tokenizer_path}: tokenizer not found (a tokenizer.json or a .gguf)")
            tokenizer = _load_tokenizer(tokenizer_path) if tokenizer_path is not None else None
            cached = (template, compiled, tokenizer_path, tokenizer)
            self._cache = cached
        return cached

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        self._cache = None
        return super().run(records, context)

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Each chat row's problems (rendered with the template), and the token counts of the rendered rows."""
        chats: dict[str, list[Any]] = {"row": [], "problems": []}
        counted: dict[str, list[Any]] = {"row": [], "tokens": []}
        if self.tokenizer_config:
            template, compiled, _, tokenizer = self._loaded()
            rows = records.to_dict("records")
            numbers = row_numbers(records).tolist()
            texts: dict[int, str] = {}
            reasons: dict[int, list[str]] = {}
            for i, row in enumerate(rows):
                messages = _messages(row)
                if messages is None:
                    continue
                problems, text = self._row(compiled, template, messages)
                reasons[i] = problems
                if text is not None:
                    texts[i] = text
            if tokenizer is not None and texts:
                order = list(texts)
                for i, count in zip(order, tokenizer([texts[i] for i in order])):
                    counted["row"].append(numbers[i])
                    counted["tokens"].append(count)
                    if self.max_tokens is not None and count > self.max_tokens:
                        reasons[i].append(f"{count} tokens > max_tokens {self.max_tokens}")
            for i, problems in reasons.items():
                chats["row"].append(numbers[i])
                chats["problems"].append(problems)
        return {"chats": pa.table(chats, schema=_CHATS), "tokens": pa.table(counted, schema=_TOKENS)}

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        if not self.tokenizer_config:
            return self.not_evaluated(n, _HINT)
        try:
            template, _, tokenizer_path, _ = self._loaded()
        finally:
            self._cache = None
        found = store.query(f'SELECT row, problems FROM "{self.table("chats")}" ORDER BY row')
        if not len(found["row"]):
            return self.not_evaluated(n, "no chat rows (messages)")
        reasons = {int(r): list(p) for r, p in zip(found["row"].tolist(), found["problems"])}
        tokens = self.table("tokens")
        stats = store.query(f'SELECT count(*) AS k, max(tokens) AS top FROM "{tokens}"')
        lengths = (int(stats["k"][0]), store.median(tokens, "tokens"), stats["top"][0])
        return self._finish(rows, n, reasons, lengths, template, tokenizer_path)

    def _finish(
        self,
        rows: RowSource,
        n: int,
        reasons: dict[int, list[str]],
        lengths: tuple[int, float, Any],
        template: ChatTemplate,
        tokenizer_path: Path | None,
    ) -> CheckResult:
        chat = reasons
        flags = np.zeros(n, bool)
        scores = np.zeros(n)
        counts: dict[str, int] = {}
        for i, problems in reasons.items():
            if problems:
                flags[i] = True
                scores[i] = 1.0 - math.exp(-len(problems))
            for p in problems:
                kind = "too long" if "> max_tokens" in p else _NUMBER.sub("N", p)
                counts[kind] = counts.get(kind, 0) + 1
        flagged = int(flags.sum())
        if tokenizer_path is None:
            token_note = "not evaluated: no tokenizer.json beside the config (set tokenizer)"
            if template.origin.lower().endswith(".gguf"):
                token_note = "not evaluated: install llama-cpp-python to count a GGUF's tokens, or set tokenizer"
        else:
            token_note = f"counted with {tokenizer_path}"
        summary: dict[str, Any] = {
            "rows": n,
            "chat_rows": len(chat),
            "flagged": flagged,
            "flagged_rate": flagged / len(chat),
            "problems": dict(sorted(counts.items())),
            "template": template.origin,
            "tokens": token_note,
        }
        if lengths[0]:
            summary["median_tokens"] = lengths[1]
            summary["max_tokens_seen"] = int(lengths[2])
        shown = rows.take(np.flatnonzero(flags)[: self.max_examples])
        examples = [
            {"row": int(i), "line": int(line), "reason": "; ".join(reasons[int(i)]), "instruction": snippet(text)}
            for i, line, text in zip(shown.index, shown["line"], shown["instruction"])
        ]
        top = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        detail = f"{flagged} of {len(chat)} chat rows" + (f" ({top})" if top else "")
        if tokenizer_path is None and self.max_tokens is not None:
            detail += "; token counts not evaluated (no tokenizer)"
        return self.result(flags, scores, summary, examples, detail)
