"""The one YAML loader of the library: configuration files are data, never code, and bounded in size and expansion.

Every YAML file the library reads (checklists: :mod:`playbook_lib.checklist.parse`; model plans:
:mod:`playbook_lib.decide.plan`; requirements profiles and model catalogues: :mod:`playbook_lib.decide.select`) goes
through :func:`compose`, which builds PyYAML's node graph (nodes keep their line, so every message says ``file:line``)
and refuses, while composing and before any Python value is constructed:

- **tags** outside the plain core schema: ``!!python/...`` (code), ``!custom`` and verbatim ``!<...>`` tags, and also
  ``!!binary``, ``!!set``, ``!!omap``, ``!!pairs``, ``!!merge`` and ``!!value``: no configuration value is bytes, a set
  or ordered pairs, so they can only hide a mistake. Allowed: ``!!str``, ``!!int``, ``!!float``, ``!!bool``,
  ``!!null``, ``!!seq``, ``!!map`` and ``!!timestamp`` (dates, such as a catalogue's ``priced_on``);
- **alias expansion** past :data:`MAX_ALIAS_NODES` nodes (a "billion laughs" document: nested aliases of lists),
  counted exactly and cheaply while composing (each alias adds the expanded size of what it names), and recursive
  aliases; nesting deeper than :data:`MAX_DEPTH`; a file over :data:`MAX_BYTES`;
- **scalars** that do not construct: integers over 64 bits (Python's ``int()`` would also raise past 4,300 digits),
  an invalid date or number under an explicit tag, a string holding a lone UTF-16 surrogate (``"\\ud800"``);
- **keys** that are mappings or lists (``? [a, b]: 1``), merge keys (``<<: *base``), and duplicate keys, which a plain
  loader silently resolves by keeping the last one.

Key errors are *soft*: the offending pair is dropped from the graph and the message is handed to the loader
(:attr:`Document.errors`), so it reports them together with its own validation errors ("every configuration error at
once"). Everything else is fatal: :class:`YamlError` lists every such problem found in one pass. A second document in
the stream, an empty file, a file that is not UTF-8, a folder or an unreadable file are one-line errors too
(:func:`read_config`). Values echoed in messages go through :func:`echo`, which caps them at 120 characters without
walking a whole structure.

The composed document is validated by :mod:`playbook_lib.config.validate` (file:line errors, every one at once).
"""

from __future__ import annotations

import re
import reprlib
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from playbook_lib.errors import UsageError
from playbook_lib.text.pii import mask_pii

#: Most nodes that aliases may add to a document when expanded (a real configuration reuses a few small lists).
MAX_ALIAS_NODES = 10_000
#: Deepest nesting of lists and mappings (checklists need about 5; PyYAML's composer recurses per level).
MAX_DEPTH = 64
#: Largest configuration file read, in bytes (the bundled ones are a few KB).
MAX_BYTES = 1 << 20
#: Integers must fit in 64 bits (signed); longer digit strings are refused before ``int()`` sees them.
INT_RANGE = (-(1 << 63), (1 << 63) - 1)

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_ALLOWED_TAGS = _SCALAR_TAGS | {_CORE + "seq", _CORE + "map"}
#: Tags PyYAML's resolver gives some plain scalars (``<<``, ``=``) that have no value of their own: read as strings.
_AS_STRING = {_CORE + "merge", _CORE + "value", _CORE + "yaml"}
_KINDS = {
    _CORE + "int": "integer",
    _CORE + "float": "number",
    _CORE + "bool": "boolean (true or false)",
    _CORE + "null": "null",
    _CORE + "timestamp": "date",
}
_SURROGATE = re.compile("[\ud800-\udfff]")


class _MaskedRepr(reprlib.Repr):
    """:class:`reprlib.Repr` that masks personal data and secrets in a whole string *before* shortening it, so a
    shortened value can neither show part of a secret nor hide one from the masker."""

    def repr_str(self, x: str, level: int) -> str:
        return super().repr_str(mask_pii(x), level)


_REPR = _MaskedRepr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 3, 6, 6, 6, 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40


def echo(value: Any, limit: int = 120) -> str:
    """A one-line ``repr`` of a configuration value for a message, at most ``limit`` characters, with personal data
    and secrets masked (``[EMAIL]``, ``[API_KEY]``, ...) in every string it shows.

    Built with :mod:`reprlib`, which stops after a few items and levels, so a value that aliases make huge (or a very
    long string) costs nothing to print and cannot flood an error line."""
    text = " ".join(_REPR.repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def line_of(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return node.start_mark.line + 1


class YamlError(UsageError):
    """A YAML file that is unsafe or malformed; ``errors`` lists each problem as ``file:line: message``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        head = f"{len(errors)} configuration errors: " if len(errors) > 1 else ""
        super().__init__(head + "; ".join(errors))


@dataclass
class Document:
    """A composed, checked YAML document: ``root`` is None for an empty file (or one of only comments); ``errors`` are
    the key problems found (``file:line: message``), whose pairs were dropped from the graph."""

    root: yaml.Node | None
    source: str
    errors: list[str] = field(default_factory=list)

    def at(self, node: yaml.Node | None) -> str:
        """``file:line`` of a node (``file`` alone for None)."""
        return self.source if node is None else f"{self.source}:{line_of(node)}"


class _Stop(Exception):
    """Composition cannot go on (alias bomb, recursion, nesting): carries the message."""


def _short(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


class _CheckedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with composition hooks that check tags, alias expansion, depth, scalars and keys."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self.fatal: list[str] = []
        self.soft: list[str] = []
        self._depth = 0
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}  # id(node) -> its size with aliases expanded, once composed

    def _at(self, mark: Any) -> str:  # a yaml.error.Mark, the C loader's Mark, or None
        return f"{self.source}:{mark.line + 1}" if mark is not None else self.source

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # an undefined alias is PyYAML's own error
                size = self._sizes.get(id(target))
                if size is None:
                    raise _Stop(
                        f"{self._at(event.start_mark)}: alias *{echo(event.anchor, 40)} refers to a node "
                        "that contains it (recursive alias)"
                    )
                self._alias_nodes += size
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise _Stop(
                        f"{self._at(event.start_mark)}: aliases expand to more than {MAX_ALIAS_NODES:,} nodes "
                        "(nested aliases, a 'billion laughs' document?); write the values out"
                    )
            return super().compose_node(parent, index)
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.tag not in (None, "!"):
            if event.tag not in _ALLOWED_TAGS:
                self.fatal.append(
                    f"{self._at(event.start_mark)}: tag {echo(_short(event.tag), 60)} is not allowed "
                    "(plain YAML data only: no Python objects, no custom tags)"
                )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Stop(f"{self._at(event.start_mark)}: nesting deeper than {MAX_DEPTH} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode):
            self._check_scalar(node)
            self._sizes[id(node)] = 1
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
            self._sizes[id(node)] = 1 + sum(self._sizes.get(id(c), 1) for c in children)
            self._check_kind(node)
        return node

    def _check_kind(self, node: yaml.Node) -> None:
        want = _CORE + ("seq" if isinstance(node, yaml.SequenceNode) else "map")
        if node.tag in _ALLOWED_TAGS and node.tag != want:
            self.fatal.append(
                f"{self._at(node.start_mark)}: tag {_short(node.tag)} cannot tag a "
                f"{'list' if want.endswith('seq') else 'mapping'}"
            )

    def _check_scalar(self, node: yaml.ScalarNode) -> None:
        if node.tag in _AS_STRING:
            node.tag = _CORE + "str"
        if node.tag not in _ALLOWED_TAGS:
            return  # already reported as a refused tag
        where = self._at(node.start_mark)
        if node.tag not in _SCALAR_TAGS:
            self.fatal.append(f"{where}: tag {_short(node.tag)} cannot tag a plain value")
            return
        if node.tag == _CORE + "str":
            if _SURROGATE.search(node.value):
                self.fatal.append(f"{where}: string {echo(node.value, 60)} holds a lone UTF-16 surrogate, not text")
            return
        if node.tag == _CORE + "int":
            digits = node.value.replace("_", "").lstrip("+-")
            if len(digits) > 66:  # 0b + 64 binary digits is the longest 64-bit integer
                self.fatal.append(f"{where}: integer {echo(node.value, 40)} is too large (more than 64 bits)")
                return
        try:
            value = self.construct_object(node)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, yaml.YAMLError):
            self.fatal.append(f"{where}: {echo(node.value, 60)} is not a valid {_KINDS[node.tag]}")
            return
        if isinstance(value, int) and not isinstance(value, bool) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
            self.fatal.append(f"{where}: integer {echo(node.value, 40)} is too large (more than 64 bits)")

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        kept: list[tuple[yaml.Node, yaml.Node]] = []
        by_value: dict[Any, int] = {}
        by_text: dict[str, int] = {}
        for key, value in node.value:
            where = self._at(key.start_mark)
            if not isinstance(key, yaml.ScalarNode):
                self.soft.append(
                    f"{where}: a {'list' if isinstance(key, yaml.SequenceNode) else 'mapping'} "
                    "cannot be a key (complex key); keys are plain names"
                )
                continue
            if key.value == "<<" and key.style is None:
                self.soft.append(f"{where}: merge keys (<<) are not supported; write the keys out")
                continue
            try:
                constructed = self.construct_object(key) if key.tag in _SCALAR_TAGS else key.value
                hash(constructed)
            except Exception:  # noqa: BLE001 - an invalid scalar is already a fatal error; compare its text
                constructed = key.value
            first = by_value.get(constructed)
            first = first if first is not None else by_text.get(key.value)
            if first is not None:
                self.soft.append(f"{where}: duplicate key {echo(constructed, 60)} (first at line {first})")
                continue
            by_value.setdefault(constructed, key.start_mark.line + 1)
            by_text.setdefault(key.value, key.start_mark.line + 1)
            kept.append((key, value))
        node.value = kept
        return node


def _malformed(exc: yaml.YAMLError, text: str, source: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None and isinstance(exc, yaml.reader.ReaderError):  # a non-printable character: position only
        line = text.count("\n", 0, exc.position) + 1
        return f"{source}:{line}: malformed YAML: unacceptable character #x{exc.character:04x}"
    where = f"{source}:{mark.line + 1}" if mark is not None else source
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if context and "single document" in context:
        problem = "a second document (---) in the stream; the file must hold one"
    return f"{where}: malformed YAML: {' '.join(str(problem).split())}"


def compose(text: str, source: str = "<string>") -> Document:
    """Compose and check YAML ``text`` (``source`` names it in messages); see the module docstring.

    Raises:
        YamlError: malformed YAML, or every refused tag, scalar or alias expansion, each as ``source:line: ...``.
    """
    if len(text) > MAX_BYTES:
        raise YamlError([f"{source}: {len(text):,} characters; a configuration file may hold at most {MAX_BYTES:,}"])
    try:
        loader = _CheckedLoader(text, source)  # the reader checks for non-printable characters here
    except yaml.YAMLError as exc:
        raise YamlError([_malformed(exc, text, source)]) from None
    try:
        root = loader.get_single_node()
    except _Stop as stop:
        raise YamlError([*loader.fatal, str(stop)]) from None
    except yaml.YAMLError as exc:
        raise YamlError([*loader.fatal, _malformed(exc, text, source)]) from None
    except RecursionError:  # MAX_DEPTH keeps the composer far from this; kept so no traceback can escape
        raise YamlError([f"{source}: nesting too deep"]) from None
    finally:
        loader.dispose()
    if loader.fatal:
        raise YamlError(loader.fatal + loader.soft)
    return Document(root, source, loader.soft)


def value(node: yaml.Node) -> Any:
    """The plain Python value of a node of a checked :class:`Document` (lists, dicts, str, int, float, bool, None,
    dates). A fresh constructor each time: PyYAML's caches values per node."""
    constructor = yaml.constructor.SafeConstructor()
    return constructor.construct_object(node, deep=True)


def read_config(path: str | Path, what: str) -> str:
    """The text of configuration file ``path`` (``what`` names it in messages: "checklist", "model plan", ...).

    Raises:
        UsageError: one line (exit code 3) for a missing file, a folder, a FIFO or device, a file over
            :data:`MAX_BYTES`, a permission error, or bytes that are not UTF-8.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise UsageError(f"{p}: cannot read: {what} file not found") from None
    except OSError as exc:
        raise UsageError(f"{p}: cannot read {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{p}: cannot read {what}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{p}: cannot read {what}: not a regular file (a FIFO or a device)")
    if st.st_size > MAX_BYTES:
        raise UsageError(
            f"{p}: cannot read {what}: {st.st_size:,} bytes; a configuration file may hold at most {MAX_BYTES:,}"
        )
    try:
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{p}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{p}:{line}: {what} is not UTF-8 ({exc.reason} at byte {exc.start})") from None


def load(path: str | Path, what: str) -> Document:
    """:func:`read_config` then :func:`compose`: the checked document of a configuration file."""
    return compose(read_config(path, what), str(path))
