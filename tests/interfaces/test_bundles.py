"""Bundle and NDJSON import, and export: atomic per bundle, idempotent, lossless."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from chartkeeper.interfaces.bundles import import_paths
from chartkeeper.interfaces.export import export_ndjson
from chartkeeper.store.resources import INDEX_TABLES, resource, resource_history
from support import shared_data


def _bundle(kind: str = "transaction", method: str = "POST", *entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def _entry(res: dict, method: str = "POST") -> dict:
    full_url = f"urn:uuid:{res['id']}"
    return {
        "fullUrl": full_url,
        "resource": res,
        "request": {"method": method, "url": res["resourceType"]},
    }


PID = "0b6c7d1e-0000-4000-8000-000000000001"
EID = "0b6c7d1e-0000-4000-8000-000000000002"
REF = f'"reference":"urn:uuid:{PID}"'.encode()


def _patient_bundle(**patient_extra) -> dict:
    patient = {"resourceType": "Patient", "id": PID, "name": [{"family": "Ito"}], **patient_extra}
    encounter = {
        "resourceType": "Encounter",
        "id": EID,
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": f"urn:uuid:{PID}"},
    }
    return _bundle("transaction", "POST", _entry(patient), _entry(encounter))


def _write(tmp_path: Path, name: str, doc) -> Path:
    path = tmp_path / name
    path.write_bytes(doc if isinstance(doc, bytes) else orjson.dumps(doc))
    return path


def _counts(repo) -> dict[str, int]:
    with repo.reading() as tx:
        tables = {"resource": resource, "history": resource_history, **INDEX_TABLES}
        return {
            name: tx.conn.execute(select(func.count()).select_from(t)).scalar()
            for name, t in tables.items()
        }


def test_transaction_bundle_resolves_urn_references(repo, tmp_path):
    report = import_paths(repo, [_write(tmp_path, "b.json", _patient_bundle())])
    assert report.ok and report.created == 2
    encounter = repo.read("Encounter", EID)
    assert encounter["subject"] == {"reference": f"Patient/{PID}"}
    assert repo.search("Encounter", [("patient", f"Patient/{PID}")]).total == 1


def test_reimport_writes_no_new_versions(repo, tmp_path):
    path = _write(tmp_path, "b.json", _patient_bundle())
    import_paths(repo, [path])
    before = _counts(repo)
    again = import_paths(repo, [path])
    assert again.ok and again.created == again.updated == 0 and again.unchanged == 2
    assert _counts(repo) == before


def test_put_bundle_updates_and_keeps_history(repo, tmp_path):
    import_paths(repo, [_write(tmp_path, "a.json", _patient_bundle())])
    changed = _patient_bundle(gender="female")
    for e in changed["entry"]:
        e["request"] = {
            "method": "PUT",
            "url": f"{e['resource']['resourceType']}/{e['resource']['id']}",
        }
    report = import_paths(repo, [_write(tmp_path, "b.json", changed)])
    assert report.ok and report.updated == 1 and report.unchanged == 1
    assert repo.read("Patient", PID)["gender"] == "female"
    assert [h["version_id"] for h in repo.history("Patient", PID)] == [2, 1]


@pytest.mark.parametrize(
    ("name", "corrupt", "reason", "entry", "path"),
    [
        ("truncated", lambda raw: raw[: len(raw) // 2], "not valid JSON", None, ""),
        ("not-fhir", lambda raw: b'{"hello": "world"}', "no resourceType", None, ""),
        (
            "invalid-resource",
            lambda raw: raw.replace(b'"status":"finished"', b'"status":["finished"]'),
            "invalid Encounter",
            1,
            "Encounter.status",
        ),
        (
            "dangling-urn",
            lambda raw: raw.replace(
                REF, b'"reference":"urn:uuid:ffffffff-0000-4000-8000-0000000000ff"'
            ),
            "points to no entry",
            1,
            "resource.subject",
        ),
        (
            "dangling-literal",
            lambda raw: raw.replace(REF, b'"reference":"Patient/nobody"'),
            "points to nothing in the bundle or the store",
            1,
            "resource.subject",
        ),
        (
            "bad-put-url",
            lambda raw: raw.replace(
                b'"method":"POST","url":"Patient"', b'"method":"PUT","url":"Observation/1"'
            ),
            "does not name a Patient",
            0,
            "request.url",
        ),
    ],
)
def test_bad_bundle_changes_nothing_and_says_where(
    repo, tmp_path, name, corrupt, reason, entry, path
):
    good = _write(tmp_path, "good.json", {**_patient_bundle(), "entry": []})  # empty but valid
    import_paths(repo, [good])
    before = _counts(repo)
    bad = _write(tmp_path, f"{name}.json", corrupt(orjson.dumps(_patient_bundle())))
    report = import_paths(repo, [bad])
    assert not report.ok and report.failed_units == 1
    error = report.errors[0]
    assert error.source == str(bad) and reason in error.reason
    assert error.entry == entry
    assert error.path.startswith(path)
    assert _counts(repo) == before


def test_other_bundles_still_import_when_one_is_bad(repo, tmp_path):
    other = copy.deepcopy(_patient_bundle())
    for e in other["entry"]:
        e["resource"]["id"] = e["resource"]["id"][:-1] + "9"
        e["fullUrl"] = f"urn:uuid:{e['resource']['id']}"
    other["entry"][1]["resource"]["subject"]["reference"] = other["entry"][0]["fullUrl"]
    files = [
        _write(tmp_path, "1.json", _patient_bundle()),
        _write(
            tmp_path, "2.json", b'{"resourceType": "Bundle", "type": "transaction", "entry": [{'
        ),
        _write(tmp_path, "3.json", other),
    ]
    report = import_paths(repo, files)
    assert report.units == 3 and report.failed_units == 1 and report.created == 4
    assert report.errors[0].source.endswith("2.json")


def test_batch_entries_stand_alone(repo, tmp_path):
    good = {"resourceType": "Patient", "id": "ok", "gender": "male"}
    bad = {"resourceType": "Patient", "id": "bad", "birthDate": "soon"}
    batch = _bundle(
        "batch",
        "PUT",
        _entry(good, "PUT") | {"request": {"method": "PUT", "url": "Patient/ok"}},
        _entry(bad, "PUT") | {"request": {"method": "PUT", "url": "Patient/bad"}},
    )
    report = import_paths(repo, [_write(tmp_path, "batch.json", batch)])
    assert report.created == 1 and len(report.errors) == 1 and report.errors[0].entry == 1
    assert repo.read("Patient", "ok")["gender"] == "male"


def test_conditional_create_and_reference(repo, tmp_path):
    org = {
        "resourceType": "Organization",
        "id": "org-a",
        "identifier": [{"system": "urn:npi", "value": "42"}],
        "name": "General",
    }
    import_paths(repo, [_write(tmp_path, "org.json", org)])
    again = {
        "resourceType": "Organization",
        "identifier": [{"system": "urn:npi", "value": "42"}],
        "name": "Dup",
    }
    patient = {
        "resourceType": "Patient",
        "id": "p-org",
        "managingOrganization": {"reference": "Organization?identifier=urn:npi|42"},
    }
    bundle = _bundle(
        "transaction",
        "POST",
        {
            "fullUrl": "urn:uuid:11111111-2222-4333-8444-555555555555",
            "resource": again,
            "request": {
                "method": "POST",
                "url": "Organization",
                "ifNoneExist": "identifier=urn:npi|42",
            },
        },
        _entry(patient, "PUT") | {"request": {"method": "PUT", "url": "Patient/p-org"}},
    )
    report = import_paths(repo, [_write(tmp_path, "cond.json", bundle)])
    assert report.ok, report.errors
    assert repo.search("Organization", []).total == 1  # the conditional create found org-a
    assert (
        repo.read("Patient", "p-org")["managingOrganization"]["reference"] == "Organization/org-a"
    )


@pytest.mark.parametrize("workers", [0, 2])  # 2: the retry must survive the process hop
def test_deferred_unit_imports_once_its_target_arrives(repo, tmp_path, workers):
    first = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/late"},
    }
    later = {"resourceType": "Patient", "id": "late"}
    files = [_write(tmp_path, "a.json", first), _write(tmp_path, "b.json", later)]
    report = import_paths(repo, files, workers=workers)
    assert report.ok and report.created == 2


def test_ndjson_import_reports_line_numbers(repo, tmp_path):
    lines = [
        orjson.dumps({"resourceType": "Patient", "id": "n1"}),
        orjson.dumps({"resourceType": "Patient", "id": "n2", "gender": 7}),
    ]
    report = import_paths(repo, [_write(tmp_path, "Patient.ndjson", b"\n".join(lines) + b"\n")])
    assert not report.ok and report.errors[0].entry == 2 and "gender" in report.errors[0].path


def test_export_then_import_into_fresh_store_is_lossless(repo, tmp_path, database_url):
    import_paths(repo, [_write(tmp_path, "b.json", _patient_bundle())])
    out = tmp_path / "export"
    counts = export_ndjson(repo, out)
    assert counts == {"Encounter": 1, "Patient": 1}
    exported = {p.name: p.read_bytes() for p in out.iterdir()}
    assert json.loads(exported["Patient.ndjson"])["name"] == [{"family": "Ito"}]
    # The same export re-imported is recognised as unchanged.
    report = import_paths(repo, [out])
    assert report.unchanged == 2 and report.created == 0


def _strip_version_meta(res: dict) -> dict:
    res = copy.deepcopy(res)
    meta = res.get("meta", {})
    meta.pop("versionId", None)
    meta.pop("lastUpdated", None)
    if "meta" in res and not meta:
        del res["meta"]
    return res


def _expected_from_bundles(paths: list[Path]) -> dict[tuple[str, str], dict]:
    """What the store should hold: each entry, urn references rewritten, first copy kept."""
    expected: dict[tuple[str, str], dict] = {}
    for path in paths:
        doc = json.loads(path.read_text())
        entries = doc.get("entry", []) if doc["resourceType"] == "Bundle" else [{"resource": doc}]
        urls = {
            e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in entries
            if "fullUrl" in e
        }
        for e in entries:
            text = json.dumps(e["resource"])
            for url, ref in urls.items():
                text = text.replace(f'"{url}"', f'"{ref}"')
            res = json.loads(text)
            expected.setdefault((res["resourceType"], res["id"]), _strip_version_meta(res))
    return expected


def _exported(repo, out: Path) -> dict[tuple[str, str], dict]:
    export_ndjson(repo, out)
    found = {}
    for path in out.glob("*.ndjson"):
        for line in path.read_text().splitlines():
            res = json.loads(line)
            found[(res["resourceType"], res["id"])] = _strip_version_meta(res)
    return found


def test_round_trip_of_the_synthea_sample_is_lossless(repo, tmp_path):
    folder = shared_data("fhir-r4", "synthea")
    files = sorted(folder.glob("*.json"))[:12]  # keep the suite quick; bench/ runs them all
    shared = sorted(folder.glob("*Information*.json"))
    report = import_paths(repo, [*shared, *files], workers=0)
    assert report.ok, report.errors[:3]
    assert _exported(repo, tmp_path / "out") == _expected_from_bundles([*shared, *files])


def test_round_trip_of_the_spec_examples_is_lossless(repo, tmp_path):
    folder = shared_data("fhir-r4", "spec-examples")
    singles = sorted(p for p in folder.glob("*.json") if not p.name.startswith("Bundle-"))
    # Spec examples point at resources the package does not carry, so references are not checked.
    report = import_paths(repo, singles, check_references=False)
    assert report.ok, report.errors[:3]
    assert _exported(repo, tmp_path / "out") == _expected_from_bundles(singles)


def test_spec_transaction_bundle_with_conditional_entries(repo, tmp_path):
    path = shared_data("fhir-r4", "spec-examples", "Bundle-bundle-transaction.json")
    # As published, it updates Patient/123a "if at version 2": on an empty store that fails,
    # and the whole transaction with it.
    report = import_paths(repo, [path], check_references=False)
    assert not report.ok and "Patient/123a is not in the store" in report.errors[0].reason
    assert repo.search("Patient", []).total == 0
    bundle = json.loads(path.read_text())
    for entry in bundle["entry"]:
        entry.get("request", {}).pop("ifMatch", None)
    report = import_paths(repo, [_write(tmp_path, "t.json", bundle)], check_references=False)
    assert report.ok, report.errors
    assert report.created >= 3


def test_an_unreadable_file_is_reported_and_the_rest_imports(repo, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-folder.json").mkdir()  # a directory that looks like a bundle: not a unit
    (folder / "gone.json").symlink_to(tmp_path / "nowhere.json")
    _write(folder, "ok.json", {"resourceType": "Patient", "id": "readable"})
    report = import_paths(repo, [folder])
    assert report.created == 1 and report.failed_units == 1
    assert (
        report.errors[0].source.endswith("gone.json") and "cannot read" in report.errors[0].reason
    )
