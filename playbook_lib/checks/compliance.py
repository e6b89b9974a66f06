"""Compliance: personal data and secrets (always masked), and licence / provenance fields with allowed values.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
compliance".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult
from playbook_lib.checks.batch import READ_ROWS, BatchCheck, FeatureStore, RowSource, row_numbers
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
_LICENCE_PROBLEMS = pa.schema(
    [("row", pa.int64()), ("line", pa.int64()), ("rank", pa.int32()), ("field", pa.string()), ("key", pa.string())]
)
_PRESENT = pa.schema([("licences", pa.int64())])


@register
class LicenceCheck(BatchCheck):
    """Metadata fields that must be present with an allowed value, e.g. ``{"licence": ["CC-BY-4.0", "MIT"]}``.

    ``allowed`` maps a record field (``licence``, ``provenance``, ``source``...) to its allowed values; an empty list
    accepts any non-empty value. The metric ``invalid_rate`` is the share of rows with a missing or disallowed value.
    A dataset under one licence declares it once: ``declared`` in the item, or ``playbook check --licence NAME``
    (:attr:`CheckContext.licence`; the item's ``declared`` wins when both are given). Every row without its own
    ``licence`` value inherits it, and it is checked against ``allowed`` like a row's own; no other field inherits.
    With no licence in any row and none declared the item is not evaluated, with the line that says how to supply one.

    In batches (:mod:`playbook_lib.checks.batch`): each batch stores, per row and field, a missing value or a
    disallowed one (as the report shows it, masked); the global step, which knows the declared licence, lets the
    rows without a licence inherit it and reads back only the rows whose own licence may equal the declared one.
    """

    name = "licence"
    metric = "invalid_rate"
    tables = ("problems", "present")

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

    def _columns(self, records: pd.DataFrame) -> dict[str, list[object]]:
        """Each checked field's values, ``None`` where absent (see :func:`_absent`)."""
        n = len(records)
        return {
            name: [None if _absent(v) else v for v in records[name].tolist()] if name in records.columns else [None] * n
            for name in self.allowed
        }

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Per row and field (in sorted field order): a missing value (``key`` null) or a disallowed one (``key``:
        its masked snippet); and how many rows hold a licence of their own."""
        columns = self._columns(records)
        numbers, lines = row_numbers(records), records["line"].to_numpy(dtype=np.int64)
        found: dict[str, list[Any]] = {"row": [], "line": [], "rank": [], "field": [], "key": []}
        shown: dict[object, str] = {}  # a value as the report shows it: masked (a licence column can hold anything)
        for rank, (name, values) in enumerate(sorted(self.allowed.items())):
            ok = set(values)
            for i, v in enumerate(columns[name]):
                if v is None:
                    key = None
                elif ok and v not in ok:
                    key = shown.get(v) if isinstance(v, str) else None
                    if key is None:
                        key = snippet(v, 80)
                        if isinstance(v, str):
                            shown[v] = key
                else:
                    continue
                for column, value in zip(found.values(), (int(numbers[i]), int(lines[i]), rank, name, key)):
                    column.append(value)
        own = sum(v is not None for v in columns["licence"]) if "licence" in columns else 0
        return {
            "problems": pa.table(found, schema=_LICENCE_PROBLEMS),
            "present": pa.table({"licences": [own]}, schema=_PRESENT),
        }

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        if self.declared is not None:
            declared, source = self.declared, "in this item"
        elif context.licence is not None and context.licence.strip():
            declared, source = context.licence.strip(), "with --licence"
        else:
            declared, source = None, ""
        own = int(store.query(f'SELECT coalesce(sum(licences), 0)::BIGINT AS n FROM "{self.table("present")}"')["n"][0])
        if "licence" in self.allowed and declared is None and n and own == 0:
            return self.not_evaluated(
                n,
                "no licence: declare the dataset's licence with `playbook check --licence NAME` or `declared: NAME` "
                "in this item, or add a licence column",
            )
        if "licence" not in self.allowed:
            declared = None  # no licence to inherit: only a checked licence field inherits the declaration
        found = store.query(f'SELECT row, line, rank, field, key FROM "{self.table("problems")}" ORDER BY row, rank')
        keys: list[str | None] = found["key"].tolist()
        fields: list[str] = found["field"].tolist()
        inherits = np.array([k is None for k in keys], bool) & (found["field"] == "licence")
        inherited = int(inherits.sum()) if declared is not None else 0
        declared_key = snippet(declared, 80) if declared is not None else None
        skip = np.zeros(len(keys), bool)  # rows that inherit an allowed declared licence: no problem
        if declared is not None:
            ok = set(self.allowed["licence"])
            if ok and declared not in ok:
                for i in np.flatnonzero(inherits).tolist():
                    keys[i] = declared_key
            else:
                skip = inherits
        is_declared = self._own_declared(rows, found["row"], keys, fields, inherits, declared, declared_key)
        missing_by: dict[str, int] = {}
        disallowed_by: dict[str, dict[str, int]] = {}
        reasons: dict[int, str] = {}  # row -> why (its first field with a problem, in sorted field order)
        lines: dict[int, int] = {}
        for j, (row, line, name, key) in enumerate(zip(found["row"].tolist(), found["line"].tolist(), fields, keys)):
            if skip[j]:
                continue
            if key is None:
                missing_by[name] = missing_by.get(name, 0) + 1
                reason = f"missing {name}"
            else:
                per = disallowed_by.setdefault(name, {})
                per[key] = per.get(key, 0) + 1
                own_text = "declared " if name == "licence" and (inherits[j] or is_declared[j]) else ""
                reason = f"{own_text}{name} {key!r} not allowed"
            reasons.setdefault(row, reason)
            lines.setdefault(row, line)
        flags = np.zeros(n, bool)
        flags[np.fromiter(reasons, dtype=np.int64, count=len(reasons))] = True
        order = sorted(self.allowed)
        missing = {name: missing_by[name] for name in order if name in missing_by}
        disallowed = {name: disallowed_by[name] for name in order if name in disallowed_by}
        flagged = int(flags.sum())
        summary: dict[str, object] = {
            "rows": n,
            "invalid": flagged,
            "invalid_rate": flagged / n if n else 0.0,
            "missing": missing,
            "disallowed": disallowed,
        }
        if declared is not None:
            summary["declared"] = declared_key
            summary["inherited"] = inherited
        examples = [{"line": lines[i], "reason": reasons[i]} for i in sorted(reasons)[:5]]
        detail = f"{flagged} rows with missing or disallowed {', '.join(sorted(self.allowed))}"
        if declared is not None:
            detail += f"; licence {declared_key!r} declared {source}, inherited by {inherited} rows"
            allowed_licences = self.allowed.get("licence") or []
            if allowed_licences and declared not in allowed_licences and inherited:
                detail += f" (not allowed: {', '.join(map(str, allowed_licences))})"
        details = {i: {"reason": reasons[i]} for i in sorted(reasons)}
        return self.result(flags, flags.astype(float), summary, examples, detail, details=details)

    @staticmethod
    def _own_declared(
        rows: RowSource,
        numbers: np.ndarray,
        keys: list[str | None],
        fields: list[str],
        inherits: np.ndarray,
        declared: str | None,
        declared_key: str | None,
    ) -> np.ndarray:
        """Which problems are a row's own disallowed licence equal to the declared one: the rows whose masked value
        shows as the declared one are read back (in chunks) and compared exactly."""
        out = np.zeros(len(keys), bool)
        if declared is None:
            return out
        candidates = [
            j
            for j, (name, key) in enumerate(zip(fields, keys))
            if name == "licence" and key == declared_key and not inherits[j]
        ]
        for lo in range(0, len(candidates), READ_ROWS):
            part = candidates[lo : lo + READ_ROWS]
            values = rows.take(numbers[part])["licence"].tolist()
            out[part] = [isinstance(v, str) and v == declared for v in values]
        return out


def _absent(value: object) -> bool:
    """A missing metadata value: None, NaN (an empty Parquet or CSV cell) or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()
