"""An exact HL7 v2 parser: bytes or text in, segments and located values out.

This module owns the wire syntax of HL7 v2 (chapter 2, "Control"): finding the messages in
a file or stream, reading each message's delimiters from MSH-1 and MSH-2 (never assuming
`|^~\\&`), splitting segments, fields, repetitions, components and subcomponents, and
undoing escape sequences (2.7, "Use of escape sequences in text fields"). Every value read
through it knows its Location, so a problem is reported as `PID^1^7` (segment, occurrence,
field), the form ERR-2 takes, rather than as an offset.

Leniency is limited to what real feeds do: segments may end with CR, LF or CR LF; a UTF-8
byte order mark may precede MSH; several messages may follow each other in one file, bare
or inside FHS/BHS batch envelopes (2.10.3); a line that is not a segment (a text value
broken by a stray CR) continues the segment before it, with a warning. Everything else
that breaks the syntax is an error with a location.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from chartkeeper.interfaces.hl7v2.errors import (
    DATA_TYPE,
    SEGMENT_SEQUENCE,
    TABLE_VALUE,
    Hl7Error,
    Location,
    Problem,
    reject,
)

_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_BATCH_SEGMENTS = ("FHS", "BHS", "BTS", "FTS")
_BOM = "\ufeff"


# --- delimiters and escapes --------------------------------------------------------------


@dataclass(frozen=True)
class Separators:
    """The delimiters of one message, from MSH-1 and MSH-2 (2.5.4, "Message delimiters")."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = ""  # v2.7+ fifth encoding character, usually '#'

    @property
    def encoding(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent + self.truncation

    def escape_text(self, text: str) -> str:
        """Text made safe to place in a field (2.7.1)."""
        e = self.escape
        out = text.replace(e, f"{e}E{e}")
        for char, code in (
            (self.field, "F"),
            (self.component, "S"),
            (self.subcomponent, "T"),
            (self.repetition, "R"),
        ):
            out = out.replace(char, f"{e}{code}{e}")
        if self.truncation:
            out = out.replace(self.truncation, f"{e}P{e}")
        return out.replace("\r", f"{e}X0D{e}").replace("\n", f"{e}.br{e}")

    def unescape(self, text: str) -> str:
        """The text a field value stands for. Formatting commands of FT (2.7.6) become
        line breaks or nothing; an escape we do not know is kept as written."""
        e = self.escape
        if e not in text:
            return text
        out: list[str] = []
        pos = 0
        while True:
            start = text.find(e, pos)
            end = text.find(e, start + 1) if start >= 0 else -1
            if start < 0 or end < 0:
                out.append(text[pos:])
                return "".join(out)
            out.append(text[pos:start])
            out.append(self._escape_value(text[start + 1 : end], text[start : end + 1]))
            pos = end + 1

    def _escape_value(self, code: str, written: str) -> str:
        simple = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
            "P": self.truncation,
        }
        if simple.get(code):
            return simple[code]
        if code in ("H", "N"):  # start/end highlighting: no plain-text meaning
            return ""
        if code == ".br" or code.startswith(".sp"):
            count = code[3:].strip()
            return "\n" * (int(count) if count.isdigit() and code != ".br" else 1)
        if code[:3] in (".in", ".ti", ".sk", ".ce", ".fi", ".nf"):
            return ""
        if code[:1] == "X" and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", code[1:]):
            raw = bytes.fromhex(code[1:])
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
        return written


def _is_delimiter(char: str) -> bool:
    return len(char) == 1 and not char.isalnum() and not char.isspace() and char.isprintable()


def read_separators(line: str) -> Separators:
    """Delimiters from an MSH (or FHS/BHS) line; AR when they are unusable."""
    name = line[:3]
    if len(line) < 8:
        raise reject(Location(name, 1, 2), DATA_TYPE, f"{name} ends before its delimiters")
    fs = line[3]
    if not _is_delimiter(fs):
        raise reject(
            Location(name, 1, 1), DATA_TYPE, f"field separator {fs!r} is not a usable delimiter"
        )
    encoding = line[4:].split(fs, 1)[0]
    if len(encoding) not in (4, 5) or len(set(encoding + fs)) != len(encoding) + 1:
        raise reject(
            Location(name, 1, 2),
            DATA_TYPE,
            f"encoding characters {encoding!r} are not four (or five) distinct delimiters",
        )
    if not all(_is_delimiter(c) for c in encoding):
        raise reject(
            Location(name, 1, 2),
            DATA_TYPE,
            f"encoding characters {encoding!r} contain a letter, digit or space",
        )
    return Separators(fs, *encoding[:4], encoding[4:])


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Composite:
    """One repetition of a field (parts are components) or one component (parts are
    subcomponents). `get(i)` is the unescaped text of part i, 1-based; "" when absent,
    and for the HL7 null `""`."""

    raw: str
    seps: Separators
    loc: Location
    level: int = 0  # 0: parts are components; 1: parts are subcomponents

    @property
    def parts(self) -> list[str]:
        return self.raw.split(self.seps.component if self.level == 0 else self.seps.subcomponent)

    def raw_part(self, i: int) -> str:
        parts = self.parts
        return parts[i - 1] if 0 < i <= len(parts) else ""

    def get(self, i: int) -> str:
        raw = self.raw_part(i)
        if self.level == 0:
            raw = raw.split(self.seps.subcomponent, 1)[0]
        return "" if raw == '""' else self.seps.unescape(raw).strip()

    def sub(self, i: int) -> Composite:
        """Component i as a composite of its subcomponents."""
        return Composite(self.raw_part(i), self.seps, self.loc_of(i), 1)

    def loc_of(self, i: int) -> Location:
        if self.level == 0:
            return self.loc.at(repetition=self.loc.repetition or 1, component=i)
        return self.loc.at(subcomponent=i)

    def text(self) -> str:
        """The whole value as text, delimiters inside it kept literally: for ST/TX/FT
        values whose senders did not escape a stray '^' or '&'."""
        return "" if self.raw == '""' else self.seps.unescape(self.raw).rstrip()

    @property
    def empty(self) -> bool:
        return not self.raw or self.raw == '""' or not self.raw.strip(self.seps.encoding + " ")


@dataclass
class Segment:
    name: str
    sequence: int  # which occurrence of this segment name in the message, from 1
    fields: list[str]  # raw; fields[n] is field n (for MSH, fields[1] is MSH-1)
    seps: Separators
    line: int  # line within the message, from 1

    def raw(self, n: int) -> str:
        return self.fields[n] if 0 < n < len(self.fields) else ""

    def loc(self, n: int | None = None) -> Location:
        return Location(self.name, self.sequence, n)

    def reps(self, n: int) -> list[Composite]:
        """The non-empty repetitions of field n."""
        raw = self.raw(n)
        if self.name in ("MSH", "FHS", "BHS") and n <= 2:
            return [Composite(raw, self.seps, self.loc(n))] if raw else []
        return [
            Composite(r, self.seps, self.loc(n).at(repetition=i))
            for i, r in enumerate(raw.split(self.seps.repetition), start=1)
            if r and r != '""'
        ]

    def rep(self, n: int) -> Composite:
        """The first repetition of field n (empty when the field is)."""
        reps = self.reps(n)
        return reps[0] if reps else Composite("", self.seps, self.loc(n).at(repetition=1))

    def get(self, n: int, component: int = 1) -> str:
        return self.rep(n).get(component)

    def __str__(self) -> str:
        if self.name == "MSH":
            return "MSH" + self.seps.field + self.seps.field.join(self.fields[2:])
        return self.seps.field.join(self.fields)


@dataclass
class Message:
    segments: list[Segment]
    seps: Separators
    text: str  # the message with CR segment terminators, as it was parsed
    warnings: list[Problem] = field(default_factory=list)

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    @property
    def type(self) -> str:
        return self.msh.get(9, 1).upper()

    @property
    def event(self) -> str:
        """MSH-9.2; before v2.3.1 MSH-9 was the type alone and EVN-1 named the event."""
        event = self.msh.get(9, 2).upper()
        if not event:
            evn = self.first("EVN")
            event = evn.get(1).upper() if evn else ""
        return event

    @property
    def control_id(self) -> str:
        return self.msh.get(10)

    @property
    def version(self) -> str:
        return self.msh.get(12)

    @property
    def sender(self) -> tuple[str, str]:
        """MSH-3 and MSH-4 as written: the scope of MSH-10 control ids."""
        return self.msh.raw(3), self.msh.raw(4)

    def __str__(self) -> str:
        return "\r".join(str(s) for s in self.segments)


# --- finding messages ----------------------------------------------------------------------


def split_messages(data: bytes | str) -> list[bytes] | list[str]:
    """The messages in a file or stream, each with CR segment terminators, still as bytes
    when given bytes (each message is decoded on its own, by `decode_message`).

    Segment terminators are CR as the standard says (2.5.2), or LF, or CR LF: when the data
    holds any CR, CR ends a segment and a lone LF is data (a line break inside a text
    value); otherwise LF does. Batch envelope segments are dropped; lines before the first
    MSH are returned as a message of their own, which then fails to parse with a located
    error rather than vanishing.
    """
    # Latin-1 maps every byte to one character and back, so bytes split exactly as text.
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    text = text.replace("\r\n", "\r")
    bom = _BOM.encode().decode("latin-1") if isinstance(data, bytes) else _BOM
    chunks: list[list[str]] = []
    current: list[str] | None = None
    for line in text.split("\r" if "\r" in text else "\n"):
        line = line.removeprefix(bom)
        if not line.strip() or line.strip() in ("\x0b", "\x1c"):
            continue
        if line.startswith(_BATCH_SEGMENTS):
            current = None
            continue
        if line.startswith("MSH") or current is None:
            current = []
            chunks.append(current)
        current.append(line)
    messages = ["\r".join(chunk) for chunk in chunks]
    if isinstance(data, bytes):
        return [m.encode("latin-1") for m in messages]
    return messages


# MSH-18 character sets (HL7 table 0211) we can read, as Python codecs.
_CHARSETS = {
    "": "utf-8",
    "ASCII": "utf-8",  # a superset; bytes above 0x7F are read as UTF-8, not refused
    "UNICODE UTF-8": "utf-8",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/5": "iso8859-5",
    "8859/7": "iso8859-7",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
}


def decode_message(raw: bytes | str) -> str:
    """One message's bytes as text, per its MSH-18 (UTF-8 when it names none)."""
    if isinstance(raw, str):
        return raw.removeprefix(_BOM)
    raw = raw.removeprefix(_BOM.encode())
    charset = ""
    if raw.startswith(b"MSH") and len(raw) > 3:
        fs = raw[3:4]
        msh = raw.split(b"\r", 1)[0].split(fs)
        if len(msh) > 17:
            charset = msh[17].decode("latin-1").split(chr(msh[1][0]) if msh[1] else "^")[0]
    codec = _CHARSETS.get(charset.strip().upper())
    if codec is None:
        raise reject(Location("MSH", 1, 18), TABLE_VALUE, f"unsupported character set {charset!r}")
    try:
        return codecs.decode(raw, codec)
    except UnicodeDecodeError as exc:
        raise reject(
            Location("MSH", 1, 18),
            DATA_TYPE,
            f"byte {exc.start} of the message is not valid {codec} (MSH-18 says {charset or 'nothing'})",
        ) from None


# --- parsing one message -------------------------------------------------------------------


def parse_message(text: str) -> Message:
    """Parse one message (as split_messages returns it). Raises Hl7Error: AR when the
    MSH or its delimiters are unusable, AE when a later segment is malformed."""
    lines = text.split("\r")
    first = lines[0]
    if not first.startswith("MSH"):
        raise reject(
            Location("MSH", 1),
            SEGMENT_SEQUENCE,
            f"a message must start with an MSH segment, not {first[:20]!r}",
        )
    seps = read_separators(first)
    fs = seps.field
    msh = Segment("MSH", 1, ["MSH", fs, *first[4:].split(fs)], seps, 1)
    segments = [msh]
    counts: dict[str, int] = {"MSH": 1}
    warnings: list[Problem] = []
    for number, line in enumerate(lines[1:], start=2):
        name = line[:3]
        if _SEGMENT_NAME.fullmatch(name) and len(line) > 3 and _is_delimiter(line[3]):
            if line[3] != fs:
                # The segments agree on a delimiter the MSH did not declare: MSH-1 is wrong.
                text = (
                    f"MSH-1 declares {fs!r} but line {number} ({name}) separates with {line[3]!r}"
                )
                # Its fields were split on the wrong character: answer without them.
                raise Hl7Error("AR", [Problem(Location("MSH", 1, 1), DATA_TYPE, text)])
        elif not (_SEGMENT_NAME.fullmatch(name) and len(line) == 3):
            # A text value with a raw CR in it: the rest of the line belongs to the segment
            # before (the line break kept), rather than the whole message being refused.
            previous = segments[-1]
            if previous is msh:
                text = f"line {number} is not a segment: {line[:30]!r}"
                raise Hl7Error("AE", [Problem(None, SEGMENT_SEQUENCE, text)], msh)
            joined = fs.join(previous.fields) + seps.escape_text("\n") + line
            previous.fields = joined.split(fs)
            text = f"line {number} is not a segment; read as the continuation of {previous.name}"
            warnings.append(Problem(previous.loc(), SEGMENT_SEQUENCE, text, "W"))
            continue
        if name == "MSH":
            raise Hl7Error(
                "AR",
                [Problem(Location("MSH", 2), SEGMENT_SEQUENCE, "more than one message given")],
                msh,
            )
        counts[name] = counts.get(name, 0) + 1
        segments.append(Segment(name, counts[name], line.split(fs), seps, number))
    return Message(segments, seps, text, warnings)


def parse_messages(data: bytes | str) -> list[Message]:
    """Every message in a file or stream; raises Hl7Error for the first that is malformed."""
    return [parse_message(decode_message(chunk)) for chunk in split_messages(data)]
