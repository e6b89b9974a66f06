"""The pii check: each kind of personal data or secret is found and always masked; look-alikes and clean data pass."""

from __future__ import annotations

import json

import pytest

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.compliance import PiiCheck
from playbook_lib.data import records_from_rows
from playbook_lib.text.pii import find_pii, iban_ok, luhn_ok, mask_pii

PLANTED = {
    "email": "jane.doe@example.com",
    "phone": "+44 20 7946 0958",
    "credit_card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "ipv4": "192.168.40.17",
    "ipv6": "2001:db8:85a3::8a2e:370:7334",
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
    assert result.summary["by_kind"] == {k: 1 for k in sorted(PLANTED)}
    assert result.outcome is Outcome.FAIL
    shown = json.dumps(result.to_dict())
    assert not any(v in shown for v in PLANTED.values())


def test_every_chat_turn_and_preference_answer_is_scanned() -> None:
    rows = [
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "mail ops@example.org"},
                {"role": "user", "content": "thanks"},
                {"role": "assistant", "content": "bye"},
            ]
        },
        {"prompt": "p", "chosen": "fine", "rejected": "my SSN is 078-05-1120"},
    ]
    result = PiiCheck().run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [True, True] and result.summary["by_kind"] == {"email": 1, "us_ssn": 1}
    assert "ops@example.org" not in json.dumps(result.to_dict())
