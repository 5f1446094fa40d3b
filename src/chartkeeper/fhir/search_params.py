"""Search parameters: which elements each resource type is searched by, and their values.

Every search parameter of the FHIR R4 core comes from the official definitions
(`search_params_r4`, generated from HL7's search-parameters.json by
tools/gen_search_params.py), each with its FHIRPath expression. The store fills its index
tables from `extract(resource)` on every write, and parses query values with
`parse_date_range` and `parse_quantity_value`, so the same rules decide what is indexed
and how a query matches it.

Expressions are evaluated in two ways. The shapes R4 writes almost all of its ~1,700
expressions in (element paths, `as` type casts, `where(resolve() is X)`,
`where(system='phone')`) are compiled to a few Python steps over the JSON, because a
general FHIRPath interpreter on every write of every resource would cost many times the
rest of the write; anything else (`Patient.deceased.exists() and Patient.deceased !=
false`, `Bundle.entry[0].resource`) is evaluated by `fhirpathpy`, a maintained FHIRPath
engine, with the R4 model. tests/fhir/test_search_params.py checks the two agree.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from chartkeeper.fhir.references import parse_relative
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.search_params_r4 import R4_SEARCH_PARAMETERS

TOKEN, STRING, DATE, QUANTITY, REFERENCE = "token", "string", "date", "quantity", "reference"
URI, NUMBER, COMPOSITE = "uri", "number", "composite"

# Which index table holds each search type's values (uri values are tokens without a
# system; numbers are quantities without a unit). Composite parameters keep their
# components' rows in the components' tables, grouped (see `composite_param`).
TABLE_OF = {
    TOKEN: TOKEN,
    URI: TOKEN,
    STRING: STRING,
    DATE: DATE,
    QUANTITY: QUANTITY,
    NUMBER: QUANTITY,
    REFERENCE: REFERENCE,
}

# Rows kept beside a parameter's own for its modifiers, under the parameter's name plus
# the modifier: `code:text` (display texts, in the string table), `identifier:of-type`
# (type code|value, in the token table), `subject:identifier` (Reference.identifier).
TEXT, OF_TYPE, IDENTIFIER = "text", "of-type", "identifier"

# The modifiers each search type accepts (R4 search.html 3.1.1.5); a type name
# (`subject:Patient`) is accepted on references too. Anything else is refused.
MODIFIERS = {
    TOKEN: {"missing", "not", "text", "of-type"},
    URI: {"missing", "above", "below", "exact"},
    STRING: {"missing", "exact", "contains"},
    DATE: {"missing"},
    QUANTITY: {"missing"},
    NUMBER: {"missing"},
    REFERENCE: {"missing", "identifier"},
    COMPOSITE: set(),
}


@dataclass(frozen=True)
class SearchParam:
    """One search parameter: its name, search type and FHIRPath expression.

    `index_as`: a parameter answered from another's index rows (`Observation.patient` is
    `Observation.subject.where(resolve() is Patient)`: the `subject` rows restricted to
    Patient targets), so the same reference is not indexed twice. `targets`: the types a
    reference may point to ("*" for any). `components`: a composite's parts, each with an
    expression relative to the nodes the composite's own expression selects.
    """

    name: str
    type: str
    expression: str
    targets: tuple[str, ...] = ()
    components: tuple[SearchParam, ...] = ()
    index_as: str | None = None
    target_type: str | None = None

    @property
    def indexed_name(self) -> str:
        return self.index_as or self.name

    @property
    def target_types(self) -> tuple[str, ...]:
        """The resource types a reference parameter may point to."""
        if self.target_type:
            return (self.target_type,)
        if "*" in self.targets:
            return tuple(sorted(RESOURCE_TYPES))
        return self.targets


_RESOLVE_IS = re.compile(r"\.where\(resolve\(\) is ([A-Z][A-Za-z]+)\)")


def _unrestricted(expression: str) -> tuple[str, str | None]:
    """`X.subject.where(resolve() is Patient)` -> (`X.subject`, `Patient`), when every
    part of the expression carries the same restriction."""
    parts = [p.strip() for p in expression.split("|")]
    found = {m.group(1) for p in parts for m in _RESOLVE_IS.finditer(p)}
    if len(found) != 1 or not all(_RESOLVE_IS.search(p) for p in parts):
        return expression, None
    return " | ".join(_RESOLVE_IS.sub("", p) for p in parts), found.pop()


def _definitions(rtype: str) -> dict[str, SearchParam]:
    defs = {
        **R4_SEARCH_PARAMETERS.get("Resource", {}),
        **R4_SEARCH_PARAMETERS.get("DomainResource", {}),
        **R4_SEARCH_PARAMETERS.get(rtype, {}),
    }
    params: dict[str, SearchParam] = {}
    for name, (kind, expression, targets, components) in defs.items():
        if name in COMMON:
            continue
        expression = re.sub(r"\b(?:Domain)?Resource\.", f"{rtype}.", expression)
        params[name] = SearchParam(
            name,
            kind,
            expression,
            targets,
            tuple(SearchParam(c, t, e) for c, t, e in components),
        )
    # A reference restricted to one target type, over the same elements as another
    # parameter, is answered from that parameter's rows.
    by_expression = {(p.type, p.expression): p.name for p in params.values() if p.type == REFERENCE}
    for name, param in list(params.items()):
        if param.type != REFERENCE:
            continue
        bare, target = _unrestricted(param.expression)
        if target is None:
            continue
        shared = by_expression.get((REFERENCE, bare))
        params[name] = SearchParam(
            name,
            REFERENCE,
            param.expression,
            param.targets,
            index_as=shared,
            target_type=target,
        )
    return params


# Parameters every type has, answered from the resource table itself, not an index table.
COMMON = {"_id", "_lastUpdated"}
COMMON_PARAMS = {
    "_id": SearchParam("_id", TOKEN, "Resource.id"),
    "_lastUpdated": SearchParam("_lastUpdated", DATE, "Resource.meta.lastUpdated"),
}
SECURITY = "_security"

SEARCH_PARAMS: dict[str, dict[str, SearchParam]] = {
    rtype: _definitions(rtype) for rtype in sorted(RESOURCE_TYPES)
}

# Aliases people type for a parameter whose registry name is longer.
ALIASES = {("Condition", "onset"): "onset-date"}


def params_for(resource_type: str) -> dict[str, SearchParam]:
    return SEARCH_PARAMS.get(resource_type, {})


def lookup(resource_type: str, name: str) -> SearchParam | None:
    name = ALIASES.get((resource_type, name), name)
    return COMMON_PARAMS.get(name) or params_for(resource_type).get(name)


def supported_count() -> int:
    """How many (type, parameter) pairs the store answers, common ones included."""
    return sum(len(p) + len(COMMON_PARAMS) for p in SEARCH_PARAMS.values())


# --- evaluating expressions ------------------------------------------------------------

Node = tuple[Any, str | None]  # a value and, for a choice element, the type it was given as
Step = Callable[[list[Node]], list[Node]]


def _choice_suffixes() -> dict[str, tuple[str, ...]]:
    """Per element name, the datatypes a choice element of that name may take in R4
    (`value` -> Quantity, CodeableConcept, ...), from fhirpathpy's R4 model."""
    from fhirpathpy.models import models

    found: dict[str, set[str]] = {}
    for path, types in models["r4"]["choiceTypePaths"].items():
        found.setdefault(path.rsplit(".", 1)[1], set()).update(types)
    return {
        name: tuple(sorted(t[0].upper() + t[1:] for t in types)) for name, types in found.items()
    }


_CHOICES = _choice_suffixes()
CHOICE_ELEMENTS = frozenset(_CHOICES)  # names of R4 choice elements (`value`, `deceased`)


def _field(name: str) -> Step:
    choices = _CHOICES.get(name, ())
    # choice keys: `valueQuantity` -> Quantity; a node has a handful of keys, a choice
    # element up to ~50 types, so the node's keys are looked up, not every type
    typed = {name + suffix: suffix for suffix in choices}

    def step(nodes: list[Node]) -> list[Node]:
        out: list[Node] = []
        for node, _t in nodes:
            if type(node) is not dict:
                continue
            value = node.get(name)
            kind = None
            if value is None and typed:
                for key in node:
                    kind = typed.get(key)
                    if kind is not None:
                        value = node[key]
                        break
            if value is None:
                continue
            if type(value) is list:
                out.extend((v, kind) for v in value)
            else:
                out.append((value, kind))
        return out

    step.keys = (name, *typed)  # type: ignore[attr-defined]
    return step


def _cast(type_name: str) -> Step:
    wanted = type_name[0].upper() + type_name[1:]

    def step(nodes: list[Node]) -> list[Node]:
        return [(v, t) for v, t in nodes if t is None or t == wanted]

    return step


def _resolves_to(target: str) -> Step:
    def step(nodes: list[Node]) -> list[Node]:
        out = []
        for v, t in nodes:
            ref = v.get("reference") if type(v) is dict else None
            parsed = parse_relative(ref) if isinstance(ref, str) else None
            if parsed and parsed[0] == target:
                out.append((v, t))
        return out

    return step


def _equals(name: str, literal: str) -> Step:
    def step(nodes: list[Node]) -> list[Node]:
        return [(v, t) for v, t in nodes if type(v) is dict and v.get(name) == literal]

    return step


_STEP = re.compile(
    r"""\.(?:
        as\((?P<as>[A-Za-z]+)\)
      | where\(resolve\(\)\ is\ (?P<resolve>[A-Z][A-Za-z]+)\)
      | where\((?P<eq>[a-z][A-Za-z]*)\s*=\s*'(?P<lit>[^']*)'\)
      | (?P<field>[a-z][A-Za-z0-9]*)(?![A-Za-z0-9(])
    )""",
    re.VERBOSE,
)
_CAST = re.compile(r"^\((?P<inner>[^()]+?) as (?P<type>[A-Za-z]+)\)(?P<rest>.*)$")


def _compile_part(part: str, root: str | None) -> list[Step] | None:
    """Steps for one `|` alternative, or None when it is not a shape compiled here."""
    part = part.strip()
    cast = _CAST.match(part)
    if cast:
        head = _compile_part(cast["inner"], root)
        tail = _compile_part("." + cast["rest"].lstrip(".") if cast["rest"] else "", None)
        if head is None or tail is None:
            return None
        return [*head, _cast(cast["type"]), *tail]
    if part.startswith("(") and part.endswith(")") and part.count("(") == 1:
        part = part[1:-1]
    if root is not None:
        if part == root:
            return []
        if not part.startswith(root + "."):
            return None
        part = part[len(root) :]
    elif part and not part.startswith("."):
        part = "." + part
    steps: list[Step] = []
    pos = 0
    while pos < len(part):
        m = _STEP.match(part, pos)
        if not m:
            return None
        if m["field"]:
            steps.append(_field(m["field"]))
        elif m["as"]:
            steps.append(_cast(m["as"]))
        elif m["resolve"]:
            steps.append(_resolves_to(m["resolve"]))
        else:
            steps.append(_equals(m["eq"], m["lit"]))
        pos = m.end()
    return steps


def _fhirpath(expression: str) -> Callable[[Any], list[Any]]:
    """The general case: fhirpathpy with the R4 model. `resolve()` needs a server to
    look the target up, so `where(resolve() is X)` is asked of the reference's text."""
    import fhirpathpy
    from fhirpathpy.models import models

    rewritten = _RESOLVE_IS.sub(r".where(reference.startsWith('\1/'))", expression)
    compiled = fhirpathpy.compile(rewritten, model=models["r4"])

    def run(node: Any) -> list[Any]:
        try:
            return list(compiled(node))
        except Exception:  # a resource the expression cannot be evaluated on indexes nothing
            return []

    return run


@functools.cache
def compiled(expression: str, root: str | None) -> Callable[[Any], list[Node]]:
    """A function from a resource (root = its type) or an element (root None, for a
    composite's components) to the values the expression selects."""
    parts = [p for p in _split_union(expression) if p]
    plans = [_compile_part(p, root) for p in parts]
    if all(plan is not None for plan in plans):

        def run(node: Any) -> list[Node]:
            out: list[Node] = []
            for plan in plans:
                nodes: list[Node] = [(node, None)]
                for step in plan:  # type: ignore[union-attr]
                    nodes = step(nodes)
                    if not nodes:
                        break
                out.extend(nodes)
            return out

        return run
    general = _fhirpath(expression)
    return lambda node: [(v, None) for v in general(node)]


def uses_fhirpath_engine(expression: str, root: str | None) -> bool:
    """Whether an expression is left to fhirpathpy (for the tests and the bench)."""
    return any(_compile_part(p, root) is None for p in _split_union(expression) if p)


def _split_union(expression: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(expression):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return parts


def element_values(resource: dict, param: SearchParam) -> list[Any]:
    """The values `param`'s expression selects in a resource."""
    return [v for v, _t in compiled(param.expression, resource["resourceType"])(resource)]


# --- value normalisation ---------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)  # codes' display texts repeat on every write
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
_CONTACT_KINDS = {"phone", "fax", "email", "pager", "url", "sms", "other"}
_MAX_KEY = 255  # indexed strings are cut to what a key column holds
_STRING_PARTS = (
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
)


def _cut(text: str) -> str:
    return text[:_MAX_KEY]


def _codings(value: dict) -> Iterator[tuple[str, str, str]]:
    """(system, code, display) of a Coding or each coding of a CodeableConcept."""
    for coding in value.get("coding", ()) if "coding" in value else (value,):
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            yield coding.get("system", ""), coding["code"], coding.get("display", "")


def _add_token(rows: IndexRows, name: str, value: Any) -> None:
    if isinstance(value, bool):
        rows.token.append((name, "true" if value else "false", ""))
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        rows.token.append((name, _cut(str(value)), ""))
    elif isinstance(value, dict):
        texts: list[str] = []
        if "coding" in value or "code" in value:  # CodeableConcept, Coding
            for system, code, display in _codings(value):
                rows.token.append((name, _cut(code), _cut(system)))
                texts.append(display)
            texts.append(value.get("text", "") if "coding" in value else "")
        elif "value" in value:  # Identifier, ContactPoint: the value, with the system
            system = value.get("system", "")
            code = str(value["value"])
            if system in _CONTACT_KINDS:
                system = ""  # a ContactPoint's system is a kind of contact, not a namespace
            rows.token.append((name, _cut(code), _cut(system)))
            kind = value.get("type")
            if isinstance(kind, dict):  # Identifier.type, for :of-type and :text
                texts.append(kind.get("text", ""))
                for type_system, type_code, _display in _codings(kind):
                    rows.token.append(
                        (f"{name}:{OF_TYPE}", _cut(f"{type_code}|{code}"), _cut(type_system))
                    )
        for text in texts:
            if isinstance(text, str) and text.strip():
                rows.string.append((f"{name}:{TEXT}", _cut(normalize_string(text)), _cut(text)))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):  # HumanName, Address: every part is searchable
        for key in _STRING_PARTS:
            part = value.get(key)
            if isinstance(part, str):
                yield part
            elif isinstance(part, list):
                yield from (p for p in part if isinstance(p, str))


def _dates(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield parse_date_range(value)
    elif isinstance(value, dict):
        if "start" in value or "end" in value:  # Period
            low = parse_date_range(value["start"])[0] if "start" in value else DATE_MIN
            high = parse_date_range(value["end"])[1] if "end" in value else DATE_MAX
            yield low, high
        for event in value.get("event", ()):  # Timing
            yield parse_date_range(event)
        bounds = value.get("repeat", {}).get("boundsPeriod") if "repeat" in value else None
        if bounds:
            yield from _dates(bounds)


def _add_reference(rows: IndexRows, name: str, value: Any) -> None:
    if isinstance(value, str):  # canonical or uri: a relative one names a resource here
        target = parse_relative(value.split("|")[0])
        if target:
            rows.reference.append((name, target[0], target[1]))
        return
    if not isinstance(value, dict):
        return
    ref = value.get("reference")
    target = parse_relative(ref) if isinstance(ref, str) else None
    if target:
        rows.reference.append((name, target[0], target[1]))
    identifier = value.get("identifier")
    if isinstance(identifier, dict) and "value" in identifier:
        rows.token.append(
            (
                f"{name}:{IDENTIFIER}",
                _cut(str(identifier["value"])),
                _cut(identifier.get("system", "")),
            )
        )


def _add_quantity(rows: IndexRows, name: str, value: Any, kind: str) -> None:
    if kind == NUMBER:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.quantity.append((name, float(value), "", ""))
        return
    if not isinstance(value, dict):
        return
    if isinstance(value.get("value"), (int, float)):
        if "currency" in value:  # Money
            system, unit = "urn:iso:std:iso:4217", value["currency"]
        else:
            system, unit = value.get("system", ""), value.get("code") or value.get("unit") or ""
        rows.quantity.append((name, float(value["value"]), _cut(system), _cut(unit)))
    for bound in ("low", "high"):  # Range: both ends are values of the parameter
        if isinstance(value.get(bound), dict):
            _add_quantity(rows, name, value[bound], QUANTITY)


def add_values(
    rows: IndexRows, name: str, kind: str, values: list[Any], *, extras: bool = True
) -> None:
    """Index rows for the values of a parameter named `name` of search type `kind`;
    `extras`: with the rows its modifiers search (`:text`, `:of-type`, `:identifier`)."""
    for value in values:
        if kind == TOKEN:
            _add_token(rows if extras else _Discard(rows), name, value)
        elif kind == URI:
            if isinstance(value, str):
                rows.token.append((name, _cut(value), ""))
        elif kind == STRING:
            rows.string.extend(
                (name, _cut(normalize_string(s)), _cut(s)) for s in _strings(value) if s.strip()
            )
        elif kind == DATE:
            # Validation refused malformed dates already; anything else stays unindexed.
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                rows.date.extend((name, low, high) for low, high in _dates(value))
        elif kind in (QUANTITY, NUMBER):
            _add_quantity(rows, name, value, kind)
        elif kind == REFERENCE:
            _add_reference(rows if extras else _Discard(rows), name, value)


class _Discard(IndexRows):
    """The main rows of a value without those its modifiers need (composite components)."""

    def __init__(self, rows: IndexRows):
        super().__init__(token=_OwnRows(rows.token), string=[], reference=rows.reference)


class _OwnRows(list):
    def __init__(self, target: list):
        super().__init__()
        self._target = target

    def append(self, row) -> None:
        if ":" not in row[0]:
            self._target.append(row)


def composite_group(name: str, group: int, component: int) -> str:
    """The index `param` of one component of one occurrence of a composite: components
    of the same occurrence (one Observation.component) share `name$group`, so a search
    can ask that both match the same occurrence."""
    return f"{name}${group}" if component == 0 else f"{name}${group}${component}"


def _add_composite(rows: IndexRows, param: SearchParam, resource: dict) -> None:
    nodes = compiled(param.expression, resource["resourceType"])(resource)
    for group, (node, _t) in enumerate(nodes):
        parts = [
            [v for v, _t in compiled(component.expression, None)(node)]
            for component in param.components
        ]
        if not all(parts):  # an occurrence matches only with every component present
            continue
        for k, (component, values) in enumerate(zip(param.components, parts, strict=True)):
            name = composite_group(param.name, group, k)
            add_values(rows, name, component.type, values, extras=False)


def _heads(expression: str, root: str) -> frozenset[str] | None:
    """The top-level JSON keys an expression can start from (None: it may read anything):
    a resource without any of them has no value for it, and is not walked."""
    keys: set[str] = set()
    for part in _split_union(expression):
        plan = _compile_part(part, root) if part else None
        first = getattr(plan[0], "keys", None) if plan else None
        if first is None:
            return None
        keys.update(first)
    return frozenset(keys)


@functools.cache
def _plan(
    rtype: str,
) -> tuple[tuple[SearchParam, Callable[[Any], list[Node]], frozenset | None], ...]:
    """Per type, the parameters that have rows of their own, each with its evaluator and
    the keys it starts from: worked out once, not on every write."""
    return tuple(
        (param, compiled(param.expression, rtype), _heads(param.expression, rtype))
        for param in params_for(rtype).values()
        if not param.index_as
    )


def extract(resource: dict) -> IndexRows:
    """Index rows for a resource, per the search parameters of its type."""
    rows = IndexRows()
    for param, run, heads in _plan(resource["resourceType"]):
        if heads is not None and heads.isdisjoint(resource):
            continue
        if param.type == COMPOSITE:
            _add_composite(rows, param, resource)
            continue
        values = [v for v, _t in run(resource)]
        if values:
            add_values(rows, param.name, param.type, values)
    return rows.deduplicated()
