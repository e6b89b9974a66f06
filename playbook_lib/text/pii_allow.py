"""Which PII-shaped matches are not personal data: documentation and reserved values, placeholders and public numbers
and addresses; and the allowlist a team extends in its checklist.

:func:`~playbook_lib.text.pii.find_pii` finds every PII-shaped span and masking hides them all (hiding
``jane@example.com`` costs nothing). The ``pii`` check (:class:`~playbook_lib.checks.compliance.PiiCheck`) counts
only the spans :func:`find_personal` keeps: it drops each value :func:`benign_reason` names a reason for, and each
value a team's :class:`Allowlist` matches. A reserved value never hides a real one: each span is judged on its own
(``jane@example.com`` beside ``jane.doe@gmail.com`` still flags the row). Taught in the book's *Dataset engineering*
page (``notebooks/dm_02_dataset_engineering.ipynb``), "Quality: compliance".

What is not counted, by reason (the ``ignored_by_reason`` keys of the check's summary):

- ``reserved domain``: an email at a domain reserved for documentation or local use: ``example.com``/``.net``/
  ``.org`` and ``example`` (or ``example2`` ...) under any TLD, and the TLDs ``.example``, ``.test``, ``.invalid``,
  ``.localhost`` (RFC 2606, RFC 6761), ``.local`` (RFC 6762), ``.home.arpa`` (RFC 8375), ``.internal`` (ICANN,
  2024), ``.localdomain``, ``.lan``, ``.corp``, ``.home`` (never delegated), and the user-assigned ISO 3166 codes that
  never become country TLDs (``.aa``, ``.qm``-``.qz``, ``.xa``-``.xz``, ``.zz``: ``proper@email.xx``).
- ``placeholder``: an email whose local part or domain is made only of placeholder words (``you@gmail.com``,
  ``xxxx@gmail.com``, ``your-old-email@...``, ``user@domain.com``, ``name@company.com``, ``foo@bar.com``, ``@email.com``,
  ``@sample.com``); a secret whose value is (``your_api_key``, ``YOUR_API_KEY_HERE``, ``mypassword123``,
  ``P@ssw0rd``, ``XXXXXXXX``, ``********``, ``abcdef123``, ``sk-xxxxxxxxxxxxxxxxxxxx``); an IPv4 address written as a
  digit sequence or four equal parts (``1.2.3.4``, ``123.45.67.89``, ``111.111.111.111``); a phone number written as
  a digit sequence or one repeated digit (``123-456-7890``, ``000-000-0000``). ``john.doe@gmail.com`` or
  ``bob@gmail.com`` is not a placeholder: a real-looking address counts.
- ``role address``: an email whose local part names a role, not a person (``support@``, ``info@``, ``noreply@``,
  ``uscis.foia@uscis.dhs.gov``: each part a role word or a label of the domain; RFC 2142 and common ones).
- ``fictitious number``: a North American number with the exchange 555 (``555-0100``-``555-0199`` are reserved for
  fiction; the rest of 555 was never assigned to subscribers but directory services), or an area code that cannot
  exist: 555, one digit three times (``(999) 444-1212``; 888 is toll-free), or, after ``+1`` or ``1-``, one that
  starts with 0 or 1.
- ``toll-free number``: a business line the caller does not pay for, published by the organisation that rents it:
  North American 800, 833, 844, 855, 866, 877, 888; UK 0800 and 0808; Australian 1800; international ``+800``.
- ``public number``: a well-known public line (:data:`PUBLIC_NUMBERS`), or a number introduced as a hotline,
  helpline, crisis line, customer service, switchboard or toll-free line.
- ``special-use address``: an IP address that belongs to no one on the internet (:data:`SPECIAL_NETWORKS`:
  private, loopback, unspecified, link-local, shared, benchmarking, multicast, reserved and broadcast ranges, the
  documentation ranges ``192.0.2.0/24``, ``198.51.100.0/24``, ``203.0.113.0/24``, ``2001:db8::/32``) and netmasks
  (``255.255.255.0``).
- ``public resolver``: a well-known public DNS resolver (:data:`PUBLIC_RESOLVERS`: ``8.8.8.8``, ``1.1.1.1`` ...).
- ``version number``: a dotted quad that is a version or a section number by what precedes it: ``v``, ``version``,
  ``release``, ``build``, ``§``, ``section``, ``==``/``>=``, ``npm install name@`` or ``@scope/name@``, or the name of
  common software (``git 1.7.7.3``, ``Java 1.7.0.45``); or by what follows it (``1.2.3.4-beta``).
- ``allowlist``: a value the checklist's ``allow:`` lists (:class:`Allowlist`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from playbook_lib.errors import UsageError
from playbook_lib.text.pii import PROVIDER_KEY_RE, SECRET_KV_RE, find_pii

# ------------------------------------------------------------------------------------------------ words


def _segments(word: str, vocabulary: frozenset[str]) -> bool:
    """True when ``word`` (lower case) splits into words of ``vocabulary`` (``yourapikeyhere``: your, api, key,
    here)."""
    ok = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        ok[end] = any(ok[start] and word[start:end] in vocabulary for start in range(max(0, end - 14), end))
    return bool(word) and ok[-1]


_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "9876543210", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _in_sequence(part: str) -> bool:
    return any(part in s for s in _SEQUENCES)


def _sequence(word: str) -> bool:
    """True for a run of consecutive letters and/or digits (``abcdef123``, ``1234abcd``, ``qwerty``), at least 3."""
    m = re.fullmatch(r"([a-z]*)(\d*)|(\d*)([a-z]*)", word)
    if m is None or len(word) < 3:
        return False
    return all(_in_sequence(p) for p in m.groups() if p)


def _repeated(word: str) -> bool:
    """One character repeated (``xxxx``, ``0000``, ``****``)."""
    return bool(word) and len(set(word)) == 1


# --------------------------------------------------------------------------------------------- emails

_RESERVED_TLDS = frozenset(
    "example test invalid localhost local internal localdomain lan corp home aa zz".split()
    + [f"q{c}" for c in "mnopqrstuvwxyz"]
    + [f"x{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
)
_RESERVED_SUFFIXES = ("home.arpa",)
#: Words placeholder addresses are made of (local part or domain label).
_EMAIL_WORDS = frozenset(
    "you your yours my me someone somebody anyone nobody user username users name names first last firstname lastname "
    "full fullname email emails mail e address example examples sample samples test tester testing demo dummy fake "
    "foo bar baz qux foobar sender recipient receiver login account placeholder domain domains company companyname "
    "website site web org old new correct proper other another".split()
)
#: The label before the TLD that makes a domain a placeholder whatever the local part (``a@domain.com``).
_DOMAIN_WORDS = frozenset(
    # not "web": web.de is a real mail provider (a run on planted GSM8K rows, dm_09, missed every address there)
    "your my some any the domain company companyname email sample example test foo bar baz foobar website site".split()
)
#: Role mailboxes (RFC 2142 and common ones): an address of a function, not a person.
_ROLES = frozenset(
    "info information support help helpdesk contact contacts sales marketing admin administrator webmaster "
    "postmaster hostmaster abuse noc security privacy press media billing accounts office hello team enquiries "
    "inquiries feedback careers jobs hr legal noreply no reply donotreply do not service services customerservice "
    "customer care foia dpo compliance licensing partners orders bookings reservations newsletter news".split()
)
_SECOND_LEVEL = frozenset("co com org net ac gov edu or ne go".split())


def _email_reason(value: str) -> str | None:
    local, _, domain = value.casefold().rpartition("@")
    labels = domain.split(".")
    if labels[-1] in _RESERVED_TLDS or domain.endswith(_RESERVED_SUFFIXES):
        return "reserved domain"
    sld_at = -3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else -2
    sld = labels[sld_at] if len(labels) >= -sld_at else labels[0]
    if re.fullmatch(r"example\d*", sld):
        return "reserved domain"
    if _repeated(sld) or _segments(sld.replace("-", ""), _DOMAIN_WORDS):
        return "placeholder"
    tokens = [t for t in re.split(r"[._+-]+", local) if t]
    if tokens and tokens[0].startswith("your"):
        return "placeholder"
    bare = [re.sub(r"\d+$", "", t) for t in tokens]
    if bare and all(_repeated(t) or _segments(t, _EMAIL_WORDS) for t in bare if t) and any(bare):
        return "placeholder"
    if tokens and all(t in _ROLES or t in labels for t in tokens):
        return "role address"
    return None


# --------------------------------------------------------------------------------------------- phones

#: Well-known public lines (digits with the country code): national hotlines and switchboards. Most North American
#: ones are toll-free and so public anyway; the list names them for the report.
PUBLIC_NUMBERS: dict[str, str] = {
    "18002738255": "US National Suicide Prevention Lifeline (now also 988)",
    "18007997233": "US National Domestic Violence Hotline",
    "18002221222": "US Poison Help line",
    "18006624357": "US SAMHSA National Helpline",
    "18006564673": "US RAINN National Sexual Assault Hotline",
    "18002324636": "US CDC-INFO",
    "18008291040": "US IRS individual taxpayers",
    "18007721213": "US Social Security Administration",
    "12024561111": "The White House comments line",
    "12024561414": "The White House switchboard",
    "12022243121": "US Capitol switchboard",
}
_TOLL_FREE_NANP = frozenset({"800", "833", "844", "855", "866", "877", "888"})
_HOTLINE_BEFORE = re.compile(
    r"(?i:hot[- ]?line|help[- ]?line|crisis line|life[- ]?line|customer (?:service|care|support)|support line|"
    r"switchboard|toll[- ]?free|free[- ]?phone|call (?:cent(?:er|re)))[^\n\d]{0,40}$"
)


def _phone_reason(text: str, start: int, end: int) -> str | None:
    value = text[start:end]
    digits = re.sub(r"\D", "", value)
    plus = value.startswith("+")
    groups = [len(g) for g in re.findall(r"\d+", value)]
    nanp: str | None = None
    if plus and digits.startswith("1") and len(digits) == 11:
        nanp = digits[1:]
    elif not plus and len(digits) == 11 and digits[0] == "1" and groups[-3:] == [3, 3, 4]:
        nanp = digits[1:]
    elif not plus and len(digits) == 10 and groups[-3:] == [3, 3, 4] and digits[0] not in "01":
        nanp = digits
    full = ("1" + nanp) if nanp else digits
    if full in PUBLIC_NUMBERS:
        return "public number"
    national = digits if not plus else ""
    if nanp:
        area, exchange = nanp[:3], nanp[3:6]
        if area in _TOLL_FREE_NANP:
            return "toll-free number"
        if exchange == "555" or area == "555" or (_repeated(area) and area != "888") or area[0] in "01":
            return "fictitious number"
    elif (plus and digits.startswith(("44800", "44808", "800"))) or national.startswith(("0800", "0808")):
        return "toll-free number"
    elif not plus and len(digits) == 10 and digits.startswith("1800"):
        return "toll-free number"
    if _repeated(digits) or _in_sequence(digits) or (nanp and _in_sequence(nanp)):
        return "placeholder"
    if _HOTLINE_BEFORE.search(text, max(0, start - 80), start):
        return "public number"
    return None


# ------------------------------------------------------------------------------------------ addresses

#: IP ranges that identify no one on the internet (IANA special-purpose registries, RFC 6890 and successors).
SPECIAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network", the unspecified address
        "10.0.0.0/8",  # private (RFC 1918)
        "100.64.0.0/10",  # shared address space (carrier-grade NAT, RFC 6598)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1, RFC 5737)
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast 255.255.255.255
        "::/127",  # unspecified and loopback
        "::ffff:0:0/96",  # IPv4-mapped (the embedded IPv4 address is judged)
        "64:ff9b::/96",  # IPv4/IPv6 translation (the embedded address is judged)
        "100::/64",  # discard-only
        "2001:db8::/32",  # documentation (RFC 3849)
        "3fff::/20",  # documentation (RFC 9637)
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
    )
)
#: Well-known public DNS resolvers (Google, Cloudflare, Quad9, OpenDNS, Level 3, Verisign, AdGuard, CleanBrowsing).
PUBLIC_RESOLVERS = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "8.8.8.8 8.8.4.4 1.1.1.1 1.0.0.1 9.9.9.9 149.112.112.112 208.67.222.222 208.67.220.220 4.2.2.1 4.2.2.2 "
        "64.6.64.6 64.6.65.6 94.140.14.14 94.140.15.15 185.228.168.9 185.228.169.9 2001:4860:4860::8888 "
        "2001:4860:4860::8844 2606:4700:4700::1111 2606:4700:4700::1001 2620:fe::fe 2620:fe::9"
    ).split()
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SOFTWARE = (
    "git|java|jdk|jre|python|node|nodejs|npm|pip|php|perl|ruby|gcc|clang|llvm|rustc|android|ios|macos|os ?x|windows|"
    "ubuntu|debian|centos|fedora|rhel|kernel|linux|chrome|chromium|firefox|safari|opera|openssl|gradle|maven|xcode|"
    "eclipse|dotnet|jquery|angular|django|spring|hibernate|itunes|bios"
)
_VERSION_BEFORE = re.compile(
    r"(?:(?i:\b(?:v|ver|version|versions|release|rel|revision|rev|build|update|patch|firmware|sdk|chapter|section|"
    r"sec|clause|figure|fig|paragraph|para|" + _SOFTWARE + r"))\.?[ \t]*[:=]?[ \t]*\(?|§[ \t]*|[=~!<>]=[ \t]*)$"
)
# ``@scope/name@1.2.3.4``, or ``name@1.2.3.4`` after a package manager's install command (``user@1.2.3.4`` is a login)
_PACKAGE_BEFORE = re.compile(
    r"(?:@[\w.-]+/[\w.-]+|(?i:\b(?:npm|yarn|pnpm|pip|pip3|gem|cargo|go|composer|bower)\s+(?:install|add|i|get|require)"
    r"(?:\s+-{1,2}[\w-]+)*\s+)[\w./-]+)@$"
)
_VERSION_AFTER = re.compile(r"(?i:[-+~](?:alpha|beta|rc|dev|pre|snapshot|final|ga|release|build)|\.x\b)")


def _netmask(address: ipaddress.IPv4Address) -> bool:
    bits = f"{int(address):032b}"
    return "01" not in bits and bits.startswith("1")


def _ip_reason(text: str, start: int, end: int, kind: str) -> str | None:
    value = text[start:end]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if kind == "ipv4":
        if (
            _VERSION_BEFORE.search(text, max(0, start - 24), start)
            or _PACKAGE_BEFORE.search(text, max(0, start - 80), start)
            or _VERSION_AFTER.match(text, end)
        ):
            return "version number"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
        )
        if embedded is not None:
            address = embedded
    if address in PUBLIC_RESOLVERS:
        return "public resolver"
    if any(address in network for network in SPECIAL_NETWORKS if network.version == address.version):
        return "special-use address"
    if isinstance(address, ipaddress.IPv4Address):
        if _netmask(address):
            return "special-use address"
        octets = value.split(".")
        if len(set(octets)) == 1 or _in_sequence("".join(octets)):
            return "placeholder"
    return None


# -------------------------------------------------------------------------------------------- secrets

_SECRET_WORDS = frozenset(
    "your yours my the a an api apis key keys secret secrets password passwords passwd pass pwd passphrase word "
    "token tokens access auth bearer client app application id here goes insert enter put replace with me example "
    "sample dummy fake test testing placeholder change changeme redacted value string user username db database "
    "admin root private public secure super new old default foo bar baz hidden none null todo real actual own "
    "live prod dev s".split()
)
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "3": "e", "5": "s", "$": "s", "7": "t", "!": "i"})
_PROVIDER_PREFIX = re.compile(r"(?i:akia|asia|aiza)|gh[pousr]_|github_pat_|sk-(?:proj-)?|xox[baprs]-")


def placeholder_secret(value: str) -> bool:
    """True when a secret's value is a placeholder, not a secret: made only of placeholder words (with trailing digits
    and 1337 spelling: ``your_api_key``, ``mypassword123``, ``P@ssw0rd``), one character repeated or masked with
    ``xxxx``, ``***`` or ``...`` (``XXXXXXXX``), or a run of consecutive letters/digits (``abcdef123``)."""
    low = value.casefold()
    if _repeated(re.sub(r"[\W_]", "", low) or low) or re.search(r"x{4,}|\*{3,}|\.{3,}|…", low):
        return True
    core = re.sub(r"\d+$", "", low).translate(_LEET)
    tokens = [t for t in re.split(r"[\W_]+", core) if t]
    whole = re.sub(r"[\W_]+", "", low)
    return bool(tokens) and (all(_segments(t, _SECRET_WORDS) or _sequence(t) for t in tokens) or _sequence(whole))


def _secret_reason(value: str) -> str | None:
    kv = SECRET_KV_RE.fullmatch(value)
    if kv is not None:
        return "placeholder" if placeholder_secret(kv.group("value")) else None
    if PROVIDER_KEY_RE.fullmatch(value):
        prefix = _PROVIDER_PREFIX.match(value)
        body = value[prefix.end() :] if prefix else value
        return "placeholder" if placeholder_secret(body) else None
    return None


# --------------------------------------------------------------------------------------------- judging


def benign_reason(kind: str, text: str, start: int, end: int) -> str | None:
    """Why the ``kind`` match ``text[start:end]`` is not personal data (a key of the module docstring's list), or
    None when it may be."""
    value = text[start:end]
    if kind == "email":
        return _email_reason(value)
    if kind == "phone":
        return _phone_reason(text, start, end)
    if kind in ("ipv4", "ipv6"):
        return _ip_reason(text, start, end, kind)
    if kind == "api_key":
        return _secret_reason(value)
    return None


class Allowlist:
    """Values a team declares not personal data (the ``pii`` check's ``allow:``). Each entry is an exact value,
    compared without regard to case (a phone number also matches when its digits agree, a leading ``1``/``+1``
    aside), or, written ``re:PATTERN``, a Python regular expression that must match the whole value (case-insensitive):
    ``re:.*@heronsgate\\.com``.

    Raises:
        UsageError: on an entry that is not a non-empty string, or a pattern that does not compile.
    """

    def __init__(self, entries: Iterable[object] = ()) -> None:
        self.exact: set[str] = set()
        self.phones: set[str] = set()
        patterns: list[re.Pattern[str]] = []
        for entry in entries:
            if not isinstance(entry, str) or not entry.strip():
                raise UsageError(f"pii: allow entries must be non-empty strings, got {entry!r}")
            if entry.startswith("re:"):
                try:
                    patterns.append(re.compile(entry[3:], re.IGNORECASE))
                except re.error as err:
                    raise UsageError(f"pii: allow entry {entry!r} is not a valid regular expression: {err}") from None
                continue
            self.exact.add(entry.strip().casefold())
            if re.fullmatch(r"[\d\s().+-]+", entry) and len(_phone_key(entry)) >= 7:
                self.phones.add(_phone_key(entry))
        self.patterns = tuple(patterns)

    def __bool__(self) -> bool:
        return bool(self.exact or self.patterns)

    def allows(self, kind: str, value: str) -> bool:
        if value.casefold() in self.exact or any(p.fullmatch(value) for p in self.patterns):
            return True
        return kind == "phone" and _phone_key(value) in self.phones


def _phone_key(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[1:] if len(digits) == 11 and digits[0] == "1" else digits


def find_personal(
    text: str, kinds: list[str] | None = None, allow: Allowlist | None = None
) -> tuple[list[tuple[str, int, int]], list[tuple[str, str]]]:
    """The spans of :func:`~playbook_lib.text.pii.find_pii` that may be personal data, and ``(kind, reason)`` for
    each span left out (see the module docstring; ``allowlist`` for a value of ``allow``)."""
    kept: list[tuple[str, int, int]] = []
    ignored: list[tuple[str, str]] = []
    for kind, s, e in find_pii(text, kinds):
        reason = "allowlist" if allow is not None and allow.allows(kind, text[s:e]) else benign_reason(kind, text, s, e)
        if reason is None:
            kept.append((kind, s, e))
        else:
            ignored.append((kind, reason))
    return kept, ignored
