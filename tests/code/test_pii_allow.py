"""Documentation, reserved, placeholder and public values are not counted as personal data, each for a stated
reason; a real value beside them in the same text or row still is; the team's ``allow:`` list adds its own values
and a bad pattern is a clear error at load time."""

from __future__ import annotations

import json

import pytest

from playbook_lib.checklist.parse import parse_checklist_text
from playbook_lib.checks import CheckContext
from playbook_lib.checks.compliance import PiiCheck
from playbook_lib.data import records_from_rows
from playbook_lib.errors import UsageError
from playbook_lib.text.pii import find_pii, mask_pii
from playbook_lib.text.pii_allow import Allowlist, benign_reason, find_personal, placeholder_secret

# (text, the value, why it is not personal data)
BENIGN = [
    ("Write to jane.doe@example.com today", "jane.doe@example.com", "reserved domain"),
    ("ops@mail.example.org", "ops@mail.example.org", "reserved domain"),
    ("bob@shop.test and", "bob@shop.test", "reserved domain"),
    ("Proper Name <proper@email.xx>", "proper@email.xx", "reserved domain"),
    ("nas@files.home.arpa", "nas@files.home.arpa", "reserved domain"),
    ("jill@example2.com", "jill@example2.com", "reserved domain"),
    ('MailMessage("xxxx@gmail.com")', "xxxx@gmail.com", "placeholder"),
    ("server.login('you@gmail.com')", "you@gmail.com", "placeholder"),
    ('OLD_EMAIL="your-old-email@corp.net"', "your-old-email@corp.net", "placeholder"),
    ("user@domain.com", "user@domain.com", "placeholder"),
    ("first.last@company.com", "first.last@company.com", "placeholder"),
    ("foo@bar.com", "foo@bar.com", "placeholder"),
    ("mary@email.com", "mary@email.com", "placeholder"),
    ("attach it to uscis.foia@uscis.dhs.gov.", "uscis.foia@uscis.dhs.gov", "role address"),
    ("support@heronsgate.co.uk", "support@heronsgate.co.uk", "role address"),
    ("Call +1 415-555-0132 now", "+1 415-555-0132", "fictitious number"),
    ("reach me at (999) 444-1212.", "(999) 444-1212", "fictitious number"),
    ("Dial 1-800-288-2020 to pay", "1-800-288-2020", "toll-free number"),
    ("at 866-530-4172.", "866-530-4172", "toll-free number"),
    ("Freephone 0800 123 4567", "0800 123 4567", "toll-free number"),
    ("1-800-CDC-INFO (1-800-232-4636)", "1-800-232-4636", "public number"),
    ("our hotline: 415-623-4411", "415-623-4411", "public number"),
    ("e.g. 123-456-7890", "123-456-7890", "placeholder"),
    ("host: `0.0.0.0`", "0.0.0.0", "special-use address"),
    ("http://127.0.0.1:3000/", "127.0.0.1", "special-use address"),
    ("router at 192.168.1.1 or 10.0.0.138", "192.168.1.1", "special-use address"),
    ("TEST-NET 203.0.113.9", "203.0.113.9", "special-use address"),
    ("netmask 255.255.255.0", "255.255.255.0", "special-use address"),
    ("v6 2001:db8:85a3::8a2e:370:7334 route", "2001:db8:85a3::8a2e:370:7334", "special-use address"),
    ("link fe80::1ff:fe23:4567:890a%eth0", "fe80::1ff:fe23:4567:890a", "special-use address"),
    ("ping 8.8.8.8 -c 4", "8.8.8.8", "public resolver"),
    ("resolver 2606:4700:4700::1111", "2606:4700:4700::1111", "public resolver"),
    ("ip = '123.45.67.89'", "123.45.67.89", "placeholder"),
    ("using git 1.7.7.3, he's", "1.7.7.3", "version number"),
    ("lub(T1, T2) (§15.12.2.7).", "15.12.2.7", "version number"),
    ("Java 1.7.0.45 update", "1.7.0.45", "version number"),
    ("version: 2.4.1.0", "2.4.1.0", "version number"),
    ("pin requests==2.31.0.1", "2.31.0.1", "version number"),
    ("npm install left-pad@1.3.0.2", "1.3.0.2", "version number"),
    ("build 4.2.1.7-beta", "4.2.1.7", "version number"),
    ('"api_key": "YOUR_API_KEY"', 'api_key": "YOUR_API_KEY', "placeholder"),
    ("API_KEY='your_api_key_here'", "API_KEY='your_api_key_here", "placeholder"),
    ("password = 'mypassword123'", "password = 'mypassword123", "placeholder"),
    ("password = 'P@ssw0rd1'", "password = 'P@ssw0rd1", "placeholder"),
    ("API_KEY: abcdef123", "API_KEY: abcdef123", "placeholder"),
    ("secret = 'XXXXXXXX'", "secret = 'XXXXXXXX", "placeholder"),
    ("token sk-" + "x" * 24, "sk-" + "x" * 24, "placeholder"),
]


@pytest.mark.parametrize(("text", "value", "reason"), BENIGN, ids=[b[1][:40] for b in BENIGN])
def test_documentation_and_placeholder_values_are_found_masked_and_not_counted(
    text: str, value: str, reason: str
) -> None:
    spans = [(k, s, e) for k, s, e in find_pii(text) if text[s:e] == value]
    assert len(spans) == 1, find_pii(text)  # still found, so still masked in every report
    kind, s, e = spans[0]
    assert benign_reason(kind, text, s, e) == reason
    assert value not in mask_pii(text)
    assert all(text[s:e] != value for _, s, e in find_personal(text)[0])


# real-looking values that must still count, beside documentation ones in the same text
REAL_BESIDE_BENIGN = [
    ("Mail user@example.com or jane.doe@corp-mail.net", "jane.doe@corp-mail.net"),
    ("Bob,bob@gmail.com\nAlice,alice@example.com", "bob@gmail.com"),
    ("a lookalike: jane.doe@example.com.evil-mail.de", "jane.doe@example.com.evil-mail.de"),
    ("john.support@acme-labs.com", "john.support@acme-labs.com"),
    ("j.smith@gmail.com wrote", "j.smith@gmail.com"),
    ("toll free 1-800-375-5283 or my cell 415-623-4411", "415-623-4411"),
    ("fake 555-0199 aside, call +1 415-623-0132", "+1 415-623-0132"),
    ("+44 20 7123 4567 after 1-800-273-8255", "+44 20 7123 4567"),
    ("router 192.168.1.1 forwards to 81.2.69.142", "81.2.69.142"),
    ("ping 8.8.8.8 then ssh root@81.2.69.142", "81.2.69.142"),
    ("git 1.7.7.3 on server 81.2.69.142", "81.2.69.142"),
    ("backup at 2001:db8::1 and 2a02:8010:6f3c::17", "2a02:8010:6f3c::17"),
    ("api_key = 'your_api_key'\napi_key = 'Zx81kq93LmQ0pVb7'", "api_key = 'Zx81kq93LmQ0pVb7"),
    ("password = 'password' # real: password = \"hunter2hunter2x\"", 'password = "hunter2hunter2x'),
    (
        "sk-xxxxxxxxxxxxxxxxxxxxxxxx or sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
        "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
    ),
    ("example.com card 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("on 192.168.1.1 the SSN 078-05-1120", "078-05-1120"),
]


@pytest.mark.parametrize(("text", "value"), REAL_BESIDE_BENIGN, ids=[r[1][:40] for r in REAL_BESIDE_BENIGN])
def test_a_reserved_value_never_hides_a_real_one(text: str, value: str) -> None:
    kept = [text[s:e] for _, s, e in find_personal(text)[0]]
    assert value in kept, (kept, find_pii(text))


def test_placeholder_secrets_and_real_ones() -> None:
    for v in [
        "your_api_key",
        "YOUR_API_KEY_HERE",
        "yourapikeyhere",
        "my_password",
        "myp@ssw0rd",
        "********",
        "........",
        "changeme",
        "s3cr3t",
        "abcdef123",
        "1234567890abcdef",
        "<API_KEY>"[1:-1],
    ]:
        assert placeholder_secret(v), v
    for v in [
        "hunter2hunter2x",
        "Zx81kq93LmQ0pVb7",
        "correcthorsebattery",
        "hgk_live_9f8e7d6c5b4a3f2e1d0c",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "1//0gLx4Tq9-abcdefgh",
        "Qm9!vX2#tR5pL8wZ",
    ]:
        assert not placeholder_secret(v), v


def test_the_check_counts_only_personal_values_and_says_what_it_left_out() -> None:
    rows = [
        {"instruction": "Send to user@example.com from 127.0.0.1", "output": "api_key = 'your_api_key'"},
        {"instruction": "Call 1-800-288-2020", "output": "git 1.7.7.3"},
        {"instruction": "Mail alice@example.com", "output": "and bob.marsh@corp-mail.net"},
    ]
    result = PiiCheck().run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [False, False, True]
    assert result.summary["rows_by_kind"] == {"email": 1} and result.summary["matches_by_kind"] == {"email": 1}
    assert result.summary["ignored_by_reason"] == {
        "placeholder": 1,
        "reserved domain": 2,
        "special-use address": 1,
        "toll-free number": 1,
        "version number": 1,
    }
    assert "not counted: 6 documentation, placeholder or public values" in result.message
    assert "bob.marsh@corp-mail.net" not in json.dumps(result.to_dict())


def test_the_allowlist_takes_exact_values_and_patterns() -> None:
    allow = Allowlist(["Press@Heronsgate.com", "re:.*@heronsgate-instruments\\.com", "+1 (415) 623-4411"])
    assert allow.allows("email", "press@heronsgate.com")  # any case
    assert allow.allows("email", "jane.doe@heronsgate-instruments.com")
    assert not allow.allows("email", "jane.doe@heronsgate-instruments.com.evil.de")  # the whole value must match
    assert allow.allows("phone", "415-623-4411") and allow.allows("phone", "1-415-623-4411")  # by its digits
    assert not allow.allows("phone", "415-623-4412")
    rows = [
        {"instruction": "Mail press@heronsgate.com or call 415-623-4411", "output": "ok"},
        {"instruction": "Mail jane.doe@heronsgate-instruments.com", "output": "cc dana.reyes@corp-mail.net"},
    ]
    check = PiiCheck(allow=["press@heronsgate.com", "re:.*@heronsgate-instruments\\.com", "415-623-4411"])
    result = check.run(records_from_rows(rows), CheckContext())
    assert result.flags.tolist() == [False, True]  # the allowed values are gone, the other address still counts
    assert result.summary["ignored_by_reason"] == {"allowlist": 3}
    assert PiiCheck().run(records_from_rows(rows), CheckContext()).flags.tolist() == [True, True]


@pytest.mark.parametrize(
    ("allow", "fragment"),
    [
        (["re:(unclosed"], "allow entry 're:(unclosed' is not a valid regular expression"),
        (["re:[a-"], "is not a valid regular expression"),
        ([""], "allow entries must be non-empty strings"),
        ([3], "allow entries must be non-empty strings"),
        ("user@example.com", "allow must be a list"),
    ],
)
def test_a_bad_allow_entry_is_a_usage_error(allow: object, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        PiiCheck(allow=allow)  # type: ignore[arg-type]


def test_the_checklist_points_at_a_bad_pattern() -> None:
    text = (
        "name: x\nitems:\n  - id: pii\n    title: pii\n    check: pii\n"
        '    allow: ["support@heronsgate.com", "re:(oops"]\n'
    )
    with pytest.raises(UsageError, match=r"x\.yaml:3: .*re:\(oops.*not a valid regular expression"):
        parse_checklist_text(text, "x.yaml")
    spec = parse_checklist_text(text.replace("re:(oops", "re:.*@heronsgate\\\\.com"), "x.yaml")
    assert spec.items[0].params["allow"] == ["support@heronsgate.com", "re:.*@heronsgate\\.com"]


def test_a_real_provider_whose_name_is_a_common_word_is_not_a_placeholder() -> None:
    for text, reason in (("jana.schmidt@web.de", None), ("someone@yourwebsite.com", "placeholder")):
        assert benign_reason("email", text, 0, len(text)) == reason
