"""Parse a checklist YAML file into a validated :class:`ChecklistSpec`, reporting every error with file:line.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).

A checklist is a mapping with ``name``, optional ``description``, optional ``strict`` (``true``: an item that could
not be evaluated fails the run, as ``playbook check --strict`` does) and ``items``, a list of mappings. Each item has
``id`` (unique), ``title`` (the checklist wording), ``check`` (a registered check name) and, optionally, ``section``;
every other key is a constructor argument of the check (``warn``, ``fail`` and the check's own options).
Parsing never reads data: it only validates the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from playbook_lib.checks import REGISTRY
from playbook_lib.config import yamlsafe
from playbook_lib.config.validate import Errors, compose_into, non_finite, params_of, type_name, type_ok
from playbook_lib.config.yamlsafe import echo, value
from playbook_lib.errors import UsageError

RESERVED = ("id", "title", "check", "section")


@dataclass(frozen=True)
class ItemSpec:
    """One checklist item: which check runs, with which constructor arguments, declared on which line."""

    id: str
    title: str
    check: str
    params: dict[str, Any] = field(default_factory=dict)
    section: str = ""
    line: int = 0


@dataclass(frozen=True)
class ChecklistSpec:
    """A validated checklist."""

    name: str
    description: str
    items: list[ItemSpec]
    path: str = "<string>"
    #: An item that is not evaluated fails the run (exit 2) instead of passing with a note.
    strict: bool = False


class ChecklistError(UsageError):
    """One or more configuration errors; ``errors`` lists each as ``file:line: message``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        head = f"{len(errors)} configuration errors: " if len(errors) > 1 else ""
        super().__init__(head + "; ".join(errors))


def parse_checklist_text(text: str, source: str = "<string>") -> ChecklistSpec:
    """Parse checklist YAML ``text``; ``source`` names the file in messages. See :func:`parse_checklist`.

    The text goes through :func:`playbook_lib.config.yamlsafe.compose` (no tags beyond plain data, bounded aliases, no
    complex or duplicate keys, 64-bit integers) and is validated by :mod:`playbook_lib.config.validate`: option values
    must fit the check's constructor annotations and be finite numbers where numbers are expected, and
    ``warn``/``fail`` must lie in the check's metric range, ordered by its direction
    (:meth:`~playbook_lib.checks.base.Check.threshold_problems`).
    """
    errors = Errors(source)
    root = compose_into(text, errors)
    if root is None or not isinstance(root, yaml.MappingNode):
        if (
            errors.items
        ):  # e.g. a complex key at the top, or unsafe YAML: say that, not only that the mapping is missing
            raise ChecklistError(errors.items)
        raise ChecklistError([f"{source}:1: a checklist must be a mapping with 'name' and 'items'"])
    top = {k.value: (k, v) for k, v in root.value}
    for key, (knode, _) in top.items():
        if key not in ("name", "description", "strict", "items"):
            errors.add(knode, f"unknown top-level key {echo(key)} (valid: name, description, strict, items)")
    name = description = ""
    if "name" not in top or not isinstance(value(top["name"][1]), str):
        errors.items.append(f"{errors.at(top['name'][1]) if 'name' in top else source + ':1'}: 'name' must be a string")
    else:
        name = value(top["name"][1])
    if "description" in top:
        description = value(top["description"][1])
        if not isinstance(description, str):
            errors.add(top["description"][1], "'description' must be a string")
            description = ""
    strict = False
    if "strict" in top:
        strict = value(top["strict"][1])
        if not isinstance(strict, bool):
            errors.add(top["strict"][1], f"'strict' must be true or false, got {echo(strict)}")
            strict = False
    items_node = top.get("items", (None, None))[1]
    if not isinstance(items_node, yaml.SequenceNode) or not items_node.value:
        where = errors.at(items_node) if items_node is not None else f"{source}:1"
        errors.items.append(f"{where}: 'items' must be a non-empty list of checks")
        raise ChecklistError(errors.items)
    seen_ids: dict[str, str] = {}
    items = [item for node in items_node.value if (item := _parse_item(node, errors, seen_ids)) is not None]
    if errors.items:
        raise ChecklistError(errors.items)
    return ChecklistSpec(name, description, items, source, strict)


def _parse_item(node: yaml.Node, errors: Errors, seen_ids: dict[str, str]) -> ItemSpec | None:
    """Validate one item node, adding its problems to ``errors``; the item, or None when it cannot be read at all
    (not a mapping, a missing or non-string id/title/check, an unknown check)."""
    if not isinstance(node, yaml.MappingNode):
        errors.add(node, "an item must be a mapping with id, title and check")
        return None
    fields = {k.value: (k, v) for k, v in node.value}
    item_errors = len(errors.items)
    for req in ("id", "title", "check"):
        if req not in fields:
            errors.add(node, f"item is missing {req!r}")
        elif not isinstance(value(fields[req][1]), str):
            errors.add(fields[req][1], f"{req!r} must be a string")
    item_id = value(fields["id"][1]) if "id" in fields else None
    if isinstance(item_id, str):
        if item_id in seen_ids:
            errors.add(fields["id"][1], f"duplicate id {echo(item_id)} (first at {seen_ids[item_id]})")
        seen_ids.setdefault(item_id, errors.at(fields["id"][1]))
    if len(errors.items) > item_errors or not isinstance(item_id, str):
        return None
    check: str = value(fields["check"][1])
    if check not in REGISTRY:
        errors.add(fields["check"][1], f"unknown check {echo(check)}; valid: {', '.join(sorted(REGISTRY))}")
        return None
    cls = REGISTRY[check]
    accepted = {k: p.annotation for k, p in params_of(cls).items()}
    item = f" (item {echo(item_id)})"
    params: dict[str, Any] = {}
    for key, (knode, vnode) in fields.items():
        if key in RESERVED:
            continue
        if key not in accepted:
            errors.add(knode, f"check {check!r} has no option {echo(key)}; valid: {', '.join(accepted)}")
            continue
        v = value(vnode)
        if not type_ok(v, accepted[key]):
            errors.add(vnode, f"{check}.{key} must be {type_name(accepted[key])}, got {echo(v)}{item}")
            continue
        bad = non_finite(v)
        if bad is not None:  # NaN compares false with everything: a NaN threshold turns every fail into a pass
            errors.add(vnode, f"{check}.{key} must be a finite number, got {bad}{item}")
            continue
        params[key] = v
    section = value(fields["section"][1]) if "section" in fields else ""
    if not isinstance(section, str):
        errors.add(fields["section"][1], "'section' must be a string")

    def threshold_errors(problems: list[tuple[str, str]]) -> list[str]:
        return [
            f"{errors.at(fields[opt][1])}: {check}.{opt} {problem}{item}"
            if opt in fields
            else f"{errors.at(node)}: {check}.{opt} {problem} (the default {opt} of item {echo(item_id)}; set it too)"
            for opt, problem in problems
        ]

    if len(errors.items) > item_errors:  # no constructor call, but the thresholds given are still judged
        errors.items.extend(threshold_errors(cls.threshold_problems(params.get("warn"), params.get("fail"))))
    else:
        try:
            cls(**params)
        except UsageError as exc:
            problems = getattr(exc, "problems", None)  # threshold problems name their option: point at its line
            if problems:
                errors.items.extend(threshold_errors(problems))
            else:
                errors.add(node, str(exc))
        except (TypeError, ValueError, OverflowError) as exc:
            errors.add(node, f"invalid options for {check!r} ({exc})")
    return ItemSpec(item_id, value(fields["title"][1]), check, params, str(section), node.start_mark.line + 1)


def parse_checklist(path: str | Path) -> ChecklistSpec:
    """Read and validate a checklist file.

    Raises :class:`~playbook_lib.errors.UsageError` for a missing, unreadable (a folder, a FIFO, no permission),
    oversized or non-UTF-8 file (one line, :func:`playbook_lib.config.yamlsafe.read_config`) and :class:`ChecklistError`
    listing every configuration error (malformed or unsafe YAML, unknown keys or checks, wrong types, non-finite or
    inconsistent thresholds, missing fields, duplicate ids or keys) at once, each with file:line.
    """
    return parse_checklist_text(yamlsafe.read_config(path, "checklist"), str(path))
