"""The pipeline trace records every stage in order, with its time and output, even when a stage fails."""

from __future__ import annotations

import time

import pytest

from playbook_lib.ops.trace import PipelineTrace


def test_stages_recorded_in_order_with_time_and_output() -> None:
    trace = PipelineTrace()
    with trace.stage("load") as s:
        s.produced(3, "documents", ["a", "b", "c"])
    with trace.stage("sleep") as s:
        time.sleep(0.05)
        s.produced(1, "nap", "x" * 300)
    frame = trace.frame()
    assert list(frame.index) == ["load", "sleep"]
    assert frame.loc["sleep", "seconds"] >= 0.05 > frame.loc["load", "seconds"]
    assert frame.loc["load", "produced"] == 3 and frame["share"].sum() == pytest.approx(1.0, abs=0.01)
    assert len(frame.loc["sleep", "sample"]) == 100  # shortened
    assert trace.plot().axes[0].get_xlabel() == "wall time (s)"


def test_failing_stage_is_recorded_and_reraised_and_names_are_unique() -> None:
    trace = PipelineTrace()
    with pytest.raises(ZeroDivisionError), trace.stage("divide"):
        _ = 1 / 0
    assert [r.stage for r in trace.records] == ["divide"]
    with pytest.raises(ValueError, match="already traced"), trace.stage("divide"):
        pass
