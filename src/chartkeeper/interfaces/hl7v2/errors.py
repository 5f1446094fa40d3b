"""The HL7 v2 error family: located problems, and the error that carries them to the ACK.

This module owns how a problem is said: where (a Location numbered as the standard numbers
it, which becomes ERR-2), what (an HL7 table 0357 condition code, ERR-3, and words, ERR-8),
how bad (table 0516 severity, ERR-4), and whether the message is rejected (AR: its header,
type, version or delimiters are unacceptable) or in error (AE: its content is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chartkeeper.errors import ChartkeeperError, Issue

if TYPE_CHECKING:
    from chartkeeper.interfaces.hl7v2.parser import Segment

# HL7 table 0357, message error condition codes (the ERR-3 values we use).
SEGMENT_SEQUENCE = 100
REQUIRED_FIELD = 101
DATA_TYPE = 102
TABLE_VALUE = 103
VALUE_TOO_LONG = 104
UNSUPPORTED_TYPE = 200
UNSUPPORTED_EVENT = 201
UNSUPPORTED_PROCESSING_ID = 202
UNSUPPORTED_VERSION = 203
UNKNOWN_KEY = 204
DUPLICATE_KEY = 205
RECORD_LOCKED = 206
INTERNAL = 207
ERROR_TEXT = {
    SEGMENT_SEQUENCE: "Segment sequence error",
    REQUIRED_FIELD: "Required field missing",
    DATA_TYPE: "Data type error",
    TABLE_VALUE: "Table value not found",
    VALUE_TOO_LONG: "Value too long",
    UNSUPPORTED_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION: "Unsupported version id",
    UNKNOWN_KEY: "Unknown key identifier",
    DUPLICATE_KEY: "Duplicate key identifier",
    RECORD_LOCKED: "Application record locked",
    INTERNAL: "Application internal error",
}


@dataclass(frozen=True)
class Location:
    """Where a value sits, numbered as the standard numbers it (ERR-2, data type ERL)."""

    segment: str
    sequence: int = 1
    field: int | None = None
    repetition: int | None = None
    component: int | None = None
    subcomponent: int | None = None

    def parts(self) -> list[str]:
        parts = [self.segment, str(self.sequence)]
        if self.field is not None:
            parts.append(str(self.field))
        deeper = (self.repetition, self.component, self.subcomponent)
        if any(p is not None for p in deeper):
            parts.append(str(self.repetition or 1))
            parts.extend(str(p) for p in deeper[1:] if p is not None)
        return parts

    def __str__(self) -> str:
        """Human form: PID-3, PID-3(2).4, OBX[5]-5."""
        text = self.segment if self.sequence == 1 else f"{self.segment}[{self.sequence}]"
        if self.field is None:
            return text
        text += f"-{self.field}"
        if self.repetition and self.repetition > 1:
            text += f"({self.repetition})"
        return text + "".join(f".{p}" for p in (self.component, self.subcomponent) if p)

    def at(self, **changes: int | None) -> Location:
        return Location(**{**self.__dict__, **changes})


@dataclass(frozen=True)
class Problem:
    """One ERR segment's worth: location, table 0357 code, text, severity (table 0516)."""

    location: Location | None
    code: int
    text: str
    severity: str = "E"  # E error | W warning | I information


class Hl7Error(ChartkeeperError):
    """A message we cannot accept. `ack_code` is AR (reject: the header or the message
    type/version/encoding is not acceptable) or AE (error in the content)."""

    code = "invalid"
    http_status = 400

    def __init__(self, ack_code: str, problems: list[Problem], header: Segment | None = None):
        self.ack_code = ack_code
        self.problems = problems
        self.header = header
        first = problems[0]
        where = f"{first.location}: " if first.location else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"{where}{first.text}{more}",
            [Issue(str(p.location or ""), p.text) for p in problems],
        )


def reject(location: Location | None, code: int, text: str) -> Hl7Error:
    return Hl7Error("AR", [Problem(location, code, text)])


def error(location: Location | None, code: int, text: str) -> Hl7Error:
    return Hl7Error("AE", [Problem(location, code, text)])
