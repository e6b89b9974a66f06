"""Contamination: training rows that overlap an eval/test set, exactly or by shared word 13-grams.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Clear
train/validation/test split".
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult, normalise, snippet
from playbook_lib.data import record_text

_WORD = re.compile(r"\w+", re.UNICODE)


def ngrams(text: str, n: int) -> set[str]:
    """Word ``n``-grams of the lower-cased text (empty when it has fewer than ``n`` words)."""
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


class ContaminationCheck(Check):
    """Eval rows whose prompt appears in training data, exactly (normalised) or sharing an ``ngram``-word n-gram.

    Compares the prompt fields (``instruction`` and ``input`` by default; set ``fields`` to include ``output``).
    The metric ``contaminated_rate`` is the share of eval rows that overlap training data; training rows that
    overlap are flagged, with score = the share of their n-grams found in the eval set (1 for exact copies).
    Not evaluated without an eval set (``--eval``).
    """

    name = "contamination"
    metric = "contaminated_rate"

    def __init__(self, ngram: int = 13, fields: list[str] | None = None, warn: float | None = 0.0,
                 fail: float | None = 0.01) -> None:
        super().__init__(warn, fail)
        self.require(ngram >= 1, f"ngram must be at least 1, got {ngram}")
        self.ngram = ngram
        self.fields = tuple(fields or ("instruction", "input"))

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        if context.eval is None:
            return self.not_evaluated(n, "no eval set given (--eval)")
        train = record_text(records, self.fields)
        evals = record_text(context.eval, self.fields)
        eval_exact = {normalise(t): i for i, t in enumerate(evals) if t.strip()}
        eval_grams: dict[str, list[int]] = {}
        for i, t in enumerate(evals):
            for g in ngrams(t, self.ngram):
                eval_grams.setdefault(g, []).append(i)
        flags = np.zeros(n, bool)
        scores = np.zeros(n)
        hit_eval: set[int] = set()
        exact = 0
        examples = []
        eval_lines = context.eval["line"].to_numpy()
        for i, t in enumerate(train):
            j = eval_exact.get(normalise(t))
            if j is not None:
                flags[i], scores[i] = True, 1.0
                hit_eval.add(j)
                exact += 1
                reason = "exact copy"
            else:
                grams = ngrams(t, self.ngram)
                shared = [g for g in grams if g in eval_grams]
                if not shared:
                    continue
                flags[i], scores[i] = True, len(shared) / len(grams)
                rows = {k for g in shared for k in eval_grams[g]}
                hit_eval.update(rows)
                j = min(rows)
                reason = f"{len(shared)} shared {self.ngram}-grams"
            if len(examples) < self.max_examples:
                examples.append({"line": int(records["line"].iloc[i]), "eval_line": int(eval_lines[j]),
                                 "reason": reason, "text": snippet(t)})
        m = len(evals)
        summary = {"train_rows": n, "eval_rows": m, "train_rows_flagged": int(flags.sum()), "exact_copies": exact,
                   "eval_rows_contaminated": len(hit_eval), "contaminated_rate": len(hit_eval) / m if m else 0.0}
        return self.result(flags, scores, summary, examples,
                           f"{len(hit_eval)} of {m} eval rows overlap {int(flags.sum())} train rows ({exact} exact)")
