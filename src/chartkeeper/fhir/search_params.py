"""Search parameters: which elements each resource type is searched by, and their values.

The store fills its index tables from `extract(resource)` on every write, and parses
query values with `parse_date_range` and `parse_quantity_value`, so the same rules decide
what is indexed and how a query matches it. Names and paths follow the FHIR R4 search
parameter registry (https://hl7.org/fhir/R4/searchparameter-registry.html).
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from chartkeeper.fhir.references import parse_relative
from chartkeeper.fhir.search_params_r4 import R4_PATIENT_SUBJECT

TOKEN, STRING, DATE, QUANTITY, REFERENCE = "token", "string", "date", "quantity", "reference"


@dataclass(frozen=True)
class SearchParam:
    """One search parameter: its name, type and the element paths it reads.

    A path is dotted (`name.family`); a choice element is written `effective[x]`.
    `where` keeps only list items whose elements equal the given values (`telecom`
    items with `system` = `phone`, as FHIR's `Patient.telecom.where(system='phone')`).
    """

    name: str
    type: str
    paths: tuple[str, ...]
    where: dict[str, str] = field(default_factory=dict)
    # A parameter answered from another's index rows (`patient` is `subject` restricted to
    # Patient targets), so the same reference is not indexed twice.
    index_as: str | None = None
    target_type: str | None = None

    @property
    def indexed_name(self) -> str:
        return self.index_as or self.name


def _params(*params: SearchParam) -> dict[str, SearchParam]:
    return {p.name: p for p in params}


def _clinical(*extra: SearchParam) -> dict[str, SearchParam]:
    """The patient, subject and encounter references most clinical resources share."""
    return _params(
        SearchParam("subject", REFERENCE, ("subject",)),
        _patient_via_subject(),
        SearchParam("encounter", REFERENCE, ("encounter",)),
        *extra,
    )


def _patient_via_subject() -> SearchParam:
    return SearchParam(
        "patient", REFERENCE, ("subject",), index_as="subject", target_type="Patient"
    )


SEARCH_PARAMS: dict[str, dict[str, SearchParam]] = {
    "Patient": _params(
        SearchParam("identifier", TOKEN, ("identifier",)),
        SearchParam("name", STRING, ("name",)),
        SearchParam("family", STRING, ("name.family",)),
        SearchParam("given", STRING, ("name.given",)),
        SearchParam("birthdate", DATE, ("birthDate",)),
        SearchParam("gender", TOKEN, ("gender",)),
        SearchParam("address-postalcode", STRING, ("address.postalCode",)),
        SearchParam("phone", TOKEN, ("telecom",), where={"system": "phone"}),
        SearchParam("active", TOKEN, ("active",)),
        SearchParam("link", REFERENCE, ("link.other",)),
        SearchParam("deceased", TOKEN, ("deceased[x]",)),
    ),
    "Encounter": _params(
        SearchParam("subject", REFERENCE, ("subject",)),
        _patient_via_subject(),
        SearchParam("date", DATE, ("period",)),
        SearchParam("class", TOKEN, ("class",)),
        SearchParam("status", TOKEN, ("status",)),
        SearchParam("type", TOKEN, ("type",)),
        SearchParam("identifier", TOKEN, ("identifier",)),
    ),
    "Condition": _clinical(
        SearchParam("code", TOKEN, ("code",)),
        SearchParam("onset-date", DATE, ("onset[x]",)),
        SearchParam("category", TOKEN, ("category",)),
        SearchParam("clinical-status", TOKEN, ("clinicalStatus",)),
    ),
    "Observation": _clinical(
        SearchParam("code", TOKEN, ("code",)),
        SearchParam("date", DATE, ("effective[x]",)),
        SearchParam("category", TOKEN, ("category",)),
        SearchParam("value-quantity", QUANTITY, ("valueQuantity",)),
        SearchParam("status", TOKEN, ("status",)),
    ),
    "DiagnosticReport": _clinical(
        SearchParam("code", TOKEN, ("code",)),
        SearchParam("date", DATE, ("effective[x]",)),
        SearchParam("category", TOKEN, ("category",)),
        SearchParam("result", REFERENCE, ("result",)),
        SearchParam("status", TOKEN, ("status",)),
    ),
    "Procedure": _clinical(
        SearchParam("code", TOKEN, ("code",)),
        SearchParam("date", DATE, ("performed[x]",)),
    ),
    "DocumentReference": _params(
        SearchParam("subject", REFERENCE, ("subject",)),
        _patient_via_subject(),
        SearchParam("encounter", REFERENCE, ("context.encounter",)),
        SearchParam("type", TOKEN, ("type",)),
        SearchParam("date", DATE, ("date",)),
        SearchParam("status", TOKEN, ("status",)),
        SearchParam("category", TOKEN, ("category",)),
    ),
    "MedicationRequest": _clinical(
        SearchParam("code", TOKEN, ("medication[x]",)),
        SearchParam("status", TOKEN, ("status",)),
    ),
    "Claim": _params(
        SearchParam("patient", REFERENCE, ("patient",)),
        SearchParam("created", DATE, ("created",)),
        SearchParam("encounter", REFERENCE, ("item.encounter",)),
        SearchParam("status", TOKEN, ("status",)),
    ),
    "Practitioner": _params(
        SearchParam("identifier", TOKEN, ("identifier",)),
        SearchParam("name", STRING, ("name",)),
        SearchParam("family", STRING, ("name.family",)),
    ),
    "Organization": _params(
        SearchParam("identifier", TOKEN, ("identifier",)),
        SearchParam("name", STRING, ("name",)),
    ),
}


def _add_r4_patient_subject() -> None:
    """`patient` and `subject` on every R4 type that defines them, from the generated
    official definitions: a type without them would be unsearchable by patient, and a
    client's `patient=` would be refused rather than answered."""
    for rtype, defs in R4_PATIENT_SUBJECT.items():
        params = SEARCH_PARAMS.setdefault(rtype, {})
        subject = defs.get("subject")
        if subject and "subject" not in params:
            params["subject"] = SearchParam("subject", REFERENCE, subject[0])
        patient = defs.get("patient")
        if patient and "patient" not in params:
            paths, target = patient
            # Same elements as `subject`: answered from its rows, not indexed twice.
            same = "subject" in params and params["subject"].paths == paths
            params["patient"] = SearchParam(
                "patient",
                REFERENCE,
                paths,
                index_as="subject" if same else None,
                target_type=target,
            )


_add_r4_patient_subject()


# Parameters every type has; answered from the resource table itself, not an index table.
COMMON_PARAMS = _params(
    SearchParam("_id", TOKEN, ("id",)),
    SearchParam("_lastUpdated", DATE, ("meta.lastUpdated",)),
)

# Indexed for every type: security labels drive access control (sensitive records), so they
# must be searchable in SQL, not filtered after paging.
INDEXED_FOR_ALL = _params(SearchParam("_security", TOKEN, ("meta.security",)))
SECURITY = "_security"

# Aliases people type for a parameter whose registry name is longer.
ALIASES = {("Condition", "onset"): "onset-date"}


def params_for(resource_type: str) -> dict[str, SearchParam]:
    return {**SEARCH_PARAMS.get(resource_type, {}), **INDEXED_FOR_ALL}


def lookup(resource_type: str, name: str) -> SearchParam | None:
    name = ALIASES.get((resource_type, name), name)
    return COMMON_PARAMS.get(name) or params_for(resource_type).get(name)


# --- walking element paths -------------------------------------------------------------


# The datatypes a choice element `x[x]` can take that these search types read; trying
# these keys is much cheaper than scanning every key of every resource.
_CHOICE_TYPES = {
    DATE: ("DateTime", "Period", "Instant", "Date"),
    TOKEN: ("CodeableConcept", "Coding", "Boolean", "String", "Reference"),
    QUANTITY: ("Quantity",),
    STRING: ("String",),
    REFERENCE: ("Reference",),
}


def _step(nodes: list[Any], keys: tuple[str, ...]) -> list[Any]:
    found: list[Any] = []
    for node in nodes:
        if type(node) is not dict:
            continue
        for key in keys:
            value = node.get(key)
            if value is None:
                continue
            if type(value) is list:
                found.extend(value)
            else:
                found.append(value)
    return found


@functools.cache
def _compiled(path: str, kind: str) -> tuple[tuple[str, ...], ...]:
    """Each step of a dotted path as the keys to try (several for a choice element)."""
    return tuple(
        tuple(name[:-3] + t for t in _CHOICE_TYPES[kind]) if name.endswith("[x]") else (name,)
        for name in path.split(".")
    )


def element_values(
    resource: dict, path: str, where: dict[str, str] | None = None, kind: str = TOKEN
) -> list[Any]:
    nodes: list[Any] = [resource]
    for keys in _compiled(path, kind):
        nodes = _step(nodes, keys)
        if not nodes:
            return nodes
    if where:
        nodes = [
            n for n in nodes if isinstance(n, dict) and all(n.get(k) == v for k, v in where.items())
        ]
    return nodes


# --- value normalisation ---------------------------------------------------------------


def normalize_string(value: str) -> str:
    """Case- and accent-insensitive form used for string search (FHIR 3.1.1.4.7)."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
DATE_MIN = "0001-01-01T00:00:00.000000"
DATE_MAX = "9999-12-31T23:59:59.999999"


@functools.lru_cache(maxsize=1 << 16)  # a chart repeats its timestamps (vitals, panels)
def parse_date_range(text: str) -> tuple[str, str]:
    """The instant range a FHIR date, dateTime or instant covers, as sortable UTC strings.

    `2020` covers the whole year; `2020-03-01T10:00` the whole minute. Values without a
    time zone are taken as UTC.
    """
    m = _DATE_RE.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a FHIR date, dateTime or instant")
    g = m.groupdict()
    year = int(g["y"])
    month, day = int(g["m"] or 1), int(g["d"] or 1)
    hour, minute = int(g["H"] or 0), int(g["M"] or 0)
    second = int(g["S"] or 0)
    micro = int((g["f"] or ".0")[1:7].ljust(6, "0"))
    start = datetime(year, month, day, hour, minute, second, micro)
    if g["f"]:
        end = start
    elif g["S"]:
        end = start + timedelta(seconds=1)
    elif g["M"]:
        end = start + timedelta(minutes=1)
    elif g["d"]:
        end = start + timedelta(days=1)
    elif g["m"]:
        end = start.replace(year=year + (month == 12), month=month % 12 + 1)
    else:
        end = start.replace(year=year + 1)
    if end != start:
        end -= timedelta(microseconds=1)
    tz = g["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])) * sign
        start, end = start - offset, end - offset
    return start.isoformat(timespec="microseconds"), end.isoformat(timespec="microseconds")


def parse_quantity_value(text: str) -> tuple[Decimal, Decimal, Decimal]:
    """A number and the range its written precision implies: `5.4` -> [5.35, 5.45)."""
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"'{text}' is not a number") from exc
    exponent = value.as_tuple().exponent
    half = Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    return value, value - half, value + half


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- extraction ------------------------------------------------------------------------


@dataclass
class IndexRows:
    """What one resource contributes to each index table, in the tables' column order
    after (resource_type, resource_id). An absent system or unit is '' (it is a key)."""

    token: list[tuple[str, str, str]] = field(default_factory=list)  # param, code, system
    string: list[tuple[str, str, str]] = field(default_factory=list)  # param, value, raw
    date: list[tuple[str, str, str]] = field(default_factory=list)  # param, low, high
    quantity: list[tuple[str, float, str, str]] = field(default_factory=list)  # +system, code
    reference: list[tuple[str, str, str]] = field(default_factory=list)  # param, type, id

    def deduplicated(self) -> IndexRows:
        """Each row once: a code listed twice is one key."""
        return IndexRows(*(list(dict.fromkeys(getattr(self, f))) for f in _KINDS))


_KINDS = ("token", "string", "date", "quantity", "reference")
_MAX_KEY = 255  # indexed strings are cut to what a key column holds


def _tokens(value: Any) -> Iterator[tuple[str, str]]:
    """(system, code) pairs; '' where there is no system."""
    if isinstance(value, bool):
        yield "", "true" if value else "false"
    elif isinstance(value, str):
        yield "", value
    elif isinstance(value, dict):
        if "coding" in value:  # CodeableConcept
            for coding in value["coding"]:
                if "code" in coding:
                    yield coding.get("system", ""), coding["code"]
        elif "code" in value:  # Coding
            yield value.get("system", ""), value["code"]
        elif "value" in value:  # Identifier, ContactPoint
            yield value.get("system", ""), str(value["value"])


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):  # HumanName, Address: every part is searchable
        for key in (
            "text",
            "family",
            "given",
            "prefix",
            "suffix",
            "line",
            "city",
            "district",
            "state",
            "postalCode",
            "country",
        ):
            part = value.get(key)
            if isinstance(part, str):
                yield part
            elif isinstance(part, list):
                yield from (p for p in part if isinstance(p, str))


def _dates(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield parse_date_range(value)
    elif isinstance(value, dict) and ("start" in value or "end" in value):  # Period
        low = parse_date_range(value["start"])[0] if "start" in value else DATE_MIN
        high = parse_date_range(value["end"])[1] if "end" in value else DATE_MAX
        yield low, high


def extract(resource: dict) -> IndexRows:
    """Index rows for a resource, per the SEARCH_PARAMS of its type."""
    rows = IndexRows()
    for param in params_for(resource["resourceType"]).values():
        if param.index_as:
            continue
        for path in param.paths:
            for value in element_values(resource, path, param.where, param.type):
                _add(rows, param, value)
    return rows.deduplicated()


def _add(rows: IndexRows, param: SearchParam, value: Any) -> None:
    name = param.name
    if param.type == TOKEN:
        if param.where and isinstance(value, dict):  # phone numbers: match the digits
            if "value" in value:
                rows.token.append((name, str(value["value"])[:_MAX_KEY], ""))
            return
        rows.token.extend(
            (name, code[:_MAX_KEY], system[:_MAX_KEY]) for system, code in _tokens(value)
        )
    elif param.type == STRING:
        rows.string.extend(
            (name, normalize_string(s)[:_MAX_KEY], s[:_MAX_KEY])
            for s in _strings(value)
            if s.strip()
        )
    elif param.type == DATE:
        # Validation refused malformed dates already; anything else stays unindexed.
        with contextlib.suppress(ValueError, KeyError):
            rows.date.extend((name, low, high) for low, high in _dates(value))
    elif param.type == QUANTITY:
        if isinstance(value, dict) and isinstance(value.get("value"), (int, float)):
            unit = value.get("code") or value.get("unit")
            system = value.get("system", "")
            rows.quantity.append(
                (name, float(value["value"]), system[:_MAX_KEY], (unit or "")[:_MAX_KEY])
            )
    elif param.type == REFERENCE:
        ref = value.get("reference") if isinstance(value, dict) else None
        target = parse_relative(ref) if ref else None
        if target:
            rows.reference.append((name, target[0], target[1]))
