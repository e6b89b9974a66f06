"""The inputs of a checklist run: the records its checks score and the :class:`~playbook_lib.checks.CheckContext`
around them, loaded from the files ``playbook check`` is given.

A dataset checklist reads ``data`` (the training data) and optionally an ``eval`` set, a ``validation`` split,
production ``traffic``, a ``golden`` set and a dataset-level ``licence``; a model checklist reads a ``plan`` and
``evals`` (eval results, which are then the records its checks score). :func:`assemble` checks that the files given are the ones the checklist's checks read
(:func:`~playbook_lib.checklist.run.required_inputs`), then loads them; :func:`load_inputs` only loads.
Files are only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from playbook_lib.checklist.parse import ChecklistSpec
from playbook_lib.checklist.run import required_inputs
from playbook_lib.checks import CheckContext
from playbook_lib.data import load_records
from playbook_lib.decide.evals import load_eval_results
from playbook_lib.decide.plan import load_plan
from playbook_lib.errors import UsageError


@dataclass(frozen=True)
class CheckInputs:
    """What :func:`~playbook_lib.checklist.run.run_checklist` takes besides the checklist."""

    records: pd.DataFrame
    context: CheckContext


def check_inputs_given(
    spec: ChecklistSpec,
    *,
    data: str | Path | None = None,
    plan: str | Path | None = None,
    evals: str | Path | None = None,
) -> None:
    """Refuse a checklist that mixes dataset and model checks, and main inputs (``data``, ``plan``, ``evals``) that
    its checks need but were not given, or were given but are not read.

    Raises:
        UsageError: naming the checklist and the ``--data`` / ``--plan`` / ``--evals`` options at fault.
    """
    needed = required_inputs(spec)
    if "data" in needed and needed & {"plan", "evals"}:
        raise UsageError(f"{spec.path}: mixes dataset checks and model checks; split it into two checklists")
    given = {"data": data, "plan": plan, "evals": evals}
    missing = [f"--{name}" for name in ("data", "plan", "evals") if name in needed and given[name] is None]
    if missing:
        raise UsageError(f"checklist {spec.name!r} needs {' and '.join(missing)}")
    extra = [f"--{name}" for name, value in given.items() if value is not None and name not in needed]
    if extra:
        raise UsageError(f"checklist {spec.name!r} does not read {' or '.join(extra)}")


def load_inputs(
    *,
    data: str | Path | None = None,
    eval: str | Path | None = None,
    traffic: str | Path | None = None,
    golden: str | Path | None = None,
    plan: str | Path | None = None,
    evals: str | Path | None = None,
    validation: str | Path | None = None,
    licence: str | None = None,
    data_format: str | None = None,
    load_data: bool = True,
) -> CheckInputs:
    """Load the files given, in this order: the records (``data`` with :func:`~playbook_lib.data.load_records` in
    ``data_format``, else ``evals`` with :func:`~playbook_lib.decide.evals.load_eval_results`, else no rows), then
    ``eval``, ``traffic``, ``golden`` and ``validation`` (:func:`~playbook_lib.data.load_records`) and ``plan``
    (:func:`~playbook_lib.decide.plan.load_plan`) into the context, with ``licence`` (a licence declared for every
    row that has none of its own). With ``load_data`` false ``data`` is left on disk (no rows: the caller reads
    it in batches, :func:`~playbook_lib.checklist.stream.run_checklist_batched`).

    Raises:
        DataError: for an unreadable data, eval, traffic, golden or evals file (one line, naming the file).
        UsageError: for an unknown ``data_format``, a malformed plan or a licence name that is empty, longer than
            200 characters or not printable.
    """
    if licence is not None and (not licence.strip() or len(licence) > 200 or not licence.isprintable()):
        raise UsageError("--licence must be a licence name of 1-200 printable characters, e.g. CC-BY-4.0")
    if data is not None and load_data:
        records = load_records(data, format=data_format)
    elif evals is not None and data is None:
        records = load_eval_results(evals)
    else:
        records = pd.DataFrame({"line": []})
    context = CheckContext(
        eval=load_records(eval) if eval is not None else None,
        traffic=load_records(traffic) if traffic is not None else None,
        golden=load_records(golden) if golden is not None else None,
        plan=load_plan(plan) if plan is not None else None,
        validation=load_records(validation) if validation is not None else None,
        licence=licence,
    )
    return CheckInputs(records, context)


def assemble(
    spec: ChecklistSpec,
    *,
    data: str | Path | None = None,
    eval: str | Path | None = None,
    traffic: str | Path | None = None,
    golden: str | Path | None = None,
    plan: str | Path | None = None,
    evals: str | Path | None = None,
    validation: str | Path | None = None,
    licence: str | None = None,
    data_format: str | None = None,
    load_data: bool = True,
) -> CheckInputs:
    """The inputs of a run of ``spec``: :func:`check_inputs_given`, then :func:`load_inputs`.

    Raises:
        UsageError: for inputs the checklist needs but were not given or does not read (before any file is read),
            an unknown ``data_format`` or a malformed plan.
        DataError: for an unreadable input file.
    """
    check_inputs_given(spec, data=data, plan=plan, evals=evals)
    return load_inputs(
        data=data,
        eval=eval,
        traffic=traffic,
        golden=golden,
        plan=plan,
        evals=evals,
        validation=validation,
        licence=licence,
        data_format=data_format,
        load_data=load_data,
    )
