"""Model selection: rank a catalog of candidate models against a requirements profile, with reasons.

Taught in the book's *Model selection* page (``notebooks/dm_07_model_selection.ipynb``).

Both inputs are YAML files a team edits: a **requirements profile** (governance and data residency, latency,
cost ceiling, context, modalities, the one "superpower" the use case needs, reasoning or not) and a **catalog**
of models (provider, open weights, regions, context window, modalities, dated prices, latency class, strengths,
reasoning). Hard constraints exclude a model with a stated reason; the rest are scored and ranked, each with the
reasons for its score. Parsing collects every error with ``file:line`` and raises one ``UsageError``.

Examples ship in ``playbook_lib/sample_data/model_catalog.yaml`` and ``requirements_profile.yaml``; the prices in
the sample catalog are illustrative and dated, to be replaced with your providers' current prices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from playbook_lib.errors import UsageError

SUPERPOWERS = ("accuracy", "speed_cost", "long_context", "multimodal", "code", "live_search")
LATENCY_CLASSES = ("low", "medium", "high")
MODALITIES = ("text", "image", "audio", "video")

# Score weights: one place to read how the ranking trades things off.
W_SUPERPOWER = 3.0
W_REASONING_MATCH = 2.0
W_REASONING_MISSING = -2.0
W_REASONING_UNNEEDED = -1.0
W_LOW_LATENCY_FOR_SPEED = 1.0


@dataclass(frozen=True)
class ModelSpec:
    """One catalog entry. Prices are USD per million tokens, as of ``priced_on``."""

    name: str
    provider: str
    open_weights: bool
    regions: list[str]
    context_window: int
    modalities: list[str]
    price_per_1m_input: float
    price_per_1m_output: float
    priced_on: dt.date
    latency_class: str
    strengths: list[str]
    reasoning: bool

    def cost_per_1k_requests(self, input_tokens: int, output_tokens: int) -> float:
        """USD for 1,000 requests of the given size at the catalog prices."""
        return (input_tokens * self.price_per_1m_input + output_tokens * self.price_per_1m_output) / 1000.0

    def __post_init__(self) -> None:
        if self.latency_class not in LATENCY_CLASSES:
            raise ValueError(f"model {self.name!r}: unknown latency class {self.latency_class!r}; "
                             f"valid: {list(LATENCY_CLASSES)}")


@dataclass(frozen=True)
class Requirements:
    """A use case's requirements.

    Attributes:
        name: label of the use case.
        superpower: the one capability that matters most, one of ``SUPERPOWERS``.
        reasoning: whether the task needs multi-step reasoning.
        data_residency: regions where data may be processed; empty means anywhere. Open-weights models satisfy
            any residency by self-hosting.
        require_open_weights: governance demands weights you can host and audit.
        max_latency: slowest acceptable latency class.
        cost_ceiling_per_1k_requests: most USD per 1,000 requests (None: no ceiling).
        input_tokens: typical input tokens per request.
        output_tokens: typical output tokens per request.
        min_context_window: tokens of context needed.
        modalities: input modalities needed.
    """

    name: str
    superpower: str
    reasoning: bool = False
    data_residency: list[str] = field(default_factory=list)
    require_open_weights: bool = False
    max_latency: str = "high"
    cost_ceiling_per_1k_requests: float | None = None
    input_tokens: int = 1000
    output_tokens: int = 200
    min_context_window: int = 0
    modalities: list[str] = field(default_factory=lambda: ["text"])

    def __post_init__(self) -> None:
        if self.superpower not in SUPERPOWERS:
            raise ValueError(f"unknown superpower {self.superpower!r}; valid: {list(SUPERPOWERS)}")
        if self.max_latency not in LATENCY_CLASSES:
            raise ValueError(f"unknown latency class {self.max_latency!r}; valid: {list(LATENCY_CLASSES)}")


@dataclass(frozen=True)
class Candidate:
    """A model's outcome: its score and reasons, or why it was excluded."""

    model: ModelSpec
    score: float
    cost_per_1k_requests: float
    reasons: list[str]
    excluded_because: list[str] = field(default_factory=list)

    @property
    def excluded(self) -> bool:
        """Whether a hard constraint ruled the model out."""
        return bool(self.excluded_because)


@dataclass(frozen=True)
class Selection:
    """Ranked eligible models (best first) and excluded ones, each with reasons."""

    requirements: Requirements
    ranked: list[Candidate]
    excluded: list[Candidate]

    @property
    def best(self) -> Candidate | None:
        """The top-ranked model, or None when every model was excluded."""
        return self.ranked[0] if self.ranked else None


# ---------------------------------------------------------------- YAML parsing (all errors, file:line)

def _value(node: yaml.Node) -> Any:
    """The plain Python value of a node (a fresh constructor each time: it caches per node)."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


class _Errors:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, node: yaml.Node | None, message: str) -> None:
        where = f"{self.source}:{node.start_mark.line + 1}" if node is not None else self.source
        self.items.append(f"{where}: {message}")

    def raise_if_any(self, what: str) -> None:
        if self.items:
            err = UsageError(f"{len(self.items)} error(s) in {what}: " + "; ".join(self.items))
            err.errors = list(self.items)  # type: ignore[attr-defined]
            raise err


def _compose(text: str, errors: _Errors) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        errors.items.append(f"{errors.source}{line}: malformed YAML: {exc.problem or exc}")
    except yaml.YAMLError as exc:
        errors.items.append(f"{errors.source}: malformed YAML: {exc}")
    return None


def _mapping(node: yaml.Node, errors: _Errors, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
    if not isinstance(node, yaml.MappingNode):
        errors.add(node, f"{what} must be a mapping")
        return None
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for k, v in node.value:
        key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
        if key in out:
            errors.add(k, f"duplicate key {key!r} in {what}")
        out[key] = (k, v)
    return out


Check = Callable[[Any], str | None]


def _str(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else "must be a non-empty string"


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _int_min(lo: int) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= lo
        return None if ok else f"must be an integer >= {lo}"

    return check


def _number(v: Any) -> str | None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 and v == v and v != float("inf")
    return None if ok else "must be a number >= 0"


def _date(v: Any) -> str | None:
    return None if isinstance(v, dt.date) and not isinstance(v, dt.datetime) else "must be a date (YYYY-MM-DD)"


def _choice(choices: tuple[str, ...]) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else f"must be one of {list(choices)}, got {v!r}"

    return check


def _str_list(choices: tuple[str, ...] | None = None) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            return "must be a list of strings"
        if choices is not None:
            bad = [x for x in v if x not in choices]
            if bad:
                return f"unknown value(s) {bad}; valid: {list(choices)}"
        return None

    return check


def _fields(
    node: yaml.Node, spec: dict[str, tuple[Check, bool]], errors: _Errors, what: str
) -> dict[str, Any] | None:
    """Validate a mapping node against ``spec`` (key -> (check, required)); return plain values or None."""
    m = _mapping(node, errors, what)
    if m is None:
        return None
    before = len(errors.items)
    for key, (knode, _) in m.items():
        if key not in spec:
            errors.add(knode, f"unknown key {key!r} in {what}; valid: {sorted(spec)}")
    for key, (check, required) in spec.items():
        if key not in m:
            if required:
                errors.add(node, f"{what} lacks required key {key!r}")
            continue
        vnode = m[key][1]
        value = _value(vnode)
        problem = check(value)
        if problem:
            errors.add(vnode, f"{what}: {key} {problem}")
    if len(errors.items) > before:
        return None
    return {k: _value(m[k][1]) for k in m}


_MODEL_SPEC: dict[str, tuple[Check, bool]] = {
    "name": (_str, True),
    "provider": (_str, True),
    "open_weights": (_bool, True),
    "regions": (_str_list(), True),
    "context_window": (_int_min(1), True),
    "modalities": (_str_list(MODALITIES), True),
    "price_per_1m_input": (_number, True),
    "price_per_1m_output": (_number, True),
    "priced_on": (_date, True),
    "latency_class": (_choice(LATENCY_CLASSES), True),
    "strengths": (_str_list(SUPERPOWERS), True),
    "reasoning": (_bool, True),
}

_PROFILE_SPEC: dict[str, tuple[Check, bool]] = {
    "name": (_str, True),
    "superpower": (_choice(SUPERPOWERS), True),
    "reasoning": (_bool, False),
    "data_residency": (_str_list(), False),
    "require_open_weights": (_bool, False),
    "max_latency": (_choice(LATENCY_CLASSES), False),
    "cost_ceiling_per_1k_requests": (lambda v: None if v is None else _number(v), False),
    "input_tokens": (_int_min(0), False),
    "output_tokens": (_int_min(0), False),
    "min_context_window": (_int_min(0), False),
    "modalities": (_str_list(MODALITIES), False),
}


_CATALOG_SPEC: dict[str, tuple[Check, bool]] = {
    "description": (_str, False),
    "models": (lambda v: None if isinstance(v, list) else "must be a list of models", True),
}


def parse_catalog(text: str, source: str = "<catalog>") -> list[ModelSpec]:
    """Parse catalog YAML (a ``models:`` list, optional ``description``) into model specs.

    Raises:
        UsageError: listing every problem as ``source:line: message``.
    """
    errors = _Errors(source)
    root = _compose(text, errors)
    models: list[ModelSpec] = []
    if root is None and not errors.items:
        errors.add(None, "empty catalog: expected a 'models:' list")
    if root is not None:
        _fields(root, _CATALOG_SPEC, errors, "catalog")
        pairs = root.value if isinstance(root, yaml.MappingNode) else []
        seq = next((v for k, v in pairs if getattr(k, "value", None) == "models"), None)
        if isinstance(seq, yaml.SequenceNode):
            if not seq.value:
                errors.add(seq, "catalog: models is empty")
            first_line: dict[str, int] = {}
            for i, item in enumerate(seq.value):
                values = _fields(item, _MODEL_SPEC, errors, f"models[{i}]")
                if values is None:
                    continue
                name = values["name"]
                if name in first_line:
                    errors.add(item, f"duplicate model name {name!r} (first at line {first_line[name]})")
                first_line.setdefault(name, item.start_mark.line + 1)
                models.append(ModelSpec(**values))
    errors.raise_if_any(source)
    return models


def parse_requirements(text: str, source: str = "<profile>") -> Requirements:
    """Parse a requirements-profile YAML mapping.

    Raises:
        UsageError: listing every problem as ``source:line: message``.
    """
    errors = _Errors(source)
    root = _compose(text, errors)
    values = None
    if root is None and not errors.items:
        errors.add(None, "empty requirements profile")
    if root is not None:
        values = _fields(root, _PROFILE_SPEC, errors, "profile")
    errors.raise_if_any(source)
    assert values is not None
    return Requirements(**values)


def _read(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{p}: cannot read: {exc}") from None


def load_catalog(path: str | Path) -> list[ModelSpec]:
    """``parse_catalog`` on a file; errors name the file and line."""
    return parse_catalog(_read(path), str(path))


def load_requirements(path: str | Path) -> Requirements:
    """``parse_requirements`` on a file; errors name the file and line."""
    return parse_requirements(_read(path), str(path))


# ---------------------------------------------------------------- scoring


def _assess(model: ModelSpec, req: Requirements) -> Candidate:
    cost = model.cost_per_1k_requests(req.input_tokens, req.output_tokens)
    out: list[str] = []
    reasons: list[str] = []
    if req.require_open_weights and not model.open_weights:
        out.append("governance: open weights required, this is a closed API model")
    if req.data_residency and not model.open_weights:
        allowed = set(req.data_residency)
        if not allowed & set(model.regions):
            out.append(f"data residency: served in {sorted(model.regions)}, data must stay in {sorted(allowed)}")
    if model.context_window < req.min_context_window:
        out.append(f"context: window {model.context_window:,} < needed {req.min_context_window:,} tokens")
    missing = sorted(set(req.modalities) - set(model.modalities))
    if missing:
        out.append(f"modalities: lacks {missing}")
    if LATENCY_CLASSES.index(model.latency_class) > LATENCY_CLASSES.index(req.max_latency):
        out.append(f"latency: class {model.latency_class!r} is slower than the maximum {req.max_latency!r}")
    if req.cost_ceiling_per_1k_requests is not None and cost > req.cost_ceiling_per_1k_requests:
        out.append(f"cost: ${cost:.2f} per 1k requests > ceiling ${req.cost_ceiling_per_1k_requests:.2f}")

    score = 0.0
    if req.superpower in model.strengths:
        score += W_SUPERPOWER
        reasons.append(f"strong at the needed superpower {req.superpower!r} (+{W_SUPERPOWER:g})")
    else:
        reasons.append(f"not listed as strong at {req.superpower!r}")
    if req.reasoning and model.reasoning:
        score += W_REASONING_MATCH
        reasons.append(f"reasoning model for a task that needs reasoning (+{W_REASONING_MATCH:g})")
    elif req.reasoning:
        score += W_REASONING_MISSING
        reasons.append(f"task needs reasoning, this is not a reasoning model ({W_REASONING_MISSING:g})")
    elif model.reasoning:
        score += W_REASONING_UNNEEDED
        reasons.append(f"reasoning model where none is needed: extra latency and thinking tokens "
                       f"({W_REASONING_UNNEEDED:g})")
    if req.superpower == "speed_cost" and model.latency_class == "low":
        score += W_LOW_LATENCY_FOR_SPEED
        reasons.append(f"low latency for a speed/cost use case (+{W_LOW_LATENCY_FOR_SPEED:g})")
    if req.data_residency and model.open_weights and not set(req.data_residency) & set(model.regions):
        reasons.append(f"data residency: no hosted offer in {sorted(req.data_residency)}; self-host the open weights")
    if model.open_weights:
        reasons.append("open weights: can be self-hosted in your region and audited; you run and scale it")
    else:
        reasons.append(f"closed API from {model.provider}: nothing to host; data goes to the provider")
    reasons.append(f"${cost:.2f} per 1k requests at prices of {model.priced_on.isoformat()}")
    return Candidate(model=model, score=score, cost_per_1k_requests=cost, reasons=reasons, excluded_because=out)


def select_models(catalog: list[ModelSpec], requirements: Requirements) -> Selection:
    """Rank ``catalog`` for ``requirements``: higher score first, then lower cost, then name.

    Hard constraints (governance, residency, context, modalities, latency, cost ceiling) exclude a model with
    every violated constraint stated; they are never traded against score.
    """
    if not catalog:
        raise ValueError("the model catalog is empty")
    assessed = [_assess(m, requirements) for m in catalog]
    ranked = sorted((c for c in assessed if not c.excluded),
                    key=lambda c: (-c.score, c.cost_per_1k_requests, c.model.name))
    excluded = [c for c in assessed if c.excluded]
    return Selection(requirements=requirements, ranked=ranked, excluded=excluded)
