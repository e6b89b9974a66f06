"""The book's API reference: every public module of ``playbook_lib``, documented from its docstrings.

The directive ``playbook-modules`` (used inside an ``{eval-rst}`` block of a page under ``book/``, since autodoc
parses docstrings as reStructuredText) takes module names; a package stands for itself and every public module
below it (no part of the dotted name starts with ``_``). Each module gets a section titled with its name and an
``automodule`` of its own members, so the reference follows the library as it grows: a new module appears on the
next build without editing a page.

Docstrings are rewritten on their way in (``autodoc-process-docstring``, after napoleon has turned Google-style
``Args:``/``Raises:`` sections into fields):

- a back-link to a book page, ````notebooks/NAME.ipynb```` (how the library names the page that teaches it), becomes
  a ``:doc:`` link to that page. A name whose page is not in the table of contents stays text, and
  ``tests/site/test_book_extras.py`` fails on it.
- a docstring that is not valid reStructuredText (a malformed table, an undefined ``|substitution|``) is shown as
  written, in a literal block, and logged (an info line naming the object, seen with ``-v``): the text stays
  readable, and the whole book's ``-W`` build does not fail on a markup slip in the library. Set
  ``playbook_api_strict = True`` in the Sphinx config to get Sphinx's own warnings instead.

A bare name in a signature (``Sequence[Document]``: autodoc leaves an annotation as text when it cannot evaluate
it) is resolved in the module that wrote it, before Sphinx would search every module and warn that it found two.
"""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

from docutils import nodes, utils
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser, directives, roles
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

#: ``notebooks/dm_02_dataset_engineering.ipynb`` as the library's docstrings write it (inside double back-quotes).
NOTEBOOK_LINK = re.compile(r"``notebooks/(?P<stem>[A-Za-z0-9_]+)\.ipynb``")
#: What plain docutils says of Sphinx's roles (``:class:``) and directives (``.. code-block::``): not a markup slip.
UNKNOWN = (
    'Unknown interpreted text role "',
    'Unknown directive type "',
    'No role entry for "',
    'No directive entry for "',
)


def public_modules(name: str) -> list[str]:
    """``name`` and, for a package, every public module below it, sorted (importing a package does no I/O)."""
    module = importlib.import_module(name)
    found = [name]
    path = getattr(module, "__path__", None)
    if path is not None:
        for info in pkgutil.walk_packages(path, prefix=f"{name}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                found.append(info.name)
    return sorted(found)


def _expand(arguments: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(module for argument in arguments for module in public_modules(argument))


def _listed(env: Any) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per page: the directive's arguments and the modules they stood for when the page was read."""
    if not hasattr(env, "playbook_api_listed"):
        env.playbook_api_listed = {}
    listed: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = env.playbook_api_listed
    return listed


def _outdated(app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """Pages whose packages gained or lost a module since they were read (Sphinx tracks only the modules' files)."""
    return [doc for doc, (arguments, modules) in _listed(env).items() if _expand(arguments) != modules]


def _purge(app: Sphinx, env: Any, docname: str) -> None:
    _listed(env).pop(docname, None)


def _merge(app: Sphinx, env: Any, docnames: set[str], other: Any) -> None:
    _listed(env).update({doc: entry for doc, entry in _listed(other).items() if doc in docnames})


class PlaybookModules(SphinxDirective):
    """``.. playbook-modules:: playbook_lib.checks playbook_lib.errors``: one section and automodule per module."""

    required_arguments = 1
    optional_arguments = 100
    has_content = False

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        # remembered so that a module added or removed below a package reads this page again (_outdated)
        _listed(self.env)[self.env.docname] = (tuple(self.arguments), _expand(self.arguments))
        for argument in self.arguments:
            for module in public_modules(argument):
                title = f"``{module}``"
                lines += [title, "~" * len(title), "", f".. automodule:: {module}", "   :members:", ""]
        content = StringList(lines, source=self.get_source_info()[0] or "<playbook-modules>")
        holder = nodes.section()
        holder.document = self.state.document
        nested_parse_with_titles(self.state, content, holder)
        return list(holder.children)


def cli_commands() -> list[list[str]]:
    """Every command path of the ``playbook`` CLI, groups first (``[]``, ``["rag"]``, ``["rag", "query"]``, ...)."""
    import typer

    from playbook_lib.cli import app

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        # a group's subcommands (typer vendors its own click, so no isinstance check against click.Group)
        commands = getattr(command, "commands", None)
        if isinstance(commands, dict):
            for name in sorted(commands):
                walk(commands[name], [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def cli_help(path: list[str]) -> str:
    """``playbook PATH --help`` as click's plain formatter writes it, 64 columns wide (a code block on the page holds
    about 66). Typer's rich help (``TYPER_USE_RICH``, read when typer is imported) is switched off for the call: its
    boxes need box-drawing glyphs the page's monospace font lacks, and it cuts long words in narrow columns."""
    import typer.core
    from typer.testing import CliRunner

    from playbook_lib.cli import app

    rich = typer.core.HAS_RICH
    typer.core.HAS_RICH = False
    try:
        result = CliRunner().invoke(
            app, [*path, "--help"], prog_name="playbook", terminal_width=64, max_content_width=64
        )
    finally:
        typer.core.HAS_RICH = rich
    if result.exit_code != 0:
        raise RuntimeError(f"playbook {' '.join(path)} --help exited {result.exit_code}: {result.output[-300:]}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


class PlaybookCli(SphinxDirective):
    """``.. playbook-cli::``: a section with the ``--help`` of each command of the ``playbook`` CLI."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for path in cli_commands():
            title = f"``playbook {' '.join(path)}``".replace(" ``", "``")
            lines += [title, "~" * len(title), "", ".. code-block:: text", ""]
            lines += [f"   {line}" if line else "" for line in cli_help(path).splitlines()] + [""]
        content = StringList(lines, source=self.get_source_info()[0] or "<playbook-cli>")
        holder = nodes.section()
        holder.document = self.state.document
        nested_parse_with_titles(self.state, content, holder)
        return list(holder.children)


def _link_notebooks(app: Sphinx, lines: list[str]) -> None:
    docnames = app.env.found_docs
    for i, line in enumerate(lines):

        def link(match: re.Match[str]) -> str:
            stem = match["stem"]
            if f"notebooks/{stem}" not in docnames:
                return match[0]  # left as text; tests/site/test_book_extras.py names the page that is missing
            return f":doc:`notebooks/{stem}.ipynb </notebooks/{stem}>`"

        lines[i] = NOTEBOOK_LINK.sub(link, line)


def _original(function: Any, attribute: str) -> Any:
    """docutils' own lookup function behind Sphinx's dispatchers (``sphinx.util.docutils.sphinx_domains``)."""
    while hasattr(getattr(function, "__self__", None), attribute):
        function = getattr(function.__self__, attribute)
    return function


def _rst_problems(text: str) -> list[str]:
    """The warnings plain docutils gives on ``text``, without Sphinx's roles and directives (which need a build)."""
    settings = get_default_settings(Parser)
    settings.report_level = 5  # collect, never print
    settings.halt_level = 5
    settings.warning_stream = None
    document = utils.new_document("<docstring>", settings)
    # Sphinx puts its roles and directives (which need a build environment) in docutils' global tables and its
    # dispatchers in front of docutils' lookup functions; parse with docutils' own
    lookup_directive, lookup_role = directives.directive, roles.role
    tables = directives._directives.copy(), roles._roles.copy()  # type: ignore[attr-defined]
    directives.directive = _original(lookup_directive, "directive_func")
    roles.role = _original(lookup_role, "role_func")
    directives._directives.clear()  # type: ignore[attr-defined]
    roles._roles.clear()  # type: ignore[attr-defined]
    try:
        Parser().parse(text, document)
    finally:
        directives.directive, roles.role = lookup_directive, lookup_role
        directives._directives.update(tables[0])  # type: ignore[attr-defined]
        roles._roles.update(tables[1])  # type: ignore[attr-defined]
    problems = [
        msg.astext().splitlines()[0]
        for msg in document.findall(nodes.system_message)
        if msg["level"] >= 2 and not any(k in msg.astext() for k in UNKNOWN)
    ]
    # substitutions are resolved by a transform after parsing: ``|V|`` with no ``.. |V| replace::`` fails there
    problems += [
        f'undefined substitution "|{ref["refname"]}|"'
        for ref in document.findall(nodes.substitution_reference)
        if ref["refname"] not in document.substitution_defs
    ]
    return problems


def _process_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    original = list(lines)
    _link_notebooks(app, lines)
    if app.config.playbook_api_strict or not lines:
        return
    problems = _rst_problems("\n".join(lines))
    if problems:
        logger.info("playbook_api: %s's docstring shown as written (%s)", name, problems[0])
        pages = list(dict.fromkeys(NOTEBOOK_LINK.findall("\n".join(original))))
        lines[:] = [".. code-block:: text", ""] + [f"   {line}" if line else "" for line in original] + [""]
        linked = [f"``notebooks/{stem}.ipynb``" for stem in pages]
        _link_notebooks(app, linked)
        if linked:
            lines += ["Pages: " + ", ".join(linked), ""]


@functools.cache
def _imported_names(module: str) -> dict[str, str]:
    """Every ``from playbook_lib.x import Name`` in ``module``'s source, the ones under ``if TYPE_CHECKING:`` too."""
    file = getattr(sys.modules.get(module), "__file__", None)
    if not file:
        return {}
    names: dict[str, str] = {}
    for node in ast.walk(ast.parse(Path(file).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("playbook_lib"):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _qualify_annotations(app: Sphinx, doctree: nodes.document) -> None:
    """A bare name in a signature (``Sequence[Document]``, left as text when an annotation cannot be evaluated) means
    what that name is in the module that wrote it; Sphinx would search every module, and warn when two define it."""
    for node in doctree.findall(addnodes.pending_xref):
        target, module = node.get("reftarget", ""), node.get("py:module")
        if node.get("refdomain") != "py" or not module or not target.isidentifier():
            continue
        found = getattr(sys.modules.get(module), target, None)
        if found is None and target in _imported_names(module):  # imported under ``if TYPE_CHECKING:`` only
            source, _, attribute = _imported_names(module)[target].rpartition(".")
            try:
                found = getattr(importlib.import_module(source), attribute, None)
            except ImportError:
                found = None
        owner, name = getattr(found, "__module__", None), getattr(found, "__qualname__", None)
        if isinstance(owner, str) and owner.startswith("playbook_lib") and isinstance(name, str):
            node["reftarget"] = f"{owner}.{name}"


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("playbook_api_strict", False, "env")
    app.add_directive("playbook-modules", PlaybookModules)
    app.add_directive("playbook-cli", PlaybookCli)
    # after napoleon (priority 500), so that its Args:/Returns: sections are already fields
    app.connect("autodoc-process-docstring", _process_docstring, priority=600)
    app.connect("doctree-read", _qualify_annotations)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    # env_version: bump it when this file changes, so that the next build reads the API pages again with the change
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
