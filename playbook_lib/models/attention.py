"""Scaled dot-product attention from scratch, checked against a real transformer's attention weights.

Taught in the book's *Transformers, attention and scaling* page (``notebooks/dm_04_scaling.ipynb``).

``scaled_dot_product_attention`` is the textbook formula, softmax(Q·Kᵀ / sqrt(d_k)) · V, in NumPy.
``minilm_attention`` runs the packaged all-MiniLM-L6-v2 encoder on a text, takes one head's attention weights as the
model reports them (``output_attentions=True``) and recomputes the same weights from scratch: the layer's own query
and key projections applied to the hidden states that enter the layer, then the formula above. The two agree to
float32 precision (``tests/code/test_attention.py``). The model is loaded from local files only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from playbook_lib import settings


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``; ``-inf`` entries get weight 0."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Attention(Q, K, V) = softmax(Q·Kᵀ / sqrt(d_k)) · V.

    Args:
        q: queries, shape ``(..., n_q, d_k)``.
        k: keys, shape ``(..., n_k, d_k)``.
        v: values, shape ``(..., n_k, d_v)``.
        mask: optional boolean array broadcastable to ``(..., n_q, n_k)``; ``False`` positions get zero weight.
            Every query must be allowed at least one key.

    Returns:
        ``(output, weights)``: output of shape ``(..., n_q, d_v)``; weights of shape ``(..., n_q, n_k)``, each row
        summing to 1.
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"queries and keys must share d_k, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"keys and values must have the same length, got {k.shape[-2]} and {v.shape[-2]}")
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        allowed = np.broadcast_to(np.asarray(mask, dtype=bool), scores.shape)
        if not allowed.any(axis=-1).all():
            raise ValueError("mask leaves a query with no key to attend to")
        scores = np.where(allowed, scores, -np.inf)
    weights = softmax(scores, axis=-1)
    return weights @ v, weights


@dataclass(frozen=True)
class AttentionMap:
    """One head's attention on one text.

    Attributes:
        tokens: the model's tokens, ``[CLS]`` and ``[SEP]`` included.
        layer: encoder layer index (0-based).
        head: head index (0-based).
        model_weights: ``(n, n)`` weights reported by the model (``output_attentions``); row i = token i's query.
        scratch_weights: the same weights recomputed by ``scaled_dot_product_attention`` from the layer's Q/K.
        queries: ``(n, d_head)`` this head's queries, the layer's query projection of its input hidden states.
        keys: ``(n, d_head)`` this head's keys.
    """

    tokens: list[str]
    layer: int
    head: int
    model_weights: np.ndarray
    scratch_weights: np.ndarray
    queries: np.ndarray
    keys: np.ndarray

    @property
    def max_abs_diff(self) -> float:
        """Largest absolute difference between the model's weights and the from-scratch ones."""
        return float(np.max(np.abs(self.model_weights - self.scratch_weights)))


@lru_cache(maxsize=2)
def _load(path: str) -> tuple[Any, Any]:
    settings.force_offline()
    import torch  # lazy: torch takes seconds to import; only model code needs it
    from transformers import (  # lazy: transformers takes seconds to import; only when a model is loaded
        AutoModel,
        AutoTokenizer,
    )

    threads = settings.torch_threads()
    if threads:
        torch.set_num_threads(threads)
    with settings.quiet_model_loading():
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, attn_implementation="eager", local_files_only=True)
    model.eval()
    return tokenizer, model


def minilm_attention(text: str, layer: int = 0, head: int = 0, model_path: str | Path | None = None) -> AttentionMap:
    """Attention weights of one head of all-MiniLM-L6-v2 on ``text``, from the model and from scratch.

    Args:
        text: the input text (one sequence, so no padding and no mask is needed).
        layer: encoder layer, 0-based (MiniLM-L6 has 6).
        head: attention head, 0-based (12 per layer).
        model_path: a local BERT-style model folder; defaults to :func:`settings.embedding_model_path`.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    import torch  # lazy: torch takes seconds to import; only model code needs it

    tokenizer, model = _load(str(model_path or settings.embedding_model_path()))
    cfg = model.config
    if not 0 <= layer < cfg.num_hidden_layers:
        raise ValueError(f"layer must be in [0, {cfg.num_hidden_layers - 1}], got {layer}")
    if not 0 <= head < cfg.num_attention_heads:
        raise ValueError(f"head must be in [0, {cfg.num_attention_heads - 1}], got {head}")
    enc = tokenizer(text, return_tensors="pt", truncation=True)
    with torch.no_grad():
        out = model(**enc, output_attentions=True, output_hidden_states=True)
        model_w = out.attentions[layer][0, head].double().numpy()
        hidden = out.hidden_states[layer][0]  # the input of encoder layer `layer`
        self_attn = model.encoder.layer[layer].attention.self
        d = cfg.hidden_size // cfg.num_attention_heads
        sl = slice(head * d, (head + 1) * d)
        q = self_attn.query(hidden)[:, sl].double().numpy()
        k = self_attn.key(hidden)[:, sl].double().numpy()
    _, scratch_w = scaled_dot_product_attention(q, k, np.zeros((k.shape[0], 1)))
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    return AttentionMap(
        tokens=tokens, layer=layer, head=head, model_weights=model_w, scratch_weights=scratch_w, queries=q, keys=k
    )
