"""The registry of checks: each check class registers itself with :func:`register`, under its ``name``.

Checklists and the CLI look checks up by name (:func:`get_check`); :mod:`playbook_lib.checklist.schema` generates the
editors' JSON Schema from the registered constructors. :mod:`playbook_lib.checks` imports every check module, so
importing the package registers every check.
"""

from __future__ import annotations

from typing import TypeVar

from playbook_lib.checks.base import Check
from playbook_lib.errors import UsageError

C = TypeVar("C", bound="type[Check]")

#: Check name -> class, in registration order (the order the check modules are imported and define their classes).
REGISTRY: dict[str, type[Check]] = {}


def register(cls: C) -> C:
    """Class decorator: add a check class to :data:`REGISTRY` under its ``name``.

    Raises:
        TypeError: the class declares no ``name``.
        ValueError: another class already registered that name (re-running the same class definition, as a module
            reload does, replaces it).
    """
    name = cls.__dict__.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__qualname__} declares no check name: set the class attribute 'name'")
    existing = REGISTRY.get(name)
    if existing is not None and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(
            f"check name {name!r} is registered twice: {existing.__module__}.{existing.__qualname__} "
            f"and {cls.__module__}.{cls.__qualname__}"
        )
    REGISTRY[name] = cls
    return cls


def get_check(name: str) -> type[Check]:
    """The check class registered under ``name``; :class:`UsageError` listing the valid names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown check {name!r}; valid: {', '.join(sorted(REGISTRY))}") from None
