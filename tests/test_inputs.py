"""Tests of dedup.inputs: reading a folder of .txt files or a JSONL file, and the errors that name file
and line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dedup.article import Article, Timestamp
from dedup.errors import InputError, InvalidArgument
from dedup.inputs import read_articles, read_text_file


def _jsonl(path: Path, *lines: object) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8"
    )
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        read_articles(path)
    return info.value


# --- folders --------------------------------------------------------------------------------------


def test_folder_of_txt_files_sorted_by_name(tmp_path) -> None:
    (tmp_path / "b.txt").write_text("Second article text.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("First article text.\nWith a second line.", encoding="utf-8")
    (tmp_path / "c.TXT").write_text("Third, upper-case extension.", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not an article", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("hidden file", encoding="utf-8")
    articles = read_articles(tmp_path)
    assert [a.id for a in articles] == ["a", "b", "c"]
    assert articles[0] == Article(id="a", text="First article text.\nWith a second line.")
    assert articles[1].text == "Second article text."
    assert all(a.published_at is None and a.outlet is None for a in articles)
    assert read_articles(str(tmp_path)) == articles


def test_folder_text_is_kept_exactly(tmp_path) -> None:
    text = "  \u201cQuoted\u201d lead.\r\n\r\nSecond para.\n"
    (tmp_path / "x.txt").write_bytes(text.encode("utf-8"))
    assert read_articles(tmp_path)[0].text == text


def test_empty_folder(tmp_path) -> None:
    (tmp_path / "readme.md").write_text("nothing here", encoding="utf-8")
    err = _error(tmp_path)
    assert str(tmp_path) in str(err)
    assert "no .txt files" in str(err)


def test_empty_article_in_folder(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("Fine.", encoding="utf-8")
    (tmp_path / "blank.txt").write_text("  \n\t\n", encoding="utf-8")
    err = _error(tmp_path)
    assert "blank.txt" in str(err)
    assert "empty" in str(err)


def test_invalid_utf8_in_folder(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("Fine.", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Line one.\nCaf\u00e9 society.".encode("latin-1"))
    err = _error(tmp_path)
    assert "latin1.txt:2" in str(err)
    assert "UTF-8" in str(err)
    assert err.line == 2


def test_nonexistent_path(tmp_path) -> None:
    missing = tmp_path / "no-such-file.jsonl"
    err = _error(missing)
    assert "no-such-file.jsonl" in str(err)
    assert "no such file" in str(err)


# --- one text file (`dedup query draft.txt`) --------------------------------------------------------


def test_a_text_file_is_one_article_named_by_its_file(tmp_path: Path) -> None:
    (tmp_path / "draft.txt").write_text("Caf\u00e9 owners said the strike hurt trade.\n", encoding="utf-8")
    assert read_text_file(tmp_path / "draft.txt") == Article(
        "draft", "Caf\u00e9 owners said the strike hurt trade.\n"
    )


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.txt", None, ["no such file"]),
        ("latin1.txt", "Line one.\nCaf\u00e9 society.".encode("latin-1"), ["latin1.txt:2", "UTF-8"]),
        ("blank.txt", b" \n\t\n", ["empty"]),
        ("folder", "dir", ["a folder", "dedup ingest"]),
    ],
)
def test_a_text_file_that_cannot_be_an_article_says_why(
    tmp_path: Path, name: str, content: bytes | str | None, words: list[str]
) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_text_file(path)
    assert name in str(caught.value)
    for word in words:
        assert word in str(caught.value)


# --- JSONL ----------------------------------------------------------------------------------------


def test_jsonl_with_optional_fields(tmp_path) -> None:
    path = _jsonl(
        tmp_path / "articles.jsonl",
        {
            "id": "x1",
            "text": "Alpha text.",
            "title": "Alpha",
            "outlet": "Example Gazette",
            "url": "https://example.com/a",
            "published_at": "2022-06-17",
        },
        "",
        {"id": "x0", "text": "Beta text.", "published_at": "2022-06-17T10:00:00Z", "extra": [1, 2]},
        {"id": "x2", "text": "Gamma text.", "title": None},
    )
    articles = read_articles(path)
    assert [a.id for a in articles] == ["x1", "x0", "x2"]  # file order, not sorted
    a, b, c = articles
    assert (a.title, a.outlet, a.url) == ("Alpha", "Example Gazette", "https://example.com/a")
    assert a.published_at == Timestamp(datetime(2022, 6, 17, tzinfo=UTC), date_only=True)
    assert b.published_at == Timestamp(datetime(2022, 6, 17, 10, 0, tzinfo=UTC), date_only=False)
    assert b.published_at is not None and not b.published_at.date_only
    assert c.title is None and c.published_at is None


def test_jsonl_crlf_and_blank_lines(tmp_path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b'{"id": "a", "text": "A."}\r\n\r\n{"id": "b", "text": "B."}\r\n')
    assert [a.id for a in read_articles(path)] == ["a", "b"]


def test_jsonl_non_ascii_text(tmp_path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_text(
        json.dumps({"id": "\u00e9t\u00e9", "text": "Caf\u00e9 \u201cquoted\u201d"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    [article] = read_articles(path)
    assert article.id == "\u00e9t\u00e9"
    assert article.text == "Caf\u00e9 \u201cquoted\u201d"


@pytest.mark.parametrize(
    ("lines", "line", "words"),
    [
        (['{"id": "a", "text": "A."}', "[1, 2]"], 2, ["JSON object", "list"]),
        (['{"id": "a", "text": "A."}', '"just a string"'], 2, ["JSON object", "str"]),
        (['{"text": "No id."}'], 1, ["missing 'id'"]),
        (['{"id": "a", "text": "A."}', "", '{"id": "b"}'], 3, ["missing 'text'"]),
        (['{"id": 5, "text": "Numeric id."}'], 1, ["'id' must be a string", "int"]),
        (['{"id": "a", "text": ["A."]}'], 1, ["'text' must be a string", "list"]),
        (['{"id": "a", "text": "A.", "title": 3}'], 1, ["'title' must be a string"]),
        (
            ['{"id": "a", "text": "A.", "published_at": "last Tuesday"}'],
            1,
            ["cannot parse timestamp", "last Tuesday"],
        ),
        (['{"id": "a", "text": "A.", "published_at": "2022-13-45"}'], 1, ["cannot parse timestamp"]),
        (['{"id": "a", "text": "A.", "published_at": 20220617}'], 1, ["published_at", "int"]),
        (['{"id": "a", "text": "A."}', '{"id": "a", "text": "B."', ""], 2, ["not valid JSON"]),
        (['{"id": "a", "text": "   "}'], 1, ["empty"]),
        (['{"id": "", "text": "A."}'], 1, ["id is empty"]),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path, lines: list[str], line: int, words: list[str]) -> None:
    path = _jsonl(tmp_path / "feed.jsonl", *lines)
    err = _error(path)
    message = str(err)
    assert f"feed.jsonl:{line}:" in message
    assert err.line == line
    assert err.source == str(path)
    for word in words:
        assert word in message
    assert isinstance(err, InvalidArgument)  # callers may catch the broader error


def test_duplicate_id_mentions_the_first_line(tmp_path) -> None:
    path = _jsonl(
        tmp_path / "dup.jsonl",
        {"id": "a", "text": "First."},
        {"id": "b", "text": "Second."},
        "",
        {"id": "a", "text": "Again."},
    )
    err = _error(path)
    assert "dup.jsonl:4:" in str(err)
    assert "duplicate id 'a'" in str(err)
    assert "first on line 1" in str(err)


def test_invalid_utf8_jsonl_names_the_line(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id": "a", "text": "fine"}\n{"id": "b", "text": "caf\xe9"}\n')
    err = _error(path)
    assert "bad.jsonl:2:" in str(err)
    assert "UTF-8" in str(err)


def test_empty_jsonl(tmp_path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n  \n", encoding="utf-8")
    err = _error(path)
    assert "empty.jsonl" in str(err)
    assert "no articles" in str(err)


@pytest.mark.parametrize("separator", ["\u2028", "\u0085"])
def test_jsonl_text_may_contain_unicode_line_separators(tmp_path, separator: str) -> None:
    path = tmp_path / "sep.jsonl"
    text = f"First part.{separator}Second part."
    path.write_text(json.dumps({"id": "a", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    [article] = read_articles(path)
    assert article.text == text


@pytest.mark.parametrize("key", ["line", "p"])
def test_jsonl_extra_keys_named_like_parameters_are_ignored(tmp_path, key: str) -> None:
    path = _jsonl(tmp_path / "extra.jsonl", {"id": "a", "text": "A.", key: 5})
    assert [a.id for a in read_articles(path)] == ["a"]


def _folder(tmp_path: Path, manifest_name: str | None = None, manifest: str = "") -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("Dock workers walked off the job on Tuesday.", encoding="utf-8")
    (folder / "b.txt").write_text("The council approved a cycling lane.", encoding="utf-8")
    if manifest_name:
        (folder / manifest_name).write_text(manifest, encoding="utf-8")
    return folder


def test_a_csv_manifest_gives_metadata_by_id(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        "articles.csv",
        "\ufeffid,outlet,title,url,published_at\n"
        'a,Harbour Wire,"Dockers strike, again",https://example.org/a,2025-03-04T08:00:00Z\n'
        "b,Metro News,,,2025-03-05\n",
    )
    a, b = read_articles(folder)
    assert (a.outlet, a.title, a.url) == ("Harbour Wire", "Dockers strike, again", "https://example.org/a")
    assert a.published_at is not None and a.published_at.isoformat() == "2025-03-04T08:00:00+00:00"
    assert b.outlet == "Metro News" and b.title is None and b.url is None
    assert b.published_at is not None and b.published_at.date_only
    assert a.text == "Dock workers walked off the job on Tuesday."


def test_a_jsonl_manifest_and_articles_it_does_not_name(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "articles.jsonl", '{"id": "b", "outlet": "Metro News"}\n')
    a, b = read_articles(folder)
    assert a.outlet is None and b.outlet == "Metro News"


@pytest.mark.parametrize(
    ("name", "manifest", "line", "words"),
    [
        ("articles.csv", "id,outlet,colour\na,Wire,red\n", 2, ["unknown field 'colour'"]),
        ("articles.csv", "id,outlet\nc,Wire\n", 2, ["no file c.txt", "'c'"]),
        ("articles.csv", "id,outlet\na,Wire\nb,Metro\na,Again\n", 4, ["given twice", "line 2"]),
        ("articles.csv", "id,published_at\na,2025-03-04\nb,last Tuesday\n", 3, ["cannot parse timestamp"]),
        ("articles.csv", 'id,title\na,"two\nlines"\nb,x,y\n', 4, ["3 cells", "2 columns"]),
        ("articles.csv", "outlet,title\nWire,x\n", 1, ["'id'"]),
        ("articles.jsonl", '{"id": "a"}\n\n{"id": "b", "outlet": 7}\n', 3, ["'outlet' must be a string"]),
        ("articles.jsonl", '{"id": "a"}\n[1]\n', 2, ["JSON object"]),
        ("articles.jsonl", '{"outlet": "Wire"}\n', 1, ["needs the 'id'"]),
    ],
)
def test_bad_manifest_rows_name_file_and_line(
    tmp_path: Path, name: str, manifest: str, line: int, words: list[str]
) -> None:
    folder = _folder(tmp_path, name, manifest)
    with pytest.raises(InputError) as info:
        read_articles(folder)
    assert info.value.source == str(folder / name)
    assert info.value.line == line
    for w in words:
        assert w in str(info.value)


def test_two_manifests_are_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "articles.csv", "id\na\n")
    (folder / "articles.jsonl").write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="keep one manifest"):
        read_articles(folder)
