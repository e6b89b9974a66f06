"""What the site tests share: the built site's folder, a local server for it, and the headless Chromium to open it.

``SITE`` is ``_build/html`` (``make book``, which ``make test`` runs), or ``$PLAYBOOK_SITE`` (another build, e.g. a
partial one from ``book/_tools/site_check_config.py``; an absolute path works too).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT, need

#: The built site: ``_build/html`` (``make book``), or ``$PLAYBOOK_SITE``.
SITE = ROOT / os.environ.get("PLAYBOOK_SITE", "_build/html")

#: What a command-line Chromium needs to run headless in a container without talking to Google.
HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging; ``requested`` keeps every path asked for (across servers)."""

    requested: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        QuietHandler.requested.append(self.path)


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free local port; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def chromium_executable() -> str:
    """Debian's ``chromium`` (or ``chromium-browser``); skips, or fails under ``CI=true``, when it is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    need(exe is not None, "headless Chromium not installed (Debian package `chromium`)")
    return str(exe)
