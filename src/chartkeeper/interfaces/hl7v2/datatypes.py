"""HL7 v2 data types (chapter 2A) to FHIR R4 data types, as the v2-to-FHIR guide maps them.

This module owns the value-level mapping: DTM to date/dateTime/instant, CX and EI to
Identifier, HD to an identifier system, XPN to HumanName, XAD to Address, XTN to
ContactPoint, CWE/CE to CodeableConcept, XCN to a logical Reference, PL to words, NM to a
number, and the deterministic resource ids derived from business identifiers. A value that cannot be
converted raises Hl7Error (AE, table 0357 code 102) naming its Location.
"""

from __future__ import annotations

import calendar
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote

from chartkeeper.interfaces.hl7v2.errors import DATA_TYPE, Location, Problem, error
from chartkeeper.interfaces.hl7v2.parser import Composite

V2 = "http://terminology.hl7.org/CodeSystem/v2-"
LOCAL = "urn:chartkeeper:hl7v2:"  # prefix of systems minted for names no registry gives
_ID_NAMESPACE = uuid.UUID("2b0f6a8e-9a5d-4c1e-8f43-7d6c0e5b9a21")
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def resource_id(resource_type: str, *key: str) -> str:
    """A stable id from business identifiers: the same visit number always names the same
    Encounter, so updates and re-sent messages land on one resource."""
    return str(uuid.uuid5(_ID_NAMESPACE, "|".join((resource_type, *key))))


# --- leniency --------------------------------------------------------------------------

# While a message is mapped (process.py), a value that cannot be converted is left out with
# a warning (ERR severity W) instead of refusing the whole message: interface engines keep
# such messages, and the raw message, stored beside what it produced, still has the value.
_KEPT_WARNINGS: ContextVar[list[Problem] | None] = ContextVar("hl7_warnings", default=None)


@contextmanager
def lenient(warnings: list[Problem]) -> Iterator[None]:
    """Within this block unreadable values become warnings appended to `warnings`."""
    token = _KEPT_WARNINGS.set(warnings)
    try:
        yield
    finally:
        _KEPT_WARNINGS.reset(token)


def unreadable(loc: Location, text: str) -> None:
    """Report a value that cannot be converted: a warning when lenient, else AE."""
    sink = _KEPT_WARNINGS.get()
    if sink is None:
        raise error(loc, DATA_TYPE, text)
    sink.append(Problem(loc, DATA_TYPE, f"{text}; left out (the stored raw message keeps it)", "W"))


def note(loc: Location, text: str, code: int = DATA_TYPE) -> None:
    """A warning about a value that was kept in another form (no-op when strict)."""
    sink = _KEPT_WARNINGS.get()
    if sink is not None:
        sink.append(Problem(loc, code, text, "W"))


# --- DTM (2A.22) -----------------------------------------------------------------------

_DTM = re.compile(
    r"(?P<y>\d{4})(?:(?P<mo>\d{2})(?:(?P<d>\d{2})(?:(?P<h>\d{2})(?:(?P<mi>\d{2})"
    r"(?:(?P<s>\d{2})(?P<f>\.\d{1,4})?)?)?)?)?)?(?P<tz>[+-]\d{4})?"
)


def offset_of(text: str) -> str | None:
    """The +HHMM offset a DTM carries, as FHIR writes it (+HH:MM), if any."""
    m = _DTM.fullmatch(text.strip())
    tz = m and m["tz"]
    if not tz or int(tz[1:3]) > 14 or int(tz[3:]) > 59:
        return None
    return f"{tz[:3]}:{tz[3:]}"


# Forms HL7 does not allow but senders use: ISO 8601 punctuation (2024-01-05T08:30:00-05:00)
# and a space before the time or zone. Read after removing the punctuation, with a warning.
_PUNCTUATED = re.compile(
    r"\d{4}(-?\d{2}(-?\d{2}([T ]?\d{2}(:?\d{2}(:?\d{2}(\.\d+)?)?)?)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def _parse_dtm(text: str, loc: Location) -> re.Match[str] | None:
    """The parts of a DTM/TS (TS-1; a TS-2 degree of precision is a separate component).
    None, with a warning, when lenient and the value is not a date/time."""
    m = _DTM.fullmatch(text.strip())
    if m is None and _PUNCTUATED.fullmatch(text.strip()):
        squeezed = re.sub(r"[-:T ]", "", text.strip()[:10]) + re.sub(
            r"[:T ]", "", text.strip()[10:]
        )
        squeezed = squeezed.replace("Z", "+0000")
        if "." in squeezed:  # HL7 allows four fraction digits
            head, _, tail = squeezed.partition(".")
            digits = re.match(r"\d*", tail)[0]
            squeezed = f"{head}.{digits[:4]}{tail[len(digits) :]}"
        m = _DTM.fullmatch(squeezed)
        if m is not None:
            note(
                loc, f"{text!r} is not in HL7 DTM form (YYYYMMDDHHMMSS[+ZZZZ]); read as {squeezed}"
            )
    problem = None
    if m is None:
        problem = "is not an HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])"
    else:
        year, month, day = int(m["y"]), int(m["mo"] or 1), int(m["d"] or 1)
        if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
            problem = "is not a calendar date"
        elif int(m["h"] or 0) > 23 or int(m["mi"] or 0) > 59 or int(m["s"] or 0) > 59:
            problem = "is not a time of day"
        elif m["tz"] and (int(m["tz"][1:3]) > 14 or int(m["tz"][3:]) > 59):
            problem = "has an impossible time zone offset"
    if problem:
        unreadable(loc, f"{text!r} {problem}")
        return None
    return m


def to_date(text: str, loc: Location) -> str | None:
    """A DTM/DT as a FHIR date (its time, if any, dropped)."""
    if not text:
        return None
    m = _parse_dtm(text, loc)
    if m is None:
        return None
    return "-".join(p for p in (m["y"], m["mo"], m["d"]) if p)


def to_datetime(text: str, loc: Location, default_tz: str | None) -> str | None:
    """A DTM as a FHIR dateTime. FHIR requires a zone once there is a time; a DTM without
    one is read in `default_tz` (the sender's, from MSH-7), or cut to its date when that
    is unknown too, rather than inventing a zone."""
    if not text:
        return None
    m = _parse_dtm(text, loc)
    if m is None:
        return None
    date = "-".join(p for p in (m["y"], m["mo"], m["d"]) if p)
    tz = (f"{m['tz'][:3]}:{m['tz'][3:]}" if m["tz"] else None) or default_tz
    if not m["h"] or tz is None:
        return date
    clock = f"{m['h']}:{m['mi'] or '00'}:{m['s'] or '00'}{m['f'] or ''}"
    return f"{date}T{clock}{'Z' if tz in ('+00:00', '-00:00') else tz}"


def to_instant(text: str, loc: Location, default_tz: str | None) -> str | None:
    """A DTM as a FHIR instant, or None when it is not precise to the minute with a zone."""
    value = to_datetime(text, loc, default_tz)
    return value if value and "T" in value else None


# --- numbers ---------------------------------------------------------------------------

_NM = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def to_number(text: str, loc: Location) -> int | float:
    """An NM value (2A.47). JSON numbers lose trailing zeros (4.10 is stored as 4.1)."""
    value = text.strip()
    if not _NM.fullmatch(value):
        raise error(loc, DATA_TYPE, f"{text!r} is not a number (NM)")
    return float(value) if "." in value else int(value)


# --- identifiers -------------------------------------------------------------------------


def authority_system(namespace: str, universal: str, kind: str) -> str | None:
    """An identifier system URI from an assigning authority (HD 2A.36: namespace id,
    universal id, universal id type per table 0301)."""
    kind = kind.upper()
    if universal and kind == "ISO" and _OID.fullmatch(universal):
        return f"urn:oid:{universal}"
    if universal and kind in ("UUID", "GUID") and _UUID.fullmatch(universal):
        return f"urn:uuid:{universal.lower()}"
    if universal and kind == "URI" and ":" in universal:
        return universal
    name = namespace or universal
    return f"{LOCAL}authority:{quote(name, safe='')}" if name else None


def hd_system(hd: Composite) -> str | None:
    return authority_system(hd.get(1), hd.get(2), hd.get(3))


# Table 0203 identifier types that terminology.hl7.org publishes in CodeSystem v2-0203.
_ID_TYPES = set(
    [
        "AN",
        "BA",
        "BC",
        "BR",
        "DL",
        "DN",
        "DR",
        "EI",
        "EN",
        "FGN",
        "FILL",
        "GI",
        "GN",
        "LN",
        "LR",
        "MA",
        "MB",
        "MC",
        "MCN",
        "MR",
        "NH",
        "NI",
        "NIIP",
        "NPI",
        "PEN",
        "PGN",
        "PI",
        "PLAC",
        "PN",
        "PPN",
        "PRC",
        "PRN",
        "PT",
        "RRI",
        "SB",
        "SN",
        "SR",
        "SS",
        "TAX",
        "TN",
        "UPIN",
        "VN",
        "VS",
        "WC",
        "WCN",
        "XX",
    ]
)


def _id_type(code: str) -> dict | None:
    if not code:
        return None
    if code.upper() in _ID_TYPES:
        return {"coding": [{"system": f"{V2}0203", "code": code.upper()}]}
    return {"text": code}


def cx_identifier(cx: Composite, fallback_system: str | None, default_type: str = "") -> dict:
    """CX (2A.14) -> Identifier; the system falls back to the sending facility's when the
    sender names no assigning authority, since the number is then local to it."""
    ident: dict = {}
    system = hd_system(cx.sub(4)) or fallback_system
    if system:
        ident["system"] = system
    ident["value"] = cx.get(1)
    kind = _id_type(cx.get(5) or default_type)
    if kind:
        ident["type"] = kind
    if cx.get(4):
        ident["assigner"] = {"display": cx.get(4)}
    period = {
        k: v
        for k, v in (
            ("start", to_date(cx.get(7), cx.loc_of(7))),
            ("end", to_date(cx.get(8), cx.loc_of(8))),
        )
        if v
    }
    if period:
        ident["period"] = period
    return ident


def ei_identifier(ei: Composite, fallback_system: str | None, type_code: str = "") -> dict:
    """EI (2A.26: entity id ^ namespace ^ universal id ^ type) -> Identifier."""
    ident: dict = {}
    system = authority_system(ei.get(2), ei.get(3), ei.get(4)) or fallback_system
    if system:
        ident["system"] = system
    ident["value"] = ei.get(1)
    kind = _id_type(type_code)
    if kind:
        ident["type"] = kind
    return ident


# --- names, addresses, telecom ----------------------------------------------------------

# Table 0200 name types -> name-use, per the v2-to-FHIR NameType map.
_NAME_USE = {
    "L": "official",
    "R": "official",
    "D": "usual",
    "M": "maiden",
    "N": "nickname",
    "BAD": "old",
    "MSK": "anonymous",
    "NAV": "temp",
    "TEMP": "temp",
}


def xpn_name(xpn: Composite) -> dict | None:
    """XPN (2A.88) -> HumanName. XPN-1 is FN; its first subcomponent is the surname."""
    name: dict = {}
    use = _NAME_USE.get(xpn.get(7).upper())
    if use:
        name["use"] = use
    if xpn.sub(1).get(1):
        name["family"] = xpn.sub(1).get(1)
    given = [g for g in (xpn.get(2), xpn.get(3)) if g]
    if given:
        name["given"] = given
    if xpn.get(5):
        name["prefix"] = [xpn.get(5)]
    suffix = [s for s in (xpn.get(4), xpn.get(6)) if s]
    if suffix:
        name["suffix"] = suffix
    return name if set(name) - {"use"} else None


# Table 0190 address types -> address use or type.
_ADDRESS_USE = {"H": "home", "P": "home", "B": "work", "O": "work", "C": "temp", "BA": "old"}
_ADDRESS_TYPE = {"M": "postal", "SH": "postal"}


def xad_address(xad: Composite) -> dict | None:
    """XAD (2A.87) -> Address. XAD-1 is SAD; its parts (street, street name, dwelling
    number) are joined into the first line."""
    address: dict = {}
    kind = xad.get(7).upper()
    if kind in _ADDRESS_USE:
        address["use"] = _ADDRESS_USE[kind]
    if kind in _ADDRESS_TYPE:
        address["type"] = _ADDRESS_TYPE[kind]
    street = " ".join(p for p in (xad.sub(1).get(i) for i in (1, 2, 3)) if p)
    lines = [line for line in (street, xad.get(2)) if line]
    if lines:
        address["line"] = lines
    for key, index in (("city", 3), ("state", 4), ("postalCode", 5), ("country", 6)):
        if xad.get(index):
            address[key] = xad.get(index)
    if xad.get(9):
        address["district"] = xad.get(9)
    return address if set(address) - {"use", "type"} else None


# Table 0202 equipment types -> contact-point-system; table 0201 use codes -> use.
_TELECOM_SYSTEM = {
    "PH": "phone",
    "CP": "phone",
    "SAT": "phone",
    "TDD": "other",
    "TTY": "other",
    "FX": "fax",
    "BP": "pager",
    "INTERNET": "email",
    "X.400": "email",
    "MD": "other",
}
_TELECOM_USE = {"PRN": "home", "WPN": "work", "PRS": "mobile"}


def xtn_contact(xtn: Composite, default_use: str) -> dict | None:
    """XTN (2A.89) -> ContactPoint: XTN-1 as written, else the e-mail address, else the
    number assembled from country, area, local number and extension."""
    equipment = xtn.get(3).upper()
    email = xtn.get(4) if equipment in ("INTERNET", "X.400") or xtn.get(2) == "NET" else ""
    number = " ".join(
        p
        for p in (
            f"+{xtn.get(5)}" if xtn.get(5) else "",
            xtn.get(6),
            xtn.get(7),
            f"x{xtn.get(8)}" if xtn.get(8) else "",
        )
        if p
    )
    value = xtn.get(1) or email or number or xtn.get(12)
    if not value:
        return None
    contact = {"system": "email" if email and not xtn.get(1) else "phone", "value": value}
    if equipment in _TELECOM_SYSTEM and not (email and not xtn.get(1)):
        contact["system"] = _TELECOM_SYSTEM[equipment]
    use = "mobile" if equipment == "CP" else _TELECOM_USE.get(xtn.get(2).upper(), default_use)
    contact["use"] = use
    return contact


def pl_display(pl: Composite) -> str:
    """PL (2A.53) as words: point of care (its first subcomponent), room, bed, facility."""
    return ", ".join(p for p in (pl.sub(1).get(1), *map(pl.get, (2, 3, 4))) if p)


def xcn_reference(xcn: Composite) -> dict | None:
    """XCN (2A.90) -> a logical Reference (identifier and display), since practitioners are
    not resources this interface maintains."""
    name = " ".join(
        p for p in (xcn.get(6), xcn.get(3), xcn.get(4), xcn.sub(2).get(1), xcn.get(5)) if p
    )
    ref: dict = {}
    if xcn.get(1):
        ident = {"value": xcn.get(1)}
        system = hd_system(xcn.sub(9))
        if system:
            ident = {"system": system, **ident}
        ref["identifier"] = ident
    if name:
        ref["display"] = name
    return ref or None
