"""Parse a checklist YAML file into a validated :class:`ChecklistSpec`, reporting every error with file:line.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).

A checklist is a mapping with ``name``, optional ``description`` and ``items``, a list of mappings. Each item has
``id`` (unique), ``title`` (the checklist wording), ``check`` (a registered check name) and, optionally, ``section``;
every other key is a constructor argument of the check (``warn``, ``fail`` and the check's own options).
Parsing never reads data: it only validates the configuration.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from playbook_lib.config import yamlsafe
from playbook_lib.config.yamlsafe import echo
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


class ChecklistError(UsageError):
    """One or more configuration errors; ``errors`` lists each as ``file:line: message``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        head = f"{len(errors)} configuration errors: " if len(errors) > 1 else ""
        super().__init__(head + "; ".join(errors))


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def type_ok(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a constructor annotation (str, int, float, bool, list[...], dict[...], unions)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (inner,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(type_ok(v, inner) for v in value)
    if origin is dict:
        k, v = typing.get_args(hint) or (Any, Any)
        return isinstance(value, dict) and all(type_ok(a, k) and type_ok(b, v) for a, b in value.items())
    return isinstance(value, hint) if isinstance(hint, type) else True


def _params_of(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls.__init__)
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    return {n: hints.get(n, Any) for n in names}


def _non_finite(value: Any) -> float | None:
    """The first NaN or infinity anywhere in an option value (lists and mappings included), else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((bad for bad in map(_non_finite, items) if bad is not None), None)


def parse_checklist_text(text: str, source: str = "<string>") -> ChecklistSpec:
    """Parse checklist YAML ``text``; ``source`` names the file in messages. See :func:`parse_checklist`.

    The text goes through :func:`playbook_lib.config.yamlsafe.compose` (no tags beyond plain data, bounded aliases, no
    complex or duplicate keys, 64-bit integers); option values must be finite numbers where numbers are expected,
    and ``warn``/``fail`` must lie in the check's metric range, ordered by its direction
    (:meth:`~playbook_lib.checks.base.Check.threshold_problems`).
    """
    from playbook_lib.checks import REGISTRY

    try:
        doc = yamlsafe.compose(text, source)
    except yamlsafe.YamlError as exc:
        raise ChecklistError(exc.errors) from None
    root = doc.root

    def at(node: yaml.Node) -> str:
        return f"{source}:{node.start_mark.line + 1}"

    def value(node: yaml.Node) -> Any:
        return yamlsafe.value(node)

    errors: list[str] = list(doc.errors)
    if root is None or not isinstance(root, yaml.MappingNode):
        if errors:  # e.g. a complex key at the top: say that, not only that the mapping is missing
            raise ChecklistError(errors)
        raise ChecklistError([f"{source}:1: a checklist must be a mapping with 'name' and 'items'"])
    top = {k.value: (k, v) for k, v in root.value}
    for key, (knode, _) in top.items():
        if key not in ("name", "description", "items"):
            errors.append(f"{at(knode)}: unknown top-level key {echo(key)} (valid: name, description, items)")
    name = description = ""
    if "name" not in top or not isinstance(value(top["name"][1]), str):
        errors.append(f"{at(top['name'][1]) if 'name' in top else source + ':1'}: 'name' must be a string")
    else:
        name = value(top["name"][1])
    if "description" in top:
        description = value(top["description"][1])
        if not isinstance(description, str):
            errors.append(f"{at(top['description'][1])}: 'description' must be a string")
            description = ""
    items: list[ItemSpec] = []
    items_node = top.get("items", (None, None))[1]
    if not isinstance(items_node, yaml.SequenceNode) or not items_node.value:
        where = at(items_node) if items_node is not None else f"{source}:1"
        errors.append(f"{where}: 'items' must be a non-empty list of checks")
        raise ChecklistError(errors)
    seen_ids: dict[str, str] = {}
    for node in items_node.value:
        if not isinstance(node, yaml.MappingNode):
            errors.append(f"{at(node)}: an item must be a mapping with id, title and check")
            continue
        fields = {k.value: (k, v) for k, v in node.value}
        item_errors = len(errors)
        for req in ("id", "title", "check"):
            if req not in fields:
                errors.append(f"{at(node)}: item is missing {req!r}")
            elif not isinstance(value(fields[req][1]), str):
                errors.append(f"{at(fields[req][1])}: {req!r} must be a string")
        item_id = value(fields["id"][1]) if "id" in fields else None
        if isinstance(item_id, str):
            if item_id in seen_ids:
                errors.append(f"{at(fields['id'][1])}: duplicate id {echo(item_id)} (first at {seen_ids[item_id]})")
            seen_ids.setdefault(item_id, at(fields["id"][1]))
        if len(errors) > item_errors:
            continue
        check = value(fields["check"][1])
        if check not in REGISTRY:
            valid = ", ".join(sorted(REGISTRY))
            errors.append(f"{at(fields['check'][1])}: unknown check {echo(check)}; valid: {valid}")
            continue
        cls = REGISTRY[check]
        accepted = _params_of(cls)
        item = f" (item {echo(item_id)})"
        params: dict[str, Any] = {}
        for key, (knode, vnode) in fields.items():
            if key in RESERVED:
                continue
            if key not in accepted:
                errors.append(f"{at(knode)}: check {check!r} has no option {echo(key)}; valid: {', '.join(accepted)}")
                continue
            v = value(vnode)
            if not type_ok(v, accepted[key]):
                errors.append(f"{at(vnode)}: {check}.{key} must be {_type_name(accepted[key])}, got {echo(v)}{item}")
                continue
            bad = _non_finite(v)
            if bad is not None:  # NaN compares false with everything: a NaN threshold turns every fail into a pass
                errors.append(f"{at(vnode)}: {check}.{key} must be a finite number, got {bad}{item}")
                continue
            params[key] = v
        section = value(fields["section"][1]) if "section" in fields else ""
        if not isinstance(section, str):
            errors.append(f"{at(fields['section'][1])}: 'section' must be a string")

        def threshold_errors(problems: list[tuple[str, str]]) -> list[str]:
            return [
                f"{at(fields[opt][1])}: {check}.{opt} {problem}{item}"
                if opt in fields
                else f"{at(node)}: {check}.{opt} {problem} (the default {opt} of item {echo(item_id)}; set it too)"
                for opt, problem in problems
            ]

        if len(errors) > item_errors:  # no constructor call, but the thresholds given are still judged
            errors.extend(threshold_errors(cls.threshold_problems(params.get("warn"), params.get("fail"))))
        else:
            try:
                cls(**params)
            except UsageError as exc:
                problems = getattr(exc, "problems", None)  # threshold problems name their option: point at its line
                if problems:
                    errors.extend(threshold_errors(problems))
                else:
                    errors.append(f"{at(node)}: {exc}")
            except (TypeError, ValueError, OverflowError) as exc:
                errors.append(f"{at(node)}: invalid options for {check!r} ({exc})")
        items.append(
            ItemSpec(item_id, value(fields["title"][1]), check, params, str(section), node.start_mark.line + 1)
        )
    if errors:
        raise ChecklistError(errors)
    return ChecklistSpec(name, description, items, source)


def parse_checklist(path: str | Path) -> ChecklistSpec:
    """Read and validate a checklist file.

    Raises :class:`~playbook_lib.errors.UsageError` for a missing, unreadable (a folder, a FIFO, no permission),
    oversized or non-UTF-8 file (one line, :func:`playbook_lib.config.yamlsafe.read_config`) and :class:`ChecklistError`
    listing every configuration error (malformed or unsafe YAML, unknown keys or checks, wrong types, non-finite or
    inconsistent thresholds, missing fields, duplicate ids or keys) at once, each with file:line.
    """
    return parse_checklist_text(yamlsafe.read_config(path, "checklist"), str(path))
