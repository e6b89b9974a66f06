"""Output files of the ``playbook`` CLI: checked against the run's inputs before any work, written so that nothing
is ever destroyed.

Rules (the README's "Errors" section states them for users):

* :func:`check_outputs` runs before a command reads anything: an output path (``--json``, ``--html``, ``--junit``,
  ``--out``, ``--log``) that resolves, symlinks followed, to an input of the same run (or below an input folder such
  as a BEIR folder), a folder, a path below a file, a symlink loop or a block device or socket is refused with a
  one-line :class:`~playbook_lib.errors.UsageError` (exit code 3) naming both paths.
* :func:`write_atomic` writes a regular file through a temporary file in the same folder and a rename, so readers
  never see half a file; a symlink to a regular file keeps the link and its target is replaced. A new file gets the
  normal permissions (``0o666`` less the umask), an existing one keeps its mode. A FIFO or a character device
  (``/dev/null``, ``/dev/stdout``) is written into directly, never replaced. Every failure (full disk, file-size
  limit, permission, ...) is one line, exit code 3, and leaves no temporary file behind.
* :func:`append_text` appends whole lines (the decision log) and, on a failed write, cuts the file back to its size
  before, so a log never ends in half a line.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from playbook_lib.errors import DataError, UsageError

#: Inputs and outputs are given as ``{label: path}``, the label being the option a user typed (``--data``); inputs
#: may also be ``(label, path)`` pairs, for an option that names several files (the shards of ``--data``).
Paths = Mapping[str, "str | os.PathLike[str] | None"]
InputPaths = Paths | Iterable[tuple[str, "str | os.PathLike[str] | None"]]


def _pairs(inputs: InputPaths) -> list[tuple[str, str | os.PathLike[str] | None]]:
    return list(inputs.items()) if isinstance(inputs, Mapping) else list(inputs)


def _reason(exc: OSError | ValueError) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _stat(path: str) -> os.stat_result | None:
    """``os.stat`` (symlinks followed), ``None`` when nothing is there (a dangling link counts as nothing)."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _is_below(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def _check_one(label: str, path: str) -> tuple[str, os.stat_result | None]:
    """The resolved path of one output and its ``stat`` (``None``: it does not exist yet); refuses what can never be
    written."""
    try:
        real = os.path.realpath(path)
        st = _stat(path)
    except (OSError, ValueError) as exc:  # ELOOP, ENOTDIR, EACCES on the way, ENAMETOOLONG, a NUL byte
        raise UsageError(f"{label} {path}: cannot write here ({_reason(exc)})") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{label} {path}: is a folder, expected a file name")
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            raise UsageError(f"{label} {path}: not a regular file, a FIFO or a character device; refusing to write")
        return real, st
    # a new file: the nearest existing folder above it must be a folder (mkdir creates the rest)
    parent = os.path.dirname(real) or "."
    while True:
        try:
            pst = os.stat(parent)
        except FileNotFoundError:
            parent = os.path.dirname(parent)
            continue
        except OSError as exc:
            raise UsageError(f"{label} {path}: cannot write here ({_reason(exc)})") from None
        if not stat.S_ISDIR(pst.st_mode):
            raise UsageError(f"{label} {path}: cannot write here ({os.strerror(errno.ENOTDIR)}: {parent})")
        return real, None


def check_outputs(inputs: InputPaths, outputs: Paths) -> None:
    """Refuse, before any work, every output that cannot be written or that would overwrite an input of the run.

    ``inputs`` and ``outputs`` map the option a user typed (``--data``, ``--json``) to a path (``None``: not given).
    Both are resolved with symlinks followed; when both exist, :func:`os.path.samefile` also catches hard links. An
    input folder (a BEIR folder, a corpus folder) protects every path below it. Two outputs naming the same regular
    file are refused too (one report would silently replace the other).

    Raises:
        UsageError: one line naming the output and, for a clash, the input (exit code 3).
    """
    given_inputs = [(label, os.fspath(p)) for label, p in _pairs(inputs) if p is not None]
    resolved_inputs = []
    for label, p in given_inputs:
        try:
            resolved_inputs.append((label, p, os.path.realpath(p)))
        except ValueError:  # a NUL byte: no file can have that name, readable_inputs reports it
            continue
    seen: dict[str, str] = {}
    for label, value in outputs.items():
        if value is None:
            continue
        path = os.fspath(value)
        real, st = _check_one(label, path)
        if st is not None and not stat.S_ISREG(st.st_mode):
            continue  # /dev/null, a FIFO: written into, never replaced, so it cannot destroy an input
        for in_label, in_path, in_real in resolved_inputs:
            same = real == in_real or _is_below(real, in_real) and os.path.isdir(in_real)
            if not same and st is not None and os.path.exists(in_path):
                try:
                    same = os.path.samefile(path, in_path)
                except OSError:
                    same = False
            if same:
                raise UsageError(
                    f"{label} {path}: must differ from {in_label} {in_path} (both name {real}; an "
                    "output never replaces an input)"
                )
        if real in seen:
            raise UsageError(f"{label} {path}: must differ from {seen[real]} (both name {real})")
        seen[real] = f"{label} {path}"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _open_special(path: str, flags: int) -> int:
    """Open a FIFO or character device for writing without blocking on a FIFO nobody reads (which would hang)."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise UsageError(f"{path}: a FIFO with no reader; start the reader first") from None
        raise
    try:
        import fcntl  # lazy: POSIX-only module

        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        pass
    return fd


def _encode(text: str) -> bytes:
    """UTF-8; a lone surrogate (from a JSON ``"\\ud800"`` in the data) becomes the escape ``\\ud800`` instead of
    failing the whole write (inside a JSON string that escape is valid JSON)."""
    return text.encode("utf-8", errors="backslashreplace")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_atomic(path: str | os.PathLike[str], text: str | bytes, *, what: str = "the report") -> None:
    """Write ``text`` (UTF-8, lone surrogates escaped; or ``bytes`` as they are) to ``path`` so that readers never see
    half a file. The project's one atomic writer: reports, logs, indexes, caches and generated files all go through it.

    A regular file (or a new one) is written through a temporary file in the same folder and a rename; a symlink to
    a regular file keeps the link and its target is replaced; a FIFO or character device is written into. A new file
    gets ``0o666`` less the umask, an existing one keeps its mode. Missing parent folders are created.

    Raises:
        UsageError: one line ``<path>: cannot write <what> (<reason>)``; no temporary file is left behind.
    """
    path = Path(path)
    data = text if isinstance(text, bytes) else _encode(text)
    try:
        st = _stat(os.fspath(path))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot write {what} ({_reason(exc)})") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: cannot write {what} (is a folder)")
    if st is not None and not stat.S_ISREG(st.st_mode):
        if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            raise UsageError(f"{path}: cannot write {what} (not a regular file, a FIFO or a character device)")
        try:
            fd = _open_special(os.fspath(path), os.O_WRONLY)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
        except OSError as exc:
            raise UsageError(f"{path}: cannot write {what} ({_reason(exc)})") from None
        return
    target = Path(os.path.realpath(path))  # a symlink keeps pointing at the file it names
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            os.fchmod(fd, mode)
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what} ({_reason(exc)})") from None
    finally:  # any failure, KeyboardInterrupt included: no temporary file stays behind
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def append_text(path: str | os.PathLike[str], text: str, *, what: str = "the log") -> None:
    """Append ``text`` (whole lines, UTF-8) to ``path``, created with ``0o666`` less the umask when missing.

    A failed write (full disk, file-size limit) cuts a regular file back to its size before, so the log never ends
    in half a line; a FIFO or character device is written into without blocking on a FIFO nobody reads.

    Raises:
        UsageError: one line ``<path>: cannot append to <what> (<reason>)``.
    """
    path = Path(path)
    data = _encode(text)
    try:
        st = _stat(os.fspath(path))
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder")
        if st is not None and not stat.S_ISREG(st.st_mode):
            if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
                raise OSError(errno.EINVAL, "not a regular file, a FIFO or a character device")
            fd = _open_special(os.fspath(path), os.O_WRONLY | os.O_APPEND)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            try:
                _write_all(fd, data)
            except BaseException:
                os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot append to {what} ({_reason(exc)})") from None


def readable_inputs(inputs: InputPaths, *, data: Iterable[str] = ()) -> None:
    """Refuse inputs that cannot be read as files, before any work: a FIFO, device or socket (reading one could block
    forever or never end), a symlink loop, a permission error. Missing paths and folders are left to the loaders,
    which name them. Labels in ``data`` are data files (:class:`~playbook_lib.errors.DataError`, exit code 4); the
    others are configuration (:class:`UsageError`, exit code 3).
    """
    data_labels = set(data)
    for label, value in _pairs(inputs):
        if value is None:
            continue
        path = os.fspath(value)
        error = DataError if label in data_labels else UsageError
        try:
            st = _stat(path)
            if st is None or stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise error(f"{path}: not a regular file ({label} must name a file, not a FIFO or a device)")
            with open(path, "rb"):
                pass
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
            raise error(
                f"{path!r}: cannot read ({_reason(exc)})" if "\0" in path else f"{path}: cannot read ({_reason(exc)})"
            ) from None


def publish_folder(target: str | os.PathLike[str], build: Callable[[Path], None], *, what: str, done: str) -> Path:
    """Build a folder (a model, a cache) so that nobody ever sees half of it: ``build`` fills a temporary folder
    beside ``target``, which is then renamed into place. When another process published ``target`` first (its
    ``done`` file exists), that copy is kept and ours dropped. The temporary folder never outlives the call.

    Raises:
        UsageError: the parent folder cannot be created or written (one line naming it and ``what``).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    except OSError as exc:
        raise UsageError(f"{target.parent}: cannot write {what} there ({exc.strerror or exc})") from None
    try:
        build(work)
        try:
            os.replace(work, target)
        except OSError:
            if not (target / done).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
