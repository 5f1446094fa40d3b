"""The de-identified export: streams the store like `export_ndjson`, writes NDJSON and a report.

Two passes over one read transaction. The first learns every Patient, RelatedPerson,
Coverage and Practitioner (their identifiers are what free text is checked against; memory
is a few hundred bytes per patient). The second de-identifies and validates each resource
of each type and writes `out/<Type>.ndjson`, then `out/deidentification.json`: counts by
identifier kind, the method, whether dates were shifted and the key's fingerprint. The key
itself is never written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import orjson

from chartkeeper.errors import InvalidResource
from chartkeeper.fhir.validation import validate
from chartkeeper.store import Repository

from .context import DeidContext
from .gazetteer import Gazetteer
from .resource import deidentify_resource

REPORT_NAME = "deidentification.json"
# Learned first: the types that state a patient's identifiers or a clinician's name.
LEARNED_TYPES = ("Patient", "RelatedPerson", "Coverage", "Practitioner")


@dataclass
class DeidReport:
    """What a de-identified export did; `to_json()` is what deidentification.json holds."""

    method: str
    date_shift: bool
    key_fingerprint: str
    as_of: str
    resources: dict[str, int] = field(default_factory=dict)  # written, by type
    dropped: dict[str, int] = field(default_factory=dict)  # not exported, by type
    invalid: list[str] = field(default_factory=list)  # "Type/pseudonym: problem"
    structured: dict[str, int] = field(default_factory=dict)  # removed, by kind
    free_text: dict[str, int] = field(default_factory=dict)  # removed from text, by kind

    @property
    def total(self) -> int:
        return sum(self.resources.values())

    def to_json(self) -> dict:
        return {
            "standard": "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
            "method": self.method,
            "date_shift": self.date_shift,
            "dates": (
                "moved by a keyed per-patient offset of 1-365 days (intervals kept); "
                "year only where a resource names no patient"
                if self.date_shift
                else "year only"
            ),
            "key_fingerprint": self.key_fingerprint,
            "as_of": self.as_of,
            "resources": dict(sorted(self.resources.items())),
            "dropped": dict(sorted(self.dropped.items())),
            "invalid": self.invalid,
            "removed": {
                "structured": dict(sorted(self.structured.items())),
                "free_text": dict(sorted(self.free_text.items())),
            },
            "notice": (
                "Free-text scrubbing combines the record's own identifiers, patterns and "
                "name heuristics; it is not perfect. Review a sample before any release."
            ),
        }


def export_deidentified(
    repo: Repository,
    out: Path,
    *,
    key: bytes,
    method: str = "safe-harbor",
    date_shift: bool = False,
    types: Iterable[str] | None = None,
    on_resource: Callable[[], None] | None = None,
    as_of: date | None = None,
    gazetteer: Gazetteer | None = None,
) -> DeidReport:
    """Write a de-identified copy of the live resources as `out/<Type>.ndjson` and
    `out/deidentification.json`; return the report.

    key: secret bytes (>= 16; `parse_key` reads hex or base64) that pseudonyms and date
    shifts derive from: the same key gives the same output, so keep it to re-export.
    gazetteer: name and place lists for free text (`load_gazetteer`; default: built-in lists).
    types: only these resource types (default: all stored). A resource that fails FHIR
    validation after de-identification is not written and is listed in `report.invalid`.
    """
    ctx = DeidContext(key, method=method, date_shift=date_shift, as_of=as_of, gazetteer=gazetteer)
    report = DeidReport(method, date_shift, ctx.fingerprint, ctx.as_of.isoformat())
    out.mkdir(parents=True, exist_ok=True)
    with repo.reading() as tx:
        for rtype in LEARNED_TYPES:
            for content in tx.iter_content(rtype):
                ctx.learn(orjson.loads(content))
        for rtype in types or tx.resource_types():
            path = out / f"{rtype}.ndjson"
            written = 0
            with path.open("wb") as handle:
                for content in tx.iter_content(rtype):
                    if on_resource:
                        on_resource()
                    result = deidentify_resource(orjson.loads(content), ctx)
                    if result is None:
                        report.dropped[rtype] = report.dropped.get(rtype, 0) + 1
                        continue
                    try:
                        validate(result)
                    except InvalidResource as exc:
                        detail = "; ".join(str(i) for i in exc.issues[:3])
                        report.invalid.append(f"{rtype}/{result.get('id')}: {detail}")
                        continue
                    handle.write(orjson.dumps(result) + b"\n")
                    written += 1
            if written:
                report.resources[rtype] = written
            else:
                path.unlink()
    report.structured = dict(ctx.structured)
    report.free_text = dict(ctx.free_text)
    (out / REPORT_NAME).write_bytes(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2))
    return report
