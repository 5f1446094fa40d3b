"""General acknowledgments (HL7 v2 chapter 2, 2.9.2 "original acknowledgment mode").

This module owns the ACK message: MSH with the sending and receiving application and
facility swapped, MSA-1 acknowledgment code (table 0008: AA accepted, AE error, AR
rejected) and MSA-2 echoing the control id, and one ERR segment per problem. ERR follows
v2.5+ (ERR-2 location as ERL `PID^1^7`, ERR-3 table 0357 code, ERR-4 severity per table
0516, ERR-8 user message); for older versions, which only know ERR-1 (ELD) and MSA-3, those
are filled instead, so a v2.3 sender can read why its message was refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chartkeeper.interfaces.hl7v2.errors import ERROR_TEXT, Problem
from chartkeeper.interfaces.hl7v2.parser import Segment, Separators


@dataclass(frozen=True)
class Ack:
    """The answer to one message: the ACK text and what it says."""

    code: str  # AA | AE | AR
    text: str  # the ACK message, segments ended by CR
    control_id: str  # MSH-10 of the message acknowledged ("" when unreadable)
    message_type: str  # "ADT^A01", or "" when MSH-9 was unreadable
    problems: tuple[Problem, ...] = ()
    duplicate: bool = False  # a re-sent control id, answered from the message log
    resources: tuple[str, ...] = field(default=())  # "Type/id/_history/n" written

    @property
    def accepted(self) -> bool:
        return self.code == "AA"


def _old_version(version: str) -> bool:
    """ERR-2..8 arrived in v2.5; earlier versions only have ERR-1 and MSA-3."""
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")[:2]] or [0]
    return tuple(parts) < (2, 5)


def _erl(problem: Problem, seps: Separators) -> str:
    if problem.location is None:
        return ""
    return seps.component.join(seps.escape_text(p) for p in problem.location.parts())


def _err_segment(problem: Problem, seps: Separators, old: bool) -> str:
    c = seps.component
    code = f"{problem.code}{c}{seps.escape_text(ERROR_TEXT[problem.code])}{c}HL70357"
    text = seps.escape_text(problem.text)
    if old:
        # ELD (2A.24): segment id ^ sequence ^ field position ^ code (CE, as subcomponents).
        loc = problem.location.parts()[:3] if problem.location else []
        s = seps.subcomponent
        eld = c.join([*loc, *[""] * (3 - len(loc)), f"{problem.code}{s}{text}{s}HL70357"])
        return seps.field.join(["ERR", eld])
    return seps.field.join(
        ["ERR", "", _erl(problem, seps), code, problem.severity, "", "", "", text]
    )


def build_ack(
    header: Segment | None,
    code: str,
    problems: list[Problem] | tuple[Problem, ...] = (),
    *,
    now: datetime | None = None,
) -> str:
    """The ACK for a message whose MSH is `header` (None when no MSH could be read)."""
    seps = header.seps if header else Separators()
    fs, c = seps.field, seps.component
    raw = header.raw if header else (lambda _n: "")
    event = header.rep(9).get(2) if header else ""
    version = header.get(12) if header else ""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S+0000")
    # ACK^<event>^ACK: MSH-9.3 is the message structure, ACK for every general ack.
    message_type = c.join(("ACK", seps.escape_text(event), "ACK")) if event else "ACK"
    msh = fs.join(
        [
            "MSH",
            seps.encoding,
            raw(5),
            raw(6),
            raw(3),
            raw(4),
            stamp,
            "",
            message_type,
            uuid.uuid4().hex[:20],
            raw(11) or "P",
            raw(12) or "2.5.1",
        ]
    )
    old = bool(version) and _old_version(version)
    errors = list(problems)
    msa = ["MSA", code, raw(10)]
    if old and errors:
        msa.append(seps.escape_text(errors[0].text)[:80])
    segments = [msh, fs.join(msa)] + [_err_segment(p, seps, old) for p in errors]
    return "\r".join(segments) + "\r"
