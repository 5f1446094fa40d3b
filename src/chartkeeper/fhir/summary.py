"""`_summary` and `_elements`: the parts of a resource a search answers with.

Which elements are "summary" and which are mandatory comes from the resource models of
`fhir.resources` (the R4B models: their isSummary and min=1 flags follow the R4
StructureDefinitions for every type R4 and R4B share), not from a list kept here. Every
partial resource is tagged SUBSETTED (R4 search.html 3.1.1.5.8) so nobody takes it for
the whole record.
"""

from __future__ import annotations

import functools

from chartkeeper.fhir.search_params import CHOICE_ELEMENTS

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
SUMMARY_MODES = ("true", "text", "data", "count", "false")
_ALWAYS = frozenset({"resourceType", "id", "meta"})


def _model(resource_type: str):
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except KeyError:
        return None


@functools.cache
def summary_elements(resource_type: str) -> frozenset[str] | None:
    """The JSON names of a type's summary elements (None: the type has no model)."""
    model = _model(resource_type)
    if model is None:
        return None
    return frozenset(model.summary_elements_sequence()) | _ALWAYS


@functools.cache
def mandatory_elements(resource_type: str) -> frozenset[str]:
    model = _model(resource_type)
    if model is None:
        return _ALWAYS
    found = set(_ALWAYS)
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("element_property") and (info.is_required() or extra.get("element_required")):
            found.add(info.alias or name)
    return frozenset(found)


def _choice_base(key: str) -> str:
    """`valueQuantity` -> `value`: _elements names a choice element without its type."""
    for i in range(1, len(key)):
        if key[i].isupper():
            return key[:i] if key[:i] in CHOICE_ELEMENTS else key
    return key


def _tagged(kept: dict) -> dict:
    meta = dict(kept.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def with_elements(resource: dict, elements: list[str]) -> dict:
    """`_elements=a,b`: those top-level elements plus the mandatory ones."""
    wanted = set(elements) | mandatory_elements(resource["resourceType"])
    kept = {
        k: v
        for k, v in resource.items()
        if k in wanted or k.lstrip("_") in wanted or _choice_base(k) in wanted
    }
    return _tagged(kept)


def summarized(resource: dict, mode: str) -> dict:
    """`_summary=true|text|data` (count and false are the caller's: no resource, or the
    whole one)."""
    rtype = resource["resourceType"]
    if mode == "data":
        return _tagged({k: v for k, v in resource.items() if k != "text"})
    if mode == "text":
        wanted = mandatory_elements(rtype) | {"text"}
    else:
        wanted = (summary_elements(rtype) or frozenset(resource)) | mandatory_elements(rtype)
    kept = {k: v for k, v in resource.items() if k in wanted or k.lstrip("_") in wanted}
    return _tagged(kept)
