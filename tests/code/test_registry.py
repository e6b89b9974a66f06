"""The check registry: every check class registers itself under its name, once."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pandas as pd
import pytest

import playbook_lib.checks
from playbook_lib.checks import REGISTRY, Check, CheckContext, CheckResult, get_check, registry
from playbook_lib.checks.posttraining import SftPairsCheck
from playbook_lib.checks.registry import register
from playbook_lib.errors import UsageError


def check_classes() -> dict[str, type[Check]]:
    """Every concrete check class defined in the modules of playbook_lib.checks, by name."""
    found: dict[str, type[Check]] = {}
    for info in pkgutil.iter_modules(playbook_lib.checks.__path__):
        module = importlib.import_module(f"playbook_lib.checks.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Check) and cls.__module__ == module.__name__ and not inspect.isabstract(cls):
                if "name" in cls.__dict__:
                    found[cls.name] = cls
    return found


def test_every_check_class_is_registered_under_its_name() -> None:
    classes = check_classes()
    assert len(classes) == 25  # 19 dataset checks (chat_template included), 6 model-readiness checks
    assert REGISTRY == classes
    assert all(name == cls.name for name, cls in REGISTRY.items())
    assert get_check("pii") is REGISTRY["pii"]


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError, match="unknown check 'nope'; valid: chat_template, consistency, contamination, "):
        get_check("nope")


class _Probe(Check):
    name = "exact_duplicates"  # taken
    metric = "x"

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        raise NotImplementedError


def test_registering_a_taken_name_raises() -> None:
    before = dict(REGISTRY)
    with pytest.raises(ValueError, match=r"check name 'exact_duplicates' is registered twice: .*ExactDuplicatesCheck"):
        register(_Probe)
    assert REGISTRY == before


def test_a_class_without_its_own_name_is_refused() -> None:
    class Unnamed(SftPairsCheck):  # inherits a registered check's name
        pass

    with pytest.raises(TypeError, match="declares no check name"):
        register(Unnamed)


def test_a_new_name_registers_and_a_module_reload_is_not_a_duplicate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "REGISTRY", dict(REGISTRY))

    class Fresh(Check):
        name = "fresh_probe"
        metric = "x"

        def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
            raise NotImplementedError

    assert register(Fresh) is Fresh and registry.REGISTRY["fresh_probe"] is Fresh
    again = type(
        "Fresh", (Fresh,), {"name": "fresh_probe", "__qualname__": Fresh.__qualname__, "__module__": Fresh.__module__}
    )
    assert register(again) is again  # the same class definition run again (importlib.reload) replaces it
    assert "fresh_probe" not in REGISTRY
