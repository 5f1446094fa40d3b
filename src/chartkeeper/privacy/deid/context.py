"""The secret key, the pseudonyms derived from it, and what is known about each patient.

Owns `DeidContext`: one per export run. It holds the key (never written anywhere; only its
fingerprint is reported), turns real ids and identifier values into keyed pseudonyms (HMAC-
SHA256, so the same input gives the same pseudonym on every run with the same key, and
nobody without the key can recompute or reverse them), derives each patient's date shift,
and keeps `PatientIdentity` records: the patient's own identifiers taken from the structured
record (names, MRN, SSN, phone, address, relatives), the strongest signal for finding them
again in free text. It also counts what was removed, by identifier kind, for the report.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from chartkeeper.errors import BadRequest
from chartkeeper.fhir.references import parse_relative

from .gazetteer import EMPTY, Gazetteer

MIN_KEY_BYTES = 16
METHODS = ("safe-harbor",)
PSEUDONYM_SYSTEM = "urn:chartkeeper:deid:pseudonym"
# A patient's dates move by 1 to 365 days, earlier or later, never 0.
MAX_SHIFT_DAYS = 365

# Identifier.type codes (v2-0203) -> identifier kind of 45 CFR 164.514(b)(2)(i).
_TYPE_KINDS = {
    "MR": "mrn",
    "MRT": "mrn",
    "PI": "mrn",
    "SS": "ssn",
    "SB": "plan",
    "MB": "plan",
    "MA": "plan",
    "MC": "plan",
    "SN": "plan",
    "PN": "plan",
    "AN": "account",
    "ACSN": "id",
    "DL": "license",
    "PPN": "license",
    "LN": "license",
    "DR": "license",
    "CZ": "license",
    "BCT": "license",
    "SR": "license",
    "DEA": "license",
    "NPI": "license",
    "UDI": "device",
    "SNO": "device",
}


def check_key(key: object) -> bytes:
    """The key as bytes, or BadRequest when it is missing, too short or trivially weak."""
    if not isinstance(key, bytes | bytearray):
        raise BadRequest(
            f"the de-identification key must be bytes, not {type(key).__name__}; "
            "see chartkeeper.privacy.deid.parse_key"
        )
    if len(key) < MIN_KEY_BYTES:
        raise BadRequest(
            f"the de-identification key must be at least {MIN_KEY_BYTES} bytes "
            f"({len(key)} given): pseudonyms and date shifts must not be guessable"
        )
    if len(set(key)) < 6:
        raise BadRequest(
            "the de-identification key is too regular (like b'aaaa...'); use new_key()"
        )
    return bytes(key)


def parse_key(text: str) -> bytes:
    """A key from text: hex (at least 32 digits) or base64 of at least 16 bytes."""
    text = text.strip()
    if re.fullmatch(r"(?:[0-9a-fA-F]{2}){16,}", text):
        return check_key(bytes.fromhex(text))
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("the de-identification key must be hex or base64") from None
    return check_key(raw)


def new_key() -> str:
    """A fresh random 256-bit key, as hex (keep it secret, keep it to re-run exports)."""
    return secrets.token_hex(32)


def key_fingerprint(key: bytes) -> str:
    """Names the key in reports without revealing it: an HMAC of a fixed label."""
    return hmac.new(check_key(key), b"chartkeeper-deid/fingerprint/v1", hashlib.sha256).hexdigest()[
        :16
    ]


def zip3(postal_code: str) -> str | None:
    """Safe Harbor ZIP (45 CFR 164.514(b)(2)(i)(B)): the first three digits, or 000 when
    that 3-digit area holds 20,000 people or fewer (Census 2000 list). None: not a US ZIP."""
    digits = re.match(r"\s*(\d{3})\d{2}(?:-?\d{4})?\s*$", postal_code)
    if digits is None:
        return None
    return "000" if digits.group(1) in RESTRICTED_ZIP3 else digits.group(1)


# 3-digit ZIP areas of 20,000 people or fewer (HHS de-identification guidance, Census 2000).
RESTRICTED_ZIP3 = frozenset(
    [
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    ]
)


@dataclass
class PatientIdentity:
    """One patient's identifiers as the structured record states them."""

    patient_id: str
    name_tokens: set[str] = field(default_factory=set)  # lowercase parts of names
    relative_tokens: set[str] = field(default_factory=set)
    literals: dict[str, str] = field(default_factory=dict)  # exact text -> kind
    digits: dict[str, str] = field(default_factory=dict)  # digit string -> kind
    birth: tuple[int, int | None, int | None] | None = None  # (year, month, day)
    death: date | None = None
    age90: bool = False  # 90 or older: birth year suppressed (164.514(b)(2)(i)(C))
    _pattern: re.Pattern[str] | None = None
    _digit_pattern: re.Pattern[str] | None = None

    def literal_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self.literals:
            alternatives = sorted(self.literals, key=len, reverse=True)
            body = "|".join(r"\s+".join(map(re.escape, lit.split())) for lit in alternatives)
            self._pattern = re.compile(rf"(?<![\w@])(?:{body})(?![\w@])", re.IGNORECASE)
        return self._pattern

    def digit_pattern(self) -> re.Pattern[str] | None:
        """Known numbers written with any separators: 6145550102 as (614) 555-0102."""
        if self._digit_pattern is None and self.digits:
            alternatives = sorted(self.digits, key=len, reverse=True)
            body = "|".join(r"[\s().\-]{0,2}".join(d) for d in alternatives)
            self._digit_pattern = re.compile(rf"(?<![\w])(?:\+?1[\s.\-]?)?(?:{body})(?![\w])")
        return self._digit_pattern

    def kind_of(self, matched: str) -> str:
        for literal, kind in self.literals.items():
            if " ".join(matched.split()).lower() == " ".join(literal.split()).lower():
                return kind
        number = re.sub(r"\D", "", matched)
        for digits, kind in self.digits.items():
            if number.endswith(digits):
                return kind
        return "id"

    def add_literal(self, text: str | None, kind: str) -> None:
        if not text or not isinstance(text, str):
            return
        text = text.strip()
        number = re.sub(r"\D", "", text)
        if len(number) >= 6 and number == re.sub(r"[\s().\-+]", "", text):
            # Purely a number (phone, SSN, MRN): match it with any separators.
            self.digits[number[-10:] if kind in ("phone", "fax") else number] = kind
            self._digit_pattern = None
        if len(text) >= 3:
            self.literals[text] = kind
            self._pattern = None

    def add_name(self, name: dict, relative: bool) -> None:
        parts: list[str] = []
        for key in ("given", "family", "prefix"):
            value = name.get(key)
            parts.extend(value if isinstance(value, list) else [value] if value else [])
        if name.get("text"):
            parts.append(name["text"])
        target = self.relative_tokens if relative else self.name_tokens
        for part in parts:
            for token in re.findall(r"[^\W\d_][^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*", str(part)):
                if len(token) >= 2 and token.lower().rstrip(".") not in _TITLE_WORDS:
                    target.add(token.lower())


_TITLE_WORDS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "rev",
        "jr",
        "sr",
        "ii",
        "iii",
        "iv",
        "md",
        "do",
        "rn",
    ]
)


class DeidContext:
    """Settings and state of one de-identification run (see the package docstring).

    key: secret bytes (>= 16); method: "safe-harbor"; date_shift: move each patient's dates
    by a keyed offset instead of reducing them to the year; as_of: the date ages are
    reckoned at (default today); gazetteer: name and place lists (`load_gazetteer`).
    """

    def __init__(
        self,
        key: bytes,
        *,
        method: str = "safe-harbor",
        date_shift: bool = False,
        as_of: date | None = None,
        gazetteer: Gazetteer | None = None,
    ):
        if method not in METHODS:
            raise BadRequest(f"unknown de-identification method {method!r}; use one of {METHODS}")
        self.key = check_key(key)
        self.method = method
        self.date_shift = date_shift
        self.as_of = as_of or date.today()
        self.patients: dict[str, PatientIdentity] = {}
        self.clinician_tokens: set[str] = set()
        # Names, places and common words for the free-text scrubber; the built-in word
        # lists alone when none was imported (see gazetteer.load_gazetteer).
        self.gazetteer = gazetteer if gazetteer is not None else EMPTY
        self.structured: Counter[str] = Counter()  # removed in structured elements, by kind
        self.free_text: Counter[str] = Counter()  # removed from free text, by kind

    # --- pseudonyms ------------------------------------------------------------------------

    def _mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.key, f"{purpose}\x1f{value}".encode(), hashlib.sha256).digest()

    def pseudonym_id(self, real_id: str) -> str:
        """A resource id's pseudonym, UUID-shaped. Independent of the type, so `Patient/x`,
        `urn:uuid:x` and the resource's own id all map alike."""
        h = self._mac("id", real_id)[:16].hex()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"

    def pseudonym_value(self, system: str | None, value: str) -> str:
        """An identifier value's pseudonym; the system is part of the input, so MRN 123 of
        two hospitals stay apart."""
        return self._mac("identifier", f"{system or ''}|{value}")[:10].hex().upper()

    def shift_days(self, patient_id: str) -> int:
        """The patient's date offset in days: keyed, so stable across runs and unguessable."""
        n = int.from_bytes(self._mac("shift", patient_id)[:8], "big") % (2 * MAX_SHIFT_DAYS)
        return n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key)

    # --- learning identities from the structured record -----------------------------------

    def identity(self, patient_id: str) -> PatientIdentity:
        found = self.patients.get(patient_id)
        if found is None:
            found = self.patients[patient_id] = PatientIdentity(patient_id)
        return found

    def learn(self, resource: dict) -> None:
        """Take in the identifiers a resource states about a patient or clinician.

        Patients (names, identifiers, telecom, address, birth and death, contacts),
        RelatedPersons and Coverage (plan numbers) feed the patient's identity; Practitioners
        feed the clinician names that are scrubbed from free text."""
        rtype = resource.get("resourceType")
        if rtype == "Patient" and isinstance(resource.get("id"), str):
            self._learn_patient(resource)
        elif rtype == "RelatedPerson":
            pid = _patient_id(resource.get("patient"))
            if pid:
                ident = self.identity(pid)
                for name in resource.get("name") or []:
                    ident.add_name(name, relative=True)
                _learn_contact_points(ident, resource)
                for identifier in resource.get("identifier") or []:
                    ident.add_literal(identifier.get("value"), identifier_kind(identifier))
        elif rtype == "Coverage":
            pid = _patient_id(resource.get("beneficiary"))
            if pid:
                ident = self.identity(pid)
                ident.add_literal(resource.get("subscriberId"), "plan")
                for identifier in resource.get("identifier") or []:
                    ident.add_literal(identifier.get("value"), "plan")
        elif rtype == "Practitioner":
            for name in resource.get("name") or []:
                holder = PatientIdentity("")
                holder.add_name(name, relative=False)
                self.clinician_tokens |= holder.name_tokens

    def _learn_patient(self, patient: dict) -> None:
        ident = self.identity(patient["id"])
        for name in patient.get("name") or []:
            ident.add_name(name, relative=False)
        for identifier in patient.get("identifier") or []:
            ident.add_literal(identifier.get("value"), identifier_kind(identifier))
        _learn_contact_points(ident, patient)
        for contact in patient.get("contact") or []:
            if contact.get("name"):
                ident.add_name(contact["name"], relative=True)
            _learn_contact_points(ident, {"telecom": contact.get("telecom"), "address": []})
            if contact.get("address"):
                _learn_contact_points(ident, {"address": [contact["address"]]})
        for ext in patient.get("extension") or []:
            if str(ext.get("url", "")).endswith("mothersMaidenName"):
                ident.add_name({"family": ext.get("valueString")}, relative=True)
        birth = _parse_date(patient.get("birthDate"))
        if birth:
            ident.birth = birth
        death = _parse_date(patient.get("deceasedDateTime"))
        if death and death[1] and death[2]:
            ident.death = date(death[0], death[1], death[2])
        ident.age90 = self._is_90_or_older(ident)

    def _is_90_or_older(self, ident: PatientIdentity) -> bool:
        if ident.birth is None:
            return False
        at = ident.death or self.as_of
        year, month, day = ident.birth
        if month is None or day is None:  # partial birth date: assume the oldest reading
            return at.year - year >= 90
        return at.year - year - ((at.month, at.day) < (month, day)) >= 90


def identifier_kind(identifier: dict) -> str:
    system = str(identifier.get("system") or "")
    if system.endswith("us-ssn"):
        return "ssn"
    if "us-npi" in system:
        return "license"
    codes = [c.get("code") for c in (identifier.get("type") or {}).get("coding") or []]
    for code in codes:
        if code in _TYPE_KINDS:
            return _TYPE_KINDS[code]
    return "id"


def _learn_contact_points(ident: PatientIdentity, holder: dict) -> None:
    for point in holder.get("telecom") or []:
        system = point.get("system")
        kind = {"phone": "phone", "sms": "phone", "fax": "fax", "email": "email", "url": "url"}
        ident.add_literal(point.get("value"), kind.get(system, "id"))
    for address in holder.get("address") or []:
        for line in address.get("line") or []:
            ident.add_literal(line, "address")
        ident.add_literal(address.get("city"), "location")
        ident.add_literal(address.get("district"), "location")
        postal = address.get("postalCode")
        if postal and len(postal) >= 5:
            ident.literals[postal] = "zip"
            ident._pattern = None


def _patient_id(reference: object) -> str | None:
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    ref = reference["reference"]
    if ref.startswith("urn:uuid:"):
        return ref[9:]
    target = parse_relative(ref)
    return target[1] if target and target[0] == "Patient" else None


def _parse_date(value: object) -> tuple[int, int | None, int | None] | None:
    if not isinstance(value, str):
        return None
    m = re.match(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    if m is None:
        return None
    return (
        int(m.group(1)),
        int(m.group(2)) if m.group(2) else None,
        int(m.group(3)) if m.group(3) else None,
    )
