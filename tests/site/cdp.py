"""A small Chrome DevTools Protocol client over ``--remote-debugging-pipe``, standard library only.

Headless Chromium's ``--dump-dom`` and ``--screenshot`` say nothing about console messages or network requests;
the DevTools protocol does. With ``--remote-debugging-pipe`` Chromium reads commands from file descriptor 3 and
writes replies and events to descriptor 4, one JSON message per NUL-terminated chunk, so no websocket client is
needed. The browser is started with ``os.posix_spawn`` (its file actions put the pipes on 3 and 4), which is safe
while the test's HTTP server thread runs, unlike ``subprocess``'s ``preexec_fn``.

    with Browser(chromium, width=1200) as browser:
        visit = browser.visit("http://127.0.0.1:8000/page.html")
        visit.console, visit.requests, browser.evaluate("document.title")
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from tests.site.serving import HEADLESS_FLAGS

#: :data:`~tests.site.serving.HEADLESS_FLAGS`, and no extensions, default apps or sound in a long-lived browser.
FLAGS = [
    *HEADLESS_FLAGS,
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
]


class CDPError(RuntimeError):
    """A DevTools command failed, Chromium exited, or no reply came in time."""


@dataclass
class Visit:
    """What one page did while it loaded: console messages and the URLs it requested."""

    url: str
    #: (level, text) for every console call, uncaught exception and browser log entry
    console: list[tuple[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    loaded: bool = False


class Browser:
    """One headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, executable: str, width: int = 1200, height: int = 900, timeout: float = 30.0) -> None:
        self.executable = executable
        self.width = width
        self.height = height
        self.timeout = timeout
        self._id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._session = ""
        self._pid = 0

    def __enter__(self) -> Browser:
        self._profile = tempfile.TemporaryDirectory(prefix="cdp-profile-", ignore_cleanup_errors=True)
        # the pipe ends go to fds >= 10 first, so that putting them on 3 and 4 never overwrites one another
        commands_r, commands_w = (_high(fd) for fd in os.pipe())
        events_r, events_w = (_high(fd) for fd in os.pipe())
        devnull = os.open(os.devnull, os.O_RDWR)
        args = [
            self.executable,
            *FLAGS,
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        actions = [
            (os.POSIX_SPAWN_DUP2, devnull, 0),
            (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, devnull, 2),
            (os.POSIX_SPAWN_DUP2, commands_r, 3),
            (os.POSIX_SPAWN_DUP2, events_w, 4),
        ]
        try:
            self._pid = os.posix_spawn(self.executable, args, os.environ, file_actions=actions)
        finally:
            for fd in (commands_r, events_w, devnull):
                os.close(fd)
        self._write, self._read = commands_w, events_r
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call("Browser.close")
        except (CDPError, OSError):
            pass  # it closes the pipe as it exits, sometimes before it replies
        for fd in (self._write, self._read):
            os.close(fd)
        try:
            for _ in range(100):
                if os.waitpid(self._pid, os.WNOHANG) != (0, 0):
                    break
                time.sleep(0.05)
            else:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass
        self._profile.cleanup()

    # -- protocol ---------------------------------------------------------------------------------------------

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept for :meth:`events`."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            for reply in self._receive(deadline - time.monotonic()):
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise CDPError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply.get("result", {})
                    return result
                self._events.append(reply)
            if time.monotonic() > deadline:
                raise CDPError(f"{method}: no reply in {self.timeout:.0f} s")

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._events.extend(self._receive(deadline - time.monotonic()))

    def _receive(self, wait: float) -> list[dict[str, Any]]:
        ready, _, _ = select.select([self._read], [], [], max(wait, 0))
        if ready:
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise CDPError("Chromium closed the DevTools pipe (it exited)")
            self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        return [json.loads(m) for m in messages if m]

    def events(self) -> list[dict[str, Any]]:
        """The events received since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    # -- pages ------------------------------------------------------------------------------------------------

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises are awaited)."""
        reply = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise CDPError(f"{expression[:60]!r} threw {_exception_text(reply['exceptionDetails'])}")
        return reply["result"].get("value")

    def visit(self, url: str, settle: float = 1.0) -> Visit:
        """Open ``url``, wait for its load event and then ``settle`` seconds of quiet network, and report."""
        self.events()
        visit = Visit(url)
        self.call("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + self.timeout
        pending: set[str] = set()
        quiet_since = None
        while time.monotonic() < deadline:
            self.pump(0.1)
            for event in self.events():
                _record(event, visit, pending)
            if visit.loaded and not pending:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    break
            else:
                quiet_since = None
        return visit


def _record(event: dict[str, Any], visit: Visit, pending: set[str]) -> None:
    method, params = event.get("method", ""), event.get("params", {})
    if method == "Page.loadEventFired":
        visit.loaded = True
    elif method == "Network.requestWillBeSent":
        visit.requests.append(params["request"]["url"])
        pending.add(params["requestId"])
    elif method in ("Network.loadingFinished", "Network.loadingFailed"):
        pending.discard(params["requestId"])
    elif method == "Runtime.consoleAPICalled":
        text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
        visit.console.append((params["type"], text))
    elif method == "Runtime.exceptionThrown":
        visit.console.append(("exception", _exception_text(params["exceptionDetails"])))
    elif method == "Log.entryAdded":
        entry = params["entry"]
        visit.console.append((entry["level"], f"{entry['text']} {entry.get('url', '')}".strip()))


def _exception_text(details: dict[str, Any]) -> str:
    exception = details.get("exception", {})
    return str(exception.get("description") or details.get("text", "")).splitlines()[0]


def _high(fd: int) -> int:
    """``fd`` moved to a descriptor number of at least 10 (close-on-exec, like the original)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved
