"""Compliance: personal data and secrets (always masked), and licence / provenance fields with allowed values.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality:
compliance".
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult, snippet
from playbook_lib.checks.hashing import rows_matching


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """The ISO 13616 mod-97 checksum of an IBAN (spaces removed)."""
    s = iban.replace(" ", "").upper()
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ip_ok(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _card_ok(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1


# kind -> (pattern, validator). Order matters: earlier kinds claim their spans first.
PII_PATTERNS: dict[str, tuple[re.Pattern[str], Callable[[str], bool] | None]] = {
    "private_key": (re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"), None),
    "api_key": (re.compile(
        r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|xox[baprs]-[A-Za-z0-9-]{10,}"
        r"|AIza[0-9A-Za-z_-]{35})\b"
        r"|(?i:\b(?:api[_-]?key|secret|access[_-]?token|password)\b[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9_\-/+]{12,}"), None),
    "email": (re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), None),
    "iban": (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), iban_ok),
    "credit_card": (re.compile(r"(?<![\d-])(?:(?:\d{4}[ -]){3}\d{1,7}|\d{4}[ -]\d{6}[ -]\d{5}|\d{13,19})(?![\d-])"),
                    _card_ok),
    "us_ssn": (re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"), None),
    "ipv6": (re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4})(?![\w:])"),
             lambda s: len([g for g in s.split(":") if g]) >= 3 and _ip_ok(s)),
    "ipv4": (re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"), _ip_ok),
    "phone": (re.compile(r"(?<![\w+])(?<!\d[ .-])(?:(?:\+\d{1,3}|1)[ .-]?)?(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])\d{3,4}[ .-]\d{3,5}(?!\w)(?![ .-]\d)"),
              lambda s: 9 <= len(re.sub(r"\D", "", s)) <= 15),
}


_NUMERIC = {"credit_card", "us_ssn", "phone"}
_ARITHMETIC = set("=<>+*/×÷%$")


def _in_arithmetic(text: str, start: int, end: int) -> bool:
    """True when a number-shaped match sits in arithmetic ("960-480-120 = 360"), not in prose."""
    before = text[max(0, start - 3) : start].rstrip()
    after = text[end : end + 3].lstrip()
    return bool((before and before[-1] in _ARITHMETIC) or (after and after[0] in _ARITHMETIC))


_HAS_DIGIT = re.compile(r"\d")
_SECRET_HINTS = ("akia", "gh", "sk-", "xox", "aiza", "api", "key", "secret", "token", "password")
# Cheap necessary conditions: a kind's regex runs only when its prefilter says the text could hold a match.
_PREFILTER: dict[str, Callable[[str, str, bool], bool]] = {
    "private_key": lambda t, low, digit: "-----BEGIN" in t,
    "api_key": lambda t, low, digit: any(h in low for h in _SECRET_HINTS),
    "email": lambda t, low, digit: "@" in t,
    "iban": lambda t, low, digit: digit,
    "credit_card": lambda t, low, digit: digit,
    "us_ssn": lambda t, low, digit: digit and "-" in t,
    "ipv6": lambda t, low, digit: t.count(":") >= 2,
    "ipv4": lambda t, low, digit: digit and "." in t,
    "phone": lambda t, low, digit: digit,
}


#: A necessary condition for the patterns above: every match of every kind contains a match of one of these
#: (``MAYBE_PII`` case-sensitive, ``MAYBE_SECRET`` case-insensitive). Each starts with a character class or a literal,
#: so Python's ``re`` skips ahead fast; none can match a newline, so one pass over many texts joined by newlines finds
#: the only rows worth running :func:`find_pii` on (see :func:`~playbook_lib.checks.hashing.rows_matching`). None uses
#: a look-around, so Hyperscan takes them all in one pass.
MAYBE_PII: tuple[re.Pattern[str], ...] = (
    # card (4 digits + separator, or 13 digits), SSN, IPv4, phone, and the digits after an IBAN's country code
    re.compile(r"\d(?:\d{3}[ -]\d|\d{12}|\d{2}-\d{2}-\d{4}|\.\d{1,3}\.\d{1,3}\.\d|[ .-]?\d{3,4}[ .-]\d{3})"
               r"|[A-Z]{2}\d\d"),
    # email, IPv6, phone with an area code in parentheses, private key
    re.compile(r"@|[0-9A-Fa-f]:[0-9A-Fa-f:]|\)[ .-]?\d{3,4}[ .-]\d{3}|-----BEGIN"),
    # API keys by provider prefix
    re.compile(r"AKIA|AIza|gh[pousr]_|sk-|xox[baprs]-"),
)
#: API keys written as ``key = value``: (lower-case form for ASCII text, case-insensitive form for any text).
MAYBE_SECRET = (re.compile(r"api[_-]?key|secret|access[_-]?token|password"),
                re.compile(r"(?i:api[_-]?key|secret|access[_-]?token|password)"))


def maybe_pii(text: str) -> bool:
    """The prefilter on one text: false means :func:`find_pii` finds nothing in it."""
    return any(p.search(text) for p in MAYBE_PII) or MAYBE_SECRET[1].search(text) is not None


def find_pii(text: str, kinds: list[str] | None = None) -> list[tuple[str, int, int]]:
    """Non-overlapping ``(kind, start, end)`` spans of personal data and secrets in ``text``, sorted by start."""
    spans: list[tuple[str, int, int]] = []
    low = text.casefold()
    digit = _HAS_DIGIT.search(text) is not None
    taken: list[tuple[int, int]] = []
    # IBAN-shaped codes with a bad checksum are decoys, not phone or card numbers.
    iban_shaped = [m.span() for m in PII_PATTERNS["iban"][0].finditer(text)] if digit else []
    for kind, (pattern, valid) in PII_PATTERNS.items():
        if (kinds is not None and kind not in kinds) or not _PREFILTER[kind](text, low, digit):
            continue
        for m in pattern.finditer(text):
            s, e = m.span()
            if valid is not None and not valid(m.group()):
                continue
            if kind in _NUMERIC and (_in_arithmetic(text, s, e) or any(s < ie and is_ < e for is_, ie in iban_shaped)):
                continue
            if any(s < te and ts < e for ts, te in taken):
                continue
            taken.append((s, e))
            spans.append((kind, s, e))
    return sorted(spans, key=lambda t: t[1])


def mask_pii(text: str) -> str:
    """``text`` with every personal-data or secret span replaced by ``[KIND]`` (e.g. ``[EMAIL]``)."""
    out, last = [], 0
    for kind, s, e in find_pii(text):
        out.append(text[last:s])
        out.append(f"[{kind.upper()}]")
        last = e
    out.append(text[last:])
    return "".join(out)


def _texts(values: tuple[object, ...]) -> list[str]:
    """Every string in a row's fields, including the contents of chat turns, without repeats (in order)."""
    out: list[str] = []
    for v in values:
        if isinstance(v, str):
            candidates = [v]
        elif isinstance(v, list):
            candidates = [t.get("content") if isinstance(t, dict) else t for t in v]
        else:
            candidates = []
        out.extend(c for c in candidates if isinstance(c, str) and c not in out)
    return out


class PiiCheck(Check):
    """Rows holding personal data or secrets: email, phone, credit card (Luhn), IBAN (mod 97), IPv4/IPv6, US SSN,
    API keys and private keys. Examples are always masked. The metric ``pii_rate`` is the share of rows with any.
    """

    name = "pii"
    metric = "pii_rate"

    def __init__(self, kinds: list[str] | None = None, fields: list[str] | None = None,
                 warn: float | None = 0.0, fail: float | None = 0.01) -> None:
        super().__init__(warn, fail)
        from playbook_lib.errors import UsageError

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
        examples = []
        columns = [records[f].tolist() for f in self.fields if f in records.columns]
        # Only rows where the cheap combined prefilter matches can hold PII: one regex pass per chunk of a column.
        maybe = np.zeros(n, dtype=bool)
        for column in columns:
            maybe |= rows_matching(MAYBE_PII, column, ignorecase=MAYBE_SECRET)
            nested = [i for i, v in enumerate(column) if isinstance(v, list)]
            if nested:
                maybe[nested] |= rows_matching(MAYBE_PII, ["\n".join(_texts((column[i],))) for i in nested],
                                               ignorecase=MAYBE_SECRET)
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
                examples.append({"line": int(lines[i]), "reason": ", ".join(sorted(set(found))),
                                 "text": snippet(text, 160)})
        flagged = int(flags.sum())
        by_kind = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        summary = {"rows": n, "rows_with_pii": flagged, "pii_rate": flagged / n if n else 0.0,
                   "by_kind": dict(sorted(counts.items()))}
        return self.result(flags, scores, summary, examples,
                           f"{flagged} rows" + (f" ({by_kind})" if counts else ""))


class LicenceCheck(Check):
    """Metadata fields that must be present with an allowed value, e.g. ``{"licence": ["CC-BY-4.0", "MIT"]}``.

    ``allowed`` maps a record field (``licence``, ``provenance``, ``source``...) to its allowed values; an empty list
    accepts any non-empty value. The metric ``invalid_rate`` is the share of rows with a missing or disallowed value.
    """

    name = "licence"
    metric = "invalid_rate"

    def __init__(self, allowed: dict[str, list[str]] | None = None, warn: float | None = 0.0,
                 fail: float | None = 0.05) -> None:
        super().__init__(warn, fail)
        self.allowed = dict(allowed) if allowed is not None else {"licence": []}

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        flags = np.zeros(n, bool)
        missing: dict[str, int] = {}
        disallowed: dict[str, dict[str, int]] = {}
        reasons: dict[int, str] = {}
        for name, values in sorted(self.allowed.items()):
            column = records[name].tolist() if name in records.columns else [None] * n
            ok = set(values)
            for i, v in enumerate(column):
                if v is None or not str(v).strip():
                    missing[name] = missing.get(name, 0) + 1
                    flags[i] = True
                    reasons.setdefault(i, f"missing {name}")
                elif ok and v not in ok:
                    disallowed.setdefault(name, {})
                    disallowed[name][v] = disallowed[name].get(v, 0) + 1
                    flags[i] = True
                    reasons.setdefault(i, f"{name} {v!r} not allowed")
        flagged = int(flags.sum())
        summary = {"rows": n, "invalid": flagged, "invalid_rate": flagged / n if n else 0.0,
                   "missing": missing, "disallowed": disallowed}
        examples = [{"line": int(records["line"].iloc[i]), "reason": reasons[i]} for i in np.flatnonzero(flags)[:5]]
        return self.result(flags, flags.astype(float), summary, examples,
                           f"{flagged} rows with missing or disallowed {', '.join(sorted(self.allowed))}")
