"""The Bedrock generator against a real botocore client whose responses come from botocore's Stubber: the request
is validated against the service model, the answer parsed, errors turned into one line; nothing leaves the machine.
Also: the one function that selects a generator by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbook_lib.errors import UsageError
from playbook_lib.rag.generate import GENERATORS, Generator, OpenAICompatibleGenerator, select_generator
from tests.conftest import need

need(__import__("importlib").util.find_spec("boto3") is not None, "boto3 is not installed (extra 'aws')")

from botocore.stub import Stubber  # noqa: E402

from playbook_lib.rag.bedrock import BedrockGenerator  # noqa: E402

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example credentials, never valid
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_keys: bool = True):
    import boto3

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    keys = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET} if with_keys else {}
    return boto3.session.Session().client("bedrock-runtime", region_name="eu-west-1", **keys)


def reply(text: str) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 31, "outputTokens": 6, "totalTokens": 37},
        "metrics": {"latencyMs": 120},
    }


def test_request_built_and_answer_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = client(tmp_path, monkeypatch)
    generator = BedrockGenerator(model_id=MODEL, client=real)
    assert isinstance(generator, Generator)
    prompt = "Context: [kb-004] Calibrate every 14 days.\nQuestion: How often?\nAnswer:"
    expected = {
        "modelId": MODEL,
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "system": [{"text": "Answer the question using only the context."}],
        "inferenceConfig": {"maxTokens": 40, "temperature": 0.0},
    }
    with Stubber(real) as stub:
        stub.add_response("converse", reply("  Every 14 days [kb-004].  "), expected)
        out = generator.generate(prompt, max_tokens=40, temperature=0.0)
        stub.assert_no_pending_responses()
    assert out.text == "Every 14 days [kb-004]." and out.model == MODEL
    assert out.prompt_tokens == 31 and out.completion_tokens == 6 and out.seconds >= 0
    assert KEY_ID not in repr(generator) and SECRET not in repr(generator)

    bare = BedrockGenerator(model_id=MODEL, client=real, system_prompt=None)
    assert "system" not in bare.request("q")
    with Stubber(real) as stub:  # several text blocks are joined
        two = reply("Every 14")
        two["output"]["message"]["content"].append({"text": " days."})
        stub.add_response("converse", two, {**bare.request("q", 8, 0.2)})
        assert bare.generate("q", max_tokens=8, temperature=0.2).text == "Every 14 days."


@pytest.mark.parametrize(
    ("code", "status"), [("ThrottlingException", 429), ("AccessDeniedException", 403), ("ValidationException", 400)]
)
def test_service_errors_become_one_line(
    code: str, status: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = client(tmp_path, monkeypatch)
    generator = BedrockGenerator(model_id=MODEL, client=real, region="eu-west-1")
    with Stubber(real) as stub:
        stub.add_client_error(
            "converse", service_error_code=code, service_message=f"denied for {KEY_ID}\nretry", http_status_code=status
        )
        with pytest.raises(UsageError) as info:
            generator.generate("q")
    message = str(info.value)
    assert message.startswith(f"Bedrock {MODEL} in eu-west-1: {code}:") and "\n" not in message
    assert KEY_ID not in message and "<redacted>" in message


def test_empty_answer_and_missing_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = client(tmp_path, monkeypatch)
    with Stubber(real) as stub:
        empty = reply("")
        empty["output"]["message"]["content"] = []
        empty["stopReason"] = "max_tokens"
        stub.add_response("converse", empty)
        with pytest.raises(UsageError, match="no text.*max_tokens"):
            BedrockGenerator(model_id=MODEL, client=real).generate("q")
    # no keys anywhere and instance metadata disabled: botocore fails before sending anything
    keyless = client(tmp_path, monkeypatch, with_keys=False)
    with pytest.raises(UsageError, match="no AWS credentials"):
        BedrockGenerator(model_id=MODEL, client=keyless).generate("q")


def test_configuration_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PLAYBOOK_BEDROCK_MODEL_ID", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UsageError, match="PLAYBOOK_BEDROCK_MODEL_ID"):
        BedrockGenerator()
    monkeypatch.setenv("PLAYBOOK_BEDROCK_MODEL_ID", MODEL)
    with pytest.raises(UsageError, match="AWS_REGION"):
        BedrockGenerator()
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("PLAYBOOK_GENERATOR", "Bedrock")
    chosen = select_generator()
    assert isinstance(chosen, BedrockGenerator) and chosen.region == "us-west-2" and chosen.name == MODEL


def test_select_generator_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYBOOK_GENERATOR", raising=False)
    assert GENERATORS == ("local", "openai-compatible", "bedrock", "extractive")
    assert select_generator("extractive") is None
    monkeypatch.setenv("PLAYBOOK_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    assert isinstance(select_generator("openai-compatible"), OpenAICompatibleGenerator)
    assert isinstance(select_generator(), OpenAICompatibleGenerator)  # automatic: the endpoint wins when set
    monkeypatch.setenv("PLAYBOOK_GENERATOR", "extractive")
    assert select_generator() is None  # the environment's choice beats the automatic one
    with pytest.raises(
        UsageError, match="unknown generator 'gpt5'; choose one of local, openai-compatible, bedrock, extractive"
    ):
        select_generator("gpt5")
    monkeypatch.setenv("PLAYBOOK_GENERATOR", "claude")
    with pytest.raises(UsageError, match="unknown generator 'claude'"):
        select_generator()
