"""A pipeline trace: time every stage of a RAG pipeline and keep what it produced (a count and a sample).

Taught in the book's *Pipeline overview* page (``notebooks/ops_01_pipeline_overview.ipynb``) of the Model–Data
Operations chapter. Wrap each stage in ``with trace.stage("embed") as s:`` and call ``s.produced(n, sample)``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@dataclass
class StageRecord:
    """One stage's wall time, what it produced (``count`` items of ``unit``) and a short sample of its output."""

    stage: str
    seconds: float = 0.0
    count: int = 0
    unit: str = ""
    sample: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def produced(self, count: int, unit: str = "", sample: Any = "", **extra: Any) -> None:
        """Record the stage's output: how many items, of what, and a sample (shortened to 100 characters)."""
        self.count = int(count)
        self.unit = unit
        text = " ".join(str(sample).split())
        self.sample = text if len(text) <= 100 else text[:99] + "…"
        self.extra.update(extra)


class PipelineTrace:
    """Stage records in execution order; a stage that raises is recorded with its time and re-raised."""

    def __init__(self) -> None:
        self.records: list[StageRecord] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[StageRecord]:
        """Time the ``with`` block as stage ``name``; the yielded record takes the output via ``produced``."""
        if any(r.stage == name for r in self.records):
            raise ValueError(f"stage {name!r} already traced")
        record = StageRecord(stage=name)
        start = time.perf_counter()
        try:
            yield record
        finally:
            record.seconds = time.perf_counter() - start
            self.records.append(record)

    @property
    def total_seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    def frame(self) -> pd.DataFrame:
        """One row per stage: seconds, share of the total, count, unit and sample."""
        import pandas as pd  # lazy: pandas (~0.3 s) only where a frame is built

        total = self.total_seconds or 1.0
        return pd.DataFrame(
            {
                "stage": [r.stage for r in self.records],
                "seconds": [round(r.seconds, 3) for r in self.records],
                "share": [round(r.seconds / total, 3) for r in self.records],
                "produced": [r.count for r in self.records],
                "unit": [r.unit for r in self.records],
                "sample": [r.sample for r in self.records],
            }
        ).set_index("stage")

    def plot(self, title: str = "") -> Figure:
        """Horizontal bars of seconds per stage, in pipeline order (top to bottom)."""
        import matplotlib.pyplot as plt  # lazy: matplotlib (~0.5 s) only when a figure is drawn

        names = [r.stage for r in self.records][::-1]
        seconds = [r.seconds for r in self.records][::-1]
        fig, ax = plt.subplots(figsize=(7, 0.38 * max(len(names), 3) + 1.2))
        ax.barh(names, seconds, color="#3b7dd8")
        for y, s in enumerate(seconds):
            ax.text(s, y, f" {s:.2f} s", va="center", fontsize=8)
        ax.set_xlabel("wall time (s)")
        ax.set_xlim(0, max(seconds, default=1.0) * 1.25 or 1.0)
        ax.set_title(title or f"Time per stage ({self.total_seconds:.1f} s in all)")
        fig.tight_layout()
        return fig
