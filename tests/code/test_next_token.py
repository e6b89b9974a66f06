"""Sampling over the real SmolLM2-135M logits: our logits give llama-cpp's greedy tokens, filters hold, seeds repeat."""

from __future__ import annotations

import numpy as np
import pytest

from playbook_lib.models.next_token import (
    EXTRACTION_SYSTEM,
    NextTokenModel,
    Setting,
    distribution_grid,
    extraction_tasks,
    grounded_value,
    measure_consistency,
)
from playbook_lib.models.sampling import sampling_distribution, top_k_filter


@pytest.fixture(scope="module")
def model() -> NextTokenModel:
    return NextTokenModel(threads=1)


@pytest.fixture(scope="module")
def prompt(model: NextTokenModel) -> list[int]:
    return model.chat_tokens(extraction_tasks(1)[0].prompt, EXTRACTION_SYSTEM)


def test_logits_are_a_real_next_token_distribution(model: NextTokenModel, prompt: list[int]) -> None:
    logits = model.logits(prompt)
    assert logits.shape == (model.n_vocab,) and np.isfinite(logits).all()
    assert logits.std() > 1.0  # not a constant or zero buffer
    np.testing.assert_array_equal(model.logits(prompt), logits)  # cached prompt, same values


def test_our_greedy_equals_llama_cpp_greedy(model: NextTokenModel, prompt: list[int]) -> None:
    ours = model.generate(prompt, temperature=0.0, max_tokens=6)
    reference = model.reference_greedy(prompt, max_tokens=6)
    assert ours.token_ids and model.decode(ours.token_ids) == reference
    # ... and the first token is the argmax of the logits we read.
    assert ours.token_ids[0] == int(np.argmax(model.logits(prompt)))


def test_top_k_one_is_greedy_at_any_temperature(model: NextTokenModel, prompt: list[int]) -> None:
    greedy = model.generate(prompt, 0.0, max_tokens=5)
    hot = model.generate(prompt, 2.0, top_k=1, max_tokens=5, rng=123)
    assert hot.token_ids == greedy.token_ids
    assert hot.token_probs == [1.0] * len(hot.token_probs)


def test_seeded_sampling_repeats_and_respects_filters(model: NextTokenModel, prompt: list[int]) -> None:
    a = model.generate(prompt, 1.2, top_k=20, top_p=0.9, max_tokens=5, rng=7)
    b = model.generate(prompt, 1.2, top_k=20, top_p=0.9, max_tokens=5, rng=7)
    assert a == b
    first = a.token_ids[0] if a.token_ids else None
    if first is not None:
        kept = np.flatnonzero(np.isfinite(top_k_filter(model.logits(prompt), 20)))
        assert first in kept
        assert a.token_probs[0] == pytest.approx(sampling_distribution(model.logits(prompt), 1.2, 20, 0.9)[first])
    assert all(0 < p <= 1 for p in a.token_probs)


def test_measure_consistency_greedy_is_perfectly_consistent(model: NextTokenModel) -> None:
    tasks = extraction_tasks(2)
    frame = measure_consistency(model, tasks, [Setting(0.0), Setting(1.5)], n_samples=3, max_tokens=4, seed=1)
    assert len(frame) == 4
    greedy = frame[frame["temperature"] == 0]
    assert (greedy["n_distinct"] == 1).all() and (greedy["agreement"] == 1).all()
    assert (greedy["entropy_bits"] == 0).all()
    assert frame["accuracy"].between(0, 1).all()
    again = measure_consistency(model, tasks, [Setting(1.5)], n_samples=3, max_tokens=4, seed=1)
    assert again["mode"].tolist() == frame[frame["temperature"] == 1.5]["mode"].tolist()


def test_a_record_longer_than_the_context_is_a_data_error_not_a_crash(model: NextTokenModel) -> None:
    from playbook_lib.errors import DataError

    long = model.chat_tokens("word " * 3000 + "\n\nQuestion: which word?", EXTRACTION_SYSTEM)
    with pytest.raises(DataError, match="more than the model's context window of 1024"):
        model.logits(long)
    short = model.chat_tokens("Colour: teal.\n\nQuestion: colour?", EXTRACTION_SYSTEM)
    with pytest.raises(DataError, match="generated tokens: "):
        model.generate(short, 0.0, max_tokens=2000)
    assert model.generate(short, 0.0, max_tokens=3).token_ids  # the model still works after the refusal


def test_distribution_grid_monotone_in_knobs(model: NextTokenModel, prompt: list[int]) -> None:
    grid = distribution_grid(model.logits(prompt), [0.0, 0.5, 1.0, 2.0], [None, 5], [None, 0.9])
    assert (grid[grid["temperature"] == 0]["candidates"] == 1).all()
    full = grid[grid["top_k"].isna() & grid["top_p"].isna()].sort_values("temperature")
    assert full["entropy_bits"].is_monotonic_increasing
    assert (grid[grid["top_k"] == 5]["candidates"] <= 5).all()


def test_extraction_tasks_bad_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playbook_lib.errors import DataError

    bad = tmp_path / "t.jsonl"
    bad.write_text('{"context": "x", "question": "y"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=":1: expected context"):
        extraction_tasks(path=str(bad))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="no extraction tasks"):
        extraction_tasks(path=str(empty))
    tasks = extraction_tasks()
    assert len(tasks) == 40 and len({t.id for t in tasks}) == 40
    assert all(t.correct(t.answer) and grounded_value(t.answer, t.context) for t in tasks)


def test_the_validator_rejects_words_the_record_does_not_hold() -> None:
    record = "Invoice 7731. Customer: Tromsø Water Board. Amount: 1,890 EUR. Due: 30 days."
    assert grounded_value("1,890", record) and grounded_value("The amount is 1,890 EUR.", record)
    assert grounded_value('"Tromsø Water Board"', record)
    assert not grounded_value("The amount is 1,980 EUR.", record)  # a changed number
    assert not grounded_value("It is due in 30 days, in Oslo.", record)  # an added place
    assert not grounded_value("", record) and not grounded_value("   ", record)
    assert not grounded_value("Amount " * 13, record)  # too long to be a value


class Scripted:
    """A stand-in model that returns scripted answers in order (greedy always returns ``greedy``)."""

    def __init__(self, answers: list[str], greedy: str) -> None:
        self.answers, self.greedy, self.calls = list(answers), greedy, 0

    def chat_tokens(self, user: str, system: str | None = None) -> list[int]:
        return [1]

    def generate(self, tokens, temperature=1.0, top_k=None, top_p=None, max_tokens=16, rng=None):  # type: ignore[no-untyped-def]
        from playbook_lib.models.next_token import Sampled

        self.calls += 1
        text = self.greedy if temperature == 0 else self.answers.pop(0)
        return Sampled(text, [], [], True)


def test_the_validator_loop_redraws_then_falls_back_to_greedy() -> None:
    task = extraction_tasks(1)[0]  # Lyon
    setting = Setting(0.7, retries=2)
    assert setting.label == "T=0.7 +validator(2)"
    with pytest.raises(ValueError):
        Setting(0.7, retries=-1)
    # sample 1: bad, then good (2 calls); sample 2: bad x3, then the greedy fallback (4 calls)
    model = Scripted(["Paris", "Lyon", "Paris", "Rome", "Oslo"], greedy="Lyon")
    frame = measure_consistency(model, [task], [setting], n_samples=2)  # type: ignore[arg-type]
    row = frame.iloc[0]
    assert model.calls == 6 and row["draws"] == 3.0
    assert row["accuracy"] == 1.0 and row["agreement"] == 1.0 and row["grounded"] == 1.0
    raw = measure_consistency(Scripted(["Paris", "Lyon"], "Lyon"), [task], [Setting(0.7)], n_samples=2)  # type: ignore[arg-type]
    assert raw.iloc[0]["accuracy"] == 0.5 and raw.iloc[0]["draws"] == 1.0
