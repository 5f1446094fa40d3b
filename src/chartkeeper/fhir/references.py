"""Finding and rewriting references inside a resource.

A Reference is any object with a string `reference` element. Bundle import rewrites
`urn:uuid:` references to the stored `Type/id`; the master patient index repoints
references from a merged patient to the survivor. Both go through `rewrite_references`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from chartkeeper.fhir.resource_types import RESOURCE_TYPES


def iter_references(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield (element path, reference string) for every Reference in `node`."""
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            yield path, ref
        for key, value in node.items():
            if key == "contained" or isinstance(value, (str, int, float, bool)) or value is None:
                continue
            yield from iter_references(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from iter_references(item, f"{path}[{i}]")


def rewrite_references(node: Any, replace: Callable[[str], str | None]) -> int:
    """Replace, in place, every reference for which `replace` returns a new value.

    Returns how many references were changed. Contained resources are rewritten too,
    since their references point into the same bundle or store.
    """
    changed = 0
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            new = replace(ref)
            if new is not None and new != ref:
                node["reference"] = new
                changed += 1
        for value in node.values():
            if isinstance(value, (dict, list)):
                changed += rewrite_references(value, replace)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                changed += rewrite_references(item, replace)
    return changed


def parse_relative(reference: str) -> tuple[str, str] | None:
    """`Patient/123` or `http://host/fhir/Patient/123/_history/2` -> ("Patient", "123")."""
    parts = reference.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] in RESOURCE_TYPES:
        return parts[-2], parts[-1]
    return None
