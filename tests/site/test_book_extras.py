"""What a reader can take away from the built book: the API reference, the glossary, the index and the PDF.

- The library's docstring back-links (````notebooks/NAME.ipynb````) name pages of the table of contents (no build
  needed), and on the built API pages every one of them is a link to a page that exists.
- The API pages (``book/api*.md``, generated from the docstrings by ``book/_ext/playbook_api.py``) document every
  public module of ``playbook_lib``, found here from the files on disk, and the ``playbook`` CLI's help.
- The glossary defines 20 to 40 terms, and the index (``genindex.html``) leads to them and to the API.
- ``playbook.pdf`` (``make book``, ``book/_tools/build_pdf.py``) is a PDF of the whole book, with its chapters in
  the PDF's outline; without Chromium the PDF step says so in one line and exits 0.

The built-site tests need ``_build/html`` (``make book``, which ``make test`` runs) or ``$PLAYBOOK_SITE`` (another
build that printed its PDF the same way) and skip with the reason when it is missing, or Chromium is (they fail
under ``CI=true``).
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import yaml

from tests.conftest import ROOT, need
from tests.site.serving import SITE, chromium_executable

#: What the brief of the API reference names, at the least.
REQUIRED_MODULES = [
    "playbook_lib.checks",
    "playbook_lib.checklist",
    "playbook_lib.rag",
    "playbook_lib.data",
    "playbook_lib.experiments.verdict",
    "playbook_lib.embeddings",
    "playbook_lib.io",
    "playbook_lib.errors",
    "playbook_lib.cli",
]
#: Terms the glossary must define (as Sphinx writes their anchors: ``term-`` and the term, spaces as dashes).
REQUIRED_TERMS = ["MinHash", "Locality-sensitive-hashing", "Contamination", "nDCG", "Reciprocal-rank-fusion", "LoRA"]
REQUIRED_TERMS += ["PEFT", "SFT", "Top-p", "Top-k", "Temperature", "Wilson-interval", "Verdict", "RAG"]
BACKLINK = re.compile(r"``notebooks/([A-Za-z0-9_]+)\.ipynb``")
#: A PDF of the whole book has at least this many pages (713 from `make book` on US Letter, before it chose A4).
MIN_PDF_PAGES = 400
#: A4 in PDF points, rounded (Chromium writes 594.96 x 841.92); its own default, US Letter, is 612 x 792.
A4_POINTS = (595, 842)


def toc_files() -> set[str]:
    files: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    files.add(value.removesuffix(".ipynb").removesuffix(".md"))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")))
    return files


def public_modules() -> list[str]:
    """Every module of ``playbook_lib`` on disk with no part of its dotted name starting with ``_``."""
    found = []
    for path in (ROOT / "playbook_lib").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(part.startswith("_") for part in parts):
            found.append(".".join(parts))
    return sorted(found)


def built(page: str) -> str:
    path = SITE / page
    need(path.is_file(), f"the book is not built ({path} missing): run `make book`")
    return path.read_text(encoding="utf-8")


def api_pages() -> dict[str, str]:
    built("book/api.html")
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((SITE / "book").glob("api*.html"))}


def article(page: str) -> str:
    """The page's main text (the sidebars and the navigation dropped)."""
    match = re.search(r'<article class="bd-article"[^>]*>(.*?)</article>', page, re.S)
    assert match is not None, "no <article> on the page"
    return match[1]


def test_docstring_back_links_name_pages_of_the_toc() -> None:
    pages = toc_files()
    named: dict[str, list[str]] = {}
    for path in sorted((ROOT / "playbook_lib").rglob("*.py")):
        for stem in BACKLINK.findall(path.read_text(encoding="utf-8")):
            named.setdefault(stem, []).append(str(path.relative_to(ROOT)))
    assert len(named) >= 20, f"only {len(named)} pages named by docstrings: the pattern no longer matches"
    missing = {stem: where for stem, where in named.items() if f"notebooks/{stem}" not in pages}
    assert missing == {}, f"docstrings name pages that are not in _toc.yml: {missing}"


def test_api_pages_document_every_public_module() -> None:
    documented: dict[str, str] = {}
    for name, page in api_pages().items():
        for module in re.findall(r'id="module-(playbook_lib[\w.]*)"', page):
            documented.setdefault(module, name)
    modules = public_modules()
    assert set(REQUIRED_MODULES) <= set(modules)
    missing = [m for m in modules if m not in documented]
    assert missing == [], f"public modules missing from the API reference: {missing}"
    unknown = sorted(set(documented) - set(modules))
    assert unknown == [], f"the API reference documents modules that are not on disk: {unknown}"
    # the docstrings made it: the verdict rules with their own words
    verdicts = api_pages()["api_experiments.html"]
    assert 'id="playbook_lib.experiments.verdict.within"' in verdicts
    assert "inconclusive" in html.unescape(verdicts)


def test_api_back_links_resolve_to_built_pages() -> None:
    linked = 0
    for name, page in api_pages().items():
        text = article(page)
        for target in re.findall(r'<a class="reference internal" href="\.\./notebooks/([\w]+)\.html[#"]', text):
            assert (SITE / "notebooks" / f"{target}.html").is_file(), f"{name} links a missing page: {target}"
            linked += 1
        # outside links and literal blocks (a docstring shown as written, followed by its links: playbook_api.py)
        prose = re.sub(r"<a\b.*?</a>|<pre\b.*?</pre>", "", text, flags=re.S)
        unlinked = re.findall(r"notebooks/\w+\.ipynb", prose)
        assert unlinked == [], f"{name}: page names left as text, not links: {sorted(set(unlinked))}"
    assert linked >= 50, f"only {linked} links from the API reference to the book's pages"


def test_api_reference_shows_the_cli_help() -> None:
    text = html.unescape(article(api_pages()["api_checks.html"]))
    for command in ("playbook check", "playbook rag query", "playbook decide model", "playbook rag feedback promote"):
        assert f"Usage: {command} [OPTIONS]" in text, f"no --help of `{command}` on the API page"


def test_glossary_defines_the_terms_and_the_index_leads_there() -> None:
    glossary = built("book/glossary.html")
    terms = re.findall(r'<dt id="term-([^"]+)"', glossary)
    assert 20 <= len(terms) <= 40, f"{len(terms)} glossary terms"
    missing = [t for t in REQUIRED_TERMS if t not in terms]
    assert missing == [], f"glossary terms missing: {missing}"
    index = built("genindex.html")
    leads = set(re.findall(r'href="book/glossary\.html#(term-[^"]+)"', index))
    assert {f"term-{t}" for t in terms} <= leads, "a glossary term is not in the index"
    for group in ("retrieval metrics", "data quality", "sampling"):
        assert group in index, f"index group {group!r} missing"
    assert 'href="book/api_experiments.html#module-playbook_lib.experiments.verdict"' in index
    landing = article(built("book/index.html"))
    for href in ("glossary.html", "api.html", "../genindex.html", "../playbook.pdf"):
        assert f'href="{href}"' in landing, f"the landing page does not link {href}"


def _outline_titles(pdf: bytes) -> list[str]:
    titles = []
    for literal, hexa in re.findall(rb"/Title\s*(?:\(((?:[^()\\]|\\.)*)\)|<([0-9A-Fa-f]+)>)", pdf):
        if hexa:
            titles.append(bytes.fromhex(hexa.decode()).decode("utf-16", errors="replace"))
        else:
            titles.append(re.sub(rb"\\(.)", rb"\1", literal).decode("latin-1"))
    return titles


def _page_sizes(pdf: bytes) -> set[tuple[int, int]]:
    """The distinct ``/MediaBox`` sizes of a PDF's pages, in points, rounded."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return {(round(float(w)), round(float(h))) for w, h in boxes}


def test_pdf_of_the_whole_book() -> None:
    built("book/index.html")
    chromium_executable()  # skips (fails under CI=true) without Chromium, as `make book` then builds no PDF
    sys.path.insert(0, str(ROOT / "book" / "_tools"))
    from build_pdf import page_count

    pdf_path = SITE / "playbook.pdf"
    assert pdf_path.is_file(), f"{pdf_path} missing although chromium is installed: run `make book` (or `make test`)"
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-")
    pages = page_count(pdf)
    counts = [int(c) for c in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf)]
    assert counts and pages == max(counts), f"{pages} page objects, page tree says {counts}"
    assert pages >= MIN_PDF_PAGES, f"only {pages} pages"
    assert _page_sizes(pdf) == {A4_POINTS}, f"page sizes {_page_sizes(pdf)}: the book prints on A4 (playbook.css)"
    titles = _outline_titles(pdf)
    for heading in ("The Data + Models Playbook", "Glossary", "API reference", "Minimal RAG", "playbook_lib.cli"):
        assert any(heading.lower() in t.lower() for t in titles), f"{heading!r} not in the PDF's outline"
    doubled = [t for t in titles if re.match(r"(.{4,})\1", t)]
    assert doubled == [], f"bookmark titles written twice (build_pdf.repair_outline): {doubled[:5]}"
    assert pdf_path.stat().st_mtime >= (SITE / "book" / "index.html").stat().st_mtime - 1, "the PDF is older"


def test_pdf_step_without_chromium_says_why_and_succeeds(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path), "CHROMIUM": ""}
    run = subprocess.run(
        [sys.executable, str(ROOT / "book" / "_tools" / "build_pdf.py"), str(tmp_path), str(tmp_path / "book.pdf")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1 and "book.pdf not built" in lines[0] and "chromium" in lines[0], run.stdout
    assert not (tmp_path / "book.pdf").exists()


def test_pdf_step_prints_on_a4_with_the_books_stylesheet(tmp_path: Path) -> None:
    """A page that links the book's stylesheet, as every built page does, is printed by ``build_pdf.py`` on A4 (not
    Chromium's US Letter), its heading a bookmark of the PDF's outline."""
    chromium_executable()  # skips (fails under CI=true) without Chromium
    site = tmp_path / "site"
    (site / "_static").mkdir(parents=True)
    (site / "_static" / "playbook.css").write_bytes((ROOT / "book" / "_static" / "playbook.css").read_bytes())
    (site / "index.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sample</title>'
        '<link rel="stylesheet" href="_static/playbook.css"></head><body>'
        '<section id="one"><h1>A chapter</h1><p>Some text.</p></section></body></html>',
        encoding="utf-8",
    )
    out = tmp_path / "sample.pdf"
    run = subprocess.run(
        [sys.executable, str(ROOT / "book" / "_tools" / "build_pdf.py"), str(site), str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    pdf = out.read_bytes()
    assert _page_sizes(pdf) == {A4_POINTS}, _page_sizes(pdf)
    assert "A chapter" in _outline_titles(pdf)


def _build_pdf_module() -> ModuleType:
    """``book/_tools/build_pdf.py``, imported as the whole-book test imports it."""
    sys.path.insert(0, str(ROOT / "book" / "_tools"))
    import build_pdf

    return build_pdf


def test_bookmark_titles_are_repaired_from_the_pages_headings() -> None:
    """Chromium's outline writes some headings' first line twice and joins wrapped lines without a space; the
    heading the title matches, whitespace aside, gives it back (no Chromium needed)."""
    build_pdf = _build_pdf_module()
    page = (
        '<h1>Model-centric vs data-centric: the same budget<a class="headerlink" href="#a">#</a></h1>'
        "<h2>Who it <em>is</em> for</h2><h2>Exercises</h2><h2>The <code>playbook</code> command line</h2>"
    )
    headings = build_pdf.heading_texts(page)
    assert sorted(headings.values()) == [
        "Exercises",
        "Model-centric vs data-centric: the same budget",
        "The playbook command line",
        "Who it is for",
    ]
    fixed = build_pdf.repaired_title
    assert fixed("Who it is forWho it is for", headings) == "Who it is for"
    assert fixed("ExercisesExercises", headings) == "Exercises"
    assert (
        fixed("Model-centric vs data-centric: the samebudget", headings)
        == "Model-centric vs data-centric: the same budget"
    )
    assert fixed("The The playbook command line command line", headings) == "The playbook command line"
    assert fixed("Something else", headings) == "Something else"


def test_outline_repair_keeps_the_cross_reference_table_valid() -> None:
    """The repaired titles change the PDF's length before later objects: every offset of the cross-reference table
    still points at its object, and startxref at the table."""
    build_pdf = _build_pdf_module()
    objects = [
        b"<</Type /Catalog /Outlines 2 0 R>>",
        b"<</Type /Outlines /First 3 0 R /Last 4 0 R /Count 2>>",
        b"<</Title (Who it is forWho it is for) /Parent 2 0 R /Next 4 0 R>>",
        b"<</Title (Exercises) /Parent 2 0 R /Prev 3 0 R>>",
        b"<</Title <%s> /Parent 2 0 R>>" % "\ufeffA beta beta".encode("utf-16-be").hex().upper().encode(),
    ]
    body, offsets = b"%PDF-1.4\n", []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(
        b"%010d 00000 n \n" % o for o in offsets
    )
    pdf = (
        body[:-1]
        + b"\n"
        + xref
        + b"trailer\n<</Size %d /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n"
        % (
            len(objects) + 1,
            len(body),
        )
    )
    headings = {"Whoitisfor": "Who it is for", "Exercises": "Exercises", "Abeta": "A beta"}
    out, changed = build_pdf.repair_outline(pdf, headings)
    assert changed == 2
    assert _outline_titles(out) == ["Who it is for", "Exercises", "A beta"]
    table = re.search(rb"\nxref\n0 (\d+)\n", out)
    assert table and int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", out)[1]) == table.start() + 1
    entries = out[table.end() :].split(b"\n")[1 : len(objects) + 1]
    for n, entry in enumerate(entries, 1):
        offset = int(entry[:10])
        assert out[offset:].startswith(b"%d 0 obj" % n), (n, out[offset : offset + 20])
