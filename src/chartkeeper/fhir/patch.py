"""FHIR patch (https://hl7.org/fhir/R4/http.html#patch): JSON Patch and FHIRPath Patch
applied to a resource given as a JSON dict.

This module owns turning a patch document into the patched resource; the caller reads the
current version, validates and writes the result (api/fhir.py), so a patch is an update
like any other: versioned, audited, checked against If-Match.

- JSON Patch (RFC 6902, `application/json-patch+json`) is applied by the maintained
  `jsonpatch` library.
- JSON Merge Patch (RFC 7386, `application/merge-patch+json`, or a JSON object that is not
  a Parameters): a partial resource, `null` removing an element. FHIR R4 does not name it,
  but clients send it (fhirpy's `patch(gender="male")`); its whole algorithm is the ten
  lines of `_merge`, so it is ours rather than another dependency.
- FHIRPath Patch (https://hl7.org/fhir/R4/fhirpatch.html) is a Parameters resource of
  `operation` parts (type add | insert | delete | replace | move, path, name, value,
  index, source, destination). `jsonpatch` cannot express it, and no maintained Python
  library applies it, so the walk is ours: a path is followed element by element through
  the JSON (with `[n]`, `first()`, `last()`), and `where(...)` criteria are evaluated by
  the FHIRPath engine `fhirpathpy` on each candidate. Whether an `add` makes a list or a
  single value comes from the element's cardinality in the compiled R4 model
  (fhir.validation.element_repeats). Paths beyond that grammar (resolve(), ofType(),
  descendants) are refused with a clear error rather than guessed.

A patch may not change `resourceType` or `id`: that would be a different resource.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import jsonpatch
from fhirpathpy import evaluate as fhirpath
from fhirpathpy.models import models

from chartkeeper.errors import BadRequest
from chartkeeper.fhir.validation import element_repeats

__all__ = ["apply_fhirpath_patch", "apply_json_patch", "apply_merge_patch"]

_MODEL = models["r4"]
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")


class PatchError(BadRequest):
    """A patch that cannot be applied to this resource (R4: 422 when the patch is valid
    but does not apply; 400 when it is malformed)."""

    code = "processing"
    http_status = 422


def apply_json_patch(resource: dict, patch: Any) -> dict:
    if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
        raise BadRequest("a JSON Patch document is a JSON array of operation objects")
    try:
        patched = jsonpatch.apply_patch(resource, patch)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise PatchError(f"JSON Patch test failed: {exc}") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise PatchError(f"JSON Patch does not apply: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise BadRequest(f"malformed JSON Patch: {exc}") from None
    return _same_identity(resource, patched)


def apply_merge_patch(resource: dict, patch: Any) -> dict:
    if not isinstance(patch, dict):
        raise BadRequest("a JSON Merge Patch is a JSON object")
    return _same_identity(resource, _merge(resource, patch))


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 section 2, MergePatch(Target, Patch)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def _same_identity(before: dict, after: Any) -> dict:
    if not isinstance(after, dict):
        raise PatchError("the patch must leave a resource (a JSON object)")
    for key in ("resourceType", "id"):
        if after.get(key) != before.get(key):
            raise PatchError(f"a patch may not change {key}")
    return after


# --- FHIRPath Patch ------------------------------------------------------------------------


@dataclass
class _Node:
    """A located value: parent container, key, and index when the key holds a list."""

    value: Any
    parent: dict | None
    key: str | None
    index: int | None
    names: tuple[str, ...]  # JSON element names from the resource root


def apply_fhirpath_patch(resource: dict, parameters: Any) -> dict:
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise BadRequest("a FHIRPath Patch is a Parameters resource")
    patched = copy.deepcopy(resource)
    operations = [p for p in parameters.get("parameter", []) if isinstance(p, dict)]
    if not operations or any(p.get("name") != "operation" for p in operations):
        raise BadRequest("a FHIRPath Patch has only parameters named 'operation'")
    for number, operation in enumerate(operations, start=1):
        parts = _parts(operation, number)
        _apply(patched, parts, number)
    return _same_identity(resource, patched)


def _parts(operation: dict, number: int) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    for part in operation.get("part", []):
        if not isinstance(part, dict) or not isinstance(part.get("name"), str):
            raise BadRequest(f"operation {number}: each part needs a name")
        name = part["name"]
        if name == "value":
            parts[name] = _value(part)
        else:
            values = [v for k, v in part.items() if k.startswith("value")]
            if len(values) != 1:
                raise BadRequest(f"operation {number}: part {name!r} needs one value[x]")
            parts[name] = values[0]
    kind = parts.get("type")
    if kind not in ("add", "insert", "delete", "replace", "move"):
        raise BadRequest(f"operation {number}: type must be add, insert, delete, replace or move")
    if not isinstance(parts.get("path"), str):
        raise BadRequest(f"operation {number}: a path is required")
    return parts


def _value(part: dict) -> Any:
    """A value[x], or a complex value given as nested parts (fhirpatch.html#value)."""
    values = [v for k, v in part.items() if k.startswith("value")]
    if values:
        return values[0]
    out: dict[str, Any] = {}
    for child in part.get("part", []):
        name = child.get("name")
        if not isinstance(name, str):
            raise BadRequest("a value part needs a name")
        value = _value(child)
        if name in out:  # a repeated element given as several parts
            out[name] = [*(out[name] if isinstance(out[name], list) else [out[name]]), value]
        else:
            out[name] = value
    return out


def _split(path: str) -> list[str]:
    """Top-level steps of a FHIRPath path (dots inside parentheses or quotes kept)."""
    steps, depth, quoted, current = [], 0, False, ""
    for char in path:
        if char == "'" and depth:
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "." and depth == 0 and not quoted:
            steps.append(current)
            current = ""
        else:
            current += char
    steps.append(current)
    return [s.strip() for s in steps]


def _locate(resource: dict, path: str, number: int) -> list[_Node]:
    steps = _split(path)
    root = resource["resourceType"]
    if steps[0] == root:
        steps = steps[1:]
    nodes = [_Node(resource, None, None, None, ())]
    for step in steps:
        if step.startswith("where(") and step.endswith(")"):
            criteria = step[6:-1]
            nodes = [n for n in nodes if _matches(n.value, criteria, path, number)]
        elif step == "first()":
            nodes = nodes[:1]
        elif step == "last()":
            nodes = nodes[-1:]
        else:
            match = _STEP.fullmatch(step)
            if match is None:
                raise BadRequest(
                    f"operation {number}: path {path!r}: {step!r} is not supported "
                    "(element names, [n], where(), first() and last() are)"
                )
            name, index = match[1], match[2]
            found: list[_Node] = []
            for node in nodes:
                if not isinstance(node.value, dict):
                    continue
                names = (*node.names, name)
                value = node.value.get(name)
                if isinstance(value, list):
                    found += [_Node(v, node.value, name, i, names) for i, v in enumerate(value)]
                elif value is not None:
                    found.append(_Node(value, node.value, name, None, names))
            nodes = (
                [found[int(index)]]
                if index is not None and int(index) < len(found)
                else ([] if index is not None else found)
            )
    return nodes


def _matches(value: Any, criteria: str, path: str, number: int) -> bool:
    try:
        result = fhirpath(value, criteria, {}, _MODEL)
    except Exception as exc:  # fhirpathpy raises plain exceptions for bad expressions
        raise BadRequest(
            f"operation {number}: cannot evaluate where({criteria}) in {path!r}: {exc}"
        ) from None
    return result == [True]


def _one(nodes: list[_Node], path: str, number: int) -> _Node:
    if len(nodes) != 1:
        found = "nothing" if not nodes else f"{len(nodes)} elements"
        raise PatchError(
            f"operation {number}: path {path!r} must name one element; it names {found}"
        )
    return nodes[0]


def _list_at(resource: dict, path: str, number: int) -> list:
    """The list a path names (insert and move work on lists)."""
    steps = _split(path)
    head, last = ".".join(steps[:-1]), steps[-1]
    if _STEP.fullmatch(last) is None or "[" in last:
        raise BadRequest(f"operation {number}: path {path!r} must end with a list element's name")
    parent = _one(_locate(resource, head, number), head, number)
    items = parent.value.get(last) if isinstance(parent.value, dict) else None
    if not isinstance(items, list):
        raise PatchError(f"operation {number}: {path!r} is not a list")
    return items


def _apply(resource: dict, parts: dict[str, Any], number: int) -> None:
    kind, path = parts["type"], parts["path"]
    if kind == "add":
        name = parts.get("name")
        if not isinstance(name, str) or "value" not in parts:
            raise BadRequest(f"operation {number}: add needs a name and a value")
        target = _one(_locate(resource, path, number), path, number)
        if not isinstance(target.value, dict):
            raise PatchError(f"operation {number}: {path!r} is not an element that has children")
        repeats = element_repeats(resource["resourceType"], [*target.names, name])
        if repeats is None:
            raise PatchError(f"operation {number}: {path}.{name} is not an R4 element")
        if repeats:
            target.value.setdefault(name, []).append(parts["value"])
        elif name in target.value:
            raise PatchError(f"operation {number}: {path}.{name} already has a value (use replace)")
        else:
            target.value[name] = parts["value"]
    elif kind == "replace":
        if "value" not in parts:
            raise BadRequest(f"operation {number}: replace needs a value")
        node = _one(_locate(resource, path, number), path, number)
        if node.parent is None:
            raise PatchError(f"operation {number}: the resource itself cannot be replaced")
        if node.index is None:
            node.parent[node.key] = parts["value"]
        else:
            node.parent[node.key][node.index] = parts["value"]
    elif kind == "delete":
        nodes = _locate(resource, path, number)
        if len(nodes) > 1:
            raise PatchError(f"operation {number}: path {path!r} names {len(nodes)} elements")
        for node in nodes:  # deleting what is not there is not an error (fhirpatch.html)
            if node.parent is None:
                raise PatchError(f"operation {number}: the resource itself cannot be deleted")
            if node.index is None:
                del node.parent[node.key]
            else:
                del node.parent[node.key][node.index]
                if not node.parent[node.key]:
                    del node.parent[node.key]
    elif kind == "insert":
        items = _list_at(resource, path, number)
        index = _index(parts, "index", number, len(items))
        items.insert(index, parts.get("value"))
    else:  # move
        items = _list_at(resource, path, number)
        source = _index(parts, "source", number, len(items) - 1)
        destination = _index(parts, "destination", number, len(items) - 1)
        items.insert(destination, items.pop(source))


def _index(parts: dict, name: str, number: int, highest: int) -> int:
    value = parts.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= highest:
        raise PatchError(f"operation {number}: {name} must be an integer from 0 to {highest}")
    return value
