"""Decisions from eval results: cost per successful task, routing, the escalation ladder and model selection.

Taught in the book's *Data + Models* chapter (``notebooks/dm_07_model_selection.ipynb``,
``notebooks/dm_08_prompt_rag_finetune.ipynb``). Import the modules directly, e.g.
``from playbook_lib.decide.ladder import recommend``; nothing loads at import time.
"""
