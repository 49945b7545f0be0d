"""Reading articles from a folder of .txt files or a JSONL file, with errors that name file and line.

A folder may hold a manifest beside its ``.txt`` files, ``articles.csv`` (a header
row naming ``id`` and any of ``outlet``, ``title``, ``url``, ``published_at``) or
``articles.jsonl`` (one object a line with those keys), giving each article's
metadata by id (the file name without ``.txt``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from dedup.article import Article, parse_timestamp
from dedup.errors import InputError, InvalidArgument

__all__ = ["read_articles", "read_text_file"]

_OPTIONAL = ("title", "outlet", "url")
MANIFESTS = ("articles.csv", "articles.jsonl")
_MANIFEST_FIELDS = ("id", *_OPTIONAL, "published_at")


def read_articles(path: str | Path) -> list[Article]:
    """Articles from ``path``: a folder of ``.txt`` files (id = file name without extension) or a JSONL
    file with one object a line (``id`` and ``text`` required; ``title``, ``outlet``, ``url``,
    ``published_at`` optional)."""
    p = Path(path)
    if p.is_dir():
        return _read_folder(p)
    if not p.exists():
        raise InputError(str(p), "no such file or folder")
    return _read_jsonl(p)


def read_text_file(path: str | Path) -> Article:
    """One article from a text file: its id the file name without extension, its text the file's."""
    p = Path(path)
    if p.is_dir():
        raise InputError(str(p), "a folder; give one text file (or use `dedup ingest` for a folder)")
    if not p.exists():
        raise InputError(str(p), "no such file or folder")
    return Article(p.stem, _article_text(p))


def _article_text(p: Path) -> str:
    """The text of one ``.txt`` article: UTF-8, not blank."""
    text = _decode(p, _read_bytes(p))
    if not text.strip():
        raise InputError(str(p), "the article is empty")
    return text


def _decode(p: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            str(p), f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8", line
        ) from None


def _read_bytes(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except OSError as exc:
        raise InputError(str(p), f"cannot read: {exc.strerror or exc}") from None


def _read_folder(folder: Path) -> list[Article]:
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() == ".txt" and not f.name.startswith("."))
    if not files:
        raise InputError(
            str(folder), "no .txt files in this folder; give a folder of .txt articles or a JSONL file"
        )
    metadata = _read_manifest(folder, {f.stem for f in files})
    articles = []
    for f in files:
        text = _article_text(f)
        source, line, fields = metadata.get(f.stem, (f, None, {}))
        articles.append(_article(source, line, {**fields, "id": f.stem, "text": text}))
    return articles


def _read_manifest(folder: Path, ids: set[str]) -> dict[str, tuple[Path, int, dict[str, Any]]]:
    """Metadata by article id from the folder's manifest, with the file and line each came from."""
    present = [folder / name for name in MANIFESTS if (folder / name).exists()]
    if not present:
        return {}
    if len(present) > 1:
        raise InputError(str(folder), "both articles.csv and articles.jsonl are here; keep one manifest")
    path = present[0]
    text = _decode(path, _read_bytes(path))
    rows = _csv_rows(path, text) if path.suffix == ".csv" else _jsonl_rows(path, text)
    found: dict[str, tuple[Path, int, dict[str, Any]]] = {}
    for line, row in rows:
        unknown = sorted(set(row) - set(_MANIFEST_FIELDS))
        if unknown:
            raise InputError(
                str(path),
                f"unknown field {unknown[0]!r}; a manifest gives {', '.join(_MANIFEST_FIELDS)}",
                line,
            )
        doc_id = row.get("id")
        if not isinstance(doc_id, str) or not doc_id:
            raise InputError(
                str(path), "every row needs the 'id' of an article (its file name without .txt)", line
            )
        if doc_id not in ids:
            raise InputError(str(path), f"no file {doc_id}.txt in {folder} for id {doc_id!r}", line)
        if doc_id in found:
            raise InputError(
                str(path), f"id {doc_id!r} is given twice (first on line {found[doc_id][1]})", line
            )
        # An empty cell is no value, as a spreadsheet means it.
        fields = {k: v for k, v in row.items() if k != "id" and v not in ("", None)}
        found[doc_id] = (path, line, fields)
    return found


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(str(path), "empty; the first row names the columns: id, outlet, title, ...")
        header = [h.strip().lstrip("\ufeff") for h in header]
        if "id" not in header:
            raise InputError(str(path), "the first row must name the columns, one of them 'id'", 1)
        rows = []
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                if len(cells) != len(header):
                    raise InputError(
                        str(path), f"{len(cells)} cells where the header names {len(header)} columns", start
                    )
                rows.append((start, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(str(path), f"not valid CSV: {exc}", reader.line_num) from None
    return rows


def _jsonl_rows(path: Path, text: str, needs: str = "an 'id'") -> list[tuple[int, dict[str, Any]]]:
    """The objects of a JSONL text with their line numbers."""
    rows = []
    # Split on line feeds only: U+2028 and friends may stand unescaped inside JSON strings.
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"not valid JSON: {exc.msg} (column {exc.colno})", n) from None
        if not isinstance(obj, dict):
            raise InputError(
                str(path), f"each line must be a JSON object with {needs}, not {type(obj).__name__}", n
            )
        rows.append((n, obj))
    return rows


def _read_jsonl(p: Path) -> list[Article]:
    text = _decode(p, _read_bytes(p))
    articles: list[Article] = []
    first_line: dict[str, int] = {}
    for n, obj in _jsonl_rows(p, text, "'id' and 'text'"):
        for key in ("id", "text"):
            if key not in obj:
                raise InputError(str(p), f"missing '{key}'; every line needs 'id' and 'text'", n)
            if not isinstance(obj[key], str):
                raise InputError(str(p), f"'{key}' must be a string, not {type(obj[key]).__name__}", n)
        if obj["id"] in first_line:
            raise InputError(str(p), f"duplicate id {obj['id']!r} (first on line {first_line[obj['id']]})", n)
        first_line[obj["id"]] = n
        articles.append(_article(p, n, obj))
    if not articles:
        raise InputError(str(p), "no articles in this file; write one JSON object a line")
    return articles


def _article(p: Path, line: int | None, fields: dict[str, Any]) -> Article:
    extra: dict[str, Any] = {}
    for key in _OPTIONAL:
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(str(p), f"'{key}' must be a string, not {type(value).__name__}", line)
        extra[key] = value
    try:
        stamp = fields.get("published_at")
        if stamp is not None:
            if not isinstance(stamp, str):
                raise InvalidArgument(
                    f"'published_at' must be an ISO 8601 string, not {type(stamp).__name__}"
                )
            extra["published_at"] = parse_timestamp(stamp)
        return Article(id=fields["id"], text=fields["text"], **extra)
    except InvalidArgument as exc:
        raise InputError(str(p), str(exc), line) from None
