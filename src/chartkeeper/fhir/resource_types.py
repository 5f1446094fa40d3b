"""The set of FHIR resource type names, read from the `fhir.resources` R4B models.

Read from the model sources rather than typed here, and without importing ~150 model
modules: a resource is a class deriving directly from Resource or DomainResource.
"""

from __future__ import annotations

import re
from importlib.resources import files

_RESOURCE_CLASS = re.compile(
    r"^class (\w+)\((?:domainresource\.DomainResource|resource\.Resource)\):", re.M
)


def _read_resource_types() -> frozenset[str]:
    names = {"Resource", "DomainResource"}
    for module in files("fhir.resources.R4B").iterdir():
        if module.name.endswith(".py"):
            names.update(_RESOURCE_CLASS.findall(module.read_text(encoding="utf-8")))
    names.difference_update({"Resource", "DomainResource"})
    return frozenset(names)


RESOURCE_TYPES: frozenset[str] = _read_resource_types()
