"""Reading articles from a folder of .txt files or a JSONL file, with errors that name file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dedup.document import Article, parse_timestamp
from dedup.errors import InputError, InvalidArgument

__all__ = ["read_articles"]

_OPTIONAL = ("title", "outlet", "url")


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
    articles = []
    for f in files:
        text = _decode(f, _read_bytes(f))
        if not text.strip():
            raise InputError(str(f), "the article is empty")
        articles.append(_article(f, None, {"id": f.stem, "text": text}))
    return articles


def _read_jsonl(p: Path) -> list[Article]:
    text = _decode(p, _read_bytes(p))
    articles: list[Article] = []
    first_line: dict[str, int] = {}
    # Split on line feeds only: U+2028 and friends may stand unescaped inside JSON strings.
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(p), f"not valid JSON: {exc.msg} (column {exc.colno})", n) from None
        if not isinstance(obj, dict):
            raise InputError(
                str(p), f"each line must be a JSON object with 'id' and 'text', not {type(obj).__name__}", n
            )
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
