"""Small, dependency-light model utilities: attention from scratch, compute-optimal scaling, next-token sampling.

Taught in the book's *Data + Models* chapter (``notebooks/dm_04_scaling.ipynb``,
``notebooks/dm_06_probabilistic_outputs.ipynb``). Import the modules directly, e.g.
``from playbook_lib.models.scaling import chinchilla_optimal``; nothing loads at import time.
"""
