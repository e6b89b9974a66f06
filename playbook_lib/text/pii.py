"""Personal data and secrets in text: the patterns (with checksum and context validators), a fast necessary-condition
prefilter, and masking.

The core of the ``pii`` check (:class:`~playbook_lib.checks.compliance.PiiCheck`) and the final masking pass of
every report and command (:func:`playbook_lib.text.masking.masked`). Taught in the book's *Dataset engineering* page
(``notebooks/dm_02_dataset_engineering.ipynb``), "Quality: compliance".
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable, Iterator


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


# A PEM private key, header to footer: the base64 lines between (each separated by whitespace or an escaped "\n"),
# the encryption headers of old OpenSSL keys, and the END line when it is there (a truncated block is masked up to
# its last base64 line). Possessive and atomic groups keep the scan linear on hostile text (no END, many BEGINs).
_PEM_LABEL = r"(?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
_PEM_SEP = r"(?:\s|\\[rn])++"
_PEM_LINE = (
    r"(?>[A-Za-z0-9+/]{16,}+={0,2}+|[A-Za-z0-9+/]++={1,2}+|[A-Za-z0-9+/]++(?=(?:\s|\\[rn])*+-----END )"
    r"|(?:Proc-Type|DEK-Info|Comment|Version): [^\n\\]*+)"
)
# case-insensitive: a report that lower-cases a value (a split name) must not unmask the key it holds
_PRIVATE_KEY = re.compile(
    rf"(?i:-----BEGIN {_PEM_LABEL}(?:{_PEM_SEP}{_PEM_LINE})*+"
    rf"(?:(?:{_PEM_SEP})?-----END {_PEM_LABEL})?)"
)
# Words that make a key name a secret's (``aws_secret_access_key``, ``client-secret``, ``apiKey``, ``"password"``):
# the word must start a part of the name (after a non-letter, or capitalised) and end one (before a non-lower-case
# letter), so ``secretary`` is no secret.
_SECRET_WORDS = (
    r"api[_-]?key|secret|passw(?:or)?d|access[_-]?key|private[_-]?key"
    r"|(?:access|auth|refresh|bearer|session)[_-]?token"
)
_SECRET_KV = re.compile(
    r"(?i:(?<![\w.-])(?P<key>[\w.-]{0,40}?(?:(?<![A-Za-z])|(?-i:(?=[A-Z])))(?:" + _SECRET_WORDS + r")s?(?-i:(?![a-z]))"
    r"[\w.-]{0,40}+)[\"']?[ \t]*+(?::=|=>|[:=])[ \t]*+(?P<quote>[\"']?))(?P<value>[^\s\"'`,;<>(){}\[\]]{8,}+)(?!\()"
)
# AWS key IDs (AKIA long-term, ASIA temporary) and Google keys (AIza) also lower-cased (a value that a check
# lower-cased before echoing it), then with a digit (see _provider_ok)
_PROVIDER_KEY = (
    r"\b(?:(?i:A(?:KIA|SIA)[0-9A-Z]{16})|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}"
    r"|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|xox[baprs]-[A-Za-z0-9-]{10,}|(?i:AIza)[0-9A-Za-z_-]{35})\b"
)


def _provider_ok(text: str) -> bool:
    """A provider key: written as issued (``AKIA...`` in capitals), or in another case with a digit in it (an
    ordinary word of 20 letters that starts with "asia" is no key)."""
    head = text[:4]
    if head.casefold() not in ("akia", "asia", "aiza") or head == "AIza":
        return True
    return (head in ("AKIA", "ASIA") and text.isupper()) or any(c.isdigit() for c in text)


def _secret_ok(text: str) -> bool:
    """A provider key, or a ``key = value`` whose value looks like a secret rather than a word or a name in code: a
    quoted literal (``password = "hunter2hunter"``), or an unquoted value that holds a digit or a symbol or is at least
    20 characters long ("secret: patience" and ``password: hashedPassword`` are not secrets, ``client-secret=Zx9!q``
    is); never a variable (``$value``). Function calls (``key = make_key(...)``) are excluded by the pattern."""
    m = _SECRET_KV.fullmatch(text)
    if m is None:
        return True
    value = m.group("value")
    if value.startswith("$"):
        return False
    return bool(m.group("quote")) or len(value) >= 20 or any(not c.isalpha() for c in value.rstrip(".!?"))


# International phone numbers: ``+`` and a country code, then groups of digits split by one space, dot or dash
# (one area code may sit in parentheses: "+1 (415) 555-2671", "+49 (0)30 1234567"), or the compact E.164 form;
# 8 to 15 digits in all (validated).
_PHONE_INTL = (
    r"\+(?<![\w+]\+)(?<!\d[ .-]\+)[1-9](?:\d{0,2}(?:[ .-]?\(\d{1,5}\)\d{0,10})?(?:[ .-]\d{1,10}){1,6}+"
    r"(?![\w.-]?\d)|\d{7,14})(?!\w)"
)
_PHONE_LOCAL = (
    r"(?<![\w+])(?<!\d[ .-])(?:(?:\+\d{1,3}|1)[ .-]?)?(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])\d{3,4}[ .-]\d{3,5}"
    r"(?!\w)(?![ .-]\d)"
)


def _phone_ok(text: str) -> bool:
    digits = len(re.sub(r"\D", "", text))
    return (8 if text.startswith("+") else 9) <= digits <= 15


# kind -> (pattern, validator). Order matters: earlier kinds claim their spans first.
PII_PATTERNS: dict[str, tuple[re.Pattern[str], Callable[[str], bool] | None]] = {
    "private_key": (_PRIVATE_KEY, None),
    "api_key": (re.compile(_PROVIDER_KEY + "|" + _SECRET_KV.pattern), _secret_ok),  # find_pii runs the two apart
    "email": (re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), None),
    "iban": (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), iban_ok),
    "credit_card": (
        re.compile(r"(?<![\d-])(?:(?:\d{4}[ -]){3}\d{1,7}|\d{4}[ -]\d{6}[ -]\d{5}|\d{13,19})(?![\d-])"),
        _card_ok,
    ),
    "us_ssn": (re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"), None),
    "ipv6": (
        re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4})(?![\w:])"),
        lambda s: len([g for g in s.split(":") if g]) >= 3 and _ip_ok(s),
    ),
    # not part of a longer dotted number (1.2.3.4.5), but a sentence may end right after it ("at 81.2.69.142.")
    "ipv4": (re.compile(r"(?<!\d)(?<!\d\.)(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)"), _ip_ok),
    "phone": (re.compile(_PHONE_INTL + "|" + _PHONE_LOCAL), _phone_ok),
}


_NUMERIC = {"credit_card", "us_ssn", "phone"}
_ARITHMETIC = set("=<>+*/×÷%$")


def _in_arithmetic(text: str, start: int, end: int) -> bool:
    """True when a number-shaped match sits in arithmetic ("960-480-120 = 360"), not in prose."""
    before = text[max(0, start - 3) : start].rstrip()
    after = text[end : end + 3].lstrip()
    return bool((before and before[-1] in _ARITHMETIC) or (after and after[0] in _ARITHMETIC))


_HAS_DIGIT = re.compile(r"\d")
_PROVIDER_HINTS = ("akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-", "xox", "aiza")
_SECRET_HINTS = ("key", "secret", "passw", "token")  # every word of _SECRET_WORDS holds one
# Cheap necessary conditions: a kind's regex runs only when its prefilter says the text could hold a match.
_PREFILTER: dict[str, Callable[[str, str, bool], bool]] = {
    "private_key": lambda t, low, digit: "-----begin" in low,
    "api_key": lambda t, low, digit: any(h in low for h in _PROVIDER_HINTS + _SECRET_HINTS),
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
    re.compile(
        r"\d(?:\d{3}[ -]\d|\d{12}|\d{2}-\d{2}-\d{4}|\.\d{1,3}\.\d{1,3}\.\d|[ .-]?\d{3,4}[ .-]\d{3})"
        r"|[A-Z]{2}\d\d"
    ),
    # email, IPv6, phone with an area code in parentheses, international phone (+ and a country code,
    # then two groups of digits, a parenthesised area code, or 5+ digits: 8 digits in all)
    re.compile(
        r"@|[0-9A-Fa-f]:[0-9A-Fa-f:]|\)[ .-]?\d{3,4}[ .-]\d{3}"
        r"|\+[1-9]\d{0,2}(?:[ .-]?\(\d{1,5}\)\d{0,10}[ .-]\d|[ .-]\d{1,10}[ .-]\d|[ .-]\d{5})|\+[1-9]\d{7}"
    ),
    # API keys by provider prefix (AWS and Google in any case: see MAYBE_SECRET)
    re.compile(r"gh[pousr]_|github_pat_|sk-|xox[baprs]-"),
)
_MAYBE_SECRET = (
    r"api[_-]?key|secret|passw|access[_-]?key|private[_-]?key|(?:access|auth|refresh|bearer|session)"
    r"[_-]?token|akia|asia|aiza|-----begin"
)
#: Secrets written as ``key = value`` (the key names one), AWS and Google keys, and private keys, in any case:
#: (lower-case form for ASCII text, case-insensitive form for any text).
MAYBE_SECRET = (re.compile(_MAYBE_SECRET), re.compile(f"(?i:{_MAYBE_SECRET})"))


def maybe_pii(text: str) -> bool:
    """The prefilter on one text: false means :func:`find_pii` finds nothing in it."""
    return any(p.search(text) for p in MAYBE_PII) or MAYBE_SECRET[1].search(text) is not None


_PROVIDER_RE = re.compile(_PROVIDER_KEY)
#: The two API-key passes, for :mod:`playbook_lib.text.pii_allow` to read a match's parts (the key name, the value).
PROVIDER_KEY_RE, SECRET_KV_RE = _PROVIDER_RE, _SECRET_KV


def _scans(
    text: str, low: str, digit: bool, kinds: list[str] | None
) -> Iterator[tuple[str, re.Pattern[str], Callable[[str], bool] | None]]:
    """The ``(kind, pattern, validator)`` passes worth running on ``text``, in :data:`PII_PATTERNS` order. API keys
    run as two passes, each behind its own prefilter: provider prefixes, and ``key = value`` (whose pattern has no
    literal prefix to skip ahead on, so it runs only on texts that name a secret)."""
    for kind, (pattern, valid) in PII_PATTERNS.items():
        if (kinds is not None and kind not in kinds) or not _PREFILTER[kind](text, low, digit):
            continue
        if kind != "api_key":
            yield kind, pattern, valid
            continue
        if any(h in low for h in _PROVIDER_HINTS):
            yield kind, _PROVIDER_RE, _provider_ok
        if any(h in low for h in _SECRET_HINTS):
            yield kind, _SECRET_KV, _secret_ok


class _Spans:
    """Non-overlapping ``[start, end)`` spans, sorted: whether a new span overlaps one costs a binary search (a text
    with tens of thousands of matches stays fast)."""

    def __init__(self, spans: list[tuple[int, int]] | None = None) -> None:
        self.starts = [a for a, _ in spans or []]
        self.ends = [b for _, b in spans or []]

    def overlaps(self, s: int, e: int) -> bool:
        k = bisect.bisect_right(self.starts, s)
        return (k > 0 and self.ends[k - 1] > s) or (k < len(self.starts) and self.starts[k] < e)

    def add(self, s: int, e: int) -> None:
        k = bisect.bisect_right(self.starts, s)
        self.starts.insert(k, s)
        self.ends.insert(k, e)


def find_pii(text: str, kinds: list[str] | None = None) -> list[tuple[str, int, int]]:
    """Non-overlapping ``(kind, start, end)`` spans of personal data and secrets in ``text``, sorted by start.

    Every PII-shaped span, documentation values included (``jane@example.com``): masking hides them all. What the
    ``pii`` check counts is :func:`playbook_lib.text.pii_allow.find_personal`, which leaves out the documentation,
    reserved, placeholder and public values."""
    spans: list[tuple[str, int, int]] = []
    low = text.casefold()
    digit = _HAS_DIGIT.search(text) is not None
    taken = _Spans()
    # IBAN-shaped codes with a bad checksum are decoys, not phone or card numbers.
    iban_shaped = _Spans([m.span() for m in PII_PATTERNS["iban"][0].finditer(text)] if digit else [])
    for kind, pattern, valid in _scans(text, low, digit, kinds):
        for m in pattern.finditer(text):
            s, e = m.span()
            if valid is not None and not valid(m.group()):
                continue
            if kind in _NUMERIC and (_in_arithmetic(text, s, e) or iban_shaped.overlaps(s, e)):
                continue
            if taken.overlaps(s, e):
                continue
            taken.add(s, e)
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
