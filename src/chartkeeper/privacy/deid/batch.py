"""Scrubbing notes outside the record store: one text, or a JSON Lines batch of them.

The same engine as the de-identified export (`scrub_text` with a `DeidContext`), for
privacy officers and researchers who hold notes as files. A batch line is
`{"id": ..., "text": ..., "patient": optional Patient id}`; each gives one result in input
order, `{"id", "text", "spans": [{"start", "end", "kind", "replacement"}]}` with offsets
into the input text, or `{"id", "line", "error"}` for a line that cannot be read (not JSON,
no text, binary) while the other lines still come out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from .context import DeidContext
from .text import Finding, scrub_text


def spans_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [
        {"start": f.start, "end": f.end, "kind": f.kind, "replacement": f.replacement}
        for f in findings
    ]


def scrub_one(text: str, ctx: DeidContext, patient: str | None = None) -> dict[str, Any]:
    """`{"text", "spans"}` for one note."""
    clean, findings = scrub_text(text, ctx, patient=patient)
    return {"text": clean, "spans": spans_json(findings)}


class BadLine(ValueError):
    """A batch line that is not a usable note; the message says why."""


def parse_line(raw: bytes) -> tuple[Any, str, str | None]:
    """(id, text, patient) of one JSON Lines record, or BadLine saying what is wrong."""
    if b"\x00" in raw:
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
    patient = record.get("patient")
    if patient is not None and not isinstance(patient, str):
        raise BadLine("'patient' must be a Patient id (a string)")
    return record.get("id"), text, patient


def scrub_lines(
    lines: Iterable[bytes],
    ctx: DeidContext,
    *,
    learn_patient: Callable[[str], str | None] | None = None,
) -> Iterator[dict[str, Any]]:
    """One result per non-blank input line, in order (see the module doc).

    learn_patient(patient_id) teaches `ctx` that patient's record and returns None, or an
    error message (unknown patient, no store); the line is then reported, not scrubbed
    without the record it asked for.
    """
    for number, raw in enumerate(lines, start=1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            note_id, text, patient = parse_line(raw)
        except BadLine as exc:
            yield {"id": _id_of(raw), "line": number, "error": str(exc)}
            continue
        if patient is not None:
            problem = learn_patient(patient) if learn_patient else "no record store to read"
            if problem:
                yield {"id": note_id, "line": number, "error": f"patient {patient}: {problem}"}
                continue
        yield {"id": note_id, **scrub_one(text, ctx, patient)}


def _id_of(raw: bytes) -> Any:
    """The id of a line whose text is unusable, when the line is JSON at all."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return record.get("id") if isinstance(record, dict) else None
