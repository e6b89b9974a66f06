"""Print the whole book to one PDF with headless Chromium, offline.

``make book`` first builds the book as one HTML page (``jupyter-book build . --builder singlehtml``, which reads the
executed notebooks from the build's cache, so nothing runs twice), then this script serves that folder on a local
port, the page at the root where its relative links point, and has Chromium print it:

    python book/_tools/build_pdf.py _build/singlehtml _build/html/playbook.pdf

The PDF lands inside the site, where the landing page links it. The paper is A4: the book's stylesheet
(``book/_static/playbook.css``) sets ``@page { size: A4 }``, which Chromium honours (its own default is US Letter).
The bookmarks are the page's headings; the titles Chromium gives them are repaired from the page's own headings
(:func:`repair_outline`): it writes some first lines twice and joins wrapped lines without a space.

Chromium is Debian's ``chromium`` (``make chromium`` installs it), or ``$CHROMIUM``. When there is none, the script
prints one line saying so and exits 0: the site is built without its PDF. When Chromium runs but writes no PDF,
it exits 1 with Chromium's last output lines.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import functools
import html.parser
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

#: Headless in a container, without a sandbox (root), and without talking to Google.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
    # PDF bookmarks from the page's headings: chapters, pages and sections in a reader's sidebar
    "--generate-pdf-document-outline",
    "--run-all-compositor-stages-before-draw",
]
#: Milliseconds of page time Chromium lets scripts (MathJax, the widget snapshots) run before it prints.
BUDGET_MS = 60_000


def chromium() -> str | None:
    """``$CHROMIUM``, else Debian's ``chromium`` or ``chromium-browser`` on the PATH, else ``None``."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named if shutil.which(named) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def page_count(pdf: bytes) -> int:
    """Pages in a PDF as Chromium writes it (one ``/Type /Page`` object per page, none compressed away)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def single_page(site: Path) -> Path:
    """The page the single-page build wrote: ``index.html``, or the page its redirect names (``book/index.html``
    when the book's root is ``book/index``)."""
    index = site / "index.html"
    redirect = re.search(r'http-equiv="Refresh"[^>]*url=([^"]+)"', index.read_text(encoding="utf-8"), re.I)
    if redirect and (site / redirect[1]).is_file():
        return site / redirect[1]
    return index


class _Headings(html.parser.HTMLParser):
    """The text of every ``h1``-``h6`` of a page, without the ``#`` permalink Sphinx appends to each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._heading: list[str] | None = None
        self._skip = 0  # depth inside an <a class="headerlink">

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []
        elif self._heading is not None and (self._skip or "headerlink" in (dict(attrs).get("class") or "").split()):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            self._skip -= tag == "a"
        elif re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.texts.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None and not self._skip:
            self._heading.append(data)


def heading_texts(page: str) -> dict[str, str]:
    """The page's heading texts, keyed by the text without whitespace (how a PDF bookmark's title is matched)."""
    parser = _Headings()
    parser.feed(page)
    return {re.sub(r"\s+", "", text): text for text in parser.texts if text}


def repaired_title(title: str, headings: dict[str, str]) -> str:
    """A bookmark title as the heading reads. Chromium's ``--generate-pdf-document-outline`` joins a heading's
    lines without a space ("the samebudget") and, for some headings, writes a line or an inline element's text twice
    ("Who it is forWho it is for"). The page's heading whose text matches, whitespace aside, as it is or once
    repeated runs are written once (up to three of them), gives the title back; a title no heading matches is
    returned as it is."""
    key = re.sub(r"\s+", "", title)
    seen, frontier = {key}, [key]
    for _ in range(4):  # the title, then with one, two or three repeated runs written once
        for candidate in frontier:
            if candidate in headings:
                return headings[candidate]
        shorter: list[str] = []
        for candidate in frontier:
            for n in range(1, len(candidate) // 2 + 1):
                for i in range(len(candidate) - 2 * n + 1):
                    once = candidate[: i + n] + candidate[i + 2 * n :]
                    if candidate[i : i + n] == candidate[i + n : i + 2 * n] and once not in seen:
                        seen.add(once)
                        shorter.append(once)
        frontier = shorter
    return title


_TITLE = re.compile(rb"/Title\s*(\((?:[^()\\]|\\.)*\)|<[0-9A-Fa-f\s]*>)")


def _decode(literal: bytes) -> str:
    if literal.startswith(b"<"):
        raw = bytes.fromhex(re.sub(rb"\s+", b"", literal[1:-1]).decode())
        return raw.decode("utf-16", errors="replace") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")
    return re.sub(rb"\\(.)", rb"\1", literal[1:-1]).decode("latin-1")


def _encode(text: str) -> bytes:
    if text.isascii():
        return b"(" + re.sub(rb"([()\\])", rb"\\\1", text.encode()) + b")"
    return b"<" + ("\ufeff" + text).encode("utf-16-be").hex().upper().encode() + b">"


def repair_outline(pdf: bytes, headings: dict[str, str]) -> tuple[bytes, int]:
    """``pdf`` with each bookmark title replaced by :func:`repaired_title`, and how many changed.

    Works on the PDF as Chromium writes it: uncompressed outline items and a classic cross-reference table, whose
    offsets are moved by the length each replacement adds or removes (a PDF without that table is returned as it
    is)."""
    xref = re.search(rb"\nxref\n0 (\d+)\n", pdf)
    start = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf)
    if not xref or not start or int(start[1]) != xref.start() + 1:
        return pdf, 0
    pieces, shifts, last, changed = [], [], 0, 0
    for m in _TITLE.finditer(pdf, 0, xref.start()):
        title = _decode(m[1])
        fixed = repaired_title(title, headings)
        if fixed != title:
            new = _encode(fixed)
            pieces += [pdf[last : m.start(1)], new]
            shifts.append((m.start(1), len(new) - len(m[1])))
            last, changed = m.end(1), changed + 1
    if not changed:
        return pdf, 0
    body = b"".join(pieces) + pdf[last : xref.start()]

    positions = [at for at, _ in shifts]
    totals = [0]
    for _, delta in shifts:
        totals.append(totals[-1] + delta)

    def moved(offset: int) -> int:  # plus what the replacements before it added
        return offset + totals[bisect.bisect_left(positions, offset)]

    count = int(xref[1])
    entries = pdf[xref.end() : xref.end() + 20 * count]
    table = b"".join(
        (b"%010d" % moved(int(e[:10])) + e[10:]) if e[17:18] == b"n" else e
        for e in (entries[i : i + 20] for i in range(0, len(entries), 20))
    )
    tail = pdf[xref.end() + 20 * count : start.start()]
    out = body + pdf[xref.start() : xref.end()] + table + tail + b"startxref\n%d\n%%%%EOF\n" % (len(body) + 1)
    return out, changed


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site, with the single page at ``/index.html``: Sphinx's single-page builder writes every link of
    that page (stylesheets, images, other pages' anchors) relative to the site's root, wherever the page is."""

    page = ""

    def translate_path(self, path: str) -> str:
        if path.split("?", 1)[0].split("#", 1)[0] in ("/", "/index.html"):
            return self.page
        return super().translate_path(path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # Chromium closing a connection early (a favicon it gave up on) is no error of the book's


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free port of 127.0.0.1, its single page at the root; yields the base URL."""
    handler = type("Handler", (_Handler,), {"page": str(single_page(folder))})
    httpd = _Server(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the single-page build (its index.html is printed)")
    parser.add_argument("out", type=Path, help="the PDF to write")
    parser.add_argument("--timeout", type=int, default=600, help="seconds Chromium may take")
    args = parser.parse_args(argv)
    exe = chromium()
    if exe is None:
        print(f"{args.out.name} not built: no chromium on the PATH (`make chromium` installs it); the site is built")
        return 0
    if not (args.site / "index.html").is_file():
        print(f"build_pdf: {args.site / 'index.html'} missing: build the single-page HTML first", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(f".{args.out.name}.partial")
    partial.unlink(missing_ok=True)
    with serve(args.site) as url, tempfile.TemporaryDirectory() as profile:
        command = [
            exe,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={BUDGET_MS}",
            f"--print-to-pdf={partial.resolve()}",
            f"{url}/index.html",
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    data = partial.read_bytes() if partial.is_file() else b""
    if not data.startswith(b"%PDF"):
        tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-5:])
        print(f"build_pdf: chromium exited {run.returncode} and wrote no PDF:\n{tail}", file=sys.stderr)
        partial.unlink(missing_ok=True)
        return 1
    data, repaired = repair_outline(data, heading_texts(single_page(args.site).read_text(encoding="utf-8")))
    partial.write_bytes(data)
    partial.replace(args.out)
    print(f"{args.out}: {page_count(data)} pages, {len(data) / 1e6:.1f} MB, {repaired} bookmark titles repaired")
    return 0


if __name__ == "__main__":
    sys.exit(main())
