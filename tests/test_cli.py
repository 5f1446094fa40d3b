"""The command line end to end: synth → import → export, exit codes and messages."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chartkeeper.cli import app

runner = CliRunner()


def _run(tmp_path, *args: str):
    return runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data")], env={"COLUMNS": "300"})


def test_synth_import_export_round_trip(tmp_path):
    synth = runner.invoke(
        app, ["synth", "--patients", "3", "--seed", "5", "--out", str(tmp_path / "b")]
    )
    assert synth.exit_code == 0, synth.output
    first = _run(tmp_path, "import", str(tmp_path / "b"), "--workers", "0")
    assert first.exit_code == 0, first.output
    again = _run(tmp_path, "import", str(tmp_path / "b"), "--workers", "2")
    assert again.exit_code == 0 and "unchanged" in again.output
    exported = _run(tmp_path, "export", "--out", str(tmp_path / "x"))
    assert exported.exit_code == 0, exported.output
    patients = (tmp_path / "x" / "Patient.ndjson").read_text().splitlines()
    assert len(patients) == 3 and json.loads(patients[0])["resourceType"] == "Patient"
    verified = _run(tmp_path, "audit", "verify")
    assert verified.exit_code == 0 and "intact" in verified.output


def test_a_bad_bundle_ends_non_zero_with_where_and_why(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.json").write_text(json.dumps({"resourceType": "Patient", "id": "ok"}))
    (tmp_path / "in" / "bad.json").write_text(
        '{"resourceType": "Patient", "id": "no", "gender": 5}'
    )
    result = _run(tmp_path, "import", str(tmp_path / "in"), "--workers", "0")
    assert result.exit_code == 1
    assert "bad.json" in result.output and "Patient.gender" in result.output


def test_missing_path_is_a_clear_error(tmp_path):
    result = _run(tmp_path, "import", str(tmp_path / "nowhere"))
    assert result.exit_code != 0


def test_release_of_information_from_the_command_line(tmp_path):
    from datetime import date, timedelta

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p.json").write_text(json.dumps({"resourceType": "Patient", "id": "roi1"}))
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/roi1"},
        "code": {"text": "asthma"},
        "recordedDate": "2024-05-01",
    }
    (tmp_path / "in" / "c.json").write_text(json.dumps(condition))
    authorization = {
        "resourceType": "DocumentReference",
        "id": "auth",
        "status": "current",
        "subject": {"reference": "Patient/roi1"},
        "content": [{"attachment": {"contentType": "application/pdf", "title": "signed"}}],
    }
    (tmp_path / "in" / "a.json").write_text(json.dumps(authorization))
    assert _run(tmp_path, "import", str(tmp_path / "in"), "--workers", "0").exit_code == 0
    today = date.today()
    request = {
        "patient": "roi1",
        "purpose": "insurance",
        "requester": {"name": "Ann Lee", "organization": "Acme Life", "address": "1 Main St"},
        "authorization": {
            "reference": "DocumentReference/auth",
            "signed": str(today - timedelta(days=3)),
            "expires": str(today + timedelta(days=300)),
            "covers": {"types": ["Condition"], "start": "2024-01-01", "end": "2024-12-31"},
        },
        "asked": {"types": ["Condition"], "start": "2024-01-01", "end": "2024-12-31"},
    }
    (tmp_path / "request.json").write_text(json.dumps(request))
    logged = _run(tmp_path, "roi", "log", str(tmp_path / "request.json"))
    assert logged.exit_code == 0, logged.output
    request_id = logged.output.split()[2]
    assert _run(tmp_path, "roi", "fulfil", request_id).exit_code == 1  # not validated yet
    assert _run(tmp_path, "roi", "validate", request_id).exit_code == 0
    fulfilled = _run(tmp_path, "roi", "fulfil", request_id)
    assert fulfilled.exit_code == 0 and ".pdf" in fulfilled.output
    listed = _run(tmp_path, "roi", "accounting", "roi1", "--all")
    assert listed.exit_code == 0 and "Ann Lee" in listed.output


def test_deidentified_export_needs_a_key_and_a_known_method(tmp_path, monkeypatch):
    from chartkeeper.errors import BadRequest

    monkeypatch.delenv("CHARTKEEPER_DEID_KEY", raising=False)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p.json").write_text(json.dumps({"resourceType": "Patient", "id": "d1"}))
    assert _run(tmp_path, "import", str(tmp_path / "in"), "--workers", "0").exit_code == 0
    out = str(tmp_path / "x")
    keyless = _run(tmp_path, "export", "--out", out, "--deidentify", "safe-harbor")
    assert isinstance(keyless.exception, BadRequest) and "secret key" in str(keyless.exception)
    (tmp_path / "key").write_text("00" * 32)
    weak = _run(
        tmp_path,
        "export",
        "--out",
        out,
        "--deidentify",
        "safe-harbor",
        "--key-file",
        str(tmp_path / "key"),
    )
    assert isinstance(weak.exception, BadRequest)  # all zeros is no secret
    (tmp_path / "key").write_text(
        "5f3a9c0e7b1d4a6f8e2c9b7a1d3f5e7c9b1a3d5f7e9c1b3a5d7f9e1c3b5a7d9f"
    )
    odd = _run(
        tmp_path,
        "export",
        "--out",
        out,
        "--deidentify",
        "limited-data-set",
        "--key-file",
        str(tmp_path / "key"),
    )
    assert odd.exit_code == 2 and "limited-data-set" in odd.output  # a usage error
    ok = _run(
        tmp_path,
        "export",
        "--out",
        out,
        "--deidentify",
        "safe-harbor",
        "--key-file",
        str(tmp_path / "key"),
    )
    assert ok.exit_code == 0, ok.output
    exported = json.loads((tmp_path / "x" / "Patient.ndjson").read_text().splitlines()[0])
    assert exported["id"] != "d1"  # pseudonymised
    assert not (tmp_path / "x" / "Patient.ndjson").read_text().count('"d1"')


def test_demo_loads_once_and_reset_restores_on_purpose(tmp_path):
    first = _run(tmp_path, "demo", "--patients", "2")
    assert first.exit_code == 0, first.output
    from chartkeeper.config import Settings
    from chartkeeper.store import open_store

    repo = open_store(Settings(data_dir=tmp_path / "data"))
    with repo.reading() as tx:
        patient = tx.search("Patient").resources[0]
    edited = {**patient, "gender": "other" if patient.get("gender") != "other" else "male"}
    repo.update(edited)
    again = _run(tmp_path, "demo", "--patients", "2")
    assert again.exit_code == 0 and "not loaded again" in again.output
    assert repo.read("Patient", patient["id"])["gender"] == edited["gender"]
    reset = _run(tmp_path, "demo", "--patients", "2", "--reset")
    assert reset.exit_code == 0, reset.output
    restored = repo.read("Patient", patient["id"])
    assert restored.get("gender") == patient.get("gender") and restored["meta"]["versionId"] == "3"
    repo.engine.dispose()
