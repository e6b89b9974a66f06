"""Bad-input suite, class 5 of issue 12: secrets and personal data are masked everywhere a value is echoed.

* :func:`~playbook_lib.checks.compliance.find_pii` recognises key-value secrets whose key holds ``_`` or ``-``
  (``aws_secret_access_key = ...``, ``client-secret=...``, ``"password": "..."``), whole PEM private-key blocks
  (header, every line between, footer; also truncated, escaped or lower-cased), AWS access keys and international
  phone numbers; look-alikes in prose and code are left alone; the prefilter stays a necessary condition; hostile
  texts are scanned in linear time.
* Every value of :data:`tests.cli.SECRETS` is planted, in the form a team would have it, into data text, every
  metadata column (category, label, source, licence, provenance, annotator, split), a chat role, slice names,
  the ``--eval``, ``--traffic`` and ``--golden`` rows, and the plan and eval results of the model checklist; no
  secret shows in stdout, stderr or the JSON, HTML and JUnit reports (nor lower-cased), while the masked
  placeholders do show (the values were echoed, masked).
* ``rag feedback promote`` and ``decide next`` print no planted value of their inputs.

Every input is generated here, in ``tmp_path``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from pathlib import Path

import pytest

from playbook_lib import sample_data
from playbook_lib.checks import CheckContext
from playbook_lib.checks.compliance import LicenceCheck, PiiCheck
from playbook_lib.checks.consistency import ConsistencyCheck
from playbook_lib.checks.provenance import ProvenanceCheck
from playbook_lib.checks.relevance import CoverageCheck
from playbook_lib.data import records_from_rows
from playbook_lib.errors import ExitCode
from playbook_lib.text.masking import masked
from playbook_lib.text.pii import find_pii, mask_pii, maybe_pii
from tests.cli import SECRETS, CliResult, assert_no_secret, run_cli

ROOT = Path(__file__).resolve().parents[2]
DATASET_CHECKLIST = ROOT / "checklists" / "dataset_readiness.yaml"
MODEL_CHECKLIST = ROOT / "checklists" / "model_readiness.yaml"

AKIA, AWS_SECRET, OPENAI, PEM_BODY, EMAIL, PHONE = SECRETS
PEM = (
    f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\nq1w2e3r4t5y6u7i8o9p0AaSsDdFfGgHhJjKkLl\nAQAB==\n"
    "-----END RSA PRIVATE KEY-----"
)
#: Each secret as a team would have it in a file: the AWS secret key and the PEM body are recognisable only with
#: their key name or PEM armour (a bare 40-character base64 string is not told apart from any other).
FORMS = (AKIA, f"aws_secret_access_key = {AWS_SECRET}", OPENAI, PEM, EMAIL, PHONE)
#: Lower-cased too: a check that lower-cases a value (split names) before echoing it must not unmask it.
LEAKS = SECRETS + tuple(s.lower() for s in SECRETS)
META = ("category", "label", "source", "licence", "provenance", "annotator", "split")


def assert_masked_everywhere(result: CliResult, reports: list[Path]) -> None:
    """No planted secret in stdout, stderr or any report, and every report was written."""
    for report in reports:
        assert report.is_file(), report
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert_no_secret(result, reports, secrets=LEAKS)


# ---------------------------------------------------------------- the patterns


@pytest.mark.parametrize(
    "text, secret",
    [
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
        (f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET),
        ("api_key: Zx81kq93LmQ0pVb7", "Zx81kq93LmQ0pVb7"),
        ("client-secret=Qm9!vX2#tR5pL8wZ", "Qm9!vX2#tR5pL8wZ"),
        ('{"password": "hunter2!"}', "hunter2!"),
        ("db_password: 'correcthorsebattery'", "correcthorsebattery"),
        ('clientSecret = "s3cr3t-v4lue-123"', "s3cr3t-v4lue-123"),
        ("refresh_token => 1//0gLx4Tq9-abcdefgh", "1//0gLx4Tq9-abcdefgh"),
        ("PRIVATE-KEY: MIIEvQIBADANBgkqhkiG9w0", "MIIEvQIBADANBgkqhkiG9w0"),
        (AKIA, AKIA),
        ("ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
        (AKIA.lower(), AKIA.lower()),
    ],
)
def test_key_value_secrets_and_aws_keys_are_masked(text: str, secret: str) -> None:
    masked_text = mask_pii(f"Config for the ticket: {text} (rotate it).")
    assert secret not in masked_text and "[API_KEY]" in masked_text, masked_text
    assert [k for k, _, _ in find_pii(text)] == ["api_key"]


@pytest.mark.parametrize(
    "block",
    [
        PEM,
        PEM.replace("\n", "\r\n"),
        PEM.replace("\n", "\\n"),  # an escaped key in a JSON or .env value
        PEM.lower(),  # a value a check lower-cased
        PEM.replace("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY"),
        PEM.replace("RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
        PEM.replace(
            "-----BEGIN RSA PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n",
        ),
        PEM.split("\nAQAB")[0],  # truncated: no footer
    ],
)
def test_whole_pem_blocks_are_masked_not_only_the_header(block: str) -> None:
    text = f"Here is the key:\n{block}\nThanks, the ops team"
    out = mask_pii(text)
    assert out == "Here is the key:\n[PRIVATE_KEY]\nThanks, the ops team", out
    for line in block.replace("\\n", "\n").splitlines()[1:]:
        assert len(line) < 8 or line not in out


@pytest.mark.parametrize(
    "phone",
    [
        "+49 30 123456",
        "+44 20 7946 0958",
        "+1 (415) 555-2671",
        "+33 1 23 45 67 89",
        "+1-415-555-2671",
        "+81 3-1234-5678",
        "+61 2 9876 5432",
        "+14155552671",
        "+49 (0)30 1234567",
    ],
)
def test_international_phone_numbers_are_masked(phone: str) -> None:
    text = f"Call the support line on {phone} today."
    assert [k for k, _, _ in find_pii(text)] == ["phone"], find_pii(text)
    assert mask_pii(text) == "Call the support line on [PHONE] today."


@pytest.mark.parametrize(
    "text",
    [
        "The secret: patience and practice.",
        "secretary: Jane123456 will call",
        "password: required",
        "tokenizer: bert-base-uncased",
        "user = { password: hashedPassword }",
        "api_key = get_api_key(config)",
        "$password = $new_password;",
        "The key: to success is practice.",
        "Upgrade from 2.14.7 to +2.15.0 today.",
        "The sum 3 +20 30 40 50 = 143 holds.",
        "It rose +4.8% and +10.5 points.",
        "On 2023-10-05 at 10:30 the score was 12 + 34 = 46.",
        "Add +5 and +12 to get 17.",
        "x = 5+8(2) - 3",
        "Asia and Africa: both continents.",
        "akiak village has 400 people",
    ],
)
def test_look_alikes_are_not_masked(text: str) -> None:
    assert find_pii(text) == [], find_pii(text)
    assert mask_pii(text) == text


def test_every_new_span_contains_a_prefilter_match() -> None:
    """:func:`maybe_pii` stays a necessary condition for the new patterns: the span of every match holds a
    prefilter match (so the rows the prefilter skips hold no PII), on the planted forms and on random texts built
    from the pieces the new patterns care about."""
    rng = random.Random(12)
    pieces = [
        "+",
        "+4",
        "+44",
        "+1",
        " ",
        "-",
        ".",
        "(",
        ")",
        "0",
        "12",
        "345",
        "6789",
        "01234",
        "_",
        "=",
        ": ",
        '"',
        "'",
        "secret",
        "SECRET",
        "api_key",
        "client-",
        "password",
        "passwd",
        "access_key",
        "auth_token",
        "PRIVATE_KEY",
        "AKIA",
        "akia",
        "ASIA",
        "AIza",
        "IOSFODNN7EXAMPLE",
        "Zx9!",
        "abcdefgh",
        "\u212a",
        "\n",
        "-----BEGIN ",
        "-----begin ",
        "RSA ",
        "PRIVATE KEY-----",
        "-----END ",
        "\\n",
        "MIIEvQIBADANBgkq",
        "==",
    ]
    texts = [f"note {f} end" for f in FORMS] + [
        "".join(rng.choice(pieces) for _ in range(rng.randint(3, 40))) for _ in range(20000)
    ]
    spans = 0
    for t in texts:
        for kind, s, e in find_pii(t):
            spans += 1
            assert maybe_pii(t[s:e]), (kind, t[s:e])
    assert spans > 300


@pytest.mark.parametrize(
    "text",
    [
        "-----BEGIN RSA PRIVATE KEY-----\n" * 20000,  # many headers, no footer
        "-----BEGIN PRIVATE KEY-----\n" + ("A" * 63 + "\n") * 20000,  # a body without an end
        "secret=abcdefgh1 " * 50000,  # tens of thousands of matches
        'password: "' * 50000,
        "x" + "secret_" * 50000 + "= abc",
        "+49 30" + " 1" * 100000,
        "api_key " * 100000,
    ],
)
def test_hostile_texts_are_scanned_in_linear_time(text: str) -> None:
    """No catastrophic backtracking and no quadratic overlap bookkeeping: each of these ~0.5 MB texts takes well
    under a second here (about 0.4 s at most); the bound leaves room for a slow machine."""
    start = time.perf_counter()
    find_pii(text)
    assert time.perf_counter() - start < 5.0


# ---------------------------------------------------------------- masking at the source, in the checks' results


def test_checks_mask_metadata_values_in_their_own_results() -> None:
    """The results a notebook shows (examples, summaries, messages) are masked at the source."""
    rows = []
    for i, form in enumerate(FORMS):
        rows += [
            {
                "instruction": f"Reset device {i}",
                "output": "ok",
                "label": "good",
                "annotator": "a",
                "licence": form,
                "provenance": form,
                "category": "qa",
            },
            {
                "instruction": f"Reset device {i}",
                "output": "ok",
                "label": form,
                "annotator": "b",
                "licence": "MIT",
                "provenance": "human",
                "category": form,
            },
        ]
    records = records_from_rows(rows)
    traffic = records_from_rows([{"instruction": f"q {f}", "category": f} for f in FORMS])
    results = [
        LicenceCheck(allowed={"licence": ["MIT"], "provenance": ["human"]}).run(records, CheckContext()),
        ProvenanceCheck().run(records, CheckContext()),
        ConsistencyCheck().run(records, CheckContext()),
        CoverageCheck(by="category").run(records, CheckContext(traffic=traffic)),
        CoverageCheck(by="licence").run(records, CheckContext(traffic=records)),
        PiiCheck(fields=["instruction", "licence", "provenance"]).run(records, CheckContext()),
    ]
    shown = json.dumps([r.to_dict() for r in results], ensure_ascii=False)
    for secret in LEAKS:
        assert secret not in shown, secret
    assert "[EMAIL]" in shown and "[PRIVATE_KEY]" in shown and "[PHONE]" in shown
    assert results[2].examples and all("labels" in e["reason"] for e in results[2].examples)


def test_the_report_pass_masks_every_string_and_keeps_colliding_keys_apart() -> None:
    value = {
        "message": f"x {EMAIL}",
        "summary": {EMAIL: 1, "jo@corp-mail.net": 2, "n": [1, 2.5]},
        "examples": [{"text": PEM, "lines": [3, 4]}],
        "skipped": [f"f.jsonl:3: bad row {AKIA}"],
    }
    out = masked(value)
    text = json.dumps(out)
    assert not any(s in text for s in LEAKS)
    assert out["summary"] == {"[EMAIL]": 1, "[EMAIL] (2)": 2, "n": [1, 2.5]}
    assert out["examples"][0] == {"text": "[PRIVATE_KEY]", "lines": [3, 4]}


# ---------------------------------------------------------------- the CLI, dataset checklists

#: A model-free checklist whose items echo metadata values: disallowed licence/provenance/source values, conflicting
#: labels, provenance tags, slice names of several columns.
ECHOING = """\
name: echoing
items:
  - {id: pii, title: "pii", check: pii, fields: [instruction, input, output, messages, category, source], warn: 0.0,
     fail: 0.5}
  - {id: licence, title: "licence", check: licence, allowed: {licence: [MIT], provenance: [human], source: [wiki],
     annotator: [a, b], split: [train, test]}, warn: 0.0, fail: 0.99}
  - {id: consistency, title: "consistency", check: consistency, warn: 0.0, fail: 0.99}
  - {id: provenance, title: "provenance", check: provenance, warn: 0.5, fail: 0.9}
  - {id: formatting, title: "formatting [/x] markup", check: formatting, warn: 0.0, fail: 0.99}
  - {id: cov.category, title: "coverage by category", check: coverage, by: category, warn: 0.1, fail: 0.99}
  - {id: cov.source, title: "coverage by source", check: coverage, by: source, warn: 0.1, fail: 0.99}
  - {id: cov.label, title: "coverage by label", check: coverage, by: label, warn: 0.1, fail: 0.99}
  - {id: splits, title: "splits", check: splits, required: [train, test], warn: 0.0, fail: 0.99}
  - {id: contamination, title: "contamination", check: contamination, warn: 0.0, fail: 0.99}
  - {id: golden, title: "golden", check: golden_set, warn: 5, fail: 1}
"""


def write_planted(folder: Path) -> dict[str, Path]:
    """Training, eval, traffic and golden files with every secret in data text, every metadata column, a chat role
    and (through the category and source columns) the slice names; the eval copies a training answer, so the
    contamination examples echo text too."""
    rows: list[dict[str, object]] = []
    for i, form in enumerate(FORMS):
        for field in META:
            rows.append(
                {
                    "instruction": f"How do I reset device {i} via {field}?",
                    "output": f"Hold button {i}.",
                    "category": "qa",
                    "label": "good",
                    "annotator": "a",
                    "licence": "MIT",
                    "provenance": "human",
                    "source": "wiki",
                    "split": "train",
                    field: form,
                }
            )
        rows.append(
            {
                "instruction": f"How do I reset device {i} via label?",
                "output": "Hold it.",
                "label": "good",
                "annotator": "b",
                "category": "qa",
                "split": "train",
            }
        )  # a conflicting label
        rows.append(
            {
                "instruction": f"Contact {form} for device {i}",
                "input": f"ref {form}",
                "output": f"Write to {form} and wait for the reply from the team on duty today please",
                "split": "train",
            }
        )
        rows.append({"messages": [{"role": form, "content": f"hi {i}"}, {"role": "assistant", "content": "hello"}]})
    paths = {name: folder / f"{name}.jsonl" for name in ("train", "eval", "traffic", "golden")}
    evals = [
        {
            "instruction": f"Eval question {i} about {form}",
            "output": f"Write to {form} and wait for the reply from the team on duty today please",
            "category": form,
            "split": "test",
        }
        for i, form in enumerate(FORMS)
    ]
    traffic = [{"instruction": f"query about {form}", "category": form, "source": form} for form in FORMS]
    golden = [{"instruction": f"golden {form}", "output": "x", "source": form, "label": form} for form in FORMS]
    for name, data in (("train", rows), ("eval", evals), ("traffic", traffic), ("golden", golden)):
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    return paths


def run_check(checklist: Path, paths: dict[str, Path], out: Path, quiet: bool = False) -> tuple[CliResult, list[Path]]:
    reports = [out / "r.json", out / "r.html", out / "r.xml"]
    result = run_cli(
        "check",
        checklist,
        "--data",
        paths["train"],
        "--eval",
        paths["eval"],
        "--traffic",
        paths["traffic"],
        "--golden",
        paths["golden"],
        "--json",
        reports[0],
        "--html",
        reports[1],
        "--junit",
        reports[2],
        *(["-q"] if quiet else []),
    )
    return result, reports


def test_planted_secrets_never_show_in_any_output_of_a_dataset_checklist(tmp_path: Path) -> None:
    """The model-free checklist above: every item that echoes values ran, nothing leaked, the values show masked,
    and a title holding rich markup (``[/x]``) prints as text."""
    paths = write_planted(tmp_path)
    checklist = tmp_path / "echoing.yaml"
    checklist.write_text(ECHOING, encoding="utf-8")
    result, reports = run_check(checklist, paths, tmp_path)
    assert result.code == ExitCode.FAIL, result.stderr[-2000:]
    assert_masked_everywhere(result, reports)
    report = json.loads(reports[0].read_text(encoding="utf-8"))
    items = {i["id"]: i for i in report["items"]}
    assert items["licence"]["summary"]["disallowed"]["source"]  # the disallowed values are listed, masked
    assert {"[EMAIL]", "[PHONE]", "[PRIVATE_KEY]"} <= set(items["licence"]["summary"]["disallowed"]["provenance"])
    assert items["consistency"]["outcome"] == "warn" and "[EMAIL]" in json.dumps(items["consistency"]["examples"])
    assert "[API_KEY]" in json.dumps(items["cov.category"]["summary"]["slices"])
    assert "[PHONE]" in json.dumps(items["cov.source"]["summary"]["slices"])
    assert items["contamination"]["outcome"] == "fail"
    assert "[/x]" in result.stdout and "[EMAIL]" in result.stdout  # printed as text, not taken as markup
    html = reports[1].read_text(encoding="utf-8")
    assert "[EMAIL]" in html and "[PRIVATE_KEY]" in html
    assert "[EMAIL]" in reports[2].read_text(encoding="utf-8") or "[PHONE]" in reports[2].read_text(encoding="utf-8")


def test_planted_secrets_never_show_with_the_default_dataset_checklist(tmp_path: Path) -> None:
    """checklists/dataset_readiness.yaml as shipped (its embedding items load MiniLM once) on the same files."""
    paths = write_planted(tmp_path)
    result, reports = run_check(DATASET_CHECKLIST, paths, tmp_path)
    assert result.code == ExitCode.FAIL, result.stderr[-2000:]
    assert_masked_everywhere(result, reports)
    report = reports[0].read_text(encoding="utf-8")
    assert "[EMAIL]" in report and "[PRIVATE_KEY]" in report and "[API_KEY]" in report and "[PHONE]" in report


# ---------------------------------------------------------------- the CLI, the model checklist and decide


def write_model_inputs(folder: Path) -> tuple[Path, Path]:
    """The sample plan and eval results with secrets in the plan's name, model, routing, guardrails and regression
    suite, and in the eval results' model, task_id and topic columns."""
    plan = sample_data.path("model_plan.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("name: heronsgate-support-assistant", f"name: 'support for {EMAIL}'"),
        ("model: open-weights-70b", f"model: '{OPENAI}'"),
        ("  cheap: open-weights-8b", f"  cheap: '{AKIA}'"),
        ("  strong: open-weights-70b", f"  strong: '{OPENAI}'"),
        ("input: [pii_masking, prompt_injection_filter]", f"input: [pii_masking, '{FORMS[1]}']"),
        ("regression_suite: evals/support_regression.jsonl", f"regression_suite: 'evals/{PHONE}.jsonl'"),
    ):
        assert old in plan, old
        plan = plan.replace(old, new)
    rows = [json.loads(line) for line in sample_data.path("model_evals.jsonl").read_text().splitlines() if line]
    names = {"open-weights-70b": OPENAI, "open-weights-8b": AKIA}
    for r in rows:
        r["model"] = names.get(r["model"], r["model"])
        r["task_id"] = f"{r['task_id']} {EMAIL}"
        r["topic"] = PHONE
    (folder / "plan.yaml").write_text(plan, encoding="utf-8")
    (folder / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder / "plan.yaml", folder / "evals.jsonl"


def test_planted_secrets_never_show_with_the_model_checklist(tmp_path: Path) -> None:
    plan, evals = write_model_inputs(tmp_path)
    checklist = tmp_path / "model.yaml"
    shutil.copyfile(MODEL_CHECKLIST, checklist)
    reports = [tmp_path / "r.json", tmp_path / "r.html", tmp_path / "r.xml"]
    result = run_cli(
        "check",
        checklist,
        "--plan",
        plan,
        "--evals",
        evals,
        "--json",
        reports[0],
        "--html",
        reports[1],
        "--junit",
        reports[2],
    )
    assert result.code in (ExitCode.OK, ExitCode.FAIL), result.stderr[-2000:]
    assert_masked_everywhere(result, reports)
    report = reports[0].read_text(encoding="utf-8")
    assert "[API_KEY]" in report  # the chosen model's name is echoed, masked


def test_decide_next_prints_no_planted_value_of_the_eval_results(tmp_path: Path) -> None:
    """Task ids, topics and models of the eval results stay out of the text and JSON answers and of the log (the
    command's own --model argument is the user's, so it is not planted here)."""
    _, evals = write_model_inputs(tmp_path)
    text = evals.read_text(encoding="utf-8").replace(OPENAI, "strong-model").replace(AKIA, "cheap-model")
    evals.write_text(text, encoding="utf-8")
    log = tmp_path / "decisions.jsonl"
    for extra in ([], ["--json"]):
        result = run_cli("decide", "next", "--evals", evals, "--model", "strong-model", "--log", log, *extra)
        assert result.code == ExitCode.OK, result.stderr[-2000:]
        assert_no_secret(result, [log], secrets=LEAKS)
        assert "next:" in result.stdout or '"action"' in result.stdout


def test_feedback_promote_prints_no_planted_value(tmp_path: Path) -> None:
    """The summary line counts entries; the golden set it writes is the data itself (not an echo), so only stdout
    and stderr are checked."""
    from playbook_lib.ops.feedback import FeedbackEntry, FeedbackLog

    log = FeedbackLog(tmp_path / "feedback.jsonl")
    for i, form in enumerate(FORMS):
        log.append(
            FeedbackEntry(f"how do I reach {form}?", f"write to {form} [d{i}]", [f"d{i}"], [f"d{i}", form], rating=5)
        )
    log.append(FeedbackEntry("what is E17?", "a fault", [], ["d9"], rating=2, correction=f"ask {EMAIL}"))
    result = run_cli("rag", "feedback", "promote", log.path, "--out", tmp_path / "golden.jsonl")
    assert result.code == ExitCode.OK, result.stderr[-2000:]
    assert_no_secret(result, secrets=LEAKS)
    assert re.search(r"\d+ entries", result.stdout)


@pytest.mark.parametrize("where", ["evals category", "decide several models", "plan option"])
def test_error_messages_that_echo_a_value_mask_it(tmp_path: Path, where: str) -> None:
    """An error that quotes a bad value from the data (one line, exit 3 or 4) must not print the secret in it."""
    plan, evals = write_model_inputs(tmp_path)
    checklist = tmp_path / "model.yaml"
    shutil.copyfile(MODEL_CHECKLIST, checklist)
    if where == "evals category":
        evals.write_text(json.dumps({"task_id": "t1", "success": False, "category": EMAIL}) + "\n", encoding="utf-8")
        result = run_cli("check", checklist, "--plan", plan, "--evals", evals)
    elif where == "decide several models":
        result = run_cli("decide", "next", "--evals", evals)
    else:
        plan.write_text(plan.read_text().replace("runs_on: every_change", f"runs_on: '{FORMS[1]}'"))
        result = run_cli("check", checklist, "--plan", plan, "--evals", evals)
    assert result.code in (ExitCode.USAGE, ExitCode.DATA), result.stderr
    assert_no_secret(result, secrets=LEAKS + (AWS_SECRET[-20:],))


@pytest.mark.parametrize("column", ["split", "provenance"])
def test_split_and_provenance_values_are_masked_before_lower_casing(tmp_path: Path, column: str) -> None:
    """A split or provenance value holding an IBAN or a phone number is masked in the message, summary and examples
    of every report: lower-casing it first (as the checks compare these values) used to hide it from the masker."""
    planted = ["DE89370400440532013000", "(555) 867-5309", "bob@corp.io"]
    rows = [
        {
            "instruction": f"question number {i} about a topic",
            "output": f"answer {i}",
            column: (["train", "test"] + planted)[i % 5],
        }
        for i in range(40)
    ]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    checklist = tmp_path / "c.yaml"
    checklist.write_text(
        "name: t\nitems:\n  - id: s\n    title: split\n    check: splits\n"
        "  - id: p\n    title: provenance\n    check: provenance\n",
        encoding="utf-8",
    )
    reports = [tmp_path / "r.json", tmp_path / "r.html", tmp_path / "r.xml"]
    result = run_cli(
        "check",
        checklist,
        "--data",
        data,
        "--json",
        reports[0],
        "--html",
        reports[1],
        "--junit",
        reports[2],
        "--strict",
    )
    # the planted values are not split names, so validation is missing: not evaluated, a failure under --strict
    assert result.code == ExitCode.FAIL, result.stderr
    leaks = planted + [p.lower() for p in planted] + ["de89370400440532013000", "867-5309"]
    assert_no_secret(result, files=reports, secrets=leaks)


def test_decide_model_masks_profile_and_catalogue_values(tmp_path: Path) -> None:
    """A profile name, a model name or a provider holding a secret is masked in the table and in --json."""
    profile = tmp_path / "profile.yaml"
    text = sample_data.path("requirements_profile.yaml").read_text(encoding="utf-8")
    profile.write_text(re.sub(r"(?m)^name: .*$", "name: alice.smith@example.com", text), encoding="utf-8")
    catalog = tmp_path / "catalog.yaml"
    text = sample_data.path("model_catalog.yaml").read_text(encoding="utf-8")
    name = re.search(r"(?m)^\s*- name: (\S+)", text).group(1)  # type: ignore[union-attr]
    catalog.write_text(text.replace(name, "AKIAIOSFODNN7EXAMPLE"), encoding="utf-8")
    for extra in ([], ["--json"]):
        result = run_cli("decide", "model", "--profile", profile, "--catalog", catalog, *extra)
        assert result.code in (ExitCode.OK, ExitCode.FAIL), result.stderr
        assert_no_secret(result, secrets=["alice.smith@example.com", "AKIAIOSFODNN7EXAMPLE"])
        assert "[EMAIL]" in result.stdout


def test_decide_next_masks_the_model_in_output_and_log(tmp_path: Path) -> None:
    evals = tmp_path / "evals.jsonl"
    evals.write_text(
        sample_data.path("model_evals.jsonl")
        .read_text(encoding="utf-8")
        .replace("open-weights-8b", "alice.smith@example.com"),
        encoding="utf-8",
    )
    log = tmp_path / "decisions.jsonl"
    for extra in ([], ["--json", "--log", str(log)]):
        result = run_cli("decide", "next", "--evals", evals, "--model", "alice.smith@example.com", *extra)
        assert result.code == ExitCode.OK, result.stderr
        assert_no_secret(result, files=[log], secrets=["alice.smith@example.com"])
    assert "[EMAIL]" in log.read_text(encoding="utf-8")


def test_rag_query_masks_documents_and_the_question(tmp_path: Path) -> None:
    """What ``rag query`` shows of a document, and the question it echoes, is masked in the table and in JSON (a
    title with rich markup is printed as text, not parsed)."""
    corpus = tmp_path / "corpus.jsonl"
    docs = [{"_id": f"d{i}", "title": "t", "text": f"document {i} about topic {i}"} for i in range(4)]
    docs.append(
        {
            "_id": "s",
            "title": "AKIAIOSFODNN7EXAMPLE [/x]",
            "text": "Contact jane.doe@corp-mail.net or +44 20 7946 0958 for access",
        }
    )
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    for extra in ([], ["--format", "json"]):
        result = run_cli("rag", "query", "--corpus", corpus, "jane.doe@corp-mail.net access", "-k", "5", *extra)
        assert result.code == ExitCode.OK, result.stderr
        assert_no_secret(result)
        assert "[EMAIL]" in result.stdout


def test_decide_model_prints_a_markup_like_model_name_as_text(tmp_path: Path) -> None:
    """A model name such as ``frontier [/x] large`` is printed as itself: rich used to parse it as markup and raise
    (an internal error, exit 5)."""
    catalog = tmp_path / "catalog.yaml"
    text = sample_data.path("model_catalog.yaml").read_text(encoding="utf-8")
    catalog.write_text(text.replace("name: frontier-api-large", 'name: "frontier [/x] large"'), encoding="utf-8")
    result = run_cli(
        "decide", "model", "--profile", sample_data.path("requirements_profile.yaml"), "--catalog", catalog
    )
    assert result.code in (ExitCode.OK, ExitCode.FAIL), result.stderr
    assert "frontier [/x] large" in result.stdout
