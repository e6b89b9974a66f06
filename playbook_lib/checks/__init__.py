"""Dataset and model-readiness checks: one class per check, a registry, and a fixed result shape.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``).
Each check class registers itself under its ``name`` (:func:`playbook_lib.checks.registry.register`); this package
imports every check module, so :data:`REGISTRY` holds them all. Importing it imports only the check modules themselves
(no model, no I/O).
"""

from __future__ import annotations

# Every check module, imported for its registrations (the order is the order of REGISTRY): dataset checks, then
# post-training data (SFT and preference pairs), then model readiness (records are eval results, context.plan the plan).
# isort: off
from playbook_lib.checks import (  # noqa: F401 - imported to register their checks
    formatting,
    uniqueness,
    contamination,
    compliance,
    provenance,
    splits,
    quantity,
    consistency,
    relevance,
    embedding,
    posttraining,
    chat_template,
    readiness,
)

# isort: on
from playbook_lib.checks.base import Check, CheckContext, CheckResult, Outcome, worst
from playbook_lib.checks.registry import REGISTRY, get_check, register

__all__ = ["REGISTRY", "Check", "CheckContext", "CheckResult", "Outcome", "get_check", "register", "worst"]
