"""Explorers over a committed results table: controls pick a slice, a library function summarises it.

A page's full-profile evidence is a table in ``notebooks/results/`` (:mod:`playbook_lib.experiments.tables`); a
reader wants to move along its knob (noise rate, mix ratio, nprobe, ...) and see the measurement and its verdict at
each value. :func:`table_explorer` makes that control: ``summary(frame, **setting)`` (a module-level library
function, so that a test can import it by name and check what the page shows) renders the HTML for each setting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from playbook_lib.experiments.tables import read_table
from playbook_lib.widgets.explorer import Control, Explorer


def table_explorer(
    path: str | Path,
    summary: Callable[..., str],
    controls: Sequence[Control],
    *,
    kind: str = "table",
    caption: str = "",
    frame: pd.DataFrame | None = None,
) -> Explorer:
    """An explorer whose output for each setting is ``summary(frame, **setting)`` over the table at ``path``.

    ``frame`` is the table already read (``read_table(path)[0]``) when the caller has it. ``summary`` must be a
    module-level function (its ``module:name`` travels with the page, with ``path`` as given, so give it relative
    to where the notebook runs, e.g. ``"results/exp_01_quality_vs_quantity.csv"``).
    """
    name = getattr(summary, "__qualname__", "")
    module = getattr(summary, "__module__", "")
    if not name or "<" in name or "." in name or not module:
        raise ValueError("summary must be a module-level function, so that its name identifies it")
    table = frame if frame is not None else read_table(path)[0]

    def render(**setting: object) -> str:
        return summary(table, **setting)

    return Explorer(
        render,
        controls,
        kind=kind,
        caption=caption,
        inputs={"table": Path(path).as_posix(), "summary": f"{module}:{name}"},
    )


__all__ = ["table_explorer"]
