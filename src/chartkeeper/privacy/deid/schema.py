"""The element types of every FHIR R4 resource, read from the fhir.resources R4B models.

The de-identification walk asks, for each element it meets, which FHIR type it has: a
primitive (string, date, code...), a complex type (Reference, HumanName, Attachment...) or
a resource (contained, Bundle.entry.resource). The models are introspected once per class
and the answers kept, as chartkeeper.fhir.validation does for its own purpose.
"""

from __future__ import annotations

import threading
import types
import typing
from dataclasses import dataclass
from typing import Any

from chartkeeper.fhir.resource_types import RESOURCE_TYPES


@dataclass(frozen=True)
class Field:
    primitive: str | None  # FHIR primitive type name, or None for a complex element
    model: type | None  # the complex type's model class
    resource: bool  # a Resource-typed element (contained, Bundle.entry.resource)
    required: bool


_schemas: dict[type, dict[str, Field]] = {}
_models: dict[str, type | None] = {}
_lock = threading.Lock()


def resource_model(resource_type: object) -> type | None:
    if not isinstance(resource_type, str) or resource_type not in RESOURCE_TYPES:
        return None
    if resource_type not in _models:
        from fhir.resources.R4B import get_fhir_model_class

        try:
            _models[resource_type] = get_fhir_model_class(resource_type)
        except (KeyError, ValueError, AttributeError):
            _models[resource_type] = None
    return _models[resource_type]


def schema(model: type) -> dict[str, Field]:
    found = _schemas.get(model)
    if found is None:
        with _lock:
            found = _schemas[model] = {
                (info.alias or name): _compile_field(info)
                for name, info in model.model_fields.items()
            }
    return found


def _compile_field(info: Any) -> Field:
    annotation = _optional(info.annotation)
    if typing.get_origin(annotation) is list:
        annotation = _optional(typing.get_args(annotation)[0])
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    required = info.is_required() or bool(extra.get("element_required"))
    if annotation is bool:
        return Field("boolean", None, False, required)
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            name = getattr(meta, "__visit_name__", None)
            if isinstance(name, str):
                return Field(name, None, False, required)
        return Field("uuid", None, False, required)
    get_model = getattr(annotation, "get_model_klass", None)
    if get_model is not None:
        model = get_model()
        if model.__name__ == "Resource":
            return Field(None, None, True, required)
        return Field(None, model, False, required)
    return Field("string", None, False, required)  # fhir_comments and other strays


def _optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def model_named(name: str) -> type:
    found = _models.get(f"#{name}")
    if found is None:
        from fhir.resources.R4B import get_fhir_model_class

        found = _models[f"#{name}"] = get_fhir_model_class(name)
    return found
