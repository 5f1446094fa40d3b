"""Fast structural validation of FHIR R4 resources given as JSON dicts.

This module owns one question: is this dict a structurally valid FHIR resource? It exists
because the reference answer, building the fhir.resources pydantic model, runs at about
2,000 resources a second, too slow to check every entry of every bundle we ingest.

The rules are not typed by hand. The first time a resource type is seen, its
fhir.resources R4B model and every datatype it reaches are introspected (field aliases,
list or single, primitive kind, `element_required`, `one_of_many`) and compiled into plain
dicts and tuples. Validating is then a walk over the JSON with dict and set look-ups. A
valid resource is walked once, building nothing; only an invalid one is walked a second
time, to collect every problem with its FHIRPath-like location.

What is checked (https://hl7.org/fhir/R4/json.html, https://hl7.org/fhir/R4/datatypes.html):
unknown elements, list versus single value, required elements (a required primitive may
instead carry an extension in its `_element` sibling), at most one variant of a choice
element `value[x]` and presence of a required one, JSON types and the R4 formats of every
primitive type, `_element` siblings of primitives, nulls, empty strings, arrays and
objects, and resources inside `contained`, `Bundle.entry.resource` and other
Resource-typed elements, dispatched on their own `resourceType`.

Then, unless asked not to, the R4 rules of fhir.rules: required value-set bindings and
invariants (obs-6, pat-1, dom-2...). What is not checked: extensible and preferred
bindings, reference targets, and profiles such as US Core. The models are R4B (4.3.0), which changed
only the medication-definition, evidence and subscription resources of R4 (4.0.1)
(https://hl7.org/fhir/R4B/r4b-explanation.html): for those, R4B's shape is what is checked.
"""

from __future__ import annotations

import calendar
import decimal
import re
import threading
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any

from chartkeeper.errors import InvalidResource, Issue, RuleViolation
from chartkeeper.fhir.resource_types import RESOURCE_TYPES

__all__ = ["known_resource_types", "validate"]

# A compiled element: (kind, arg, check, `_element` sibling alias or None). The happy path
# tests the common kinds inline using arg (a memo of strings known valid, an integer range,
# the child _Table); check is the authoritative test that names the problem, consulted only
# when the inline one fails. A repeating element's kind has _LIST added.
_STRING, _MATCH, _DECIMAL, _INTEGER, _BOOLEAN, _OTHER = range(6)
_COMPLEX, _RESOURCE, _RESOURCE_TYPE = 7, 8, 9
_LIST = 16
_COMPLEX_LIST, _RESOURCE_LIST = _COMPLEX + _LIST, _RESOURCE + _LIST
# `_given`: the extensions of a repeating primitive, item by item aligned with `given`.
_ALIGNED_LIST = 10 + _LIST
Checker = Callable[[Any], "str | None"]
Spec = tuple[int, Any, "Checker | None", "str | None"]


class _Table:
    """The compiled rules of one model class (a resource, datatype or backbone element)."""

    __slots__ = (
        "choice_aliases",
        "choices",
        "fields",
        "required",
        "required_choices",
        "required_keys",
        "tail",
    )

    def __init__(self) -> None:
        self.fields: dict[str, Spec] = {}
        # (alias, the `_alias` that may stand in for a missing primitive, or None)
        self.required: tuple[tuple[str, str | None], ...] = ()
        self.required_keys: frozenset[str] = frozenset()
        # value alias -> its choice group, e.g. "valueQuantity" -> "value"
        self.choices: dict[str, str] = {}
        self.choice_aliases: frozenset[str] = frozenset()
        # (choice group, every alias of that group including `_` siblings)
        self.required_choices: tuple[tuple[str, tuple[str, ...]], ...] = ()
        # whether any of the three above needs checking once the elements are done
        self.tail = False


# --- primitive types ---------------------------------------------------------------------

# The R4 regexes from datatypes.html. Python's fullmatch stands in for the implied anchors.
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH_DAY = r"-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])"
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_DATE = re.compile(_YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?")
_DATE_TIME = re.compile(
    _YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T" + _CLOCK + _ZONE + r")?)?)?"
)
_INSTANT = re.compile(_YEAR + _MONTH_DAY + "T" + _CLOCK + _ZONE)
_TIME = re.compile(_CLOCK)
_CODE = re.compile(r"[^\s]+(\s[^\s]+)*")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_URI = re.compile(r"\S+")  # R4 says \S*, but JSON has no empty strings anywhere
_OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# R4's published base64Binary regex omits '/', a known erratum; RFC 4648 has it.
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_MAX_STRING = 1024 * 1024
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_MEMO_SIZE = 4096
_MEMO_MAX_LENGTH = 200


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _not_a(expected: str, value: Any) -> str:
    if value is None:
        return "null not allowed"
    if isinstance(value, list):
        return "expected a single value, not a list"
    if isinstance(value, dict):
        return f"expected {expected}, not an object"
    return f"expected {expected}"


def _string_checker(name: str, limit: int | None) -> Checker:
    def check(value: Any) -> str | None:
        if type(value) is not str:
            return _not_a("a string", value)
        if not value:
            return "empty string not allowed"
        if limit is not None and len(value) > limit:
            return f"{name} longer than {limit} characters"
        return None

    return check


def _pattern_type(
    name: str, pattern: re.Pattern[str], *, calendar_date: bool = False
) -> tuple[int, set[str], Checker]:
    """A regex-defined string type, with a memo of values that matched.

    Codes, systems and profile URLs repeat across nearly every resource, and so do times
    (an encounter's observations share theirs). A set look-up of a str, whose hash Python
    caches, is several times cheaper than a regex match. The memo is bounded by clearing it
    when full, so it follows what the current feed repeats.
    """
    match = pattern.fullmatch
    memo: set[str] = set()

    def check(value: Any) -> str | None:
        if type(value) is not str:
            return _not_a("a string", value)
        if match(value) is None or (calendar_date and not _real_date(value)):
            return f"{_show(value)} is not a valid {name}" if value else "empty string not allowed"
        if len(value) <= _MEMO_MAX_LENGTH:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo.add(value)
        return None

    return _MATCH, memo, check


def _real_date(value: str) -> bool:
    """The regexes allow 31 days in every month; FHIR says dates SHALL be valid dates."""
    if len(value) < 10 or value[8:10] <= "28":
        return True
    return int(value[8:10]) <= calendar.monthrange(int(value[:4]), int(value[5:7]))[1]


def _integer_checker(name: str, low: int, high: int) -> Checker:
    def check(value: Any) -> str | None:
        # bool is an int subclass; JSON true is not an integer.
        if type(value) is not int:
            return _not_a("an integer", value)
        if value < low or value > high:
            return f"{value} is out of range for {name}"
        return None

    return check


def _check_boolean(value: Any) -> str | None:
    return None if value is True or value is False else _not_a("a boolean", value)


def _check_decimal(value: Any) -> str | None:
    kind = type(value)
    if kind is float:
        # inf - inf and nan - nan are nan, which json.loads lets through but FHIR has no
        # way to write.
        return None if value - value == 0 else f"{value} is not a valid decimal"
    if kind is int or kind is decimal.Decimal:
        return None if kind is int or value.is_finite() else f"{value} is not a valid decimal"
    return _not_a("a number", value)


def _check_base64(value: Any) -> str | None:
    if type(value) is not str:
        return _not_a("a string", value)
    compact = "".join(value.split())
    if not compact:
        return "empty string not allowed"
    if _BASE64.fullmatch(compact) is None:
        return f"{_show(value)} is not valid base64Binary"
    return None


# FHIR primitive type -> (inline kind, inline arg, authoritative check)
_PRIMITIVES: dict[str, tuple[int, Any, Checker]] = {
    "boolean": (_BOOLEAN, None, _check_boolean),
    "integer": (_INTEGER, _INT32, _integer_checker("integer", *_INT32)),
    "integer64": (_INTEGER, _INT64, _integer_checker("integer64", *_INT64)),
    "unsignedInt": (_INTEGER, (0, _INT32[1]), _integer_checker("unsignedInt", 0, _INT32[1])),
    "positiveInt": (_INTEGER, (1, _INT32[1]), _integer_checker("positiveInt", 1, _INT32[1])),
    "decimal": (_DECIMAL, None, _check_decimal),
    "string": (_STRING, None, _string_checker("string", _MAX_STRING)),
    "markdown": (_STRING, None, _string_checker("markdown", _MAX_STRING)),
    "xhtml": (_STRING, None, _string_checker("xhtml", None)),
    "code": _pattern_type("code", _CODE),
    "id": _pattern_type("id", _ID),
    "uri": _pattern_type("uri", _URI),
    "url": _pattern_type("url", _URI),
    "canonical": _pattern_type("canonical", _URI),
    "oid": _pattern_type("oid", _OID),
    "uuid": _pattern_type("uuid", _UUID),
    "base64Binary": (_OTHER, None, _check_base64),
    "date": _pattern_type("date", _DATE, calendar_date=True),
    "dateTime": _pattern_type("dateTime", _DATE_TIME, calendar_date=True),
    "instant": _pattern_type("instant", _INSTANT, calendar_date=True),
    "time": _pattern_type("time", _TIME),
}


# --- compiling the fhir.resources models -------------------------------------------------

_lock = threading.RLock()
_tables: dict[type, _Table] = {}  # model class -> table; only touched under _lock
_resources: dict[str, _Table] = {}  # resourceType -> table; published complete, read freely


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"cannot compile FHIR element of type {annotation!r}")
        return args[0]
    return annotation


def _primitive_kind(annotation: Any) -> str | None:
    if annotation is bool:
        return "boolean"
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    for meta in annotation.__metadata__:
        # fhir_core marks each primitive with a class carrying the FHIR type name.
        name = getattr(meta, "__visit_name__", None)
        if name in _PRIMITIVES:
            return name
    if typing.get_args(annotation)[0] is uuid.UUID:  # pydantic's UUID4, no fhir_core marker
        return "uuid"
    return None


def _compile_element(annotation: Any) -> tuple[int, Any, Checker | None]:
    """(kind, arg, check) for one field annotation of a fhir.resources model."""
    from fhir_core.types import FhirBase, FhirElementOrResourceBase

    inner = _without_none(annotation)
    repeats = _LIST if typing.get_origin(inner) is list else 0
    if repeats:
        inner = _without_none(typing.get_args(inner)[0])
    primitive = _primitive_kind(inner)
    if primitive is not None:
        kind, arg, check = _PRIMITIVES[primitive]
        return kind + repeats, arg, check
    if isinstance(inner, type) and issubclass(inner, FhirBase):
        # fhirtypes holds placeholders (abc.QuantityType) naming the real class by dotted
        # path, which is how fhir.resources breaks its import cycles.
        model = inner.get_model_klass()
        if not issubclass(inner, FhirElementOrResourceBase):
            return _COMPLEX + repeats, _compile(model), _complex_problem
        if model.__name__ == "Resource":
            return _RESOURCE + repeats, None, None
    raise TypeError(f"cannot compile FHIR element of type {annotation!r}")


def _compile(model: type) -> _Table:
    """Compile a model and everything it reaches; call with _lock held."""
    table = _tables.get(model)
    if table is not None:
        return table
    # Registered before its fields so that Extension -> Extension terminates.
    table = _tables[model] = _Table()
    extras: dict[str, dict[str, Any]] = {}
    required: list[str] = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if alias == "fhir_comments":  # a DSTU2 relic; R4 JSON has no comments
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        extras[alias] = extra
        table.fields[alias] = (*_compile_element(info.annotation), None)
        if info.is_required() or extra.get("element_required"):
            required.append(alias)
    required_choices: dict[str, list[str]] = {}
    for alias, (kind, arg, check, _) in list(table.fields.items()):
        sibling = alias[1:] if alias[0] == "_" else "_" + alias
        sibling = sibling if sibling in table.fields else None
        if kind == _COMPLEX_LIST and alias[0] == "_":
            kind = _ALIGNED_LIST
        table.fields[alias] = (kind, arg, check, sibling)
        group = extras[alias].get("one_of_many")
        if group:
            table.choices[alias] = group
            if extras[alias].get("one_of_many_required"):
                required_choices.setdefault(group, []).extend(a for a in (alias, sibling) if a)
    if model.has_resource_base():
        table.fields["resourceType"] = (_RESOURCE_TYPE, None, None, None)
    # A required primitive may be absent when its `_element` explains why
    # (https://hl7.org/fhir/R4/extensibility.html#Special-Case).
    table.required = tuple((alias, table.fields[alias][3]) for alias in required)
    table.required_keys = frozenset(required)
    table.choice_aliases = frozenset(table.choices)
    table.required_choices = tuple((g, tuple(a)) for g, a in required_choices.items())
    table.tail = bool(table.required or table.choices)
    return table


def _resource_table(resource_type: Any) -> _Table | None:
    if type(resource_type) is not str:
        return None
    table = _resources.get(resource_type)
    if table is None and resource_type in RESOURCE_TYPES:
        with _lock:
            table = _resources[resource_type] = _compile_resource(resource_type)
    return table


def _compile_resource(resource_type: str) -> _Table:
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class(resource_type)
    if model.__resource_type__ != resource_type or not model.has_resource_base():
        raise TypeError(f"fhir.resources has no resource model for {resource_type}")
    compiled = set(_tables)
    try:
        return _compile(model)
    except BaseException:
        # Leave no half-filled table behind for a later type to pick up.
        for half_done in set(_tables) - compiled:
            del _tables[half_done]
        raise


def known_resource_types() -> frozenset[str]:
    """Every concrete resource type `validate` accepts, e.g. "Patient" (not "Resource")."""
    return RESOURCE_TYPES


# --- validating --------------------------------------------------------------------------


def validate(resource: dict, *, rules: bool = True) -> None:
    """Raise InvalidResource listing every structural problem in `resource`, or return None.
    A structurally valid resource is then held to the R4 rules (fhir.rules: required
    bindings and invariants, unless `rules` is false): RuleViolation when one is broken.

    Args:
        resource: one resource as parsed from FHIR JSON (json.loads or orjson.loads).

    Example:
        >>> validate({"resourceType": "Patient", "id": "p1", "gender": "female"})
        >>> validate({"resourceType": "Patient", "id": "p1", "birthDate": "2020-13-45"})
        Traceback (most recent call last):
        chartkeeper.errors.InvalidResource: invalid Patient/p1: Patient.birthDate: ...
    """
    if not isinstance(resource, dict):
        raise InvalidResource("Resource", None, [Issue("", "expected a JSON object")])
    issues: list[Issue] = []
    resource_type = resource.get("resourceType")
    table = _resource_table(resource_type)
    if table is None:
        issues.append(_resource_type_issue("resourceType", resource_type))
    else:
        try:
            if not _conforms(resource, table):
                _check_object(resource, table, resource_type, issues)
        except RecursionError:  # each level of JSON nesting is a Python call
            issues.append(Issue(resource_type, "nested too deeply to validate"))
    resource_id = resource.get("id")
    if issues:
        raise InvalidResource(
            resource_type if isinstance(resource_type, str) else "Resource",
            resource_id if isinstance(resource_id, str) else None,
            issues,
        )
    if rules:
        from chartkeeper.fhir.rules import check_rules  # fhirpathpy loads on first use

        broken = check_rules(resource)
        if broken:
            violation = RuleViolation(
                resource_type,
                resource_id if isinstance(resource_id, str) else None,
                [Issue(p.path, f"{p.text} [{p.rule}]") for p in broken],
            )
            violation.code = (
                "invariant" if any(p.code == "invariant" for p in broken) else "code-invalid"
            )
            raise violation


def _resource_type_issue(path: str, resource_type: Any) -> Issue:
    if resource_type is None:
        return Issue(path, "required element missing")
    if not isinstance(resource_type, str):
        return Issue(path, _not_a("a string", resource_type))
    return Issue(path, f"unknown resource type {_show(resource_type)}")


def _check_resource(value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, dict):
        issues.append(Issue(path, _not_a("a resource", value)))
        return
    table = _resource_table(value.get("resourceType"))
    if table is None:
        issues.append(_resource_type_issue(path + ".resourceType", value.get("resourceType")))
    else:
        _check_object(value, table, path, issues)


def _conforms(obj: dict, table: _Table) -> bool:
    """The happy path: True only if `obj` has no problem; False sends it to _check_object.

    It builds no paths or issues, and for the common primitive kinds tests inline what their
    `check` would; `check` is still asked before anything counts as a failure.
    """
    fields = table.fields
    for key, value in obj.items():
        spec = fields.get(key)
        if spec is None:
            return False
        kind, arg, check, _ = spec
        if kind == _COMPLEX:
            if type(value) is dict and value and _conforms(value, arg):
                continue
            return False
        elif kind == _STRING:
            if type(value) is str and value and len(value) <= _MAX_STRING:
                continue
        elif kind == _MATCH:
            if type(value) is str and value in arg:
                continue
        elif kind == _COMPLEX_LIST:
            if type(value) is not list or not value:
                return False
            for item in value:
                if type(item) is not dict or not item or not _conforms(item, arg):
                    return False
            continue
        elif kind == _DECIMAL:
            if type(value) is int or (type(value) is float and value - value == 0):
                continue
        elif kind == _INTEGER:
            if type(value) is int and arg[0] <= value <= arg[1]:
                continue
        elif kind == _BOOLEAN:
            if value is True or value is False:
                continue
        elif kind == _RESOURCE:
            if _resource_conforms(value):
                continue
            return False
        elif kind == _RESOURCE_TYPE:
            continue
        elif kind & _LIST:
            if type(value) is not list or not value:
                return False
            if kind == _RESOURCE_LIST:
                for item in value:
                    if not _resource_conforms(item):
                        return False
            elif kind == _ALIGNED_LIST:
                return False  # rare enough to leave the alignment rules to _check_list
            else:
                for item in value:
                    if check(item) is not None:
                        return False
            continue
        if check(value) is not None:
            return False
    if not table.tail:
        return True
    if table.choice_aliases:
        present = table.choice_aliases.intersection(obj)
        # Observation.effectiveDateTime and .valueQuantity may well appear together.
        if len(present) > 1 and len({table.choices[k] for k in present}) < len(present):
            return False
    for _, aliases in table.required_choices:
        if obj.keys().isdisjoint(aliases):
            return False
    return obj.keys() >= table.required_keys


def _resource_conforms(value: Any) -> bool:
    if type(value) is not dict:
        return False
    table = _resource_table(value.get("resourceType"))
    return table is not None and _conforms(value, table)


def _check_object(obj: dict, table: _Table, path: str, issues: list[Issue]) -> None:
    """Collect every problem in `obj`, located; the slow path after _conforms said no."""
    fields = table.fields
    for key, value in obj.items():
        spec = fields.get(key)
        if spec is None:
            issues.append(Issue(f"{path}.{key}", f"unknown element {_show(key)}"))
            continue
        kind, arg, check, _ = spec
        if kind & _LIST:
            if isinstance(value, list) and value:
                _check_list(obj, key, value, spec, f"{path}.{key}", issues)
            else:
                issues.append(Issue(f"{path}.{key}", _list_problem(value)))
        elif kind == _COMPLEX and isinstance(value, dict) and value:
            _check_object(value, arg, f"{path}.{key}", issues)
        elif kind == _RESOURCE:
            _check_resource(value, f"{path}.{key}", issues)
        elif check is not None:
            problem = check(value)
            if problem is not None:
                issues.append(Issue(f"{path}.{key}", problem))
    if table.choice_aliases:
        present = table.choice_aliases.intersection(obj)
        if len(present) > 1:
            _check_choices(obj, table, present, path, issues)
    for group, aliases in table.required_choices:
        if obj.keys().isdisjoint(aliases):
            issues.append(Issue(f"{path}.{group}[x]", "required element missing"))
    for alias, stand_in in table.required:
        if alias not in obj and (stand_in is None or not _explains_absence(obj.get(stand_in))):
            issues.append(Issue(f"{path}.{alias}", "required element missing"))


def _check_choices(
    obj: dict, table: _Table, present: frozenset[str], path: str, issues: list[Issue]
) -> None:
    groups: dict[str, list[str]] = {}
    for key, group in table.choices.items():  # model order, whatever order the JSON has
        if key in present:
            groups.setdefault(group, []).append(key)
    for group, keys in groups.items():
        if len(keys) > 1:
            problem = f"only one of {', '.join(keys)} may be present"
            issues.append(Issue(f"{path}.{group}[x]", problem))


def _list_problem(value: Any) -> str:
    if value is None:
        return "null not allowed"
    return "empty array not allowed" if isinstance(value, list) else "expected a list"


def _complex_problem(value: Any) -> str | None:
    if isinstance(value, dict):
        return None if value else "empty object not allowed"
    return _not_a("an object", value)


def _explains_absence(element: Any) -> bool:
    """Whether a `_status` carries the extension (e.g. data-absent-reason) saying why."""
    if isinstance(element, list):
        return any(_explains_absence(e) for e in element)
    return isinstance(element, dict) and bool(element.get("extension"))


def _check_list(
    obj: dict, key: str, items: list, spec: Spec, path: str, issues: list[Issue]
) -> None:
    kind, arg, check, sibling = spec
    if kind in (_COMPLEX_LIST, _ALIGNED_LIST):
        for i, item in enumerate(items):
            if isinstance(item, dict) and item:
                _check_object(item, arg, f"{path}[{i}]", issues)
            # `_given: [null, {...}]` lines extensions up with the values of `given`.
            elif not (item is None and kind == _ALIGNED_LIST and _sibling_has(obj, sibling, i)):
                issues.append(Issue(f"{path}[{i}]", _complex_problem(item) or ""))
        values = obj.get(sibling) if kind == _ALIGNED_LIST and sibling else None
        if isinstance(values, list) and len(values) != len(items):
            issues.append(Issue(path, f"must have as many items as {sibling}"))
    elif kind == _RESOURCE_LIST:
        for i, item in enumerate(items):
            _check_resource(item, f"{path}[{i}]", issues)
    else:
        for i, item in enumerate(items):
            problem = check(item)
            if problem is not None and not (item is None and _sibling_has(obj, sibling, i)):
                issues.append(Issue(f"{path}[{i}]", problem))


def _sibling_has(obj: dict, sibling: str | None, index: int) -> bool:
    """In primitive arrays a null is only a placeholder for an item of the `_` sibling."""
    other = obj.get(sibling) if sibling is not None else None
    return isinstance(other, list) and index < len(other) and other[index] is not None


def element_repeats(resource_type: str, names: list[str]) -> bool | None:
    """Whether the element reached from `resource_type` through `names` (JSON names, e.g.
    ["name", "given"]) repeats; None when there is no such element. For FHIRPath Patch,
    which adds to a list or sets a single value depending on the element's cardinality."""
    table = _resource_table(resource_type)
    repeats = None
    for name in names:
        if table is None or name not in table.fields:
            return None
        kind, arg, _, _ = table.fields[name]
        repeats = bool(kind & _LIST)
        table = arg if isinstance(arg, _Table) else None
    return repeats
