"""Compute-optimal scaling after Chinchilla (Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models").

Taught in the book's *Scaling* page (``notebooks/dm_04_scaling.ipynb``).

Three tools, from rough to fitted:

- ``training_flops``: training compute C ≈ 6·N·D (N parameters, D training tokens).
- ``optimal_by_rule``: the rule of thumb D ≈ 20·N, solved for a compute budget: N = sqrt(C / (6·20)).
- ``parametric_loss`` and ``optimal_by_loss``: the paper's fitted loss L(N, D) = E + A/N^α + B/D^β (its Approach 3)
  and its exact minimiser under C = 6·N·D:
  N_opt = G·(C/6)^(β/(α+β)), D_opt = G⁻¹·(C/6)^(α/(α+β)), G = (αA / (βB))^(1/(α+β)).

The two optima differ: the parametric fit puts more of the budget into tokens than the 20-tokens rule does at large
budgets. Both are estimates from one model family and one dataset; treat them as a starting point, not a law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: FLOPs per parameter per training token (forward + backward pass), the paper's approximation C ≈ 6ND.
FLOPS_PER_PARAM_TOKEN = 6.0
#: The rule of thumb read from the paper's Table 3: about 20 training tokens per parameter.
TOKENS_PER_PARAM = 20.0


@dataclass(frozen=True)
class LossFit:
    """Constants of the parametric loss L(N, D) = E + A/N^alpha + B/D^beta."""

    E: float = 1.69
    A: float = 406.4
    B: float = 410.7
    alpha: float = 0.34
    beta: float = 0.28


#: The fit published by Hoffmann et al. (2022), section 3.3.
CHINCHILLA_FIT = LossFit()


@dataclass(frozen=True)
class Allocation:
    """A split of a compute budget into model size and training tokens."""

    flops: float
    params: float
    tokens: float

    @property
    def tokens_per_param(self) -> float:
        """Training tokens per parameter."""
        return self.tokens / self.params


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def training_flops(params: float, tokens: float) -> float:
    """Training compute in FLOPs, C ≈ 6·N·D.

    Args:
        params: number of model parameters N.
        tokens: number of training tokens D.
    """
    return FLOPS_PER_PARAM_TOKEN * _positive("params", params) * _positive("tokens", tokens)


def tokens_for_params(params: float, tokens_per_param: float = TOKENS_PER_PARAM) -> float:
    """Compute-optimal training tokens for a model size by the rule of thumb D ≈ 20·N."""
    return _positive("params", params) * _positive("tokens_per_param", tokens_per_param)


def optimal_by_rule(flops: float, tokens_per_param: float = TOKENS_PER_PARAM) -> Allocation:
    """Split a compute budget with D = r·N and C = 6·N·D, i.e. N = sqrt(C / (6·r)).

    Args:
        flops: the training compute budget C.
        tokens_per_param: r, training tokens per parameter (20 in the paper's rule of thumb).
    """
    c = _positive("flops", flops)
    r = _positive("tokens_per_param", tokens_per_param)
    n = math.sqrt(c / (FLOPS_PER_PARAM_TOKEN * r))
    return Allocation(flops=c, params=n, tokens=r * n)


def parametric_loss(params: float, tokens: float, fit: LossFit = CHINCHILLA_FIT) -> float:
    """The fitted pre-training loss L(N, D) = E + A/N^alpha + B/D^beta (nats per token)."""
    n = _positive("params", params)
    d = _positive("tokens", tokens)
    return fit.E + fit.A / n**fit.alpha + fit.B / d**fit.beta


def optimal_by_loss(flops: float, fit: LossFit = CHINCHILLA_FIT) -> Allocation:
    """The (N, D) that minimises ``parametric_loss`` subject to 6·N·D = C, in closed form.

    N_opt = G·(C/6)^a and D_opt = G⁻¹·(C/6)^b with a = beta/(alpha+beta), b = alpha/(alpha+beta) and
    G = (alpha·A / (beta·B))^(1/(alpha+beta)); N_opt·D_opt = C/6 holds exactly.
    """
    c = _positive("flops", flops)
    s = fit.alpha + fit.beta
    g = (fit.alpha * fit.A / (fit.beta * fit.B)) ** (1.0 / s)
    half = c / FLOPS_PER_PARAM_TOKEN
    return Allocation(flops=c, params=g * half ** (fit.beta / s), tokens=half ** (fit.alpha / s) / g)
