"""Dataset and model-readiness checks: one class per check, an explicit registry, and a fixed result shape.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``).
Importing this package imports only the check modules themselves (no model, no I/O).
"""

from __future__ import annotations

from playbook_lib.checks.base import Check, CheckContext, CheckResult, Outcome, worst
from playbook_lib.checks.compliance import LicenceCheck, PiiCheck, mask_pii
from playbook_lib.checks.consistency import ConsistencyCheck
from playbook_lib.checks.contamination import ContaminationCheck
from playbook_lib.checks.embedding import EmbeddingCoverageCheck, RelevanceCheck
from playbook_lib.checks.formatting import FormattingCheck
from playbook_lib.checks.posttraining import LengthBiasCheck, PreferencePairsCheck, SftPairsCheck
from playbook_lib.checks.provenance import ProvenanceCheck
from playbook_lib.checks.quantity import QuantityCheck
from playbook_lib.checks.readiness import (
    CostModelCheck,
    EvalHarnessCheck,
    EvalSuccessCheck,
    GuardrailsCheck,
    RoutingPlanCheck,
    SuperpowerCheck,
)
from playbook_lib.checks.relevance import CoverageCheck, TaskRulesCheck
from playbook_lib.checks.splits import GoldenSetCheck, SplitsCheck
from playbook_lib.checks.uniqueness import ExactDuplicatesCheck, NearDuplicatesCheck
from playbook_lib.errors import UsageError

#: The explicit name -> class registry used by checklists and the CLI.
REGISTRY: dict[str, type[Check]] = {
    cls.name: cls
    for cls in (
        FormattingCheck,
        ExactDuplicatesCheck,
        NearDuplicatesCheck,
        ContaminationCheck,
        PiiCheck,
        LicenceCheck,
        ProvenanceCheck,
        SplitsCheck,
        GoldenSetCheck,
        QuantityCheck,
        ConsistencyCheck,
        TaskRulesCheck,
        CoverageCheck,
        RelevanceCheck,
        EmbeddingCoverageCheck,
        # post-training data (SFT and preference pairs)
        SftPairsCheck,
        PreferencePairsCheck,
        LengthBiasCheck,
        # model readiness (records are eval results, context.plan the model plan)
        SuperpowerCheck,
        CostModelCheck,
        RoutingPlanCheck,
        GuardrailsCheck,
        EvalHarnessCheck,
        EvalSuccessCheck,
    )
}


def get_check(name: str) -> type[Check]:
    """The check class registered under ``name``; :class:`UsageError` listing the valid names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown check {name!r}; valid: {', '.join(sorted(REGISTRY))}") from None


__all__ = ["REGISTRY", "Check", "CheckContext", "CheckResult", "Outcome", "get_check", "mask_pii", "worst"]
