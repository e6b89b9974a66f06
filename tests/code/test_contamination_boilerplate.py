"""Contamination: boilerplate shared by many training rows is not a leak (issue 18); a copied question still is.

Every input is generated here: a pangram sentence and a HelloWorld program planted in many training rows and in eval
rows, real leaks (an eval question copied into a training row, with and without the boilerplate), and a constructed
pair whose shared, eval and containment numbers are counted by hand.
"""

from __future__ import annotations

import random

import numpy as np

from playbook_lib.checks import CheckContext, Outcome
from playbook_lib.checks.contamination import ContaminationCheck, overlap, overlap_plain
from playbook_lib.checks.hashing import ngram_hashes
from playbook_lib.data import records_from_rows

rng = random.Random(18)
VOCAB = [f"w{i}" for i in range(5000)]
FOX = "Use the sentence the quick brown fox jumps over the lazy dog as the sample input text for this."
HELLO = 'public class HelloWorld { public static void main(String[] args) { System.out.println("Hello, World!"); } }'


def words(k: int) -> str:
    return " ".join(rng.sample(VOCAB, k))


def rows(k: int, prefix: str, boiler: str = "") -> list[dict]:
    return [
        {"instruction": f"{prefix} {i}: {words(16)}. {boiler}".strip(), "output": f"{words(20)}\n{HELLO}"}
        for i in range(k)
    ]


TRAIN = rows(60, "Task", FOX)
EVAL = rows(20, "Held-out", FOX)


def run(train: list[dict], evals: list[dict], **options):
    return ContaminationCheck(**options).run(records_from_rows(train), CheckContext(eval=records_from_rows(evals)))


def test_boilerplate_in_many_rows_is_not_a_leak() -> None:
    """The pangram sentence (19 words: 7 13-grams) and the HelloWorld program sit in all 60 training rows and all
    20 eval rows: without the discount every eval row is contaminated; with the default none is, and the summary
    says what was discounted."""
    before = run(TRAIN, EVAL, max_ngram_rows=None)
    assert before.summary["eval_rows_contaminated"] == 20 and before.outcome is Outcome.FAIL
    after = run(TRAIN, EVAL)
    assert after.outcome is Outcome.PASS and not after.flags.any()
    boiler = after.summary["boilerplate"]
    assert boiler["max_ngram_rows"] == 10 and boiler["eval_rows_with_boilerplate"] == 20
    assert boiler["ngrams"] >= 7 and boiler["most_common"][0]["train_rows"] == 60
    assert "boilerplate 13-grams" in after.message


def test_a_copied_question_is_still_found_with_or_without_the_boilerplate() -> None:
    """Eval question 3 copied with a new prefix and its boilerplate, eval question 7's 16 words without it: both
    are leaks (4 shared 13-grams clear of the boilerplate); the other 18 eval rows stay clean."""
    q3 = EVAL[3]["instruction"].split(": ", 1)[1]
    q7 = EVAL[7]["instruction"].split(": ", 1)[1].split(".")[0]
    leaks = [
        {"instruction": "Seen before: " + q3, "output": words(20)},
        {"instruction": f"Asked again: {q7} and {words(3)}", "output": f"{words(20)}\n{HELLO}"},
    ]
    result = run(TRAIN + leaks, EVAL)
    assert result.flags.tolist() == [False] * 60 + [True, True]
    assert result.summary["eval_rows_contaminated"] == 2 and result.outcome is Outcome.FAIL
    assert {e["eval_line"] for e in result.examples} == {4, 8}


def test_a_leak_copied_into_more_rows_than_the_limit_reads_as_boilerplate() -> None:
    """The documented price of the discount: an eval question quoted in 11 training rows (more than 10) counts as
    boilerplate; a share of the training rows (``max_ngram_rows: 0.5``: 35.5 of 71) finds it again and still
    discounts the pangram and HelloWorld (in 60)."""
    q = EVAL[5]["instruction"].split(": ", 1)[1].split(".")[0]
    copies = [{"instruction": f"Copy {chr(97 + i)}: {q} {words(4)}", "output": words(20)} for i in range(11)]
    assert not run(TRAIN + copies, EVAL).flags.any()
    found = run(TRAIN + copies, EVAL, max_ngram_rows=0.5)
    assert found.flags.tolist() == [False] * 60 + [True] * 11 and found.summary["eval_rows_contaminated"] == 1
    assert found.summary["boilerplate"]["max_ngram_rows"] == 35.5


def test_the_per_pair_numbers_of_a_constructed_case() -> None:
    """An eval question of 30 words (18 13-grams) whose last 15 words are a run held by 12 training rows: the 3
    13-grams inside the run are boilerplate and the 12 more that overlap it (starting at words 3-14) do not count
    either, so the question has 18 - 15 = 3 counted 13-grams (starting at words 0-2, clear of the run at words
    15-29). A training question that copies all 30 words shares those 3: containment 3/3, 3 boilerplate shared."""
    run15 = words(15)
    head = words(15)
    evals = [{"instruction": f"{head} {run15}", "output": words(20)}]
    train = [{"instruction": f"{words(5)} {run15}", "output": words(20)} for _ in range(11)]
    train.append({"instruction": f"{head} {run15}.", "output": words(20)})  # not an exact copy: a full stop
    train[-1]["instruction"] = "Note: " + train[-1]["instruction"]
    result = run(train, evals)
    (example,) = result.examples
    assert example["line"] == 12 and example["pair"] == "instruction->instruction"
    assert (example["shared_ngrams"], example["eval_ngrams"], example["containment"]) == (3, 3, 1.0)
    assert example["boilerplate_ngrams"] == 3 and example["boilerplate"] == [run15]
    # the minimum share for prompt pairs: 3 of 3 passes any; the same pair without the discount shares 18 of 18
    assert run(train, evals, min_prompt_containment=1.0).flags.sum() == 1
    assert run(train, evals, max_ngram_rows=None).flags.all()  # the 11 others share the run's 3 13-grams
    (alone,) = run(train[-1:], evals, max_ngram_rows=None).examples
    assert (alone["shared_ngrams"], alone["eval_ngrams"], alone["containment"]) == (18, 18, 1.0)


def test_min_prompt_containment_drops_a_short_shared_run() -> None:
    """One shared 13-gram of a 40-word eval question (28 13-grams): a leak by default (a 13-word quote is the
    classic one), not with ``min_prompt_containment: 0.2``."""
    evals = [{"instruction": words(40), "output": words(10)}]
    quote = " ".join(evals[0]["instruction"].split()[10:23])
    train = [{"instruction": f"Quoted: {quote} {words(5)}", "output": words(10)}]
    (example,) = run(train, evals).examples
    assert (example["shared_ngrams"], example["eval_ngrams"]) == (1, 28)
    assert example["containment"] == round(1 / 28, 4)
    assert not run(train, evals, min_prompt_containment=0.2).flags.any()


def test_the_vectorised_pass_equals_the_plain_one_with_boilerplate() -> None:
    """Random texts with boilerplate runs planted in many rows on both sides and copies of eval rows: flags, scores,
    shared and distinct counts, first eval rows, pairs, per-eval-row counts and the boilerplate n-grams (with their
    document frequencies) agree, for counts, shares and with several texts per training row."""
    r = random.Random(7)
    vocab = [f"v{i}" for i in range(300)]
    runs = [" ".join(r.choice(vocab) for _ in range(r.randint(14, 25))) for _ in range(4)]

    def text() -> str:
        parts = [" ".join(r.choice(vocab) for _ in range(r.randint(0, 20)))]
        for run_ in runs:
            if r.random() < 0.4:
                parts.append(run_)
                parts.append(" ".join(r.choice(vocab) for _ in range(r.randint(0, 15))))
        return " ".join(parts)

    evals = [text() for _ in range(80)] + [""]
    train = [text() for _ in range(400)] + [evals[3], "x " + evals[9] + " y", evals[11][: len(evals[11]) // 2]]
    owner = np.arange(len(train)) % 150
    for n in (3, 13):
        for limit, rows_of in ((5, None), (20, owner), (0.1, owner), (None, None)):
            fast = overlap(train, evals, n, True, True, limit, rows_of)
            plain = overlap_plain(train, evals, n, True, True, limit, rows_of)
            for name in ("flags", "exact", "shared", "first_eval", "distinct", "eval_distinct", "eval_boilerplate"):
                assert np.array_equal(getattr(fast, name), getattr(plain, name)), (n, limit, name)
            assert np.allclose(fast.scores, plain.scores) and fast.hit_eval == plain.hit_eval
            assert fast.pairs is not None and plain.pairs is not None
            for a, b in zip(fast.pairs, plain.pairs):
                assert np.array_equal(a, b), (n, limit)
            hashed = {int(ngram_hashes([g], n)[1][0]): c for g, c in plain.boilerplate.items()}
            assert hashed == fast.boilerplate, (n, limit)
            if limit == 5:
                assert len(fast.boilerplate) > 10 and fast.flags.sum() >= 1
