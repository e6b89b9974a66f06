"""A table explorer summarises each slice of a committed results table with a named library function."""

from __future__ import annotations

import pandas as pd
import pytest

from playbook_lib.experiments.tables import write_table
from playbook_lib.widgets.explorer import slider
from playbook_lib.widgets.results import table_explorer


def mean_at(frame: pd.DataFrame, noise: float) -> str:
    return f"<p>{frame[frame['noise'] == noise]['score'].mean():.3f}</p>"


def test_each_setting_is_the_summary_of_its_slice(tmp_path) -> None:
    path = tmp_path / "t.csv"
    write_table(pd.DataFrame({"noise": [0.0, 0.0, 0.2, 0.2], "score": [0.9, 0.8, 0.5, 0.7]}), path, {"by": "test"})
    explorer = table_explorer(path, mean_at, [slider("noise", [0.0, 0.2])])
    assert explorer.output(noise=0.0) == "<p>0.850</p>" and explorer.output(noise=0.2) == "<p>0.600</p>"
    assert explorer.inputs == {"table": path.as_posix(), "summary": f"{__name__}:mean_at"}


def test_a_summary_without_a_name_is_refused(tmp_path) -> None:
    path = tmp_path / "t.csv"
    write_table(pd.DataFrame({"noise": [0.0]}), path, {})
    with pytest.raises(ValueError, match="module-level"):
        table_explorer(path, lambda frame, noise: "", [slider("noise", [0.0])])
