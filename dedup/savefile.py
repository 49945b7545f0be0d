"""Files of plain arrays: how the engine saves its indexes between runs. Data, never code.

A file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) written without pickled objects and read
with ``allow_pickle=False``, so reading one can only give numbers, never run anything. One member,
``header``, holds a JSON object (as UTF-8 bytes in a uint8 array) that says what the arrays were built
from, with a checksum of every other array: a truncated, corrupted or edited file is refused when it is
read, and its owner rebuilds what it held.

The checksum (xxh3-128 of every array's name, type, shape and bytes) detects damage and mix-ups; it is
not a signature: whoever can write the file can also write the database beside it.
"""

from __future__ import annotations

import errno
import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from dedup.errors import ResourceExhausted

__all__ = ["SavedFileError", "checksum", "read_arrays", "read_header", "write_arrays"]

HEADER = "header"


class SavedFileError(ValueError):
    """A saved file is missing, unreadable, not one this module wrote, or damaged."""


def checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """A digest of arrays by name: their names, element types, shapes and bytes."""
    h = xxhash.xxh3_128()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(json.dumps([name, a.dtype.str, list(a.shape)]).encode())
        h.update(a.data if a.size else b"")
    return h.hexdigest()


def write_arrays(path: Path, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``header`` (JSON values) to ``path`` atomically: a reader sees the old file
    or the whole new one. A full disk is ``ResourceExhausted``; nothing is left half-written."""
    if HEADER in arrays:
        raise ValueError(f"{HEADER!r} is the header's name, not an array's")
    for name, a in arrays.items():
        if a.dtype.hasobject:
            raise ValueError(f"array {name!r} holds Python objects; only plain numbers are saved")
    full = {**header, "checksum": checksum(arrays)}
    encoded = np.frombuffer(json.dumps(full, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as f:
            members: dict[str, Any] = {HEADER: encoded, **arrays}
            np.savez(f, allow_pickle=False, **members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise ResourceExhausted(
                f"the disk holding {path.parent} is full: the indexes were not saved (they are rebuilt "
                "from the database at the next start). Free space on it"
            ) from exc
        raise


@contextmanager
def _opened(path: Path) -> Iterator[Any]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            yield npz
    except SavedFileError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise SavedFileError(f"{path}: not a readable file of arrays ({exc})") from exc


def read_header(path: Path) -> dict[str, Any]:
    """The header of a saved file, without reading its arrays."""
    with _opened(path) as npz:
        return _header(path, npz)


def _header(path: Path, npz: Any) -> dict[str, Any]:
    if HEADER not in npz.files:
        raise SavedFileError(f"{path}: no header")
    raw = npz[HEADER]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise SavedFileError(f"{path}: the header is not text")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SavedFileError(f"{path}: the header is not JSON ({exc})") from exc
    if not isinstance(header, dict) or not isinstance(header.get("checksum"), str):
        raise SavedFileError(f"{path}: the header has no checksum")
    return header


def read_arrays(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the arrays of a file ``write_arrays`` wrote. ``SavedFileError`` when it cannot be
    read, holds pickled objects, or its arrays do not match the header's checksum."""
    with _opened(path) as npz:
        header = _header(path, npz)
        try:
            arrays = {name: npz[name] for name in npz.files if name != HEADER}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:  # pickled or damaged arrays
            raise SavedFileError(f"{path}: an array cannot be read ({exc})") from exc
    if checksum(arrays) != header["checksum"]:
        raise SavedFileError(f"{path}: the arrays do not match the header's checksum")
    return header, arrays
