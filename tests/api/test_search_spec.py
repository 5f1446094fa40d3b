"""The server's search answers against answers computed from the raw Synthea JSON.

The sample bundles (../shared/data/fhir-r4/synthea, Apache-2.0, SMART's generated sample
data) are loaded through the import path; then every expected answer is computed here in
plain Python over the bundles' JSON, with the elements each parameter reads written out
from the R4 search parameter registry (not from chartkeeper's generated definitions or
its index), and compared with what GET /fhir/... returns: `patient` on every clinical
type in the data, token/string/date/quantity parameters, chains (one and two levels,
with and without the type modifier), `_has`, `deceased`, `_summary=count`, `_elements`,
and unknown parameters (400).
"""

from __future__ import annotations

import json
import unicodedata
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from chartkeeper.interfaces.bundles import import_paths
from support import shared_data

# R4 registry: the element each type's `patient` parameter reads (clinical-patient etc.).
PATIENT_ELEMENT = {
    "Observation": "subject",
    "Condition": "subject",
    "Encounter": "subject",
    "Procedure": "subject",
    "MedicationRequest": "subject",
    "DiagnosticReport": "subject",
    "CarePlan": "subject",
    "Goal": "subject",
    "ImagingStudy": "subject",
    "Immunization": "patient",
    "Claim": "patient",
    "ExplanationOfBenefit": "patient",
    "AllergyIntolerance": "patient",
}
FILES = 9


def _pick(folder) -> list:
    """Few bundles that still cover every resource type and the deceased patients."""
    files = sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_size, p.name))
    files = [p for p in files if "Information" not in p.name]
    chosen, types, dead = [], set(), 0
    for path in files:
        entries = json.loads(path.read_text())["entry"]
        kinds = {e["resource"]["resourceType"] for e in entries}
        died = any(
            e["resource"]["resourceType"] == "Patient" and "deceasedDateTime" in e["resource"]
            for e in entries
        )
        if kinds - types or (died and dead < 2):
            chosen.append(path)
            types |= kinds
            dead += died
    for path in files:
        if len(chosen) >= FILES:
            break
        if path not in chosen:
            chosen.append(path)
    return chosen


class Raw:
    """The bundles' resources with their urn:uuid references resolved, and nothing else."""

    def __init__(self, paths):
        entries = [e for p in paths for e in json.loads(p.read_text())["entry"]]
        self.by_url = {
            e["fullUrl"]: (e["resource"]["resourceType"], e["resource"]["id"]) for e in entries
        }
        self.of_type: dict[str, list[dict]] = defaultdict(list)
        for e in entries:
            self.of_type[e["resource"]["resourceType"]].append(e["resource"])
        self.index = {(r["resourceType"], r["id"]): r for rs in self.of_type.values() for r in rs}

    def target(self, reference: dict | None) -> tuple[str, str] | None:
        if not isinstance(reference, dict) or "reference" not in reference:
            return None
        ref = reference["reference"]
        return self.by_url.get(ref) or (tuple(ref.split("/", 1)) if "/" in ref else None)

    def ids(self, rtype: str, keep) -> set[str]:
        return {r["id"] for r in self.of_type[rtype] if keep(r)}


def _norm(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()


def _codes(concept) -> set[tuple[str, str]]:
    concepts = concept if isinstance(concept, list) else [concept]
    return {
        (c.get("system", ""), c.get("code", ""))
        for cc in concepts
        if isinstance(cc, dict)
        for c in cc.get("coding", [])
    }


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def synthea(module_client):
    client, sign_in = module_client
    paths = _pick(shared_data("fhir-r4", "synthea"))
    report = import_paths(client.app.state.repo, paths, workers=0)
    assert report.ok, report.errors[:3]
    return client, sign_in("him"), Raw(paths)


def _answer(client, headers, query: str) -> tuple[set[str], int]:
    got = client.get(f"/fhir/{query}&_count=1000", headers=headers)
    assert got.status_code == 200, f"{query}: {got.status_code} {got.text[:300]}"
    bundle = got.json()
    ids = {
        e["resource"]["id"]
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode") == "match"
    }
    return ids, bundle.get("total")


def _common_and_rare(codes: dict) -> list:
    ranked = sorted(codes.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return ranked[:2] + ranked[-4:]


def _queries(raw: Raw) -> list[tuple[str, set[str]]]:
    """(query, expected ids), each answer computed from the raw JSON."""
    out: list[tuple[str, set[str]]] = []
    patients = raw.of_type["Patient"]
    for patient in patients:
        me = ("Patient", patient["id"])
        for rtype, element in PATIENT_ELEMENT.items():
            if raw.of_type[rtype]:
                expected = raw.ids(rtype, lambda r, e=element, m=me: raw.target(r.get(e)) == m)
                out.append((f"{rtype}?patient={patient['id']}", expected))
        out.append(
            (
                f"Observation?subject=Patient/{patient['id']}",
                raw.ids("Observation", lambda r, m=me: raw.target(r.get("subject")) == m),
            )
        )

    def dead(p):
        return p.get("deceasedBoolean") is True or "deceasedDateTime" in p

    out.append(("Patient?deceased=true", raw.ids("Patient", dead)))
    out.append(("Patient?deceased=false", raw.ids("Patient", lambda p: not dead(p))))
    for gender in ("male", "female"):
        out.append(
            (
                f"Patient?gender={gender}",
                raw.ids("Patient", lambda p, g=gender: p.get("gender") == g),
            )
        )
    out.append(("Patient?birthdate=lt1970", raw.ids("Patient", lambda p: p["birthDate"] < "1970")))
    out.append(
        (
            "Patient?birthdate=ge1990-01-01",
            raw.ids("Patient", lambda p: p["birthDate"] >= "1990-01-01"),
        )
    )

    families = sorted({n["family"] for p in patients for n in p.get("name", []) if "family" in n})
    for family in families[:4]:

        def has_family(p, f=family):
            return any(_norm(n.get("family", "")).startswith(_norm(f)) for n in p.get("name", []))

        out.append((f"Patient?family={family}", raw.ids("Patient", has_family)))
        owners = {p["id"] for p in patients if has_family(p)}
        # chains: one level with and without the type, two levels through the encounter
        obs_of = raw.ids(
            "Observation",
            lambda r, o=owners: (raw.target(r.get("subject")) or ("", ""))[1] in o,
        )
        out.append((f"Observation?subject:Patient.family={family}", obs_of))
        out.append((f"Observation?patient.family={family}", obs_of))
        encounters = raw.ids(
            "Encounter", lambda r, o=owners: (raw.target(r.get("subject")) or ("", ""))[1] in o
        )
        out.append(
            (
                f"Observation?encounter.subject:Patient.family={family}",
                raw.ids(
                    "Observation",
                    lambda r, e=encounters: (raw.target(r.get("encounter")) or ("", ""))[1] in e,
                ),
            )
        )
        out.append(
            (
                f"Claim?patient:Patient.family={family}",
                raw.ids(
                    "Claim", lambda r, o=owners: (raw.target(r.get("patient")) or ("", ""))[1] in o
                ),
            )
        )

    # tokens, quantities, dates on the clinical types; and _has by those tokens
    codes = defaultdict(set)
    for obs in raw.of_type["Observation"]:
        for system, code in _codes(obs.get("code")):
            codes[(system, code)].add(obs["id"])
    for (system, code), _ in _common_and_rare(codes):
        out.append(
            (
                f"Observation?code={system}|{code}",
                raw.ids("Observation", lambda r, k=(system, code): k in _codes(r.get("code"))),
            )
        )
        out.append(
            (
                f"Patient?_has:Observation:patient:code={code}",
                {
                    raw.target(r["subject"])[1]
                    for r in raw.of_type["Observation"]
                    if code in {c for _s, c in _codes(r.get("code"))}
                },
            )
        )
    for cond in sorted({c for r in raw.of_type["Condition"] for _s, c in _codes(r.get("code"))})[
        :3
    ]:
        out.append(
            (
                f"Patient?_has:Condition:subject:code={cond}",
                {
                    raw.target(r["subject"])[1]
                    for r in raw.of_type["Condition"]
                    if cond in {c for _s, c in _codes(r.get("code"))}
                },
            )
        )
        out.append(
            (
                f"Condition?code={cond}",
                raw.ids("Condition", lambda r, c=cond: c in {x for _s, x in _codes(r.get("code"))}),
            )
        )
    for vaccine in sorted(
        {c for r in raw.of_type["Immunization"] for _s, c in _codes(r.get("vaccineCode"))}
    )[:3]:
        out.append(
            (
                f"Immunization?vaccine-code={vaccine}",
                raw.ids(
                    "Immunization",
                    lambda r, v=vaccine: v in {c for _s, c in _codes(r.get("vaccineCode"))},
                ),
            )
        )

    def quantity(r):
        q = r.get("valueQuantity")
        return q["value"] if isinstance(q, dict) and "value" in q else None

    for limit in (50, 100, 150):
        out.append(
            (
                f"Observation?value-quantity=gt{limit}",
                raw.ids(
                    "Observation", lambda r, x=limit: quantity(r) is not None and quantity(r) > x
                ),
            )
        )
    for status in ("finished", "in-progress"):
        out.append(
            (
                f"Encounter?status={status}",
                raw.ids("Encounter", lambda r, s=status: r.get("status") == s),
            )
        )
    for cls in ("AMB", "EMER", "IMP"):
        out.append(
            (
                f"Encounter?class={cls}",
                raw.ids("Encounter", lambda r, c=cls: r.get("class", {}).get("code") == c),
            )
        )
    cut = "2015-01-01T00:00:00Z"
    out.append(
        (
            f"Encounter?date=ge{cut}",
            raw.ids(
                "Encounter",
                lambda r: _instant(r["period"].get("end", "9999-12-31T00:00:00Z")) >= _instant(cut),
            ),
        )
    )
    out.append(
        (
            f"Immunization?date=lt{cut}",
            raw.ids("Immunization", lambda r: _instant(r["occurrenceDateTime"]) < _instant(cut)),
        )
    )
    for status in ("active", "completed", "stopped"):
        out.append(
            (
                f"MedicationRequest?status={status}",
                raw.ids("MedicationRequest", lambda r, s=status: r.get("status") == s),
            )
        )
        out.append(
            (
                f"CarePlan?status={status}",
                raw.ids("CarePlan", lambda r, s=status: r.get("status") == s),
            )
        )
    return out


def test_search_answers_equal_the_spec_computed_ones(synthea):
    client, him, raw = synthea
    queries = _queries(raw)
    wrong = []
    for query, expected in queries:
        ids, total = _answer(client, him, query)
        if ids != expected or total != len(expected):
            wrong.append(f"{query}: got {len(ids)} (total {total}), expected {len(expected)}")
    print(f"spec comparison: {len(queries) - len(wrong)} of {len(queries)} queries agree")
    assert not wrong, "\n".join(wrong)
    assert len(queries) > 150  # the comparison really is broad


def test_summary_count_elements_and_unknown_parameters(synthea):
    client, him, raw = synthea
    for rtype in ("Observation", "Encounter", "Patient", "Immunization"):
        counted = client.get(f"/fhir/{rtype}?_summary=count", headers=him).json()
        assert counted["total"] == len(raw.of_type[rtype])
        assert not [e for e in counted.get("entry", []) if "resource" in e]
    patient = raw.of_type["Patient"][0]
    only = client.get(f"/fhir/Patient?_id={patient['id']}&_elements=gender,birthDate", headers=him)
    resource = only.json()["entry"][0]["resource"]
    assert set(resource) == {"resourceType", "id", "meta", "gender", "birthDate"}
    assert (resource["gender"], resource["birthDate"]) == (patient["gender"], patient["birthDate"])
    assert any(t["code"] == "SUBSETTED" for t in resource["meta"]["tag"])
    # an Observation keeps its mandatory status and code beside what was asked for
    obs = raw.of_type["Observation"][0]
    got = client.get(f"/fhir/Observation?_id={obs['id']}&_elements=subject", headers=him).json()
    assert set(got["entry"][0]["resource"]) == {
        "resourceType",
        "id",
        "meta",
        "subject",
        "status",
        "code",
    }
    for query in (
        "Immunization?shoe-size=9",
        "Patient?family:sounds-like=x",
        "Observation?foo.bar=1",
    ):
        answer = client.get(f"/fhir/{query}", headers=him)
        assert answer.status_code == 400, query
        assert answer.json()["resourceType"] == "OperationOutcome"
    lenient = client.get(
        "/fhir/Immunization?shoe-size=9", headers={**him, "Prefer": "handling=lenient"}
    ).json()
    assert lenient["total"] == len(raw.of_type["Immunization"])
