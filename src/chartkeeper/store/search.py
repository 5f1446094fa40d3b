"""FHIR search over the index tables: parameters, prefixes, modifiers, sorting and paging.

Semantics follow FHIR R4 search (https://hl7.org/fhir/R4/search.html): values separated by
commas are OR, a repeated parameter is AND; dates and quantities match as ranges (`eq`
means the value's range lies within the range the query's precision implies); strings
match case- and accent-insensitively from the start unless `:exact` or `:contains`.
Results are ordered by the requested `_sort` keys with the resource id as the final key,
so pages never overlap or skip, whatever the ties.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    false,
    func,
    not_,
    or_,
    select,
)

from chartkeeper.errors import InvalidSearch
from chartkeeper.fhir import search_params as sp
from chartkeeper.fhir.references import parse_relative
from chartkeeper.fhir.wire import whole_number
from chartkeeper.store.dialect import like_escape
from chartkeeper.store.guard import HiddenLabels
from chartkeeper.store.resources import INDEX_TABLES, current, resource, resource_history

if TYPE_CHECKING:
    from chartkeeper.store.repository import Transaction

DEFAULT_COUNT = 50
MAX_COUNT = 1000
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
# Parameters that shape the result rather than filter it; the API layer handles _include.
RESULT_PARAMS = {
    "_count",
    "_offset",
    "_sort",
    "_total",
    # fhirpy's count() sends Aidbox's `_totalMethod=count`; our totals are always exact.
    "_totalMethod",
    "_include",
    "_revinclude",
    "_format",
    "_summary",
    "_elements",
}


@dataclass
class SearchPage:
    total: int
    resources: list[dict]
    offset: int
    count: int

    @property
    def next_offset(self) -> int | None:
        nxt = self.offset + self.count
        return nxt if self.count and nxt < self.total else None


@dataclass(frozen=True)
class _Criterion:
    param: sp.SearchParam
    modifier: str
    values: tuple[str, ...]


def search(
    conn: Connection,
    resource_type: str,
    params: Sequence[tuple[str, str]],
    *,
    hidden: HiddenLabels | None = None,
) -> SearchPage:
    """Run a search. `params` are (name[:modifier], value) pairs as in a query string.
    `hidden`: security labels to leave out, in the query itself so totals and pages
    never count what the caller may not see."""
    count, offset, sort = DEFAULT_COUNT, 0, ""
    criteria: list[_Criterion] = []
    for raw_name, value in params:
        if raw_name == "_count":
            count = min(_non_negative(raw_name, value), MAX_COUNT)
        elif raw_name == "_offset":
            offset = _non_negative(raw_name, value)
        elif raw_name == "_sort":
            sort = value
        elif raw_name not in RESULT_PARAMS:
            criteria.append(_criterion(resource_type, raw_name, value))
    query = (
        select(resource.c.id, resource_history.c.content)
        .select_from(current)
        .where(resource.c.resource_type == resource_type, resource.c.deleted.is_(False))
    )
    for criterion in criteria:
        query = query.where(_condition(resource_type, criterion))
    if hidden:
        query = query.where(not_hidden(resource_type, hidden))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = []
    if count:
        ordered = _order(query, resource_type, sort).limit(count).offset(offset)
        rows = [orjson.loads(r.content) for r in conn.execute(ordered)]
    return SearchPage(total=total, resources=rows, offset=offset, count=count)


def not_hidden(resource_type: str, hidden: HiddenLabels) -> ColumnElement[bool]:
    """Resources carrying none of the hidden labels, or belonging to an exempt patient."""
    token = INDEX_TABLES[sp.TOKEN]
    labelled = select(token.c.resource_id).where(
        token.c.resource_type == resource_type,
        token.c.param == sp.SECURITY,
        or_(
            *[and_(token.c.system == system, token.c.code == code) for system, code in hidden.codes]
        ),
    )
    condition = resource.c.id.not_in(labelled)
    if hidden.exempt_patients:
        patients = sorted(hidden.exempt_patients)
        if resource_type == "Patient":
            return or_(condition, resource.c.id.in_(patients))
        ref = INDEX_TABLES[sp.REFERENCE]
        theirs = select(ref.c.resource_id).where(
            ref.c.resource_type == resource_type,
            ref.c.target_type == "Patient",
            ref.c.target_id.in_(patients),
        )
        condition = or_(condition, resource.c.id.in_(theirs))
    return condition


def _non_negative(name: str, value: str) -> int:
    return whole_number(value, name, error=InvalidSearch)


def _criterion(resource_type: str, raw_name: str, value: str) -> _Criterion:
    name, _, modifier = raw_name.partition(":")
    param = sp.lookup(resource_type, name)
    if param is None:
        known = sorted(set(sp.params_for(resource_type)) | set(sp.COMMON_PARAMS))
        raise InvalidSearch(
            f"{resource_type} has no search parameter '{name}'; supported: {', '.join(known)}"
        )
    values = tuple(v.replace("\\,", ",") for v in re.split(r"(?<!\\),", value))
    if not all(values):
        raise InvalidSearch(f"{raw_name}: empty value")
    return _Criterion(param, modifier, values)


def _condition(resource_type: str, criterion: _Criterion) -> ColumnElement[bool]:
    param, modifier = criterion.param, criterion.modifier
    if param.name == "_id":
        return resource.c.id.in_(criterion.values)
    if param.name == "_lastUpdated":
        return or_(
            *[
                _date_match(resource.c.last_updated, resource.c.last_updated, v, stamp=True)
                for v in criterion.values
            ]
        )
    table = INDEX_TABLES[param.type]
    candidates = _ids(table, resource_type, param)
    if modifier == "missing":
        present = resource.c.id.in_(candidates)
        return not_(present) if criterion.values[0] == "true" else present
    if param.type == sp.TOKEN and modifier == "not":
        matches = [_token_match(table, v) for v in criterion.values]
        return resource.c.id.not_in(candidates.where(or_(*matches)))
    if param.target_type:
        if modifier and modifier != param.target_type:
            return false()
        modifier = param.target_type
    matchers = {
        sp.TOKEN: lambda v: _token_match(table, v, modifier),
        sp.STRING: lambda v: _string_match(table, v, modifier),
        sp.DATE: lambda v: _date_match(table.c.low, table.c.high, v),
        sp.QUANTITY: lambda v: _quantity_match(table, v),
        sp.REFERENCE: lambda v: _reference_match(table, v, modifier),
    }
    if param.type == sp.REFERENCE and len(criterion.values) > 1:
        match = _references_match(table, criterion.values, modifier)
    else:
        match = or_(*[matchers[param.type](v) for v in criterion.values])
    return resource.c.id.in_(candidates.where(match))


def _ids(table, resource_type: str, param: sp.SearchParam) -> Select:
    query = select(table.c.resource_id).where(
        table.c.resource_type == resource_type, table.c.param == param.indexed_name
    )
    if param.target_type:
        query = query.where(table.c.target_type == param.target_type)
    return query


def _token_match(table, value: str, modifier: str = "") -> ColumnElement[bool]:
    if modifier not in ("", "not"):
        raise InvalidSearch(f"token modifier ':{modifier}' is not supported (use :not or :missing)")
    if "|" not in value:
        return table.c.code == value
    system, _, code = value.partition("|")
    system_match = table.c.system == system  # '' is "no system", as `|code` asks
    return system_match if code == "" else and_(system_match, table.c.code == code)


def _string_match(table, value: str, modifier: str) -> ColumnElement[bool]:
    if modifier == "exact":
        return table.c.raw == value
    needle = like_escape(sp.normalize_string(value))
    if modifier == "contains":
        return table.c.value.like(f"%{needle}%", escape="\\")
    if modifier:
        raise InvalidSearch(f"string modifier ':{modifier}' is not supported")
    return table.c.value.like(f"{needle}%", escape="\\")


def _split_prefix(value: str) -> tuple[str, str]:
    if value[:2] in PREFIXES and len(value) > 2 and (value[2].isdigit() or value[2] == "-"):
        return value[:2], value[2:]
    return "eq", value


def _date_match(low, high, value: str, *, stamp: bool = False) -> ColumnElement[bool]:
    prefix, text = _split_prefix(value)
    try:
        s_low, s_high = sp.parse_date_range(text)
    except ValueError as exc:
        raise InvalidSearch(str(exc)) from exc
    if stamp:  # last_updated is stored as a FHIR instant ending in Z
        s_low, s_high = s_low + "Z", s_high + "Z"
    return {
        "eq": lambda: and_(low >= s_low, high <= s_high),
        "ne": lambda: or_(low < s_low, high > s_high),
        "gt": lambda: high > s_high,
        "lt": lambda: low < s_low,
        "ge": lambda: high >= s_low,
        "le": lambda: low <= s_high,
        "sa": lambda: low > s_high,
        "eb": lambda: high < s_low,
        "ap": lambda: and_(low <= s_high, high >= s_low),
    }[prefix]()


def _quantity_match(table, value: str) -> ColumnElement[bool]:
    number, system, code = [*value.split("|"), "", ""][:3]
    prefix, number = _split_prefix(number)
    try:
        exact, low, high = sp.parse_quantity_value(number)
    except ValueError as exc:
        raise InvalidSearch(str(exc)) from exc
    v = table.c.value
    x, lo, hi = float(exact), float(low), float(high)
    margin = abs(x) * 0.1
    condition = {
        "eq": lambda: and_(v >= lo, v < hi),
        "ne": lambda: or_(v < lo, v >= hi),
        "gt": lambda: v > x,
        "lt": lambda: v < x,
        "ge": lambda: v >= x,
        "le": lambda: v <= x,
        "sa": lambda: v > x,
        "eb": lambda: v < x,
        "ap": lambda: and_(v >= x - margin, v <= x + margin),
    }[prefix]()
    if system:
        condition = and_(condition, table.c.system == system)
    if code:
        condition = and_(condition, table.c.code == code)
    return condition


def _reference_match(table, value: str, modifier: str) -> ColumnElement[bool]:
    target = parse_relative(value)
    if target:
        if modifier and modifier != target[0]:
            return false()
        return and_(table.c.target_type == target[0], table.c.target_id == target[1])
    if "/" in value:
        raise InvalidSearch(f"'{value}' is not a reference this store can resolve")
    if modifier:
        return and_(table.c.target_type == modifier, table.c.target_id == value)
    return table.c.target_id == value


def _references_match(table, values: Sequence[str], modifier: str) -> ColumnElement[bool]:
    """An OR list of references (`encounter=Encounter/a,Encounter/b,...`): one IN per
    target type instead of an AND per value, so a worklist asking for the notes of hundreds
    of encounters is one index lookup, not hundreds of OR branches to build and plan."""
    by_type: dict[str, list[str]] = {}
    others = []
    for value in values:
        target = parse_relative(value)
        if target and not (modifier and modifier != target[0]):
            by_type.setdefault(target[0], []).append(target[1])
        else:
            others.append(_reference_match(table, value, modifier))
    grouped = [
        and_(table.c.target_type == rtype, table.c.target_id.in_(ids))
        for rtype, ids in by_type.items()
    ]
    return or_(*grouped, *others)


def _order(query: Select, resource_type: str, sort: str) -> Select:
    keys = []
    for item in filter(None, sort.split(",")):
        descending = item.startswith("-")
        name = item.lstrip("-")
        if name == "_id":
            key = resource.c.id
        elif name == "_lastUpdated":
            key = resource.c.last_updated
        else:
            key = _sort_key(resource_type, name, descending)
        keys.append((key.desc() if descending else key.asc()).nulls_last())
    return query.order_by(*keys, resource.c.id)


def _sort_key(resource_type: str, name: str, descending: bool):
    param = sp.lookup(resource_type, name)
    if param is None or param.type in (sp.QUANTITY, sp.REFERENCE):
        raise InvalidSearch(f"cannot sort {resource_type} by '{name}'")
    table = INDEX_TABLES[param.type]
    name_of = {sp.TOKEN: "code", sp.STRING: "value", sp.DATE: "high" if descending else "low"}
    column = table.c[name_of[param.type]]
    aggregate = func.max(column) if descending else func.min(column)
    return (
        select(aggregate)
        .where(
            table.c.resource_type == resource_type,
            table.c.param == param.indexed_name,
            table.c.resource_id == resource.c.id,
        )
        .scalar_subquery()
    )


def include_targets(
    tx: Transaction, resource_type: str, param_name: str, ids: Sequence[str]
) -> set[tuple[str, str]]:
    """What `_include=Type:param` adds: the resources the matches point to through `param`."""
    param = sp.lookup(resource_type, param_name)
    if param is None or param.type != sp.REFERENCE:
        raise InvalidSearch(f"_include: {resource_type} has no reference parameter '{param_name}'")
    ref = INDEX_TABLES[sp.REFERENCE]
    query = select(ref.c.target_type, ref.c.target_id).where(
        ref.c.resource_type == resource_type,
        ref.c.param == param.indexed_name,
        ref.c.resource_id.in_(list(ids)),
    )
    if param.target_type:
        query = query.where(ref.c.target_type == param.target_type)
    return {(t, i) for t, i in tx.conn.execute(query)}


def revinclude_sources(
    tx: Transaction, source_type: str, param_name: str, targets: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """What `_revinclude=Source:param` adds: resources whose `param` points at the matches."""
    param = sp.lookup(source_type, param_name)
    if param is None or param.type != sp.REFERENCE:
        raise InvalidSearch(f"_revinclude: {source_type} has no reference parameter '{param_name}'")
    ref = INDEX_TABLES[sp.REFERENCE]
    found: set[tuple[str, str]] = set()
    by_type: dict[str, list[str]] = {}
    for t, i in targets:
        by_type.setdefault(t, []).append(i)
    for target_type, target_ids in by_type.items():
        if param.target_type and param.target_type != target_type:
            continue
        query = select(ref.c.resource_id).where(
            ref.c.resource_type == source_type,
            ref.c.param == param.indexed_name,
            ref.c.target_type == target_type,
            ref.c.target_id.in_(target_ids),
        )
        found.update((source_type, i) for i in tx.conn.execute(query).scalars())
    return found


def referencing(tx: Transaction, target_type: str, target_id: str) -> set[tuple[str, str]]:
    """Every resource with an indexed reference to the target (a patient's compartment)."""
    ref = INDEX_TABLES[sp.REFERENCE]
    query = select(ref.c.resource_type, ref.c.resource_id).where(
        ref.c.target_type == target_type, ref.c.target_id == target_id
    )
    return {(t, i) for t, i in tx.conn.execute(query)}
