"""Compliance: personal data and secrets (always masked), and licence / provenance fields with allowed values.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
compliance".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult
from playbook_lib.checks.registry import register
from playbook_lib.errors import UsageError
from playbook_lib.text.normal import snippet
from playbook_lib.text.pii import MAYBE_PII, MAYBE_SECRET, PII_PATTERNS, find_pii
from playbook_lib.text.scan import rows_matching


def _texts(values: tuple[object, ...]) -> list[str]:
    """Every string in a row's fields, including the contents of chat turns, without repeats (in order)."""
    out: list[str] = []
    for v in values:
        if isinstance(v, str):
            candidates: list[object] = [v]
        elif isinstance(v, list):
            candidates = [t.get("content") if isinstance(t, dict) else t for t in v]
        else:
            candidates = []
        out.extend(c for c in candidates if isinstance(c, str) and c not in out)
    return out


@register
class PiiCheck(Check):
    """Rows holding personal data or secrets: email, phone, credit card (Luhn), IBAN (mod 97), IPv4/IPv6, US SSN,
    API keys and private keys. Examples are always masked. The metric ``pii_rate`` is the share of rows with any.
    """

    name = "pii"
    metric = "pii_rate"

    def __init__(
        self,
        kinds: list[str] | None = None,
        fields: list[str] | None = None,
        warn: float | None = 0.0,
        fail: float | None = 0.01,
    ) -> None:
        super().__init__(warn, fail)
        unknown = sorted(set(kinds or []) - set(PII_PATTERNS))
        if unknown:
            raise UsageError(f"unknown PII kind {unknown[0]!r}; valid: {', '.join(PII_PATTERNS)}")
        self.kinds = list(kinds) if kinds else None
        self.fields = list(fields or ["instruction", "input", "output", "messages", "chosen", "rejected"])

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        flags = np.zeros(n, bool)
        scores = np.zeros(n)
        counts: dict[str, int] = {}
        examples: list[dict[str, object]] = []
        columns = [records[f].tolist() for f in self.fields if f in records.columns]
        # Only rows where the cheap combined prefilter matches can hold PII: one regex pass per chunk of a column.
        maybe = np.zeros(n, dtype=bool)
        for column in columns:
            maybe |= rows_matching(MAYBE_PII, column, ignorecase=MAYBE_SECRET)
            nested = [i for i, v in enumerate(column) if isinstance(v, list)]
            if nested:
                maybe[nested] |= rows_matching(
                    MAYBE_PII, ["\n".join(_texts((column[i],))) for i in nested], ignorecase=MAYBE_SECRET
                )
        lines = records["line"].to_numpy()
        for i in np.flatnonzero(maybe).tolist():
            values = _texts(tuple(column[i] for column in columns))
            found: list[str] = []
            for v in values:
                found.extend(k for k, _, _ in find_pii(v, self.kinds))
            if not found:
                continue
            flags[i] = True
            scores[i] = min(1.0, len(found) / 3)
            for k in found:
                counts[k] = counts.get(k, 0) + 1
            if len(examples) < self.max_examples:
                text = "\n".join(values)
                examples.append(
                    {"line": int(lines[i]), "reason": ", ".join(sorted(set(found))), "text": snippet(text, 160)}
                )
        flagged = int(flags.sum())
        by_kind = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        summary = {
            "rows": n,
            "rows_with_pii": flagged,
            "pii_rate": flagged / n if n else 0.0,
            "by_kind": dict(sorted(counts.items())),
        }
        return self.result(flags, scores, summary, examples, f"{flagged} rows" + (f" ({by_kind})" if counts else ""))


@register
class LicenceCheck(Check):
    """Metadata fields that must be present with an allowed value, e.g. ``{"licence": ["CC-BY-4.0", "MIT"]}``.

    ``allowed`` maps a record field (``licence``, ``provenance``, ``source``...) to its allowed values; an empty list
    accepts any non-empty value. The metric ``invalid_rate`` is the share of rows with a missing or disallowed value.
    """

    name = "licence"
    metric = "invalid_rate"

    def __init__(
        self, allowed: dict[str, list[str]] | None = None, warn: float | None = 0.0, fail: float | None = 0.05
    ) -> None:
        super().__init__(warn, fail)
        self.allowed = dict(allowed) if allowed is not None else {"licence": []}

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        flags = np.zeros(n, bool)
        missing: dict[str, int] = {}
        disallowed: dict[str, dict[str, int]] = {}
        reasons: dict[int, tuple[str, object]] = {}  # row -> (field, disallowed value or None when missing)
        shown: dict[object, str] = {}  # a value as the report shows it: masked (a licence column can hold anything)
        for name, values in sorted(self.allowed.items()):
            column = records[name].tolist() if name in records.columns else [None] * n
            ok = set(values)
            for i, v in enumerate(column):
                if v is None or not str(v).strip():
                    missing[name] = missing.get(name, 0) + 1
                    flags[i] = True
                    reasons.setdefault(i, (name, None))
                elif ok and v not in ok:
                    key = shown.get(v) if isinstance(v, str) else None
                    if key is None:
                        key = snippet(v, 80)
                        if isinstance(v, str):
                            shown[v] = key
                    disallowed.setdefault(name, {})
                    disallowed[name][key] = disallowed[name].get(key, 0) + 1
                    flags[i] = True
                    reasons.setdefault(i, (name, v))
        flagged = int(flags.sum())
        summary = {
            "rows": n,
            "invalid": flagged,
            "invalid_rate": flagged / n if n else 0.0,
            "missing": missing,
            "disallowed": disallowed,
        }

        def reason(i: int) -> str:
            name, v = reasons[i]
            return f"missing {name}" if v is None else f"{name} {snippet(v, 80)!r} not allowed"

        examples = [{"line": int(records["line"].iloc[i]), "reason": reason(i)} for i in np.flatnonzero(flags)[:5]]
        return self.result(
            flags,
            flags.astype(float),
            summary,
            examples,
            f"{flagged} rows with missing or disallowed {', '.join(sorted(self.allowed))}",
        )
