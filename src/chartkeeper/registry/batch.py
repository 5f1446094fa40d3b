"""Classifying many reports: JSON lines in (`{"id", "text"}`), JSON lines out.

A bad line (not JSON, no text) gets an output line with its error rather than stopping the
batch, so one malformed report never loses the classification of the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from chartkeeper.registry.classify import classify


def classify_lines(lines: Iterable[str]) -> Iterator[dict]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield {"id": None, "line": number, "error": f"not JSON: {exc.msg}"}
            continue
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            ident = item.get("id") if isinstance(item, dict) else None
            yield {"id": ident, "line": number, "error": "each line needs a 'text' string"}
            continue
        yield classify(item["text"]).as_json(report_id=item.get("id"))
