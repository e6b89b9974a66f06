"""Normal forms and previews of text: the whitespace-and-case normal form the duplicate and overlap checks compare,
and the short masked one-line preview every example shows."""

from __future__ import annotations

import re
from typing import Any

from playbook_lib.text.pii import mask_pii

_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case, collapse whitespace, strip: the normal form used for exact-duplicate and overlap checks.

    ``str.split()`` splits on the characters ``\\s`` matches and drops leading and trailing ones, so this equals
    ``re.sub(r"\\s+", " ", text).strip().casefold()``, about four times faster."""
    return " ".join(text.split()).casefold()


def snippet(text: Any, limit: int = 120) -> str:
    """A short one-line preview of a value for examples, with personal data and secrets masked."""
    s = mask_pii(text if isinstance(text, str) else repr(text))
    s = _WS.sub(" ", s).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"
