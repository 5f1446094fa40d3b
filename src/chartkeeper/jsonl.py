"""JSON Lines batches of free text: one `{"id", "text", ...}` object a line in, one result a
line out, in input order.

A line that cannot be used (binary, not JSON, not an object, no string 'text', or refused by
the caller's own checks) gives `{"id", "line", "error"}` and the batch goes on, so one bad
line never loses the others. De-identification (`privacy.deid.batch`) and report
classification (`registry.batch`) both read their batches here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson


class BadLine(ValueError):
    """A batch line that is not a usable record; the message says why."""


def parse_text_line(raw: bytes | str) -> dict[str, Any]:
    """The JSON object of one line, with a string 'text', or BadLine saying what is wrong."""
    if ("\x00" if isinstance(raw, str) else b"\x00") in raw:
        raise BadLine("binary content (a NUL byte), not a JSON text line")
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadLine(f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise BadLine(f"a JSON {type(record).__name__}, expected an object with 'text'")
    text = record.get("text")
    if not isinstance(text, str):
        what = "no 'text'" if text is None else f"'text' is a {type(text).__name__}"
        raise BadLine(f"{what}; each line needs a string 'text'")
    return record


def map_text_lines(
    lines: Iterable[bytes | str], handle: Callable[[dict[str, Any]], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """One result per non-blank line, in order: handle(record) for a usable line (it may
    raise BadLine for checks of its own), else `{"id", "line", "error"}`."""
    for number, raw in enumerate(lines, start=1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            yield handle(parse_text_line(raw))
        except BadLine as exc:
            yield {"id": _id_of(raw), "line": number, "error": str(exc)}


def _id_of(raw: bytes | str) -> Any:
    """The id of an unusable line, when the line is a JSON object at all."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return record.get("id") if isinstance(record, dict) else None
