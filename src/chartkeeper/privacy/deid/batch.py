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

from chartkeeper.jsonl import BadLine, map_text_lines

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

    def scrub(record: dict[str, Any]) -> dict[str, Any]:
        patient = record.get("patient")
        if patient is not None:
            if not isinstance(patient, str):
                raise BadLine("'patient' must be a Patient id (a string)")
            problem = learn_patient(patient) if learn_patient else "no record store to read"
            if problem:
                raise BadLine(f"patient {patient}: {problem}")
        return {"id": record.get("id"), **scrub_one(record["text"], ctx, patient)}

    return map_text_lines(lines, scrub)
