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
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
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
    total: int | None  # None when the caller asked for no total (_total=none)
    resources: list[dict]
    offset: int
    count: int
    more: bool = False  # another page follows (known without a total)

    @property
    def next_offset(self) -> int | None:
        nxt = self.offset + self.count
        if self.total is None:
            return nxt if self.count and self.more else None
        return nxt if self.count and nxt < self.total else None


TOTALS = ("none", "estimate", "accurate")


def search(
    conn: Connection,
    resource_type: str,
    params: Sequence[tuple[str, str]],
    *,
    hidden: HiddenLabels | None = None,
) -> SearchPage:
    """Run a search. `params` are (name[:modifier], value) pairs as in a query string.
    `hidden`: security labels to leave out, in the query itself (and in every chained,
    `_has` and composite sub-query) so totals and pages never count what the caller may
    not see, and no criterion can probe a hidden record."""
    count, offset, sort, total_mode = DEFAULT_COUNT, 0, "", "accurate"
    conditions: list[ColumnElement[bool]] = []
    for raw_name, value in params:
        if raw_name == "_count":
            count = min(_non_negative(raw_name, value), MAX_COUNT)
        elif raw_name == "_offset":
            offset = _non_negative(raw_name, value)
        elif raw_name == "_sort":
            sort = value
        elif raw_name == "_total":
            if value not in TOTALS:
                raise InvalidSearch(f"_total={value}: expected one of {', '.join(TOTALS)}")
            total_mode = value
        elif raw_name.split(":")[0] not in RESULT_PARAMS:
            conditions.append(_criterion(resource_type, raw_name, value, hidden, resource.c.id))
    query = (
        select(resource.c.id, resource_history.c.content)
        .select_from(current)
        .where(resource.c.resource_type == resource_type, resource.c.deleted.is_(False))
    )
    for condition in conditions:
        query = query.where(condition)
    if hidden:
        query = query.where(not_hidden(resource_type, hidden))
    total = None
    if total_mode != "none":  # an estimate is the exact count: cheap at this scale
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows, more = [], False
    if count:
        ordered = _order(query, resource_type, sort).offset(offset)
        fetched = conn.execute(ordered.limit(count + (total is None))).all()
        more = len(fetched) > count
        rows = [orjson.loads(r.content) for r in fetched[:count]]
    return SearchPage(total=total, resources=rows, offset=offset, count=count, more=more)


def not_hidden(resource_type: str, hidden: HiddenLabels, id_column=None) -> ColumnElement[bool]:
    """Resources carrying none of the hidden labels, or belonging to an exempt patient.
    `id_column`: the id of the resources being filtered (the outer query's by default)."""
    ids = resource.c.id if id_column is None else id_column
    token = INDEX_TABLES[sp.TOKEN]

    def labelled(codes):
        return select(token.c.resource_id).where(
            token.c.resource_type == resource_type,
            token.c.param == sp.SECURITY,
            or_(*[and_(token.c.system == system, token.c.code == code) for system, code in codes]),
        )

    condition = ids.not_in(labelled(hidden.codes))
    if not hidden.exempt_patients:
        return condition
    patients = sorted(hidden.exempt_patients)
    if resource_type == "Patient":
        exempt = ids.in_(patients)
    else:
        ref = INDEX_TABLES[sp.REFERENCE]
        exempt = ids.in_(
            select(ref.c.resource_id).where(
                ref.c.resource_type == resource_type,
                ref.c.target_type == "Patient",
                ref.c.target_id.in_(patients),
            )
        )
    if hidden.sealed:  # labels no grant lifts
        exempt = and_(exempt, ids.not_in(labelled(hidden.sealed)))
    return or_(condition, exempt)


def _non_negative(name: str, value: str) -> int:
    return whole_number(value, name, error=InvalidSearch)


def _values(raw_name: str, value: str) -> tuple[str, ...]:
    values = tuple(v.replace("\\,", ",") for v in re.split(r"(?<!\\),", value))
    if not all(values):
        raise InvalidSearch(f"{raw_name}: empty value")
    return values


def _unknown(resource_type: str, name: str) -> InvalidSearch:
    known = sorted(set(sp.params_for(resource_type)) | set(sp.COMMON_PARAMS))
    return InvalidSearch(
        f"{resource_type} has no search parameter '{name}'; supported: {', '.join(known)}"
    )


def _matching(resource_type: str, raw_name: str, value: str, hidden: HiddenLabels | None) -> Select:
    """The ids of live resources of a type that meet one criterion (and that the caller
    may see): the inner query of a chain or of `_has`."""
    inner = resource.alias()
    query = select(inner.c.id).where(
        inner.c.resource_type == resource_type,
        inner.c.deleted.is_(False),
        _criterion(resource_type, raw_name, value, hidden, inner.c.id),
    )
    if hidden:
        query = query.where(not_hidden(resource_type, hidden, inner.c.id))
    return query


def _criterion(
    resource_type: str, raw_name: str, value: str, hidden: HiddenLabels | None, ids
) -> ColumnElement[bool]:
    """The condition one `name[:modifier][.chain]=value` pair puts on `ids`."""
    if raw_name.startswith("_has:"):
        return _reverse_chain(resource_type, raw_name, value, hidden, ids)
    head, dot, chain = raw_name.partition(".")
    name, _, modifier = head.partition(":")
    param = sp.lookup(resource_type, name)
    if param is None:
        raise _unknown(resource_type, name)
    if dot:
        return _chain(resource_type, param, modifier, chain, value, hidden, ids)
    _check_modifier(param, modifier, raw_name)
    return _condition(resource_type, param, modifier, _values(raw_name, value), ids)


def _check_modifier(param: sp.SearchParam, modifier: str, raw_name: str) -> None:
    if not modifier:
        return
    if param.name in sp.COMMON_PARAMS or modifier not in sp.MODIFIERS.get(param.type, ()):
        if param.type == sp.REFERENCE and modifier in RESOURCE_TYPES:
            return
        allowed = (
            sorted(sp.MODIFIERS.get(param.type, ())) if param.name not in sp.COMMON_PARAMS else []
        )
        raise InvalidSearch(
            f"{raw_name}: the modifier ':{modifier}' is not supported on a {param.type} "
            f"parameter (supported: {', '.join(':' + m for m in allowed) or 'none'})"
        )


def _chain(
    resource_type: str,
    param: sp.SearchParam,
    modifier: str,
    chain: str,
    value: str,
    hidden: HiddenLabels | None,
    ids,
) -> ColumnElement[bool]:
    """`subject:Patient.family=x`: resources whose reference points at a resource of the
    target type that meets `family=x` (itself possibly chained further)."""
    if param.type != sp.REFERENCE:
        raise InvalidSearch(f"{param.name} is a {param.type} parameter: only references chain")
    if modifier:
        if modifier not in RESOURCE_TYPES:
            raise InvalidSearch(f"{param.name}:{modifier}.{chain}: '{modifier}' is not a type")
        targets: tuple[str, ...] = (modifier,)
        if modifier not in param.target_types:
            raise InvalidSearch(f"{resource_type}.{param.name} cannot refer to a {modifier}")
    else:
        next_name = re.split(r"[.:]", chain, maxsplit=1)[0]
        targets = tuple(
            t
            for t in param.target_types
            if next_name.startswith("_has") or sp.lookup(t, next_name) is not None
        )
        if not targets:
            raise InvalidSearch(
                f"{param.name}.{chain}: no type {param.name} refers to has a parameter "
                f"'{next_name}'"
            )
    ref = INDEX_TABLES[sp.REFERENCE].alias()
    found = []
    for target in targets:
        found.append(
            and_(
                ref.c.target_type == target,
                ref.c.target_id.in_(_matching(target, chain, value, hidden)),
            )
        )
    query = select(ref.c.resource_id).where(
        ref.c.resource_type == resource_type, ref.c.param == param.indexed_name, or_(*found)
    )
    return ids.in_(query)


def _reverse_chain(
    resource_type: str, raw_name: str, value: str, hidden: HiddenLabels | None, ids
) -> ColumnElement[bool]:
    """`_has:Observation:patient:code=x`: resources that an Observation meeting `code=x`
    refers to through its `patient` parameter (the rest may be another `_has`)."""
    parts = raw_name.split(":", 3)
    if len(parts) < 4 or not all(parts[1:]):
        raise InvalidSearch(f"{raw_name}: expected _has:<Type>:<reference>:<parameter>")
    _, source, name, rest = parts
    if source not in RESOURCE_TYPES:
        raise InvalidSearch(f"{raw_name}: '{source}' is not a resource type")
    param = sp.lookup(source, name)
    if param is None or param.type != sp.REFERENCE:
        raise InvalidSearch(f"{raw_name}: {source} has no reference parameter '{name}'")
    if resource_type not in param.target_types:
        raise InvalidSearch(f"{raw_name}: {source}.{name} never refers to a {resource_type}")
    ref = INDEX_TABLES[sp.REFERENCE].alias()
    query = select(ref.c.target_id).where(
        ref.c.resource_type == source,
        ref.c.param == param.indexed_name,
        ref.c.target_type == resource_type,
        ref.c.resource_id.in_(_matching(source, rest, value, hidden)),
    )
    return ids.in_(query)


def _condition(
    resource_type: str, param: sp.SearchParam, modifier: str, values: tuple[str, ...], ids
) -> ColumnElement[bool]:
    if param.name == "_id":
        return ids.in_(values)
    if param.name == "_lastUpdated":
        stamps = resource.alias()
        matches = or_(
            *[
                _date_match(stamps.c.last_updated, stamps.c.last_updated, v, stamp=True)
                for v in values
            ]
        )
        return ids.in_(select(stamps.c.id).where(stamps.c.resource_type == resource_type, matches))
    if param.type == sp.COMPOSITE:
        return or_(*[_composite(resource_type, param, v, ids) for v in values])
    if modifier == sp.TEXT and param.type == sp.TOKEN:
        table = INDEX_TABLES[sp.STRING].alias()
        query = _rows(table, resource_type, f"{param.name}:{sp.TEXT}")
        return ids.in_(query.where(or_(*[_text_match(table, v) for v in values])))
    if modifier == sp.OF_TYPE:
        table = INDEX_TABLES[sp.TOKEN].alias()
        query = _rows(table, resource_type, f"{param.name}:{sp.OF_TYPE}")
        return ids.in_(query.where(or_(*[_of_type_match(table, v) for v in values])))
    if modifier == sp.IDENTIFIER:
        table = INDEX_TABLES[sp.TOKEN].alias()
        query = _rows(table, resource_type, f"{param.name}:{sp.IDENTIFIER}")
        return ids.in_(query.where(or_(*[_token_match(table, v) for v in values])))
    table = INDEX_TABLES[sp.TABLE_OF[param.type]].alias()
    candidates = _ids(table, resource_type, param)
    if modifier == "missing":
        if values[0] not in ("true", "false"):
            raise InvalidSearch(f"{param.name}:missing takes true or false, not '{values[0]}'")
        present = ids.in_(candidates)
        return not_(present) if values[0] == "true" else present
    if modifier == "not":
        matches = [_token_match(table, v) for v in values]
        return ids.not_in(candidates.where(or_(*matches)))
    if param.target_type:
        if modifier and modifier != param.target_type:
            return false()
        modifier = param.target_type
    matchers = {
        sp.TOKEN: lambda v: _token_match(table, v),
        sp.URI: lambda v: _uri_match(table, v, modifier),
        sp.STRING: lambda v: _string_match(table, v, modifier),
        sp.DATE: lambda v: _date_match(table.c.low, table.c.high, v),
        sp.QUANTITY: lambda v: _quantity_match(table, v),
        sp.NUMBER: lambda v: _number_match(table, v),
        sp.REFERENCE: lambda v: _reference_match(table, v, modifier),
    }
    if param.type == sp.REFERENCE and len(values) > 1:
        match = _references_match(table, values, modifier)
    else:
        match = or_(*[matchers[param.type](v) for v in values])
    return ids.in_(candidates.where(match))


def _rows(table, resource_type: str, param_name: str) -> Select:
    return select(table.c.resource_id).where(
        table.c.resource_type == resource_type, table.c.param == param_name
    )


def _ids(table, resource_type: str, param: sp.SearchParam) -> Select:
    query = _rows(table, resource_type, param.indexed_name)
    if param.target_type:
        query = query.where(table.c.target_type == param.target_type)
    return query


def _composite(resource_type: str, param: sp.SearchParam, value: str, ids) -> ColumnElement[bool]:
    """`code-value-quantity=http://loinc.org|8480-6$gt100`: one occurrence (the same
    Observation.component) must meet every part; see sp.composite_group."""
    parts = value.split("$")
    if len(parts) != len(param.components):
        raise InvalidSearch(
            f"{param.name}={value}: expected {len(param.components)} values joined by '$'"
        )
    prefix = like_escape(param.name + "$")
    first = None
    conditions = []
    for k, (component, part) in enumerate(zip(param.components, parts, strict=True)):
        table = INDEX_TABLES[sp.TABLE_OF[component.type]].alias()
        match = {
            sp.TOKEN: lambda t, v: _token_match(t, v),
            sp.URI: lambda t, v: _uri_match(t, v, ""),
            sp.STRING: lambda t, v: _string_match(t, v, ""),
            sp.DATE: lambda t, v: _date_match(t.c.low, t.c.high, v),
            sp.QUANTITY: lambda t, v: _quantity_match(t, v),
            sp.NUMBER: lambda t, v: _number_match(t, v),
            sp.REFERENCE: lambda t, v: _reference_match(t, v, ""),
        }[component.type](table, part)
        if first is None:
            first = table
            conditions += [
                table.c.resource_type == resource_type,
                table.c.param.like(f"{prefix}%", escape="\\"),
                table.c.param.not_like(f"{prefix}%$%", escape="\\"),
                match,
            ]
        else:
            conditions += [
                table.c.resource_type == first.c.resource_type,
                table.c.resource_id == first.c.resource_id,
                table.c.param == first.c.param + f"${k}",
                match,
            ]
    assert first is not None
    return ids.in_(select(first.c.resource_id).where(*conditions))


def _token_match(table, value: str) -> ColumnElement[bool]:
    if "|" not in value:
        return table.c.code == value
    system, _, code = value.partition("|")
    system_match = table.c.system == system  # '' is "no system", as `|code` asks
    return system_match if code == "" else and_(system_match, table.c.code == code)


def _text_match(table, value: str) -> ColumnElement[bool]:
    """`:text`: a word of the display text starts with the value (case, accents ignored)."""
    needle = like_escape(sp.normalize_string(value))
    return or_(
        table.c.value.like(f"{needle}%", escape="\\"),
        table.c.value.like(f"% {needle}%", escape="\\"),
    )


def _of_type_match(table, value: str) -> ColumnElement[bool]:
    parts = value.split("|")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise InvalidSearch(f"identifier:of-type={value}: expected <system>|<type code>|<value>")
    system, code, identifier = parts
    condition = table.c.code == f"{code}|{identifier}"
    return and_(table.c.system == system, condition) if system else condition


def _uri_match(table, value: str, modifier: str) -> ColumnElement[bool]:
    if modifier == "below":  # the stored URI is the value or lies under it
        return table.c.code.like(f"{like_escape(value)}%", escape="\\")
    if modifier == "above":  # the stored URI is the value or one of its parents
        cuts = [value[:i] for i, ch in enumerate(value) if ch == "/" and i > 0]
        return table.c.code.in_([value, *cuts])
    return table.c.code == value


def _string_match(table, value: str, modifier: str) -> ColumnElement[bool]:
    if modifier == "exact":
        return table.c.raw == value
    needle = like_escape(sp.normalize_string(value))
    if modifier == "contains":
        return table.c.value.like(f"%{needle}%", escape="\\")
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


def _number_match(table, value: str) -> ColumnElement[bool]:
    if "|" in value:
        raise InvalidSearch(f"'{value}': a number parameter takes a number without units")
    return _quantity_match(table, value)


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
    if param is None or param.type in (sp.QUANTITY, sp.REFERENCE, sp.COMPOSITE):
        raise InvalidSearch(f"cannot sort {resource_type} by '{name}'")
    table = INDEX_TABLES[sp.TABLE_OF[param.type]]
    name_of = {
        sp.TOKEN: "code",
        sp.URI: "code",
        sp.STRING: "value",
        sp.NUMBER: "value",
        sp.DATE: "high" if descending else "low",
    }
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
