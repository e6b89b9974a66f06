"""Ingestion: turn files of many kinds into :class:`~playbook_lib.rag.corpus.Document` records.

Taught in the book's *Core components* page of the Model–Data Operations chapter. Every document gets a stable id
(the record's own id, or the file's path relative to the ingested folder), its source, and a content hash in its
metadata, so later stages can version it and trace it back.

Supported: ``.txt``, ``.md`` (title from the first heading), ``.html``/``.htm`` (visible text, title from
``<title>``), ``.jsonl`` and ``.csv`` (one document per record), and BEIR folders (``corpus.jsonl``).
"""

from __future__ import annotations

import csv
import html.parser
import re
from collections.abc import Iterator
from pathlib import Path

from playbook_lib.errors import DataError, EmptyDataError
from playbook_lib.io.digest import content_hash
from playbook_lib.rag.corpus import Document, load_corpus

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".csv")


class _TextExtractor(html.parser.HTMLParser):
    """Visible text of an HTML page: drops script/style, breaks lines at block elements."""

    _SKIP = {"script", "style", "noscript", "template", "head"}
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def _normalise_space(text: str) -> str:
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _with_provenance(doc: Document, source: str) -> Document:
    meta = {**doc.metadata, "source": source, "content_hash": content_hash(doc.full_text)}
    return Document(id=doc.id, text=doc.text, title=doc.title, metadata=meta)


def _from_file(path: Path, doc_id: str) -> Iterator[Document]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for doc in load_corpus(path):
            yield _with_provenance(
                Document(id=f"{doc_id}:{doc.id}", text=doc.text, title=doc.title, metadata=doc.metadata), str(path)
            )
        return
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise DataError(f"{path}:1: a CSV corpus needs a 'text' column")
            for number, row in enumerate(reader, start=2):
                rid = row.get("_id") or row.get("id") or str(number)
                yield _with_provenance(
                    Document(id=f"{doc_id}:{rid}", text=row["text"] or "", title=row.get("title") or ""),
                    f"{path}:{number}",
                )
        return
    raw = _read_text(path)
    title = ""
    if suffix in (".html", ".htm"):
        parser = _TextExtractor()
        parser.feed(raw)
        text, title = _normalise_space("".join(parser.parts)), _normalise_space(parser.title)
    else:
        text = _normalise_space(raw)
        if suffix in (".md", ".markdown"):
            heading = re.search(r"^#{1,6}\s+(.+)$", raw, re.M)
            title = heading.group(1).strip() if heading else ""
    if text:
        yield _with_provenance(Document(id=doc_id, text=text, title=title or path.stem), str(path))


def ingest(path: str | Path) -> list[Document]:
    """Read one file, a folder of supported files (recursively, in sorted order), or a BEIR folder.

    Raises :class:`~playbook_lib.errors.DataError` for a missing path, an unsupported file, non-UTF-8 text or a
    malformed record, and :class:`~playbook_lib.errors.EmptyDataError` when nothing with text is found.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found")
    if path.is_dir() and (path / "corpus.jsonl").is_file():
        return [_with_provenance(d, str(path / "corpus.jsonl")) for d in load_corpus(path)]
    if path.is_file():
        if path.suffix.lower() not in SUPPORTED:
            raise DataError(f"{path}: unsupported file type {path.suffix!r}; supported: {', '.join(SUPPORTED)}")
        files = [(path, path.name)]
    else:
        files = [
            (p, p.relative_to(path).as_posix())
            for p in sorted(path.rglob("*"))
            if p.is_file() and p.suffix.lower() in SUPPORTED
        ]
    docs = [doc for file, doc_id in files for doc in _from_file(file, doc_id)]
    if not docs:
        raise EmptyDataError(f"{path}: no documents with text found (supported: {', '.join(SUPPORTED)})")
    return docs
