"""The seeded planting helpers: edits at the rate asked for, copies that point at their sources, one problem per
planted row, and the same output for the same seed."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from playbook_lib.data import records_from_rows
from playbook_lib.errors import UsageError
from playbook_lib.experiments.planting import (
    FORBIDDEN,
    PROBLEMS,
    fictional_email,
    perturb_words,
    plant_near_duplicates,
    plant_problems,
)

WORDS = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return WORDS.findall(text.casefold())


def rows(n: int, prefix: str = "row") -> pd.DataFrame:
    frame = records_from_rows(
        [
            {
                "instruction": f"{prefix} {i}: how many apples does basket {i} hold after {i % 7} more are added?",
                "output": f"Basket {i} holds {i + 3} apples in all, because {i} plus three is {i + 3}.",
            }
            for i in range(n)
        ]
    )
    frame["licence"], frame["provenance"] = "MIT", "human"
    return frame


def test_cosmetic_edits_leave_the_word_tokens_and_edits_follow_the_rate() -> None:
    text = " ".join(f"w{i}" for i in range(20_000))
    rng = np.random.default_rng(0)
    cosmetic = perturb_words(text, 0.0, rng, cosmetic=1.0)
    assert cosmetic != text and tokens(cosmetic) == tokens(text)
    assert perturb_words(text, 0.0, rng) == text
    edited = perturb_words(text, 0.05, np.random.default_rng(1)).split()
    lost = 20_000 - len(edited)  # each drop loses one word; a swap keeps both
    assert 0.02 * 20_000 < lost < 0.03 * 20_000  # about half of the 5 % of words edited are drops
    assert perturb_words(text, 0.05, np.random.default_rng(1)) == " ".join(edited)  # seeded
    with pytest.raises(UsageError):
        perturb_words(text, 1.5, rng)


def test_near_plant_records_each_copy_and_its_source() -> None:
    base = rows(200)
    plant = plant_near_duplicates(base, near=30, far=20, rate=0.0, far_rate=0.5, cosmetic=0.3, seed=3)
    assert len(plant.records) == 250 and list(plant.records["line"]) == list(range(1, 251))
    assert (plant.kind == "near").sum() == 30 and (plant.kind == "far").sum() == 20
    texts = plant.records["instruction"].tolist()
    for i in np.flatnonzero(plant.kind == "near"):
        s = plant.source[i]
        assert plant.kind[s] == "real" and tokens(texts[i]) == tokens(texts[s])  # rate 0: only cosmetic edits
    far = np.flatnonzero(plant.kind == "far")
    assert all(tokens(texts[i]) != tokens(texts[plant.source[i]]) for i in far)
    assert len(set(plant.source[plant.source >= 0])) == 50  # every copy from a different row
    group = plant.group()
    assert (group >= 0).sum() == 60 and (group[far] == -1).all()
    again = plant_near_duplicates(base, near=30, far=20, rate=0.0, far_rate=0.5, cosmetic=0.3, seed=3)
    assert again.records.equals(plant.records) and (again.source == plant.source).all()
    with pytest.raises(UsageError):
        plant_near_duplicates(base, near=150, far=60, rate=0.0, far_rate=0.5)


def test_problem_plant_puts_one_problem_in_each_planted_row() -> None:
    base, evals, other = rows(200), rows(30, "test"), rows(30, "chat")
    other["licence"] = "CC-BY-NC-SA"
    p = plant_problems(base, evals, other, per_problem=10, seed=5)
    assert set(p.rows) == set(PROBLEMS) and all(len(ix) == 10 for ix in p.rows.values())
    planted = np.concatenate(list(p.rows.values()))
    assert len(set(planted.tolist())) == len(planted)  # disjoint
    assert len(p.records) == 200 + 10 * 4  # copies, off-topic and eval rows appended
    r = p.records
    assert (r["output"].iloc[p.rows["empty_output"]] == "").all()
    assert r["output"].iloc[p.rows["forbidden_phrase"]].str.startswith(FORBIDDEN).all()
    assert r["instruction"].iloc[p.rows["personal_data"]].str.contains(r"\w+\.\w+\d\d@").all()
    assert r["licence"].iloc[p.rows["no_licence"]].isna().all() and r["licence"].notna().sum() == 230
    assert r["provenance"].iloc[p.rows["no_provenance"]].isna().all()
    for i in p.rows["exact_duplicate"].tolist():
        assert tokens(r["instruction"].iloc[i]) == tokens(r["instruction"].iloc[p.source[i]])
    assert set(r["instruction"].iloc[p.rows["eval_copy"]]) <= set(evals["instruction"])
    assert set(r["instruction"].iloc[p.rows["off_topic"]]) <= set(other["instruction"])
    assert set(p.source) == set(p.rows["exact_duplicate"].tolist()) | set(p.rows["near_duplicate"].tolist())
    with pytest.raises(UsageError):
        plant_problems(base, evals, other, per_problem=10, kinds=("typo",))
    with pytest.raises(UsageError):
        plant_problems(base, evals, other, per_problem=40)


def test_fictional_emails_look_personal() -> None:
    rng = np.random.default_rng(0)
    emails = {fictional_email(rng) for _ in range(50)}
    assert len(emails) > 40 and all(re.fullmatch(r"[a-z]+\.[a-z]+\d\d@[a-z.]+", e) for e in emails)


def test_planted_rows_keep_missing_text_as_none_and_near_copies_are_not_exact() -> None:
    from playbook_lib.text.normal import normalise

    base, evals, other = rows(200), rows(30, "test"), rows(30, "chat")
    p = plant_problems(base, evals, other, per_problem=10, seed=2, near_rate=0.0)
    assert p.records["input"].map(lambda v: v is None).all()  # no NaN from the concatenation
    for i in p.rows["near_duplicate"].tolist():
        j = p.source[i]
        text = [normalise(str(p.records[f].iloc[k])) for k in (i, j) for f in ("instruction", "output")]
        assert text[:2] != text[2:]  # edited until it differs after normalisation, even at rate 0
    near = plant_near_duplicates(base, near=20, far=0, rate=0.01, far_rate=0.5, seed=1)
    assert near.records["input"].map(lambda v: v is None).all()
