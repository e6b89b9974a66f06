"""Sample data written for this project; see ``README.md`` in this folder."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def path(name: str) -> Path:
    """Return the path of a bundled sample file, e.g. ``path("heronsgate_kb.jsonl")``."""
    resource = files(__name__) / name
    if not resource.is_file():
        available = sorted(p.name for p in files(__name__).iterdir() if p.name.endswith((".jsonl", ".json", ".csv")))
        raise FileNotFoundError(f"no bundled sample {name!r}; available: {', '.join(available)}")
    return Path(str(resource))
