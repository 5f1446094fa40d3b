"""Classifying many reports: JSON lines in (`{"id", "text"}`), JSON lines out.

A bad line (not JSON, no text) gets an output line with its error rather than stopping the
batch, so one malformed report never loses the classification of the others
(`chartkeeper.jsonl`, the reader de-identification batches use too).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from chartkeeper.jsonl import map_text_lines
from chartkeeper.registry.classify import classify


def classify_lines(lines: Iterable[str | bytes]) -> Iterator[dict]:
    return map_text_lines(
        lines, lambda record: classify(record["text"]).as_json(report_id=record.get("id"))
    )
