"""The built book as a reader sees it: headless Chromium renders the minimal-RAG page from a local server.

Needs the built site: ``_build/html`` (``make book``), which ``make test`` runs, or ``$PLAYBOOK_SITE`` (another
build that executed the page opened here) and Debian's ``chromium`` (``make test`` installs
it when it can). Skips with the reason when either is missing, except under ``CI=true``, where that is a failure.
A screenshot is saved to ``_build/screenshots/minimal_rag.png``.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT, need
from tests.site.serving import HEADLESS_FLAGS, SITE, chromium_executable, serve

PAGE = "notebooks/ops_06_minimal_rag.html"
FLAGS = HEADLESS_FLAGS


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    need((SITE / PAGE).is_file(), f"the book is not built ({SITE / PAGE} missing): run `make book`")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_executable()


def browse(chromium: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=15000", *extra, url],
            capture_output=True,
            text=True,
            timeout=120,
        )


def test_static_html_loads_nothing_from_a_cdn() -> None:
    need((SITE / PAGE).is_file(), "the book is not built: run `make book`")
    for page in SITE.rglob("*.html"):
        sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', page.read_text())
        assert sources == [], f"{page.relative_to(SITE)} loads {sources}"
    assert (SITE / "widgets-js" / "html-manager" / "embed-amd.js").is_file()
    assert (SITE / "widgets-js" / "require.js").is_file()


def test_minimal_rag_page_renders_table_plot_and_explorer(server: str, chromium: str) -> None:
    dom = browse(chromium, f"{server}/{PAGE}", "--dump-dom").stdout
    assert "A minimal RAG pipeline" in dom
    # the ranked-hits table (a pandas DataFrame) with the bundled corpus' best hit for the default query
    assert re.search(r'<table[^>]*class="[^"]*dataframe', dom) and "kb-004" in dom
    # the plot, as an image the build produced
    images = re.findall(r'<img[^>]+src="(\.\./_images/[^"]+\.png)"', dom)
    assert images and all((SITE / "notebooks" / src).resolve().is_file() for src in images)
    # the retrieval explorer: its controls and, before any move, the hits of the page's query at its k
    box = re.search(r'<div class="pb-explorer"[^>]*data-pb-kind="retrieval"', dom)
    assert box is not None and 'type="range"' in dom[box.end() :] and "<select" in dom[box.end() :]
    output = dom.index('class="pb-explorer-output"', box.end())
    assert "kb-004" in dom[output : output + 20000]

    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "minimal_rag.png"
    shot.unlink(missing_ok=True)
    browse(chromium, f"{server}/{PAGE}", "--window-size=1280,4000", f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 50_000


def test_landing_page_links_both_chapters(server: str, chromium: str) -> None:
    dom = browse(chromium, f"{server}/book/index.html", "--dump-dom").stdout
    assert "The Data + Models Playbook" in dom
    assert "data_models.html" in dom and "model_data_ops.html" in dom
    assert "Who it is for" in dom and "How to run it" in dom


def test_download_button_gives_the_executed_notebook_and_no_dead_launch_buttons() -> None:
    import json

    need((SITE / PAGE).is_file(), "the book is not built: run `make book`")
    html = (SITE / PAGE).read_text(encoding="utf-8")
    assert 'href="../_sources/notebooks/ops_06_minimal_rag.ipynb"' in html
    assert "mybinder.org" not in html and "colab.research.google.com" not in html
    notebook = json.loads((SITE / "_sources" / "notebooks" / "ops_06_minimal_rag.ipynb").read_text(encoding="utf-8"))
    outputs = [o for cell in notebook["cells"] for o in cell.get("outputs", [])]
    assert len(outputs) >= 5 and any("pb-explorer" in "".join(o.get("data", {}).get("text/html", "")) for o in outputs)
