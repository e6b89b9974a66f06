"""The end-to-end RAG call and the grounded-vs-ungrounded comparison, with scripted generators."""

from __future__ import annotations

from playbook_lib import sample_data
from playbook_lib.rag.corpus import load_labelled_queries, load_reference_answers
from playbook_lib.rag.generate import Generation
from playbook_lib.rag.pipeline import answer_question, check_answer, compare_grounding, contains_fact
from playbook_lib.rag.postprocess import groundedness
from playbook_lib.rag.retrieve import DenseRetriever, Hit


class Echo:
    """Answers with the first context line (grounded) or a fixed invention (no context)."""

    name = "echo"

    def generate(self, prompt: str, max_tokens: int = 128, temperature: float = 0.0, seed: int = 0) -> Generation:
        if prompt.startswith("Context: "):
            text = prompt.split("\n")[0].removeprefix("Context: ")
        else:
            text = "It is made of cheese and was launched by pirates."
        return Generation(text, self.name, len(prompt.split()), len(text.split()), 0.0)


def test_answer_question_with_and_without_llm(embedder, sample_docs) -> None:
    retriever = DenseRetriever.from_documents(sample_docs, embedder)
    rag = answer_question("How often do I need to calibrate the pH probe?", retriever, Echo(), embedder, k=2)
    assert rag.used_llm and rag.prompt is not None and rag.prompt.used_ids[0] == "kb-004"
    assert rag.citations.valid == ["kb-004"] and rag.grounding.score == 1.0
    fallback = answer_question("How often do I need to calibrate the pH probe?", retriever, None, embedder)
    assert not fallback.used_llm and fallback.prompt is None and "14 days" in fallback.generation.text


def test_compare_grounding_scores_both_modes(embedder, sample_docs) -> None:
    retriever = DenseRetriever.from_documents(sample_docs, embedder)
    queries, _ = load_labelled_queries(sample_data.path("heronsgate_queries.jsonl"))
    facts = load_reference_answers(sample_data.path("heronsgate_queries.jsonl"))
    assert set(facts) == set(queries)
    subset = dict(list(queries.items())[:4])
    table = compare_grounding(subset, facts, retriever, Echo(), Echo(), embedder, ks=(1, 2))
    assert len(table) == 4 * 3
    means = table.groupby("mode")[["grounded", "correct"]].mean()
    assert means.loc["without retrieval", "grounded"] == 0.0 and means.loc["without retrieval", "correct"] == 0.0
    for mode in ("with retrieval, k=1", "with retrieval, k=2"):
        assert means.loc[mode, "grounded"] == 1.0 and means.loc[mode, "correct"] >= 0.75


def test_contains_fact() -> None:
    assert contains_fact("It costs 1890 euros.", "1,890") and not contains_fact("It costs 2,950.", "1,890")


def test_check_answer_keeps_a_supported_answer_and_replaces_a_number_from_the_wrong_passage(
    embedder, sample_docs
) -> None:
    """The book's ops_01 case: a small model answered the calibration question with "24 hours", a number from the
    probe-storage passage retrieved beside the calibration one. Groundedness against all three passages calls that
    supported; checked against the sentence nearest the question it is not, and the cited sentence answers."""
    question = "How often do I need to calibrate the pH probe?"
    by_id = {d.id: d for d in sample_docs}  # the three passages the page retrieved (its chunks' documents)
    hits = [Hit(rank, 0.6, by_id[i]) for rank, i in enumerate(["kb-004", "kb-032", "kb-017"], start=1)]
    assert "24 hours" in " ".join(h.document.text for h in hits)  # the wrong number is in the context
    wrong = Generation("The answer is: 24 hours", "small-model", 0, 0, 0.0)
    assert groundedness(wrong.text, hits).score == 1.0  # lexically supported by some passage
    checked = check_answer(question, hits, wrong, embedder)
    assert not checked.kept and "24 hour" in checked.reason and contains_fact(checked.answer.text, "14 days")
    assert checked.answer.model == "extractive" and "[kb-004]" in checked.answer.text
    right = Generation("You need to calibrate it every 14 days.", "small-model", 0, 0, 0.0)
    kept = check_answer(question, hits, right, embedder)
    assert kept.kept and kept.answer is right
