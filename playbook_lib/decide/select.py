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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from playbook_lib.config.validate import (
    Errors,
    build,
    checked,
    choice,
    compose_into,
    fields,
    int_min,
    is_bool,
    is_date,
    is_list,
    is_str,
    number,
    optional,
    spec_of,
    str_list,
)
from playbook_lib.config.yamlsafe import read_config

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
    """One catalog entry. Prices are USD per million tokens, as of ``priced_on``.

    Each field carries the validator a catalogue file's value must pass (:func:`playbook_lib.config.validate.build`);
    every field is required there."""

    name: str = field(metadata=checked(is_str))
    provider: str = field(metadata=checked(is_str))
    open_weights: bool = field(metadata=checked(is_bool))
    regions: list[str] = field(metadata=checked(str_list()))
    context_window: int = field(metadata=checked(int_min(1)))
    modalities: list[str] = field(metadata=checked(str_list(MODALITIES)))
    price_per_1m_input: float = field(metadata=checked(number))
    price_per_1m_output: float = field(metadata=checked(number))
    priced_on: dt.date = field(metadata=checked(is_date))
    latency_class: str = field(metadata=checked(choice(LATENCY_CLASSES)))
    strengths: list[str] = field(metadata=checked(str_list(SUPERPOWERS)))
    reasoning: bool = field(metadata=checked(is_bool))

    def cost_per_1k_requests(self, input_tokens: int, output_tokens: int) -> float:
        """USD for 1,000 requests of the given size at the catalog prices."""
        return (input_tokens * self.price_per_1m_input + output_tokens * self.price_per_1m_output) / 1000.0

    def __post_init__(self) -> None:
        if self.latency_class not in LATENCY_CLASSES:
            raise ValueError(
                f"model {self.name!r}: unknown latency class {self.latency_class!r}; valid: {list(LATENCY_CLASSES)}"
            )


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

    Each field carries the validator a profile file's value must pass; ``name`` and ``superpower`` are required.
    """

    name: str = field(metadata=checked(is_str))
    superpower: str = field(metadata=checked(choice(SUPERPOWERS)))
    reasoning: bool = field(metadata=checked(is_bool), default=False)
    data_residency: list[str] = field(metadata=checked(str_list()), default_factory=list)
    require_open_weights: bool = field(metadata=checked(is_bool), default=False)
    max_latency: str = field(metadata=checked(choice(LATENCY_CLASSES)), default="high")
    cost_ceiling_per_1k_requests: float | None = field(metadata=checked(optional(number)), default=None)
    input_tokens: int = field(metadata=checked(int_min(0)), default=1000)
    output_tokens: int = field(metadata=checked(int_min(0)), default=200)
    min_context_window: int = field(metadata=checked(int_min(0)), default=0)
    modalities: list[str] = field(metadata=checked(str_list(MODALITIES)), default_factory=lambda: ["text"])

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


@dataclass(frozen=True)
class Catalog:
    """A model catalogue file: its models (unique names, in file order) and optional description."""

    models: tuple[ModelSpec, ...] = field(metadata=checked(is_list("models")))
    description: str | None = field(metadata=checked(is_str), default=None)


# ---------------------------------------------------------------- YAML parsing (all errors, file:line)
# Composed by playbook_lib.config.yamlsafe (plain data only, bounded aliases, unique keys) and validated field by field
# by playbook_lib.config.validate, against the validators the dataclasses above declare.

# The order in which a catalogue's top-level problems are reported (description, then models), as before the
# dataclass existed.
_CATALOG_SPEC = {key: spec_of(Catalog)[key] for key in ("description", "models")}


def parse_model_catalog(text: str, source: str = "<catalog>") -> Catalog:
    """Parse catalog YAML (a ``models:`` list, optional ``description``) into a :class:`Catalog`.

    Raises:
        UsageError: listing every problem as ``source:line: message``.
    """
    errors = Errors(source)
    root = compose_into(text, errors)
    models: list[ModelSpec] = []
    top: dict[str, Any] | None = None
    if root is None and not errors.items:
        errors.add(None, "empty catalog: expected a 'models:' list")
    if root is not None:
        top = fields(root, _CATALOG_SPEC, errors, "catalog")
        pairs = root.value if isinstance(root, yaml.MappingNode) else []
        seq = next((v for k, v in pairs if getattr(k, "value", None) == "models"), None)
        if isinstance(seq, yaml.SequenceNode):
            if not seq.value:
                errors.add(seq, "catalog: models is empty")
            first_line: dict[str, int] = {}
            for i, item in enumerate(seq.value):
                model = build(ModelSpec, item, errors, f"models[{i}]")
                if model is None:
                    continue
                if model.name in first_line:
                    errors.add(item, f"duplicate model name {model.name!r} (first at line {first_line[model.name]})")
                first_line.setdefault(model.name, item.start_mark.line + 1)
                models.append(model)
    errors.raise_if_any(source)
    return Catalog(models=tuple(models), description=(top or {}).get("description"))


def parse_catalog(text: str, source: str = "<catalog>") -> list[ModelSpec]:
    """The models of :func:`parse_model_catalog`, as a list.

    Raises:
        UsageError: listing every problem as ``source:line: message``.
    """
    return list(parse_model_catalog(text, source).models)


def parse_requirements(text: str, source: str = "<profile>") -> Requirements:
    """Parse a requirements-profile YAML mapping.

    Raises:
        UsageError: listing every problem as ``source:line: message``.
    """
    errors = Errors(source)
    root = compose_into(text, errors)
    requirements = None
    if root is None and not errors.items:
        errors.add(None, "empty requirements profile")
    if root is not None:
        requirements = build(Requirements, root, errors, "profile")
    errors.raise_if_any(source)
    assert requirements is not None
    return requirements


def load_model_catalog(path: str | Path) -> Catalog:
    """:func:`parse_model_catalog` on a file (read by :func:`playbook_lib.config.yamlsafe.read_config`); errors name
    the file and line."""
    return parse_model_catalog(read_config(path, "model catalog"), str(path))


def load_catalog(path: str | Path) -> list[ModelSpec]:
    """``parse_catalog`` on a file (read by :func:`playbook_lib.config.yamlsafe.read_config`); errors name the file and
    line."""
    return list(load_model_catalog(path).models)


def load_requirements(path: str | Path) -> Requirements:
    """``parse_requirements`` on a file (read by :func:`playbook_lib.config.yamlsafe.read_config`); errors name the file
    and line."""
    return parse_requirements(read_config(path, "requirements profile"), str(path))


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
        reasons.append(
            f"reasoning model where none is needed: extra latency and thinking tokens ({W_REASONING_UNNEEDED:g})"
        )
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
    ranked = sorted(
        (c for c in assessed if not c.excluded), key=lambda c: (-c.score, c.cost_per_1k_requests, c.model.name)
    )
    excluded = [c for c in assessed if c.excluded]
    return Selection(requirements=requirements, ranked=ranked, excluded=excluded)
