"""Load a team's dataset (JSONL, JSON array, CSV, Parquet) onto one record model.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``).
"""

from __future__ import annotations

from playbook_lib.data.load import RECORD_COLUMNS, load_records, record_text, records_from_rows

__all__ = ["RECORD_COLUMNS", "load_records", "record_text", "records_from_rows"]
