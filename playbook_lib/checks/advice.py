"""What to do when a check warns or fails: one line per check, appended to the item's message ("to fix: ...").

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``). A gate a team
keeps on says what to change, not only what is wrong: the fix (an option of ``playbook check``, a cleaning step),
or the threshold or option of the item to adjust when the finding is expected. Every registered check has a line
here (a test holds it to that).
"""

from __future__ import annotations

ADVICE: dict[str, str] = {
    "formatting": "fix or drop the flagged rows (see --flags FILE for each row's problem); raise outlier_z or set "
    "max_tokens if long rows are intended",
    "exact_duplicates": "drop the repeats (playbook check --write-clean OUT keeps the first of each cluster)",
    "near_duplicates": "drop the near repeats (--write-clean OUT keeps the first of each cluster), or raise "
    "threshold if paraphrases are intended",
    "contamination": "remove the training rows that hold eval text (--write-clean OUT drops them), or re-draw the "
    "eval set; shared boilerplate is discounted by max_ngram_rows",
    "pii": "remove or mask the rows (--write-clean OUT masks them), or list values that are not personal data under "
    "the item's allow:",
    "licence": "declare the dataset's licence once (--licence NAME or declared: in the item) or add a licence "
    "column; list the licences you accept under allowed:",
    "provenance": "tag rows with a provenance column (human, synthetic, mixed) and keep the synthetic share within "
    "the item's warn/fail policy",
    "splits": "keep each prompt in one split (deduplicate across train, validation and test) and supply every "
    "required split (--validation FILE, --eval FILE or a split column)",
    "golden_set": "collect real failure cases into a golden set (--golden FILE) until it reaches the item's warn count",
    "quantity": "add examples (or synthesise for the gaps) until the method's minimum, or choose a method that needs "
    "fewer (method:)",
    "consistency": "re-label the conflicting rows (same input, different labels) or adjudicate between annotators",
    "task_rules": "rewrite or drop the rows that break a rule; adjust length_bounds or forbidden if a rule is wrong",
    "coverage": "add training examples for the slices production traffic has and the data lacks (missing_slices)",
    "relevance": "review the off-topic rows (--flags FILE) and drop those that do not belong; describe the task "
    "(task:) or give references: for a sharper comparison",
    "embedding_coverage": "add training examples near the uncovered production queries, or lower threshold if they "
    "are covered in substance",
    "sft_pairs": "fix the chats (role order, empty turns) and drop responses that only repeat the prompt",
    "preference_pairs": "drop pairs without a real choice (identical or empty answers, different conversations)",
    "length_bias": "balance the pairs so the chosen answer is not usually the longer one (add pairs where it is "
    "shorter, or truncate)",
    "chat_template": "fix the rows the model's chat template rejects, and shorten rows over max_tokens",
    "superpower": "state the plan's superpower (accuracy, cost, latency, ...) and what it asks of the model",
    "guardrails": "add the missing guardrails to the plan (input and output validators, fallbacks)",
    "eval_harness": "run the evals the plan names on every change and record them in --evals",
    "eval_success": "improve the prompt, retrieval or model until the success rate reaches the item's threshold",
    "cost_model": "lower the cost per successful task (a cheaper model, routing, caching) or revise the target",
    "routing_plan": "route fewer tasks to the cheap model, or improve it, until success drops by less than the "
    "threshold",
}


def advice(check: str) -> str:
    """The line for ``check`` ("" for a check without one)."""
    return ADVICE.get(check, "")
