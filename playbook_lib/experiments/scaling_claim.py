"""The claims of the attention-and-scaling page, judged as rules over the numbers it computes.

Taught in the book's *Transformers, attention and scaling* page (``notebooks/dm_04_scaling.ipynb``). The page
computes attention weights with MiniLM and with the textbook formula, the Chinchilla quantities with
:mod:`playbook_lib.models.scaling`, and states what they must show; each judge here turns a statement into named
:class:`~playbook_lib.experiments.verdict.Check` results and returns the
:func:`~playbook_lib.experiments.verdict.rules` verdict:

- :func:`judge_attention`: the model's weights are ``softmax(QKᵀ/√d_k)`` of the layer's own queries and keys
  (recomputed here with NumPy, apart from the library's formula), rows sum to one, and a causal mask leaves no
  weight on later tokens;
- :func:`judge_table`: ``C = 6ND`` and the 20-tokens rule reproduce the rows of the paper's Table 3 within
  :data:`TABLE_TOLERANCE`;
- :func:`judge_loss_optimum`: the closed-form compute-optimal point of the fitted loss lies on the iso-compute
  curve and no point of a grid along that curve has a lower loss;
- :func:`judge_rule_vs_fit`: the 20-tokens rule loses little loss against the fit's optimum
  (:data:`LOSS_TOLERANCE`) while the fit puts more tokens per parameter, and more at larger budgets.

The judges take numbers and arrays, not the models (which import this package's verdicts), so the page passes
what it computed and the checks can fail when those numbers do not say what the page claims.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from playbook_lib.experiments.verdict import Check, RuleVerdict, rule_verdict

#: Largest difference, relative to the paper's value, at which a Table 3 column counts as reproduced.
TABLE_TOLERANCE = 0.10
#: Largest excess of the rule's loss over the fit's minimum, relative to that minimum, that counts as "nearly".
LOSS_TOLERANCE = 0.01
#: Largest absolute difference at which two sets of attention weights are "the same to float precision".
ATTENTION_TOLERANCE = 1e-5


def _pct(share: float) -> str:
    return f"{share * 100:g} %"


def _softmax_rows(scores: np.ndarray) -> np.ndarray:
    z = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def judge_attention(
    model_weights: np.ndarray,
    queries: np.ndarray,
    keys: np.ndarray,
    formula_weights: np.ndarray,
    causal_weights: np.ndarray,
    tolerance: float = ATTENTION_TOLERANCE,
) -> RuleVerdict:
    """One head's claim: the model's ``(n, n)`` weights equal ``softmax(QKᵀ/√d_k)`` of its ``(n, d)`` queries and
    keys (recomputed here) and the library formula's ``formula_weights`` within ``tolerance``; rows sum to 1; the
    causally masked ``causal_weights`` put no weight above the diagonal and their rows still sum to 1."""
    w, q, k = (np.asarray(a, dtype=np.float64) for a in (model_weights, queries, keys))
    n = w.shape[0]
    shapes = w.shape == (n, n) and q.shape[0] == n and k.shape == q.shape
    here = _softmax_rows(q @ k.T / math.sqrt(q.shape[1])) if shapes else None
    gap = float(np.abs(w - here).max()) if here is not None else math.inf
    lib = np.asarray(formula_weights, dtype=np.float64)
    lib_gap = float(np.abs(w - lib).max()) if lib.shape == w.shape else math.inf
    rows = float(np.abs(w.sum(axis=1) - 1).max())
    causal = np.asarray(causal_weights, dtype=np.float64)
    later = np.triu(np.ones((n, n), dtype=bool), k=1)
    leak = float(causal[later].sum()) if causal.shape == w.shape else math.inf
    causal_rows = float(np.abs(causal.sum(axis=1) - 1).max()) if causal.shape == w.shape else math.inf
    return rule_verdict(
        "the textbook formula reproduces the model's attention",
        [
            Check("one weight per pair of tokens, one query and key per token", shapes, f"{w.shape}, Q {q.shape}"),
            Check(
                f"softmax(QKᵀ/√d_k) on the layer's own Q, K matches the model within {tolerance:g}",
                gap < tolerance,
                f"max |model - formula| = {gap:.1e}",
            ),
            Check(
                "the library's scaled_dot_product_attention gives the same weights",
                lib_gap < tolerance,
                f"max |model - library| = {lib_gap:.1e}",
            ),
            Check("each row of the model's weights sums to 1", rows < tolerance, f"max |row sum - 1| = {rows:.1e}"),
            Check(
                "a causal mask leaves no weight on later tokens", leak == 0.0, f"weight above the diagonal {leak:.1e}"
            ),
            Check("causal rows still sum to 1", causal_rows < tolerance, f"max |row sum - 1| = {causal_rows:.1e}"),
        ],
    )


def _column(name: str, computed: Sequence[float], paper: Sequence[float], labels: Sequence[str], tol: float) -> Check:
    if not paper or len(computed) != len(paper):
        return Check(name, None, f"{len(computed)} computed values for {len(paper)} rows")
    errors = [c / p - 1 for c, p in zip(computed, paper)]
    worst = max(range(len(errors)), key=lambda i: abs(errors[i]))
    bad = [labels[i] for i, e in enumerate(errors) if abs(e) > tol]
    detail = f"largest error {errors[worst]:+.1%} (row {labels[worst]}) over {len(paper)} rows"
    return Check(name, not bad, detail + (f"; beyond ±{_pct(tol)}: {', '.join(bad)}" if bad else ""))


def judge_table(
    paper: Sequence[tuple[float, float, float]],
    six_nd: Sequence[float],
    twenty_n: Sequence[float],
    rule_params: Sequence[float],
    tolerance: float = TABLE_TOLERANCE,
) -> RuleVerdict:
    """Table 3's claim: for each paper row ``(N, C, D)``, the page's ``6ND`` matches C, ``20·N`` matches D and the
    rule's N from C matches N, each within ``tolerance`` relative to the paper's value. Not measured without rows."""
    labels = [f"{n:.3g}" for n, _, _ in paper]
    return rule_verdict(
        f"C = 6ND and 20 tokens per parameter reproduce Table 3 within ±{_pct(tolerance)}",
        [
            _column("6ND gives the paper's FLOPs", six_nd, [c for _, c, _ in paper], labels, tolerance),
            _column("20·N gives the paper's tokens", twenty_n, [d for _, _, d in paper], labels, tolerance),
            _column("the rule recovers N from the FLOPs", rule_params, [n for n, _, _ in paper], labels, tolerance),
        ],
    )


def judge_loss_optimum(
    flops: float,
    params: float,
    tokens: float,
    optimum_loss: float,
    grid_params: Sequence[float] | np.ndarray,
    grid_losses: Sequence[float] | np.ndarray,
) -> RuleVerdict:
    """The closed form's claim for one budget: its ``(params, tokens)`` spend the budget (``6ND = C``), no point of a
    grid along the iso-compute curve (``grid_params`` with their ``grid_losses``) has a lower loss than
    ``optimum_loss``, and the grid's best point lies within one grid step of it."""
    ns, losses = np.asarray(grid_params, dtype=float), np.asarray(grid_losses, dtype=float)
    if ns.size < 2 or ns.shape != losses.shape:
        return rule_verdict("the fitted loss is lowest at the closed form", [Check("a grid to search", None, "")])
    step = float(np.max(np.abs(np.diff(np.log(np.sort(ns))))))
    best = float(ns[int(np.argmin(losses))])
    lower = float(losses.min())
    spent = 6 * params * tokens / flops - 1
    return rule_verdict(
        "the fitted loss is lowest at the closed form",
        [
            Check("the closed form spends the budget: 6ND = C", abs(spent) < 1e-9, f"6ND/C - 1 = {spent:.1e}"),
            Check(
                "no grid point along 6ND = C has a lower loss",
                lower >= optimum_loss - 1e-12 * abs(optimum_loss),
                f"{ns.size} points; grid minimum {lower:.6f}, closed form {optimum_loss:.6f}",
            ),
            Check(
                "the grid's best N is within one grid step of the closed form",
                abs(math.log(best / params)) <= step * (1 + 1e-9),
                f"grid {best:.4g}, closed form {params:.4g} (one step: a factor {math.exp(step):.4f})",
            ),
        ],
    )


def judge_rule_vs_fit(
    budgets: Sequence[float],
    rule_tokens_per_param: Sequence[float],
    fit_tokens_per_param: Sequence[float],
    rule_loss: Sequence[float],
    fit_loss: Sequence[float],
    tolerance: float = LOSS_TOLERANCE,
) -> RuleVerdict:
    """The iso-compute plot's claim, per budget: the fit's optimum is no worse than the rule's allocation, and the rule
    loses at most ``tolerance`` of the loss against it ("nearly the same loss"), while the fit puts more tokens per
    parameter than the rule, and more the larger the budget (not measured with one budget)."""
    order = sorted(range(len(budgets)), key=lambda i: budgets[i])
    b = [budgets[i] for i in order]
    rt, ft = [rule_tokens_per_param[i] for i in order], [fit_tokens_per_param[i] for i in order]
    rl, fl = [rule_loss[i] for i in order], [fit_loss[i] for i in order]
    if not b:
        return rule_verdict("the rule is nearly as good as the fit", [Check("a budget to compare", None, "")])
    excess = [r / f - 1 for r, f in zip(rl, fl)]
    at = [f"{x:.3g}" for x in b]
    worst = max(range(len(b)), key=lambda i: excess[i])
    return rule_verdict(
        f"the rule's loss is within {_pct(tolerance)} of the fit's while the fit trains on more tokens",
        [
            Check(
                "the fit's optimum is no worse than the rule at every budget",
                all(f <= r + 1e-12 for r, f in zip(rl, fl)),
                f"{len(b)} budgets",
            ),
            Check(
                f"the rule's loss is within {_pct(tolerance)} of the fit's at every budget",
                max(excess) <= tolerance,
                f"largest excess {excess[worst]:+.2%} at {at[worst]}",
            ),
            Check(
                "the fit puts more tokens per parameter than the rule at every budget",
                all(f > r for r, f in zip(rt, ft)),
                ", ".join(f"{x}: {f:.0f} vs {r:.0f}" for x, r, f in zip(at, rt, ft)),
            ),
            Check(
                "and more the larger the budget",
                None if len(b) < 2 else all(y > x for x, y in zip(ft, ft[1:])),
                f"fit tokens per parameter over {len(b)} budgets",
            ),
        ],
    )
