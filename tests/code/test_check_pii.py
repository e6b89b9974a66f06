"""The pii check: each kind of personal data or secret is found and always masked; look-alikes and clean data pass;
rows and matches are counted apart."""

from __future__ import annotations

import json

import pytest

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.compliance import PiiCheck
from playbook_lib.data import records_from_rows
from playbook_lib.text.pii import find_pii, iban_ok, luhn_ok, mask_pii
from playbook_lib.text.pii_allow import find_personal

# Real-looking values: documentation ones (jane.doe@example.com, 192.168.x, 2001:db8::) are not personal data and
# are not counted (tests/code/test_pii_allow.py), though masking still hides them.
PLANTED = {
    "email": "jane.doe@corp-mail.net",
    "phone": "+44 20 7946 0958",
    "credit_card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "ipv4": "81.2.69.142",
    "ipv6": "2a02:8010:6f3c::17",
    "us_ssn": "078-05-1120",
    "api_key": "AKIAIOSFODNN7EXAMPLE",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----",
}
CLEAN = [
    {"instruction": "How many eggs are left?", "output": "16 - 3 - 4 = <<16-3-4=9>>9 eggs; 960-480-120 = 360."},
    {"instruction": "Card-like number that fails Luhn", "output": "Order 4111 1111 1111 1112 shipped."},
    {"instruction": "IBAN-like code with a bad checksum", "output": "Ref GB00 WEST 1234 5698 7654 32."},
    {"instruction": "Version numbers", "output": "Firmware 2.4 and 3.10 are current; slice a[1::-1]."},
]


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_each_kind_is_found_and_masked(kind: str) -> None:
    text = f"Note for the ticket: {PLANTED[kind]} (please handle)."
    assert [k for k, _, _ in find_pii(text)] == [kind]
    assert [k for k, _, _ in find_personal(text)[0]] == [kind]  # and counted by the check
    masked = mask_pii(text)
    assert PLANTED[kind] not in masked and f"[{kind.upper()}]" in masked


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB00WEST12345698765432")


def test_clean_data_and_decoys_pass() -> None:
    result = PiiCheck().run(records_from_rows(CLEAN * 5), CheckContext())
    assert result.outcome is Outcome.PASS and result.summary["rows_with_pii"] == 0, result.examples


def test_rows_with_pii_are_flagged_and_never_shown_unmasked() -> None:
    rows = CLEAN + [{"instruction": f"Contact {v}", "output": "ok"} for v in PLANTED.values()]
    result = PiiCheck().run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [False] * 4 + [True] * len(PLANTED)
    assert result.summary["rows_by_kind"] == result.summary["matches_by_kind"] == {k: 1 for k in sorted(PLANTED)}
    assert result.outcome is Outcome.FAIL
    shown = json.dumps(result.to_dict())
    assert not any(v in shown for v in PLANTED.values())


def test_every_chat_turn_and_preference_answer_is_scanned() -> None:
    rows = [
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "mail ops.lead@corp-mail.net"},
                {"role": "user", "content": "thanks"},
                {"role": "assistant", "content": "bye"},
            ]
        },
        {"prompt": "p", "chosen": "fine", "rejected": "my SSN is 078-05-1120"},
    ]
    result = PiiCheck().run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [True, True] and result.summary["rows_by_kind"] == {"email": 1, "us_ssn": 1}
    assert "ops.lead@corp-mail.net" not in json.dumps(result.to_dict())


def test_rows_and_matches_are_counted_apart() -> None:
    """Two rows with emails (three addresses), one with two phone numbers: rows per kind, matches per kind, and a
    message that says both."""
    rows = [
        {"instruction": "Mail ana.silva@corp-mail.net and rui.costa@corp-mail.net", "output": "ok"},
        {"instruction": "Mail rui.costa@corp-mail.net", "output": "call +44 20 7123 4567 or +44 161 496 1234"},
        {"instruction": "Nothing here", "output": "ok"},
    ]
    result = PiiCheck().run(records_from_rows(rows), CheckContext())
    assert result.summary["rows_with_pii"] == 2
    assert result.summary["rows_by_kind"] == {"email": 2, "phone": 1}
    assert result.summary["matches_by_kind"] == {"email": 3, "phone": 2}
    assert "2 rows: email 2 rows (3 matches), phone 1 row (2 matches)" in result.message
    assert "allow:" in result.message  # what to do
    # each flagged row is explained (playbook check --flags): its kinds and matches
    assert result.details == {
        0: {"reason": "email", "matches": {"email": 2}},
        1: {"reason": "email, phone", "matches": {"email": 1, "phone": 2}},
    }
