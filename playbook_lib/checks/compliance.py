"""Compliance: personal data and secrets (always masked), and licence / provenance fields with allowed values.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
compliance".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import Check, CheckContext, CheckResult
from playbook_lib.checks.batch import BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.registry import register
from playbook_lib.errors import UsageError
from playbook_lib.text.normal import snippet
from playbook_lib.text.pii import MAYBE_PII, MAYBE_SECRET, PII_PATTERNS
from playbook_lib.text.pii_allow import Allowlist, find_personal
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
class PiiCheck(BatchCheck):
    """Rows holding personal data or secrets: email, phone, credit card (Luhn), IBAN (mod 97), IPv4/IPv6, US SSN,
    API keys and private keys. Examples are always masked. The metric ``pii_rate`` is the share of rows with any.

    Documentation, reserved, placeholder and public values are not counted (``user@example.com``, ``192.168.1.1``,
    ``8.8.8.8``, ``555-0123``, toll-free numbers, ``git 1.7.7.3``, ``your_api_key``: the list is in
    :mod:`playbook_lib.text.pii_allow`); ``allow`` adds the team's own: exact values (any case; a phone number by its
    digits) or ``re:PATTERN``, a regular expression matching the whole value (``re:.*@heronsgate\\.com``).
    """

    name = "pii"
    metric = "pii_rate"
    tables = ("hits", "kinds", "shown", "ignored")

    def __init__(
        self,
        kinds: list[str] | None = None,
        fields: list[str] | None = None,
        allow: list[str] | None = None,
        warn: float | None = 0.0,
        fail: float | None = 0.01,
    ) -> None:
        super().__init__(warn, fail)
        unknown = sorted(set(kinds or []) - set(PII_PATTERNS))
        if unknown:
            raise UsageError(f"unknown PII kind {unknown[0]!r}; valid: {', '.join(PII_PATTERNS)}")
        self.kinds = list(kinds) if kinds else None
        self.fields = list(fields or ["instruction", "input", "output", "messages", "chosen", "rejected"])
        if allow is not None and not isinstance(allow, (list, tuple)):
            raise UsageError(f"pii: allow must be a list of values or re:PATTERN strings, got {allow!r}")
        self.allow = Allowlist(allow or [])

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """The rows holding personal data (row, line, score), each kind's matches per row, the first
        :attr:`max_examples` rows' masked texts, and the values not counted (by reason)."""
        n = len(records)
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
        numbers, lines = row_numbers(records), records["line"].to_numpy(dtype=np.int64)
        allow = self.allow if self.allow else None
        hits: dict[str, list[Any]] = {"row": [], "line": [], "score": []}
        kinds: dict[str, list[Any]] = {"row": [], "kind": [], "matches": []}
        shown: dict[str, list[Any]] = {"row": [], "text": []}
        ignored: dict[str, int] = {}
        for i in np.flatnonzero(maybe).tolist():
            values = _texts(tuple(column[i] for column in columns))
            found: list[str] = []
            for v in values:
                kept, left_out = find_personal(v, self.kinds, allow)
                found.extend(k for k, _, _ in kept)
                for _, reason in left_out:
                    ignored[reason] = ignored.get(reason, 0) + 1
            if not found:
                continue
            hits["row"].append(int(numbers[i]))
            hits["line"].append(int(lines[i]))
            hits["score"].append(min(1.0, len(found) / 3))
            for k in sorted(set(found)):
                kinds["row"].append(int(numbers[i]))
                kinds["kind"].append(k)
                kinds["matches"].append(found.count(k))
            if len(shown["row"]) < self.max_examples:
                shown["row"].append(int(numbers[i]))
                shown["text"].append(snippet("\n".join(values), 160))
        return {
            "hits": pa.table(hits, schema=_HITS),
            "kinds": pa.table(kinds, schema=_KINDS),
            "shown": pa.table(shown, schema=_SHOWN),
            "ignored": pa.table({"reason": list(ignored), "values": list(ignored.values())}, schema=_IGNORED),
        }

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        hits = store.query(f'SELECT row, line, score FROM "{self.table("hits")}" ORDER BY row')
        found = store.query(f'SELECT row, kind, matches FROM "{self.table("kinds")}" ORDER BY row, kind')
        shown = store.query(f'SELECT row, text FROM "{self.table("shown")}" ORDER BY row LIMIT {self.max_examples}')
        left_out = store.query(
            f'SELECT reason, sum("values")::BIGINT AS "values" FROM "{self.table("ignored")}" GROUP BY reason'
        )
        flags, scores = np.zeros(n, bool), np.zeros(n)
        flags[hits["row"]], scores[hits["row"]] = True, hits["score"]
        matches: dict[int, dict[str, int]] = {}
        for row, kind, count in zip(found["row"].tolist(), found["kind"].tolist(), found["matches"].tolist()):
            matches.setdefault(row, {})[kind] = count
        rows_by_kind: dict[str, int] = {}
        matches_by_kind: dict[str, int] = {}
        for per_row in matches.values():
            for k, count in per_row.items():
                rows_by_kind[k] = rows_by_kind.get(k, 0) + 1
                matches_by_kind[k] = matches_by_kind.get(k, 0) + count
        details: dict[int, dict[str, object]] = {  # row -> the kinds found and their match counts (--flags)
            row: {"reason": ", ".join(per_row), "matches": per_row} for row, per_row in matches.items()
        }
        line_of = dict(zip(hits["row"].tolist(), hits["line"].tolist()))
        examples: list[dict[str, object]] = [
            {"line": line_of[row], "row": row, "reason": details[row]["reason"], "text": text}
            for row, text in zip(shown["row"].tolist(), shown["text"].tolist())
        ]
        ignored = {str(r): int(c) for r, c in zip(left_out["reason"].tolist(), left_out["values"].tolist())}
        flagged = int(flags.sum())
        summary = {
            "rows": n,
            "rows_with_pii": flagged,
            "pii_rate": flagged / n if n else 0.0,
            "rows_by_kind": dict(sorted(rows_by_kind.items())),
            "matches_by_kind": dict(sorted(matches_by_kind.items())),
            "ignored_by_reason": dict(sorted(ignored.items())),
        }
        detail = f"{flagged} rows"
        if flagged:
            detail += ": " + ", ".join(
                f"{k} {rows_by_kind[k]} row{'s' * (rows_by_kind[k] != 1)} ({m} match{'es' * (m != 1)})"
                for k, m in sorted(matches_by_kind.items())
            )
        if ignored:
            total = sum(ignored.values())
            detail += (
                f"; not counted: {total} documentation, placeholder or public value{'s' * (total != 1)} ("
                + ", ".join(f"{r} {c}" for r, c in sorted(ignored.items()))
                + ")"
            )
        return self.result(flags, scores, summary, examples, detail, details=details)


_HITS = pa.schema([("row", pa.int64()), ("line", pa.int64()), ("score", pa.float64())])
_KINDS = pa.schema([("row", pa.int64()), ("kind", pa.string()), ("matches", pa.int64())])
_SHOWN = pa.schema([("row", pa.int64()), ("text", pa.string())])
_IGNORED = pa.schema([("reason", pa.string()), ("values", pa.int64())])


@register
class LicenceCheck(Check):
    """Metadata fields that must be present with an allowed value, e.g. ``{"licence": ["CC-BY-4.0", "MIT"]}``.

    ``allowed`` maps a record field (``licence``, ``provenance``, ``source``...) to its allowed values; an empty list
    accepts any non-empty value. The metric ``invalid_rate`` is the share of rows with a missing or disallowed value.
    A dataset under one licence declares it once: ``declared`` in the item, or ``playbook check --licence NAME``
    (:attr:`CheckContext.licence`; the item's ``declared`` wins when both are given). Every row without its own
    ``licence`` value inherits it, and it is checked against ``allowed`` like a row's own; no other field inherits.
    With no licence in any row and none declared the item is not evaluated, with the line that says how to supply one.
    """

    name = "licence"
    metric = "invalid_rate"

    def __init__(
        self,
        allowed: dict[str, list[str]] | None = None,
        declared: str | None = None,
        warn: float | None = 0.0,
        fail: float | None = 0.05,
    ) -> None:
        super().__init__(warn, fail)
        self.allowed = dict(allowed) if allowed is not None else {"licence": []}
        if declared is not None:
            self.require(
                isinstance(declared, str) and bool(declared.strip()),
                f"declared must be a licence name (a non-empty string), got {declared!r}",
            )
            self.require("licence" in self.allowed, "declared needs 'licence' among the fields of allowed")
        self.declared = declared.strip() if isinstance(declared, str) else None

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        if self.declared is not None:
            declared, source = self.declared, "in this item"
        elif context.licence is not None and context.licence.strip():
            declared, source = context.licence.strip(), "with --licence"
        else:
            declared, source = None, ""
        columns = {
            name: [None if _absent(v) else v for v in records[name].tolist()] if name in records.columns else [None] * n
            for name in self.allowed
        }
        if "licence" in self.allowed and declared is None and n and all(v is None for v in columns["licence"]):
            return self.not_evaluated(
                n,
                "no licence: declare the dataset's licence with `playbook check --licence NAME` or `declared: NAME` "
                "in this item, or add a licence column",
            )
        inherited = 0
        if declared is not None:
            inherited = sum(v is None for v in columns["licence"])
            columns["licence"] = [declared if v is None else v for v in columns["licence"]]
        flags = np.zeros(n, bool)
        missing: dict[str, int] = {}
        disallowed: dict[str, dict[str, int]] = {}
        reasons: dict[int, tuple[str, object]] = {}  # row -> (field, disallowed value or None when missing)
        shown: dict[object, str] = {}  # a value as the report shows it: masked (a licence column can hold anything)
        for name, values in sorted(self.allowed.items()):
            ok = set(values)
            for i, v in enumerate(columns[name]):
                if v is None:
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
        summary: dict[str, object] = {
            "rows": n,
            "invalid": flagged,
            "invalid_rate": flagged / n if n else 0.0,
            "missing": missing,
            "disallowed": disallowed,
        }
        if declared is not None:
            summary["declared"] = snippet(declared, 80)
            summary["inherited"] = inherited

        def reason(i: int) -> str:
            name, v = reasons[i]
            if v is None:
                return f"missing {name}"
            own = "declared " if name == "licence" and declared is not None and v == declared else ""
            return f"{own}{name} {snippet(v, 80)!r} not allowed"

        examples = [{"line": int(records["line"].iloc[i]), "reason": reason(i)} for i in np.flatnonzero(flags)[:5]]
        detail = f"{flagged} rows with missing or disallowed {', '.join(sorted(self.allowed))}"
        if declared is not None:
            detail += f"; licence {snippet(declared, 80)!r} declared {source}, inherited by {inherited} rows"
            allowed_licences = self.allowed.get("licence") or []
            if allowed_licences and declared not in allowed_licences and inherited:
                detail += f" (not allowed: {', '.join(map(str, allowed_licences))})"
        details = {i: {"reason": reason(i)} for i in np.flatnonzero(flags).tolist()}
        return self.result(flags, flags.astype(float), summary, examples, detail, details=details)


def _absent(value: object) -> bool:
    """A missing metadata value: None, NaN (an empty Parquet or CSV cell) or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()
