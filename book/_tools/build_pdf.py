"""Print the whole book to one PDF with headless Chromium, offline.

``make book`` first builds the book as one HTML page (``jupyter-book build . --builder singlehtml``, which reads the
executed notebooks from the build's cache, so nothing runs twice), then this script serves that folder on a local
port, the page at the root where its relative links point, and has Chromium print it:

    python book/_tools/build_pdf.py _build/singlehtml _build/html/playbook.pdf

The PDF lands inside the site, where the landing page links it. The paper is A4: the book's stylesheet
(``book/_static/playbook.css``) sets ``@page { size: A4 }``, which Chromium honours (its own default is US Letter).

Chromium is Debian's ``chromium`` (``make chromium`` installs it), or ``$CHROMIUM``. When there is none, the script
prints one line saying so and exits 0: the site is built without its PDF. When Chromium runs but writes no PDF,
it exits 1 with Chromium's last output lines.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
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
    partial.replace(args.out)
    print(f"{args.out}: {page_count(data)} pages, {len(data) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
