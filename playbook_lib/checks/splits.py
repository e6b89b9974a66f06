"""Splits and the golden set: train/validation/test present and disjoint; a golden set of real failure cases.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Clear
train/validation/test split" and "Golden set of real failure cases".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from playbook_lib.checks.base import CheckContext, CheckResult, Outcome
from playbook_lib.checks.batch import READ_ROWS, BatchCheck, FeatureStore, RowSource, row_numbers
from playbook_lib.checks.hashing import normal_digests, normal_hashes
from playbook_lib.checks.registry import register
from playbook_lib.data import record_text
from playbook_lib.text.pii import mask_pii

_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "dev": "validation",
    "test": "test",
    "eval": "test",
    "golden": "golden",
}


def _split_names(values: pd.Series) -> list[str]:
    """The split of each row: a known name or alias (``val`` -> ``validation``), case-insensitive; any other value
    with personal data and secrets masked before it is lower-cased (a split column can hold anything, and
    lower-casing first would hide an IBAN or key from the masker). Each distinct value is looked at once."""
    names: dict[object, str] = {}
    out = []
    for v in values.tolist():
        name = names.get(v) if isinstance(v, str) or v is None else None
        if name is None:
            raw = (v or "train").strip() if isinstance(v, str) or v is None else str(v)
            masked = mask_pii(raw)
            name = _ALIASES.get(raw.lower()) or (raw.lower() if masked == raw else masked)
            if isinstance(v, str) or v is None:
                names[v] = name
        out.append(name)
    return out


@register
class SplitsCheck(BatchCheck):
    """Every split in ``required`` is present, and no prompt appears in two splits.

    Splits come from the ``split`` column (``val``/``dev`` count as validation); rows without one are ``train``,
    the eval file (``--eval``) counts as ``test`` and the validation file (``--validation``) as ``validation``.
    The metric ``overlap_rate`` is the share of rows whose normalised prompt is also in another split. A required
    split that is missing makes the item not evaluated, with the one line that says how to supply it (``--strict``
    turns that into a failure); overlapping splits fail whatever is missing.
    """

    name = "splits"
    metric = "overlap_rate"
    tables = ("splits",)

    def __init__(
        self,
        required: list[str] | None = None,
        fields: list[str] | None = None,
        warn: float | None = 0.0,
        fail: float | None = 0.01,
    ) -> None:
        super().__init__(warn, fail)
        self.required = [_ALIASES.get(r, r) for r in (required or ["train", "validation", "test"])]
        self.fields = tuple(fields or ("instruction", "input"))

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """Every row's split and the normal-form hash of its prompt (``fields``)."""
        table = {"row": row_numbers(records), "split": _split_names(records["split"])}
        return {"splits": pa.table(table | {"hash": normal_hashes(record_text(records, self.fields))}, schema=_SPLITS)}

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        """Split sizes by a group-by; the rows whose hash the store finds in two splits (with the split files') are
        read back and confirmed on their normal forms' 128-bit digests (:func:`normal_digests`: a collision of the
        64-bit hash alone cannot flag a row), which are kept instead of the strings."""
        n = rows.rows
        table = self.table("splits")
        # the split files given beside the data: --eval is the test split, --validation the validation split
        extra: list[tuple[str, list[str]]] = [
            (name, record_text(frame, self.fields))
            for name, frame in (("test", context.eval), ("validation", context.validation))
            if frame is not None
        ]
        other_names = [name for name, texts in extra for _ in texts]
        other_texts = [t for _, texts in extra for t in texts]
        other_hashes = normal_hashes(other_texts)
        others = self.table("files")
        k = 0
        while store.has(f"{others}_{k}"):  # a table of its own for each finish on one store
            k += 1
        others = f"{others}_{k}"
        store.append(
            others,
            pa.table({"row": np.arange(len(other_texts)), "split": other_names, "hash": other_hashes}, schema=_SPLITS),
        )
        # Only rows whose normal-form hash occurs in two splits can be in two splits; the normalised strings of
        # those rows alone decide it.
        mixed = (
            f'SELECT hash FROM (SELECT hash, split FROM "{table}" UNION ALL SELECT hash, split FROM "{others}") '
            "GROUP BY hash HAVING count(DISTINCT split) > 1"
        )
        candidates = store.query(f'SELECT row, split FROM "{table}" WHERE hash IN ({mixed}) ORDER BY row')
        several = store.query(f'SELECT row FROM "{others}" WHERE hash IN ({mixed}) ORDER BY row')["row"]
        where: dict[bytes, set[str]] = {}  # by normal-form digest (normal_digests), not the normalised strings
        texts: dict[int, bytes] = {}
        lines: dict[int, int] = {}
        split_of = dict(zip(candidates["row"].tolist(), candidates["split"].tolist()))
        for lo in range(0, candidates["row"].size, READ_ROWS):
            part = rows.take(candidates["row"][lo : lo + READ_ROWS])
            keys = normal_digests(record_text(part, self.fields))
            for i, line, key in zip(part.index.tolist(), part["line"].tolist(), keys):
                texts[i], lines[i] = key, int(line)
                where.setdefault(key, set()).add(split_of[i])
        for i, key in zip(several.tolist(), normal_digests(other_texts[i] for i in several.tolist())):
            where.setdefault(key, set()).add(other_names[i])
        counted = store.query(f'SELECT split, count(*) AS rows FROM "{table}" GROUP BY split')
        sizes = dict(sorted(zip(counted["split"].tolist(), counted["rows"].astype(int).tolist())))
        for name in other_names:
            sizes[name] = sizes.get(name, 0) + 1
        sizes = dict(sorted(sizes.items()))
        flags = np.zeros(n, dtype=bool)
        for i, t in texts.items():
            flags[i] = len(where[t]) > 1
        missing = [r for r in self.required if not sizes.get(r)]
        overlap_rate = float(flags.mean()) if n else 0.0
        summary = {
            "rows": n,
            "split_sizes": sizes,
            "missing_splits": missing,
            "rows_in_several_splits": int(flags.sum()),
            "overlap_rate": overlap_rate,
        }
        graded = self.grade(overlap_rate)
        # A split the team has not supplied is not evaluated (it says how to supply it), unless the splits that are
        # there already overlap: that is a failure whatever else is missing.
        outcome = Outcome.NOT_EVALUATED if missing and graded is Outcome.PASS else graded
        examples = [
            {"line": lines[i], "reason": f"also in {', '.join(sorted(where[texts[i]] - {split_of[i]}))}"}
            for i in np.flatnonzero(flags)[:5].tolist()
        ]
        detail = f"sizes {', '.join(f'{k} {v}' for k, v in sizes.items())}"
        if missing:
            detail += f"; missing {', '.join(missing)}: " + "; ".join(_HOW[m] for m in missing if m in _HOW)
        return self.result(flags, flags.astype(float), summary, examples, detail, outcome=outcome)


_SPLITS = pa.schema([("row", pa.int64()), ("split", pa.string()), ("hash", pa.int64())])


#: How to supply each split, for the report of a run where it is missing.
_HOW = {
    "train": "pass the training data with --data",
    "validation": "pass --validation FILE, or give rows a split column with 'validation' (or val, dev)",
    "test": "pass --eval FILE, or give rows a split column with 'test'",
}


@register
class GoldenSetCheck(BatchCheck):
    """A golden set of real failure cases exists and is large enough (metric ``golden_examples``, lower is worse).

    The golden set is the ``--golden`` file, or rows whose ``split`` or ``category`` is ``golden``; with neither,
    the item is not evaluated and says how to supply one.
    """

    name = "golden_set"
    metric = "golden_examples"
    direction = "below"
    metric_range = (0.0, float("inf"))  # a count of rows
    tables = ("tagged",)

    def __init__(self, warn: float | None = 50, fail: float | None = 1) -> None:
        super().__init__(warn, fail)

    def batch(self, records: pd.DataFrame) -> dict[str, pa.Table]:
        """How many rows of the batch are tagged golden (split or category)."""
        in_records = [
            (s or "").lower() == "golden" or (c or "").lower() == "golden"
            for s, c in zip(records["split"], records["category"])
        ]
        return {"tagged": pa.table({"rows": [int(sum(in_records))]}, schema=_TAGGED)}

    def finish(self, store: FeatureStore, rows: RowSource, context: CheckContext) -> CheckResult:
        n = rows.rows
        tagged = int(store.query(f'SELECT coalesce(sum(rows), 0)::BIGINT AS n FROM "{self.table("tagged")}"')["n"][0])
        count = len(context.golden) if context.golden is not None else tagged
        if context.golden is None and not count:
            return self.not_evaluated(
                n,
                "no golden set: pass --golden FILE (real failure cases, one per row, in any data format), or tag "
                "rows with split or category 'golden'",
            )
        where = "--golden file" if context.golden is not None else "rows tagged golden"
        summary = {"golden_examples": count, "source": where}
        return self.result(np.zeros(n, bool), np.zeros(n), summary, [], f"{count} examples from {where}")


_TAGGED = pa.schema([("rows", pa.int64())])
