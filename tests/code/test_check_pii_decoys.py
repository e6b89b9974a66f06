"""PII look-alike decoys are not flagged, and the prefilter (:func:`maybe_pii`) is a necessary condition of
every PII pattern: each span :func:`find_pii` reports contains a prefilter match, so skipping rows without one
cannot lose PII."""

from __future__ import annotations

import random

from playbook_lib.checks import CheckContext
from playbook_lib.checks.compliance import PiiCheck
from playbook_lib.data import records_from_rows
from playbook_lib.text.pii import find_pii, maybe_pii

DECOYS = [
    "Order reference 4539148803436468 ships Monday.",  # 16 digits, Luhn fails
    "Code DE00123456789012345678 is a template.",  # IBAN-shaped, bad checksum
    "Upgrade to version 2.14.7 first.",  # version string
    "Build 1.2.300.4 was reverted.",  # IPv4-shaped, octet above 255
    "Form 000-12-3456 is a sample SSN.",  # invalid SSN area
    "Write to admin@localhost for help.",  # no domain
    "Ticket 12-34 and room 4.5.",  # short numbers
    "The sum 960-480-120 = 360 holds.",  # arithmetic
    # documentation and reserved values: found (and masked) but not personal data, so not counted
    "Mail jane.doe@example.org today.",  # reserved domain
    "Call +1 415-555-0132 now.",  # fictitious 555 number
    "Server at 192.168.10.4 is up.",  # private address
    "v6 2001:db8:85a3::8a2e:370:7334 route",  # documentation range
]
REAL = [
    "Mail jane.doe@corp-mail.net today.",
    "Call +1 415-623-0132 now.",
    "Card 4111 1111 1111 1111 on file.",
    "IBAN DE89370400440532013000 please.",
    "Server at 81.2.69.142 is up.",
    "SSN 123-45-6789 leaked.",
    "key AKIAIOSFODNN7EXAMPLE in logs",
    "token ghp_" + "Zx81kq93LmQ0pVb7Tr4Wn2Yc6Hd9Jf1Gs5Ka" + " here",
    "password = hunter2hunter2x",
    "-----BEGIN RSA PRIVATE KEY-----",
    "v6 2a02:8010:6f3c::17 route",
    "phone (030) 123-4567 office",
]


def test_decoys_are_not_flagged_and_real_pii_is() -> None:
    rows = [{"instruction": t, "output": "ok"} for t in DECOYS + REAL]
    result = PiiCheck().run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [False] * len(DECOYS) + [True] * len(REAL)


def test_every_pii_span_contains_a_prefilter_match() -> None:
    rng = random.Random(5)
    alphabet = "0123456789 .-:@()+ABCDEFabcdefXYZ_-=/kK\u212a"
    texts = REAL + DECOYS + ["".join(rng.choice(alphabet) for _ in range(rng.randint(5, 60))) for _ in range(20000)]
    spans = 0
    for t in texts:
        for _, s, e in find_pii(t):
            spans += 1
            assert maybe_pii(t[s:e]), t[s:e]
    assert spans > 50
    words = ["api_key", "API-KEY", "Secret", "PASSWORD", "access_token", "Access-Token", "password"]
    for w in words:
        for t in (f"{w} = abcdefghijklmnop", f"{w.replace('k', chr(0x212A))}: abcdefghijklmnop"):
            for _, s, e in find_pii(t):
                assert maybe_pii(t[s:e]), t
