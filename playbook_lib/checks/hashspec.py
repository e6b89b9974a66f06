"""The constants that define the 64-bit text hashes, shared by the NumPy path (:mod:`playbook_lib.checks.hashing`)
and the compiled loops (:mod:`playbook_lib.checks.native`), so that both give the same hashes bit for bit."""

from __future__ import annotations

import numpy as np

#: One more than the largest Unicode code point.
MAXCP = 0x110000
#: The splitmix64 finaliser's multipliers.
C1 = np.uint64(0xBF58476D1CE4E5B9)
C2 = np.uint64(0x94D049BB133111EB)
#: The base of the positional (polynomial) sum over a word's code points.
BASE = np.uint64(0x100000001B3 * 2 + 1)
#: Added to every code point before the positional sum, so that code point 0 still counts.
OFFSET = np.uint64(0x9E37)
