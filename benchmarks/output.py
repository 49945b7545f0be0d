"""How a benchmark hands over its result: one JSON object, printed, and written to ``--out`` if given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit_json(result: Any, out: Path | None) -> None:
    """Print ``result`` as indented JSON, and write the same text to ``out`` when there is one."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
