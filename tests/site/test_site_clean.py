"""Every page of the built book loads cleanly in headless Chromium at a 1200 px wide window.

Opens the top-level pages (the landing page, search, index), those under ``book/`` and every page under ``notebooks/`` over the DevTools protocol
(:mod:`tests.site.cdp`) and fails, listing (page, what), on

- any console error or warning: a ``console.error``/``console.warn`` call, an uncaught exception or rejected
  promise, a browser log entry of level error or warning (a 404, a blocked resource);
- any request to a host other than the local server that serves the site (the book is read offline);
- any code block, in a cell, a code listing or a printed output, that scrolls sideways (``scrollWidth`` more than
  2 px over ``clientWidth``) or runs past the page's column: a reader would see a cut-off line.

Needs the built site (``_build/html`` from ``make book``, which ``make test`` runs, or ``$PLAYBOOK_SITE``: another
build, where every check applies to what is there) and Debian's ``chromium``. Skips with the reason when either is missing, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import need
from tests.site.cdp import Browser
from tests.site.serving import SITE, chromium_executable, serve

WIDTH = 1200
#: A code block may be this many pixels wider than its box (sub-pixel rounding) before it counts as scrolling.
SLACK_PX = 2
#: Messages from third-party code the book cannot configure, each with why it is allowed. Keep this short.
KNOWN = {
    # @jupyter-widgets/html-manager 1.0.15 compiles the widget-state JSON schema with Ajv's default strict mode,
    # which warns (console.warn, level "warning") about the schema's union types; the widgets render correctly.
    "strict mode: use allowUnionTypes to allow union type keyword": "widget manager's bundled Ajv",
}

#: For each code block that scrolls or runs past the column: its excess in px and its longest line.
WIDE_CODE_JS = f"""
(() => {{
  const blocks = document.querySelectorAll(
    "div.cell pre, div.highlight pre, div.output pre, div.cell_output pre");
  const found = [];
  for (const pre of blocks) {{
    if (pre.clientWidth === 0) continue;  // hidden (a collapsed cell)
    const column = pre.closest(".bd-article") || document.body;
    const scroll = pre.scrollWidth - pre.clientWidth;
    const past = pre.getBoundingClientRect().right - column.getBoundingClientRect().right;
    const excess = Math.max(scroll, past);
    if (excess > {SLACK_PX}) {{
      const longest = pre.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "");
      found.push([Math.round(excess), longest.trim().slice(0, 100)]);
    }}
  }}
  return found;
}})()
"""


def pages(site: Path) -> list[str]:
    """The pages a reader reaches: the top-level pages (landing, search, index), ``book/`` and every notebook."""
    found = [*site.glob("*.html"), *site.glob("book/*.html"), *site.glob("notebooks/*.html")]
    return sorted(p.relative_to(site).as_posix() for p in found)


@dataclass
class Report:
    console: list[tuple[str, str]] = field(default_factory=list)
    off_site: list[str] = field(default_factory=list)
    wide_code: list[tuple[int, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    need((SITE / "notebooks").is_dir(), f"the book is not built ({SITE / 'notebooks'} missing): run `make book`")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_executable()


@pytest.fixture(scope="module")
def reports(server: str, chromium: str) -> dict[str, Report]:
    """Each page visited once, in one browser: what it logged, requested and laid out too wide."""
    site = urlsplit(server).netloc
    found: dict[str, Report] = {}
    with Browser(chromium, width=WIDTH) as browser:
        for page in pages(SITE):
            visit = browser.visit(f"{server}/{page}")
            report = found[page] = Report()
            report.console = [
                (level, text)
                for level, text in visit.console
                if level in ("error", "warning", "assert", "exception") and not any(k in text for k in KNOWN)
            ]
            if not visit.loaded:
                report.console.append(("error", "the page did not finish loading"))
            report.off_site = [
                url
                for url in visit.requests
                if urlsplit(url).scheme not in ("data", "blob", "about") and urlsplit(url).netloc != site
            ]
            report.wide_code = [(int(px), line) for px, line in browser.evaluate(WIDE_CODE_JS)]
    return found


def test_the_site_has_its_pages() -> None:
    need((SITE / "notebooks").is_dir(), "the book is not built: run `make book`")
    listed = pages(SITE)
    assert "index.html" in listed and "book/index.html" in listed
    assert sum(p.startswith("notebooks/") for p in listed) >= 20


def test_no_page_logs_a_console_error_or_warning(reports: dict[str, Report]) -> None:
    problems = [(page, f"{level}: {text[:300]}") for page, r in reports.items() for level, text in r.console]
    assert problems == [], _listing("console errors and warnings", problems)


def test_no_page_requests_another_host(reports: dict[str, Report]) -> None:
    problems = [(page, url) for page, r in reports.items() for url in r.off_site]
    assert problems == [], _listing("requests off the local site", problems)


def test_no_code_block_scrolls_sideways_at_1200_px(reports: dict[str, Report]) -> None:
    problems = [(page, f"+{px} px: {line}") for page, r in reports.items() for px, line in r.wide_code]
    assert problems == [], _listing(f"code blocks wider than their column at {WIDTH} px", problems)


def _listing(what: str, problems: list[tuple[str, str]]) -> str:
    lines = [f"{len(problems)} {what} on {len({p for p, _ in problems})} pages:"]
    lines += [f"  {page}: {message}" for page, message in problems]
    return "\n".join(lines)
