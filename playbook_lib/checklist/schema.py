"""The JSON Schema of checklist files (``checklists/schema.json``), generated from the check registry.

Editors validate a checklist against it while it is edited; ``playbook check`` does the same validation itself
(:mod:`playbook_lib.checklist.parse`). Each registered check contributes its options: the constructor's parameters
with their annotated types and defaults (:func:`playbook_lib.config.validate.params_of`), ``warn``/``fail`` bounded by
the check's ``metric_range``, the first paragraph of its docstring as the description, and the value constraints the
constructor enforces (:data:`CONSTRAINTS`: enums from the checks' own constants, minimums and maximums).

Regenerate the committed file after changing a check's options (a test fails while it differs)::

    python -m playbook_lib.checklist.schema > checklists/schema.json
"""

from __future__ import annotations

import inspect
import json
import math
import types
import typing
from typing import Any

from playbook_lib.checklist.parse import RESERVED
from playbook_lib.checks import REGISTRY, Check
from playbook_lib.checks.compliance import PII_PATTERNS
from playbook_lib.checks.contamination import COMPARABLE_FIELDS
from playbook_lib.checks.embedding import MODELS, TEXT_FIELDS
from playbook_lib.checks.quantity import METHOD_MINIMUMS
from playbook_lib.checks.uniqueness import NearDuplicatesCheck
from playbook_lib.config.validate import params_of

_UNIT = {"minimum": 0, "maximum": 1}
_COSINE = {"minimum": -1, "maximum": 1}
_COUNT = {"minimum": 1}
_EMBED_FIELDS = {"minItems": 1, "items": {"enum": list(TEXT_FIELDS)}}
_COMPARABLE = {"uniqueItems": True, "items": {"enum": list(COMPARABLE_FIELDS)}}

#: (check, option) -> JSON Schema keywords merged into the option's generated schema: what the constructor enforces
#: beyond the annotated type (bounds on numbers apply to numbers only, so ``null`` stays valid where the type allows
#: it). A test checks that every entry names a real option.
CONSTRAINTS: dict[tuple[str, str], dict[str, Any]] = {
    ("formatting", "max_tokens"): _COUNT,
    ("formatting", "outlier_z"): {"exclusiveMinimum": 0},
    ("formatting", "min_spread"): {"exclusiveMinimum": 0},
    ("near_duplicates", "threshold"): {"exclusiveMinimum": 0, "maximum": 1},
    ("near_duplicates", "ngram"): _COUNT,
    ("near_duplicates", "num_perm"): {"minimum": 16, "maximum": 1024},
    ("near_duplicates", "backend"): {"enum": list(NearDuplicatesCheck.backends)},
    ("contamination", "ngram"): _COUNT,
    ("contamination", "fields"): _COMPARABLE,
    ("contamination", "exact_fields"): _COMPARABLE,
    ("contamination", "min_containment"): _UNIT,
    ("contamination", "min_prompt_containment"): _UNIT,
    ("contamination", "max_ngram_rows"): {"exclusiveMinimum": 0},
    ("near_duplicates", "max_ngram_rows"): {"exclusiveMinimum": 0},
    ("pii", "kinds"): {"items": {"enum": list(PII_PATTERNS)}},
    ("relevance", "model"): {"enum": list(MODELS)},
    ("embedding_coverage", "model"): {"enum": list(MODELS)},
    ("provenance", "max_untagged"): _UNIT,
    ("provenance", "fail_untagged"): _UNIT,
    ("quantity", "method"): {"enum": list(METHOD_MINIMUMS)},
    ("quantity", "min_per_slice"): _COUNT,
    ("task_rules", "length_bounds"): {
        "additionalProperties": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}
    },
    ("coverage", "min_ratio"): {"minimum": 0},
    ("relevance", "task"): {"minLength": 1},
    ("relevance", "fields"): _EMBED_FIELDS,
    ("relevance", "k"): _COUNT,
    ("relevance", "z_threshold"): {"exclusiveMinimum": 0},
    ("relevance", "min_similarity"): _COSINE,
    ("relevance", "sample"): _COUNT,
    ("embedding_coverage", "threshold"): _COSINE,
    ("embedding_coverage", "fields"): _EMBED_FIELDS,
    ("embedding_coverage", "cluster_threshold"): _COSINE,
    ("embedding_coverage", "sample"): _COUNT,
    ("sft_pairs", "min_new_tokens"): _COUNT,
    ("preference_pairs", "min_new_tokens"): _COUNT,
    ("length_bias", "ratio"): {"exclusiveMinimum": 1},
    ("length_bias", "min_pairs"): _COUNT,
    ("eval_harness", "min_tasks"): _COUNT,
}

_SIMPLE = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def type_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of values that fit a constructor annotation (the types :func:`~playbook_lib.config.validate.
    type_ok` accepts: str, int, float, bool, None, list[...], dict[str, ...] and unions of them)."""
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [type_schema(h) for h in typing.get_args(hint)]
        if all(set(p) == {"type"} for p in parts):
            return {"type": [p["type"] for p in parts]}
        rest = [p for p in parts if p != {"type": "null"}]
        if len(rest) == 1 and len(parts) == 2:  # X | None: X's keywords, with null added to its type
            return {**rest[0], "type": [rest[0]["type"], "null"]}
        return {"anyOf": parts}
    if origin is list:
        (inner,) = typing.get_args(hint) or (Any,)
        return {"type": "array", "items": type_schema(inner)}
    if origin is dict:
        _, inner = typing.get_args(hint) or (str, Any)
        return {"type": "object", "additionalProperties": type_schema(inner)}
    return {}


def _summary(cls: type[Check]) -> str:
    doc = inspect.getdoc(cls) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _threshold(cls: type[Check], option: str) -> dict[str, Any]:
    lo, hi = cls.metric_range
    bounds: dict[str, Any] = {"minimum": lo}
    if math.isfinite(hi):
        bounds["maximum"] = hi
    worse = "above" if cls.direction == "above" else "below"
    return {
        "type": ["number", "null"],
        **bounds,
        "description": f"{option} when {cls.metric} is {worse} this; null: never",
    }


def option_schemas(name: str, cls: type[Check]) -> dict[str, dict[str, Any]]:
    """The JSON Schema of each option of check ``name`` (its constructor parameters), with its default."""
    out: dict[str, dict[str, Any]] = {}
    for option, param in params_of(cls).items():
        schema = _threshold(cls, option) if option in ("warn", "fail") else type_schema(param.annotation)
        schema.update(CONSTRAINTS.get((name, option), {}))
        if param.default is not param.empty:
            schema["default"] = param.default
        out[option] = schema
    return out


def build_schema() -> dict[str, Any]:
    """The checklist JSON Schema (draft 2020-12) for the checks in :data:`~playbook_lib.checks.REGISTRY`, in name
    order: the top level, the item keys, and per check (``if check is X then ...``) its options; an option the check
    does not take is refused, as :func:`~playbook_lib.checklist.parse.parse_checklist` refuses it."""
    names = sorted(REGISTRY)
    per_check = []
    for name in names:
        cls = REGISTRY[name]
        options = option_schemas(name, cls)
        per_check.append(
            {
                "if": {"properties": {"check": {"const": name}}, "required": ["check"]},
                "then": {
                    "description": _summary(cls),
                    "properties": options,
                    "propertyNames": {"enum": [*RESERVED, *options]},
                },
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/playbook/checklists/schema.json",
        "title": "Playbook checklist",
        "description": "A machine-checkable checklist run by `playbook check` (dataset checklists on --data, model "
        "checklists on --plan and --evals). Keys of an item other than id, title, section and check are arguments "
        "of the check. Generated by `python -m playbook_lib.checklist.schema`: do not edit by hand.",
        "type": "object",
        "required": ["name", "items"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "strict": {
                "type": "boolean",
                "default": False,
                "description": "An item that is not evaluated fails the run (as playbook check --strict).",
            },
            "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
        },
        "$defs": {
            "item": {
                "type": "object",
                "required": ["id", "title", "check"],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "title": {"type": "string"},
                    "section": {"type": "string"},
                    "check": {"enum": names},
                },
                "allOf": per_check,
            }
        },
    }


def _dump(value: Any, indent: int = 0, width: int = 120) -> str:
    """JSON with each list or object on one line where it fits in ``width`` columns, else one member per line."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= width or not isinstance(value, (dict, list)) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        members = [f"{pad}{json.dumps(k)}: {_dump(v, indent + 2, width)}" for k, v in value.items()]
        return "{\n" + ",\n".join(members) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + _dump(v, indent + 2, width) for v in value) + "\n" + " " * indent + "]"


def schema_text() -> str:
    """:func:`build_schema` as the text of ``checklists/schema.json`` (2-space indent, short values on one line, a
    final newline)."""
    return _dump(build_schema()) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
