"""The one file:line validator of the library's YAML files: checklists, model plans, requirements profiles, catalogues.

A file is composed by :func:`playbook_lib.config.yamlsafe.compose` (plain data only, bounded, unique keys; nodes keep
their line) and then validated here, node by node, so that every message says ``file:line`` and every problem of a
file is reported at once (:class:`Errors`).

Two kinds of description drive it:

- **validators** (:data:`Validator`): a function that returns None or what is wrong with a value (:func:`number`
  refuses NaN, infinities, negatives and booleans; :func:`choice`, :func:`str_list`, ...). A frozen dataclass declares
  one per field (``field(metadata=checked(number))``); :func:`spec_of` turns the dataclass into a ``{key: (validator, required)}``
  spec (a field without a default is required) and :func:`build` validates a mapping node and constructs it. The
  model plan (:mod:`playbook_lib.decide.plan`), the requirements profile and the catalogue entries
  (:mod:`playbook_lib.decide.select`) are such dataclasses;
- **annotations** (:func:`type_ok`): a checklist item's options are the constructor arguments of its check, so their
  Python annotations (``float | None``, ``list[str]``, ...) are the types a YAML value must fit
  (:func:`params_of`, used by :mod:`playbook_lib.checklist.parse` and :mod:`playbook_lib.checklist.schema`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import math
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import yaml

from playbook_lib.config.yamlsafe import YamlError, compose, echo, line_of, value
from playbook_lib.errors import UsageError

Validator = Callable[[Any], "str | None"]
#: A mapping's description: key -> (validator, required).
Spec = dict[str, tuple[Validator, bool]]
T = TypeVar("T")


class Errors:
    """The problems found in one file, each ``file:line: message``; :meth:`raise_if_any` raises them as one."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def at(self, node: yaml.Node | None) -> str:
        """``file:line`` of a node (``file`` alone for None)."""
        return f"{self.source}:{line_of(node)}" if node is not None else self.source

    def add(self, node: yaml.Node | None, message: str) -> None:
        """Record ``message`` at the line of ``node`` (the file alone for None)."""
        self.items.append(f"{self.at(node)}: {message}")

    def raise_if_any(self, what: str) -> None:
        """Raise a :class:`UsageError` listing every problem (its ``errors`` attribute holds the list)."""
        if self.items:
            err = UsageError(f"{len(self.items)} error(s) in {what}: " + "; ".join(self.items))
            err.errors = list(self.items)  # type: ignore[attr-defined]  # an attribute UsageError does not declare
            raise err


def compose_into(text: str, errors: Errors) -> yaml.Node | None:
    """:func:`~playbook_lib.config.yamlsafe.compose` ``text``, adding its problems to ``errors``; the root node, or
    None (an empty document, or a fatal problem)."""
    try:
        doc = compose(text, errors.source)
    except YamlError as exc:
        errors.items.extend(exc.errors)
        return None
    errors.items.extend(doc.errors)
    return doc.root


def mapping(node: yaml.Node, errors: Errors, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
    """The pairs of a mapping node by key text (keys are unique scalars after composing), or None."""
    if not isinstance(node, yaml.MappingNode):
        errors.add(node, f"{what} must be a mapping")
        return None
    return {k.value: (k, v) for k, v in node.value}


def fields(node: yaml.Node, spec: Spec, errors: Errors, what: str) -> dict[str, Any] | None:
    """Validate a mapping node against ``spec`` (key -> (validator, required)); return plain values or None.

    Reported: unknown keys, missing required keys, and each value its validator refuses (in ``spec`` order)."""
    m = mapping(node, errors, what)
    if m is None:
        return None
    before = len(errors.items)
    for key, (knode, _) in m.items():
        if key not in spec:
            errors.add(knode, f"unknown key {echo(key)} in {what}; valid: {sorted(spec)}")
    for key, (check, required) in spec.items():
        if key not in m:
            if required:
                errors.add(node, f"{what} lacks required key {key!r}")
            continue
        vnode = m[key][1]
        problem = check(value(vnode))
        if problem:
            errors.add(vnode, f"{what}: {key} {problem}")
    if len(errors.items) > before:
        return None
    return {k: value(m[k][1]) for k in m if k in spec}


# ---------------------------------------------------------------- dataclasses described by their validators


def checked(validator: Validator) -> dict[str, Validator]:
    """The metadata of a dataclass field that :func:`build` validates with ``validator``:
    ``price: float = field(metadata=checked(number))`` (a field without a default is a required key)."""
    return {"validator": validator}


def spec_of(cls: type) -> Spec:
    """The ``{key: (validator, required)}`` spec of a dataclass whose fields were declared with :func:`checked`, in
    field order; a field without a default is required."""
    spec: Spec = {}
    for f in dataclasses.fields(cls):
        validator = f.metadata.get("validator")
        if validator is None:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        spec[f.name] = (validator, required)
    return spec


def build(cls: type[T], node: yaml.Node, errors: Errors, what: str) -> T | None:
    """Validate a mapping node against :func:`spec_of` ``cls`` and construct ``cls`` from it; None (and the problems
    in ``errors``) when it does not validate."""
    values = fields(node, spec_of(cls), errors, what)
    return None if values is None else cls(**values)


# ---------------------------------------------------------------- validators


def is_str(v: Any) -> str | None:
    """A non-empty string."""
    return None if isinstance(v, str) and v.strip() else "must be a non-empty string"


def is_bool(v: Any) -> str | None:
    """``true`` or ``false`` (not 0 or 1)."""
    return None if isinstance(v, bool) else "must be true or false"


def int_min(lo: int) -> Validator:
    """An integer (not a bool) >= ``lo``."""

    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= lo
        return None if ok else f"must be an integer >= {lo}"

    return check


def number(v: Any) -> str | None:
    """A finite number >= 0 (not a bool, not NaN or infinity): prices, costs, budgets."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
    return None if ok else "must be a finite number >= 0"


def optional(check: Validator) -> Validator:
    """None (YAML ``null``), or a value ``check`` accepts."""

    def optional_check(v: Any) -> str | None:
        return None if v is None else check(v)

    return optional_check


def fraction(v: Any) -> str | None:
    """A finite number in [0, 1] (not a bool)."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1
    return None if ok else "must be a number in [0, 1]"


def is_date(v: Any) -> str | None:
    """A date (``YYYY-MM-DD``), not a date and time."""
    return None if isinstance(v, dt.date) and not isinstance(v, dt.datetime) else "must be a date (YYYY-MM-DD)"


def is_list(what: str) -> Validator:
    """A list (of anything: its items are validated on their own); ``what`` names the items in the message."""

    def check(v: Any) -> str | None:
        return None if isinstance(v, list) else f"must be a list of {what}"

    return check


def is_mapping_or_null(v: Any) -> str | None:
    """A mapping, or null (an empty section)."""
    return None if isinstance(v, dict) or v is None else "must be a mapping"


def choice(choices: tuple[str, ...]) -> Validator:
    """One of ``choices``."""

    def check(v: Any) -> str | None:
        return None if isinstance(v, str) and v in choices else f"must be one of {list(choices)}, got {echo(v)}"

    return check


def str_list(choices: tuple[str, ...] | None = None) -> Validator:
    """A list of non-empty strings (each one of ``choices`` when given)."""

    def check(v: Any) -> str | None:
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            return "must be a list of strings"
        if choices is not None:
            bad = [x for x in v if x not in choices]
            if bad:
                return f"unknown value(s) {echo(bad)}; valid: {list(choices)}"
        return None

    return check


# ---------------------------------------------------------------- values against Python annotations (checklists)


def type_name(hint: Any) -> str:
    """How a message names an annotation: ``float``, ``list[str] | None``."""
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def type_ok(v: Any, hint: Any) -> bool:
    """Whether a YAML value fits a constructor annotation (str, int, float, bool, list[...], dict[...], unions)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(v, h) for h in typing.get_args(hint))
    if hint is type(None):
        return v is None
    if hint is Any:
        return True
    if hint is bool:
        return isinstance(v, bool)
    if hint is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if hint is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if hint is str:
        return isinstance(v, str)
    if origin is list:
        (inner,) = typing.get_args(hint) or (Any,)
        return isinstance(v, list) and all(type_ok(x, inner) for x in v)
    if origin is dict:
        k, w = typing.get_args(hint) or (Any, Any)
        return isinstance(v, dict) and all(type_ok(a, k) and type_ok(b, w) for a, b in v.items())
    return isinstance(v, hint) if isinstance(hint, type) else True


def params_of(cls: type) -> dict[str, inspect.Parameter]:
    """The constructor parameters of ``cls`` by name (``self`` excluded), their annotations evaluated (a missing one
    is :data:`typing.Any`)."""
    params = inspect.signature(cls, eval_str=True).parameters.values()
    return {p.name: p.replace(annotation=Any) if p.annotation is p.empty else p for p in params}


def non_finite(v: Any) -> float | None:
    """The first NaN or infinity anywhere in a value (lists and mappings included), else None."""
    if isinstance(v, float):
        return None if math.isfinite(v) else v
    items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
    return next((bad for bad in map(non_finite, items) if bad is not None), None)
