"""An AWS Bedrock generator through the ``bedrock-runtime`` Converse API (``boto3``, the optional extra ``aws``).

Taught in the book's *Practical impact* page of the Model–Data Operations chapter, beside the local and HTTP
generators; selected with ``PLAYBOOK_GENERATOR=bedrock`` (see :func:`playbook_lib.rag.generate.select_generator`).

Configuration: ``PLAYBOOK_BEDROCK_MODEL_ID`` (e.g. a model or inference-profile id) and ``AWS_REGION`` (or
``AWS_DEFAULT_REGION``). Credentials come from boto3's usual chain (environment, shared files, SSO, instance role);
this module never reads, prints or logs them, and scrubs anything shaped like an AWS key from error messages.
"""

from __future__ import annotations

import re
import time
from typing import Any

from playbook_lib import settings
from playbook_lib.errors import UsageError
from playbook_lib.rag.generation import SYSTEM_PROMPT, Generation

#: Shapes of AWS access key ids and secret keys, removed from any error text before it is shown.
_SECRETS = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return _SECRETS.sub("<redacted>", line)


class BedrockGenerator:
    """A Bedrock chat model called with ``Converse``.

    Args:
        model_id: the Bedrock model id; defaults to ``PLAYBOOK_BEDROCK_MODEL_ID``.
        region: the AWS region; defaults to ``AWS_REGION`` or ``AWS_DEFAULT_REGION``.
        client: a ready ``bedrock-runtime`` client (tests pass one wrapped in botocore's ``Stubber``); built from
            ``region`` when omitted.
        system_prompt: sent as the Converse ``system`` block (``None`` to send none).
        timeout: read timeout in seconds.

    Bedrock's Converse API takes no seed: ``generate``'s ``seed`` is accepted for the protocol and ignored.
    """

    def __init__(
        self,
        model_id: str | None = None,
        region: str | None = None,
        client: Any = None,
        system_prompt: str | None = SYSTEM_PROMPT,
        timeout: float = 60.0,
    ) -> None:
        self.name = model_id or settings.bedrock_model_id()
        if not self.name:
            raise UsageError("no Bedrock model: pass model_id or set PLAYBOOK_BEDROCK_MODEL_ID")
        self.region = region or settings.aws_region()
        self.system_prompt = system_prompt
        if client is None:
            if not self.region:
                raise UsageError("no AWS region for Bedrock: set AWS_REGION (or pass region)")
            try:
                import boto3  # lazy: optional dependency (extra aws), only for Bedrock
                from botocore.config import Config  # lazy: optional dependency (extra aws), only for Bedrock
            except ImportError:
                raise UsageError("the Bedrock generator needs boto3: pip install 'data-models-playbook[aws]'") from None
            client = boto3.client(
                "bedrock-runtime",
                region_name=self.region,
                config=Config(read_timeout=timeout, retries={"max_attempts": 3, "mode": "standard"}),
            )
        self._client = client

    def __repr__(self) -> str:
        return f"BedrockGenerator(model_id={self.name!r}, region={self.region!r})"

    def request(self, prompt: str, max_tokens: int = 128, temperature: float = 0.0) -> dict[str, Any]:
        """The keyword arguments of the ``converse`` call for ``prompt`` (no credentials in it)."""
        params: dict[str, Any] = {
            "modelId": self.name,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
        }
        if self.system_prompt:
            params["system"] = [{"text": self.system_prompt}]
        return params

    def generate(self, prompt: str, max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> Generation:
        """Send one Converse request; any failure becomes a one-line :class:`UsageError`."""
        from botocore.exceptions import (  # lazy: optional dependency (extra aws), only for Bedrock
            BotoCoreError,
            ClientError,
            NoCredentialsError,
        )

        where = f"Bedrock {self.name}" + (f" in {self.region}" if self.region else "")
        start = time.perf_counter()
        try:
            response = self._client.converse(**self.request(prompt, max_tokens, temperature))
        except NoCredentialsError:
            raise UsageError(f"{where}: no AWS credentials found (configure them as for the AWS CLI)") from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise UsageError(f"{where}: {error.get('Code', 'error')}: {_one_line(error.get('Message', ''))}") from None
        except BotoCoreError as exc:
            raise UsageError(f"{where}: {type(exc).__name__}: {_one_line(str(exc))}") from None
        blocks = ((response.get("output") or {}).get("message") or {}).get("content") or []
        text = "".join(b["text"] for b in blocks if isinstance(b, dict) and "text" in b)
        if not text:
            raise UsageError(f"{where}: the answer holds no text (stopReason={response.get('stopReason')!r})")
        usage = response.get("usage") or {}
        return Generation(
            text=text.strip(),
            model=self.name,
            prompt_tokens=int(usage.get("inputTokens", 0)),
            completion_tokens=int(usage.get("outputTokens", 0)),
            seconds=time.perf_counter() - start,
        )
