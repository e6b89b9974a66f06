"""``unique_sorted`` (one sort) equals ``np.unique`` on the integer arrays the checks feed it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from playbook_lib.checks.hashing import unique_sorted


@settings(max_examples=200, deadline=None)
@given(
    values=st.one_of(
        hnp.arrays(np.uint64, st.integers(0, 300), elements=st.integers(0, 2**64 - 1)),
        hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(-5, 5)),
        hnp.arrays(np.uint32, st.integers(0, 300)),
    )
)
def test_unique_sorted_equals_np_unique(values: np.ndarray) -> None:
    want = np.unique(values)
    for step in (1, 2, 7, 1 << 20):  # compacted a few values at a time, and in one step
        got = unique_sorted(values, step=step)
        assert got.dtype == want.dtype
        assert np.array_equal(got, want)
