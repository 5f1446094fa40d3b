"""Tests of the synthetic data generator (chartkeeper.synth)."""

from __future__ import annotations

import base64
import gc
import os
import re
import tracemalloc
import warnings
from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from chartkeeper.synth import (
    SynthModule,
    default_modules,
    generate,
    generate_range,
    write,
)
from chartkeeper.synth import writer as synth_writer
from chartkeeper.synth.catalog import DX
from chartkeeper.synth.terminology import ICD10CM

with warnings.catch_warnings():  # the package still uses importlib.resources' legacy API
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10_cm as cm

SEED = 20240611


SIDE: list[tuple[str, dict]] = []


@pytest.fixture(scope="module")
def cohort() -> list[dict]:
    """Facility bundle plus 200 patients; side records land in SIDE."""
    SIDE.clear()
    return list(generate(200, SEED, side=lambda stream, record: SIDE.append((stream, record))))


def _resources(bundles: list[dict], rtype: str | None = None) -> list[dict]:
    return [
        e["resource"]
        for b in bundles
        for e in b["entry"]
        if rtype is None or e["resource"]["resourceType"] == rtype
    ]


def _references(node: object) -> list[str]:
    return [m.decode() for m in re.findall(rb'"reference":"([^"]+)"', orjson.dumps(node))]


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    a = [orjson.dumps(b) for b in generate(8, SEED)]
    b = [orjson.dumps(b) for b in generate(8, SEED)]
    c = [orjson.dumps(b) for b in generate(8, SEED + 1)]
    assert a == b
    assert a[0] == c[0]  # the facility does not depend on the seed
    assert a[1:] != c[1:]
    assert len(set(a)) == len(a)


def test_patient_depends_only_on_seed_and_index() -> None:
    whole = [orjson.dumps(b) for b in generate(9, SEED)][1:]
    part = [orjson.dumps(b) for b in generate_range(SEED, 5, 9)]
    assert part == whole[5:9]


def test_bundles_are_put_transactions(cohort: list[dict]) -> None:
    for bundle in cohort:
        assert bundle["type"] == "transaction"
        for entry in bundle["entry"]:
            res = entry["resource"]
            assert entry["fullUrl"] == f"urn:uuid:{res['id']}"
            assert entry["request"] == {
                "method": "PUT",
                "url": f"{res['resourceType']}/{res['id']}",
            }
    ids = [r["id"] for r in _resources(cohort)]
    assert len(ids) == len(set(ids))
    assert sum(1 for r in _resources(cohort, "Patient")) == 200


def test_every_resource_is_valid_fhir_r4(cohort: list[dict]) -> None:
    # Every resource of the first patients, then one of each shape found in the cohort
    # (shape = type plus top-level keys), so rare variants get validated too.
    seen: set[tuple] = set()
    checked = 0
    for i, resource in enumerate(r for b in cohort for r in _resources([b])):
        shape = (
            resource["resourceType"],
            tuple(sorted(resource)),
            tuple(c["code"] for cat in resource.get("category", []) for c in cat.get("coding", [])),
        )
        if i < 400 or shape not in seen:
            seen.add(shape)
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            checked += 1
    assert checked > 400
    get_fhir_model_class("Bundle").model_validate(cohort[1])


def test_references_resolve(cohort: list[dict]) -> None:
    facility = {e["request"]["url"] for e in cohort[0]["entry"]}
    for bundle in cohort:
        full_urls = {e["fullUrl"] for e in bundle["entry"]}
        for ref in _references(bundle["entry"]):
            if ref.startswith("urn:uuid:"):
                assert ref in full_urls, ref
            else:
                assert ref.split("/")[0] in ("Practitioner", "Organization"), ref
                assert ref in facility, ref


def test_dates_are_coherent(cohort: list[dict]) -> None:
    for bundle in cohort[1:]:
        patient = bundle["entry"][0]["resource"]
        born = datetime.fromisoformat(patient["birthDate"]).date()
        died = _when(patient["deceasedDateTime"]) if "deceasedDateTime" in patient else None
        for enc in _resources([bundle], "Encounter"):
            start, end = _when(enc["period"]["start"]), _when(enc["period"]["end"])
            assert start < end
            assert start.date() >= born
            assert died is None or end <= died
        events = [
            *(o["effectiveDateTime"] for o in _resources([bundle], "Observation")),
            *(c["onsetDateTime"] for c in _resources([bundle], "Condition")),
            *(m["authoredOn"] for m in _resources([bundle], "MedicationRequest")),
            *(
                p.get("performedDateTime") or p["performedPeriod"]["end"]
                for p in _resources([bundle], "Procedure")
            ),
        ]
        assert died is None or all(_when(e) <= died for e in events)
    inpatient = [e for e in _resources(cohort, "Encounter") if e["class"]["code"] == "IMP"]
    assert inpatient
    for enc in inpatient:
        assert "dischargeDisposition" in enc["hospitalization"]
        assert _when(enc["period"]["end"]) > _when(enc["period"]["start"])
    deceased = [p for p in _resources(cohort, "Patient") if "deceasedDateTime" in p]
    assert deceased


def test_icd10cm_codes_are_valid_billable_with_official_display(cohort: list[dict]) -> None:
    for dx in DX.values():
        assert cm.is_valid_item(dx.icd) and cm.is_leaf(dx.icd), dx.icd
        assert dx.code.display == cm.get_description(dx.icd)
    used = Counter()
    for res in _resources(cohort):
        for coding in _codings(res):
            if coding.get("system") == ICD10CM:
                assert cm.is_leaf(coding["code"]), coding
                assert coding["display"] == cm.get_description(coding["code"])
                used[coding["code"]] += 1
    assert len(used) > 30


_CODING = re.compile(rb'\{"system":"([^"]+)","code":"([^"]+)","display":"((?:[^"\\]|\\.)*)"\}')


def _codings(node: object) -> list[dict]:
    return [
        {"system": s.decode(), "code": c.decode(), "display": orjson.loads(b'"' + d + b'"')}
        for s, c, d in _CODING.findall(orjson.dumps(node))
    ]


def test_other_code_systems_are_well_formed(cohort: list[dict]) -> None:
    shapes = {
        "http://www.cms.gov/Medicare/Coding/ICD10": r"[0-9A-HJ-NP-Z]{7}",
        "http://loinc.org": r"(\d{1,5}-\d|LP\d+-\d)",
        "http://snomed.info/sct": r"\d{6,18}",
        "http://www.nlm.nih.gov/research/umls/rxnorm": r"\d{4,8}",
    }
    seen = Counter()
    for coding in _codings(cohort):
        shape = shapes.get(coding["system"])
        if shape:
            assert re.fullmatch(shape, coding["code"]), coding
            seen[coding["system"]] += 1
    assert set(seen) == set(shapes)
    inpatient_procs = [
        p
        for p in _resources(cohort, "Procedure")
        if any(c["system"].endswith("ICD10") for c in p["code"]["coding"])
    ]
    assert inpatient_procs


def _text(doc: dict) -> str:
    return base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()


def test_notes_read_like_notes_and_some_are_unsigned(cohort: list[dict]) -> None:
    docs = _resources(cohort, "DocumentReference")
    unsigned = [d for d in docs if d["docStatus"] == "preliminary"]
    assert 0.01 < len(unsigned) / len(docs) < 0.2
    assert all("authenticator" not in d for d in unsigned)
    assert all("authenticator" in d for d in docs if d["docStatus"] == "final")
    types = Counter(d["type"]["coding"][0]["code"] for d in docs)
    assert {"11506-3", "34117-2", "18842-5", "11504-8", "11526-1"} <= set(types)
    progress = next(_text(d) for d in docs if d["type"]["coding"][0]["code"] == "11506-3")
    for section in ("CHIEF COMPLAINT", "HISTORY OF PRESENT ILLNESS", "ASSESSMENT AND PLAN"):
        assert section in progress
    texts = [_text(d) for d in docs[:300]]
    assert any("Denies chest pain" in t for t in texts)
    assert any("Family history of" in t for t in texts)
    gaps = Counter(r["gap"] for s, r in SIDE if s == "documentation_gaps")
    assert gaps["unsigned"] == len(unsigned)
    assert gaps["late_discharge_summary"] + gaps["missing_history_and_physical"] > 0


def test_pathology_reports_for_cancer_cases(cohort: list[dict]) -> None:
    reports = [
        r
        for r in _resources(cohort, "DiagnosticReport")
        if r["category"][0]["coding"][0]["code"] == "LP7839-6"
    ]
    assert reports
    for report in reports:
        assert report["category"][0]["coding"][1]["code"] == "PAT"
        text = base64.b64decode(report["presentedForm"][0]["data"]).decode()
        for cue in (
            "SPECIMEN:",
            "GROSS DESCRIPTION:",
            "MICROSCOPIC DESCRIPTION:",
            "FINAL DIAGNOSIS:",
            "Grade:",
            "Margins:",
            "BEHAVIOR:",
        ):
            assert cue in text
    cancers = [
        c for c in _resources(cohort, "Condition") if c["code"]["coding"][0]["code"][0] == "C"
    ]
    assert cancers
    cases = [r for s, r in SIDE if s == "cancer_cases"]
    assert cases and all(c["reports"] for c in cases)


def test_write_layout_summary_and_progress(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(synth_writer, "FILES_PER_DIR", 10)
    progress: list[int] = []
    summary = write(tmp_path / "a", 21, SEED, on_progress=progress.append)
    out = tmp_path / "a"
    assert progress == list(range(1, 22))
    assert (out / "facility.json").is_file()
    dirs = sorted((out / "patients").iterdir())
    files = [f for d in dirs for f in d.iterdir()]
    assert [d.name for d in dirs] == ["0000", "0001", "0002"]
    assert all(len(list(d.iterdir())) <= 10 for d in dirs)
    assert summary.patients == 21 and summary.bundles == len(files) + 1
    counts: Counter[str] = Counter()
    for f in [out / "facility.json", *files]:
        for entry in orjson.loads(f.read_bytes())["entry"]:
            counts[entry["resource"]["resourceType"]] += 1
    assert summary.resources == dict(counts)
    assert summary.resources["Patient"] == 21
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["resources"] == summary.resources
    assert (out / "truth" / "documentation_gaps.jsonl").exists()
    write(tmp_path / "b", 21, SEED)
    for f in files:
        twin = tmp_path / "b" / f.relative_to(out)
        assert twin.read_bytes() == f.read_bytes()


class Duplicates(SynthModule):
    """Registers every third person twice (no SSN, new MRN) and flags every chart."""

    name = "test_duplicates"

    def __init__(self) -> None:
        self.slots: list[int] = []

    def people(self, ctx, people) -> None:
        self.slots.append(ctx.slot)
        if ctx.slot % 3 == 0:
            first = people[0]
            twin = type(first)(
                **{
                    **first.__dict__,
                    "patient_id": ctx.new_id(),
                    "registration": 1,
                    "mrn": ctx.mrn(1),
                    "ssn": None,
                    "attrs": {},
                }
            )
            people.append(twin)
            ctx.emit("duplicates", {"a": first.patient_id, "b": twin.patient_id})

    def chart(self, ctx, person, chart) -> None:
        chart.add(
            {
                "resourceType": "Flag",
                "id": ctx.new_id(),
                "status": "active",
                "code": {"text": f"synthetic registration {person.registration}"},
                "subject": {"reference": chart.patient_ref},
            }
        )


def test_custom_module_hooks_and_side_output(tmp_path: Path) -> None:
    plugin = Duplicates()
    summary = write(tmp_path, 7, SEED, modules=[*default_modules(), plugin])
    assert plugin.slots == list(range(7))
    assert summary.resources["Patient"] == 10  # slots 0, 3 and 6 registered twice
    assert summary.resources["Flag"] == 10
    lines = (tmp_path / "truth" / "duplicates.jsonl").read_bytes().splitlines()
    assert len(lines) == 3
    pairs = [orjson.loads(line) for line in lines]
    patients = {}
    for f in (tmp_path / "patients").rglob("*.json"):
        for entry in orjson.loads(f.read_bytes())["entry"]:
            if entry["resource"]["resourceType"] == "Patient":
                patients[entry["resource"]["id"]] = entry["resource"]
    for pair in pairs:
        a, b = patients[pair["a"]], patients[pair["b"]]
        assert a["name"] == b["name"] and a["birthDate"] == b["birthDate"]
        assert a["identifier"][0]["value"] != b["identifier"][0]["value"]
    with pytest.raises(ValueError, match="unique"):
        list(generate(1, SEED, modules=[plugin, plugin]))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_stays_bounded() -> None:
    stream = generate(10_000, SEED)  # lazily: only what is consumed gets generated
    for _ in range(20):
        next(stream)
    tracemalloc.start()
    for _ in range(25):
        next(stream)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Streaming peaks under 1 MB here; holding on to these 25 bundles would take over 6 MB.
    assert peak < 3_000_000
    if os.path.exists("/proc/self/statm"):
        gc.collect()
        before = _rss()
        for _ in range(120):
            next(stream)
        gc.collect()
        assert _rss() - before < 15_000_000  # holding 120 bundles: about 30 MB
