"""The final masking pass: personal data and secrets masked in every string inside a value, before it is shown."""

from __future__ import annotations

from typing import Any

from playbook_lib.text.pii import mask_pii, maybe_pii


def masked(value: Any) -> Any:
    """``value`` with personal data and secrets masked in every string inside it (dict keys too), for the reports.

    The final pass of every renderer: checks mask the examples they build, but a value from any column (a
    ``category`` holding an e-mail address, a slice name holding a key) can reach a message, a summary key or a
    skipped-row message, and one unmasked secret in a CI artifact is one too many. Two keys that mask alike are kept
    apart (``[EMAIL]``, ``[EMAIL] (2)``).
    """
    if isinstance(value, str):
        return mask_pii(value) if maybe_pii(value) else value
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key = masked(k)
            if key in out:
                key = next(f"{key} ({i})" for i in range(2, len(value) + 2) if f"{key} ({i})" not in out)
            out[key] = masked(v)
        return out
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float)) for v in value):  # flagged lines: nothing to mask
            return list(value)
        return [masked(v) for v in value]
    return value


def plain(value: Any) -> str:
    """``value`` as text for a rich table or console line: :func:`masked`, and escaped so that a value such as
    ``[/x]`` prints as itself instead of being parsed as rich markup (which raises on an unmatched tag)."""
    from rich.markup import escape  # lazy: rich (40 ms) only where a table or line is printed

    return escape(masked(str(value)))
