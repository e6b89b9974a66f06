"""Bad-input suite, class 2 of issue 12: YAML is data, never code, and bounded.

Every YAML loader of the CLI (a checklist, via ``playbook check``; a model plan, via ``playbook check
checklists/model_readiness.yaml --plan``; a requirements profile and a model catalogue, via ``playbook decide
model``) is given Python tags (one a probe that would create a file if it ran), other non-core tags, a "billion
laughs" document inside an option value that an error message would print, recursive aliases, complex, merge and
duplicate keys, integers past 64 bits and past Python's 4,300-digit limit, invalid scalars, deep nesting, and
broken files (not UTF-8, two documents, empty, only comments, a list or a scalar at the top, a folder, a FIFO, a
control character). Each must exit 3 with one ``playbook: error:`` line naming ``file:line`` where there is a line,
construct nothing and leave the file as it was. Every input is generated here, in ``tmp_path``.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.errors import ExitCode
from tests.cli import (
    SECRETS,
    CliResult,
    assert_no_secret,
    assert_one_line_error,
    assert_unchanged,
    run_cli,
    snapshot,
)

ROOT = Path(__file__).resolve().parents[2]
MODEL_CHECKLIST = ROOT / "checklists" / "model_readiness.yaml"
EVALS = sample_data.path("model_evals.jsonl")
PROFILE = sample_data.path("requirements_profile.yaml")
CATALOG = sample_data.path("model_catalog.yaml")


@dataclass(frozen=True)
class Loader:
    """One YAML loader behind one command: a valid ``template`` whose ``{value}`` (on line ``value_line``, the value
    of option ``key``) and ``{extra}`` (more lines beside it, indented by ``indent``) take the hostile part."""

    name: str
    template: str
    key: str
    valid: str
    value_line: int
    indent: str
    run: Callable[[Path, Path], CliResult]  # (tmp_path, the YAML file) -> result

    def text(self, value: str | None = None, extra: str = "") -> str:
        lines = "".join(self.indent + line + "\n" for line in extra.splitlines())
        return self.template.format(value=self.valid if value is None else value, extra=lines)


def _run_checklist(tmp: Path, path: Path) -> CliResult:
    data = tmp / "rows.jsonl"
    if not data.exists():
        data.write_text('{"instruction": "q", "output": "a"}\n', encoding="utf-8")
    return run_cli("check", path, "--data", data, "-q")


LOADERS = [
    Loader(
        "checklist",
        "name: t\nitems:\n  - id: a\n    title: formatting\n    check: formatting\n    warn: {value}\n{extra}",
        "warn",
        "0.0",
        6,
        "    ",
        _run_checklist,
    ),
    Loader(
        "plan",
        "name: p\nmodel: open-weights-70b\nsuperpower: {value}\n{extra}",
        "superpower",
        "accuracy",
        3,
        "",
        lambda tmp, p: run_cli("check", MODEL_CHECKLIST, "--plan", p, "--evals", EVALS, "-q"),
    ),
    Loader(
        "profile",
        "name: p\nsuperpower: {value}\n{extra}",
        "superpower",
        "accuracy",
        2,
        "",
        lambda tmp, p: run_cli("decide", "model", "--profile", p, "--catalog", CATALOG),
    ),
    Loader(
        "catalog",
        "models:\n  - name: m\n    provider: p\n    open_weights: true\n    regions: [eu]\n"
        "    context_window: 8000\n    modalities: [text]\n    price_per_1m_input: 1.0\n"
        "    price_per_1m_output: 2.0\n    priced_on: 2025-01-01\n    reasoning: false\n    strengths: [code]\n"
        "    latency_class: {value}\n{extra}",
        "latency_class",
        "low",
        13,
        "    ",
        lambda tmp, p: run_cli("decide", "model", "--profile", PROFILE, "--catalog", p),
    ),
]
BY_NAME = {loader.name: loader for loader in LOADERS}
each_loader = pytest.mark.parametrize("loader", LOADERS, ids=[loader.name for loader in LOADERS])


def run_on(loader: Loader, tmp_path: Path, content: str | bytes, name: str = "config.yaml") -> tuple[Path, CliResult]:
    """Write ``content`` as the loader's YAML file, run its command, check the file is unchanged."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    before = snapshot(path)
    result = loader.run(tmp_path, path)
    assert_unchanged(before, [path])
    return path, result


def laughs(levels: int = 10, width: int = 10) -> str:
    """A flow list of ``levels`` anchored lists, each holding ``width`` aliases of the previous: ``width**levels``
    leaves when expanded (10**10 by default), a few hundred bytes composed."""
    parts = [f"&l0 [{', '.join(['lol'] * width)}]"]
    parts += [f"&l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


@each_loader
def test_the_templates_are_valid(loader: Loader, tmp_path: Path) -> None:
    """The control: the untouched template loads (no usage error), so every failure below is the hostile part's."""
    _, r = run_on(loader, tmp_path, loader.text())
    assert r.code in (ExitCode.OK, ExitCode.WARN, ExitCode.FAIL), r.stderr
    assert "Traceback" not in r.stderr


PROBE_TAGS = [
    "!!python/object/apply:builtins.open [{probe!r}, 'w']",
    "!!python/object/new:builtins.open [{probe!r}, 'w']",
    "!<tag:yaml.org,2002:python/object/apply:builtins.open> [{probe!r}, 'w']",
]


@each_loader
@pytest.mark.parametrize("tag", PROBE_TAGS, ids=["apply", "new", "verbatim"])
def test_python_tags_are_refused_and_never_run(loader: Loader, tag: str, tmp_path: Path) -> None:
    probe = tmp_path / "executed.txt"
    path, r = run_on(loader, tmp_path, loader.text(tag.format(probe=str(probe))))
    assert not probe.exists(), "a !!python tag was executed"
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line}: tag ")
    assert "not allowed" in r.stderr


@each_loader
@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/tuple [1, 2]",
        "!custom 1",
        "!!binary aGVsbG8=",
        "!!set {a: null}",
        "!!omap [{a: 1}]",
        "!!pairs [{a: 1}]",
        "!!merge x",
    ],
)
def test_tags_outside_the_core_schema_are_refused(loader: Loader, tagged: str, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, loader.text(tagged))
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line}: tag ")


@each_loader
def test_every_refused_tag_is_reported_at_once(loader: Loader, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, loader.text("!!python/name:os.system", extra="other: !custom 2"))
    assert_one_line_error(r, ExitCode.USAGE, "2 ")
    assert f"{path}:{loader.value_line}:" in r.stderr and f"{path}:{loader.value_line + 1}:" in r.stderr


@each_loader
def test_billion_laughs_in_an_option_value_fails_fast_in_bounded_memory(loader: Loader, tmp_path: Path) -> None:
    run_on(loader, tmp_path, "[unclosed\n", name="warm-up.yaml")  # imports and first-run costs out of the timing
    tracemalloc.start()
    start = time.perf_counter()
    try:
        path, r = run_on(loader, tmp_path, loader.text(laughs()))
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line}: aliases expand to more than")
    assert elapsed < 2.0, f"{elapsed:.2f} s"  # a safety bound: the expansion itself would take hours
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MiB"
    assert len(r.stderr) < 1000, "the error echoed the expanded value"


def test_a_few_small_aliases_still_load(tmp_path: Path) -> None:
    """Aliases themselves are fine (a list reused across items or models): only their expansion is bounded."""
    checklist = (
        "name: t\nitems:\n  - {id: a, title: t, check: exact_duplicates, fields: &f [instruction, output]}\n"
        "  - {id: b, title: t, check: near_duplicates, fields: *f}\n"
    )
    _, r = run_on(BY_NAME["checklist"], tmp_path, checklist)
    assert r.code in (ExitCode.OK, ExitCode.WARN, ExitCode.FAIL), r.stderr
    catalog = BY_NAME["catalog"].text().replace("regions: [eu]", "regions: &eu [eu-west, eu-central]")
    catalog += BY_NAME["catalog"].text().split("\n", 1)[1].replace("name: m", "name: m2").replace("[eu]", "*eu")
    _, r = run_on(BY_NAME["catalog"], tmp_path, catalog)
    assert r.code in (ExitCode.OK, ExitCode.FAIL), r.stderr
    assert "m2" in r.stdout


ECHOED = [SECRETS[0], f"aws_secret_access_key = {SECRETS[1]}", SECRETS[2], SECRETS[4], SECRETS[5]]


@each_loader
@pytest.mark.parametrize("padding", [0, 100], ids=["short", "long"])
def test_a_value_echoed_in_an_error_is_masked(loader: Loader, padding: int, tmp_path: Path) -> None:
    """The wrong value is quoted in the message, masked before it is shortened: a long value cut in the middle of a
    secret must not print the part of it that survives the cut."""
    for secret in ECHOED:
        path, r = run_on(loader, tmp_path, loader.text('"' + "x " * padding + secret + ' tail"'))
        assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line}: ")
        assert_no_secret(r, secrets=(secret, secret[-12:], secret[:12]))


@each_loader
def test_recursive_alias_is_refused(loader: Loader, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, loader.text("&r [a, *r]"))
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line}: alias *'r' refers to a node")


@each_loader
@pytest.mark.parametrize("key", ["? [a, b]\n: 1", "? {a: 1}\n: 2", "[x, y]: 3"], ids=["list", "mapping", "flow"])
def test_complex_keys_are_refused(loader: Loader, key: str, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, loader.text(extra=key))
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line + 1}: a ")
    assert "cannot be a key (complex key)" in r.stderr


@each_loader
def test_merge_keys_are_refused(loader: Loader, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, loader.text(extra="<<: {x: 1}"))
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line + 1}: merge keys (<<) are not supported")


@each_loader
def test_duplicate_keys_are_refused(loader: Loader, tmp_path: Path) -> None:
    """Today's checklist loader kept the last ``warn`` silently; every loader now names the second one."""
    path, r = run_on(loader, tmp_path, loader.text(extra=f"{loader.key}: {loader.valid}"))
    assert_one_line_error(
        r,
        ExitCode.USAGE,
        f"{path}:{loader.value_line + 1}: duplicate key {loader.key!r} (first at line {loader.value_line})",
    )


@each_loader
def test_keys_equal_as_values_are_duplicates(loader: Loader, tmp_path: Path) -> None:
    """``1`` and ``0x1`` are the same key once constructed: a plain loader would keep one of them silently."""
    path, r = run_on(loader, tmp_path, loader.text(extra="1: a\n0x1: b"))
    assert r.code == ExitCode.USAGE and f"{path}:{loader.value_line + 2}: duplicate key 1 (first at line" in r.stderr


@each_loader
@pytest.mark.parametrize(
    "number",
    ["1" + "0" * 5000, "99999999999999999999", "-0x1ffffffffffffffff", "0b" + "1" * 70],
    ids=["5001-digits", "67-bits", "hex", "binary"],
)
def test_huge_integers_are_refused_before_int(loader: Loader, number: str, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, loader.text(number))
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line}: integer ")
    assert "too large (more than 64 bits)" in r.stderr and len(r.stderr) < 500


@each_loader
@pytest.mark.parametrize(
    ("scalar", "fragment"),
    [
        ('"\\ud800"', "lone UTF-16 surrogate"),
        ("!!int abc", "is not a valid integer"),
        ("!!int ''", "is not a valid integer"),
        ("!!float x", "is not a valid number"),
        ("!!bool maybe", "is not a valid boolean"),
        ("!!timestamp 2025-02-30", "is not a valid date"),
        ("2025-02-30", "is not a valid date"),
        ("!!int [1]", "cannot tag a list"),
        ("!!seq {a: 1}", "cannot tag a mapping"),
        ("!!map x", "cannot tag a plain value"),
    ],
)
def test_scalars_that_do_not_construct_are_refused(loader: Loader, scalar: str, fragment: str, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, loader.text(scalar))
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line}: ")
    assert fragment in r.stderr


@each_loader
def test_deep_nesting_is_refused(loader: Loader, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, loader.text("[" * 20_000 + "]" * 20_000))
    assert_one_line_error(r, ExitCode.USAGE, f"{path}:{loader.value_line}: nesting deeper than")


FILE_CASES: dict[str, Callable[[Loader], str | bytes]] = {
    "not-utf8": lambda loader: loader.text().encode("utf-8") + b"# caf\xe9\n",
    "two-documents": lambda loader: loader.text() + "---\nname: second\n",
    "empty": lambda loader: "",
    "only-comments": lambda loader: "# nothing\n\n# here\n",
    "top-level-list": lambda loader: "- a\n- b\n",
    "top-level-scalar": lambda loader: "just words\n",
    "control-character": lambda loader: loader.text() + "# bell \x07\n",
    "oversized": lambda loader: loader.text() + ("# padding\n" * 120_000),
}
FILE_FRAGMENTS = {
    "not-utf8": "is not UTF-8",
    "two-documents": "a second document (---)",
    "control-character": "unacceptable character",
    "oversized": "at most",
}


@each_loader
@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_broken_files_are_one_line_usage_errors(loader: Loader, case: str, tmp_path: Path) -> None:
    path, r = run_on(loader, tmp_path, FILE_CASES[case](loader))
    assert_one_line_error(r, ExitCode.USAGE, str(path))
    assert FILE_FRAGMENTS.get(case, "") in r.stderr
    if case in ("not-utf8", "two-documents", "control-character"):
        line = len(loader.text().splitlines()) + 1
        assert f"{path}:{line}:" in r.stderr


SPECIAL_FILES: dict[str, Callable[[Path], object]] = {
    "folder": lambda p: (p.mkdir(), (p / "inside.yaml").write_text("name: x\n", encoding="utf-8")),
    "fifo": os.mkfifo,
}
if os.geteuid() != 0:  # root reads any file whatever its mode
    SPECIAL_FILES["unreadable"] = lambda p: (p.write_text("name: x\n", encoding="utf-8"), p.chmod(0))


@each_loader
@pytest.mark.parametrize("kind", sorted(SPECIAL_FILES))
def test_a_path_that_is_not_a_readable_file_is_one_line(loader: Loader, kind: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    SPECIAL_FILES[kind](path)
    before = snapshot(path)
    r = loader.run(tmp_path, path)
    assert_one_line_error(r, ExitCode.USAGE, str(path))
    assert_unchanged(before, list(before))


def test_library_loaders_share_the_bounded_composer() -> None:
    """The library functions (not only the CLI) refuse the same documents, each naming the file and line."""
    from playbook_lib.checklist.parse import parse_checklist_text
    from playbook_lib.decide.plan import parse_plan
    from playbook_lib.decide.select import parse_catalog, parse_requirements
    from playbook_lib.errors import UsageError

    parsers = {
        "checklist": parse_checklist_text,
        "plan": parse_plan,
        "profile": parse_requirements,
        "catalog": parse_catalog,
    }
    for name, parse in parsers.items():
        loader = BY_NAME[name]
        for value, fragment in (
            (laughs(), "aliases expand"),
            ("!!python/name:os.system", "tag"),
            ("1" + "0" * 5000, "too large"),
        ):
            with pytest.raises(UsageError, match=rf"x\.yaml:{loader.value_line}: .*{fragment}") as info:
                parse(loader.text(value), "x.yaml")
            assert "\n" not in str(info.value)
