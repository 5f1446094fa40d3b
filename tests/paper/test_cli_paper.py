"""`chartkeeper paper ...` end to end on an embedded database, and bad options exit 2."""

from __future__ import annotations

import json

import pytest
from test_retention import _patient
from typer.testing import CliRunner

from chartkeeper.cli import app
from chartkeeper.config import Settings
from chartkeeper.store import open_store


def test_retention_hold_and_destruction_on_the_command_line(tmp_path):
    repo = open_store(Settings(data_dir=tmp_path))
    _patient(repo, "a", "1950-01-01", "2010-03-01")
    _patient(repo, "b", "1950-01-01", "2010-03-01")
    repo.engine.dispose()
    run = CliRunner()

    def call(*args: str):
        done = run.invoke(app, ["paper", *args, "--data-dir", str(tmp_path)])
        assert done.exit_code == 0, done.output
        return done

    listed = json.loads(call("retention", "--as-of", "2025-06-01", "--json").stdout)
    assert [g["mrn"] for g in listed] == ["MRN-a", "MRN-b"]
    call("hold", "place", "b", "--reason", "subpoena", "--case", "CV-9")
    (hold,) = json.loads(call("hold", "list", "--json").stdout)
    table = call("hold", "list").stdout  # the table a person reads
    assert "legal holds: 1" in table and "CV-9" in table and "subpoena" in table
    assert "MRN-b" in call("retention", "--as-of", "2025-06-01").stdout
    dry = json.loads(
        call("destroy", "--method", "shredding", "--as-of", "2025-06-01", "--json").stdout
    )
    assert dry["dry_run"] and dry["certificate"] is None
    done = json.loads(
        call(
            "destroy", "--method", "shredding", "--as-of", "2025-06-01", "--execute", "--json"
        ).stdout
    )
    assert [g["patient_id"] for g in done["destroyed"]] == ["a"]
    assert [g["patient_id"] for g in done["held"]] == ["b"]
    cert = json.loads(call("certificate", str(done["certificate"]), "--json").stdout)
    assert {r["id"] for g in cert["items"] for r in g["resources"]} == {"a-e1", "a-c1"}
    call("hold", "release", str(hold["id"]), "--reason", "case closed")
    assert json.loads(call("hold", "list", "--json").stdout) == []


@pytest.mark.parametrize(
    "args",
    [
        ["retention", "--as-of", "yesterday"],
        ["retention", "--rules", "no-such-rules.toml"],
        ["destroy", "--method", "burying"],
        ["destroy", "--method", "shredding", "--as-of", "2999-01-01"],
        ["hold", "place", "a", "--reason", " "],
        ["hold", "release", "x", "--reason", "done"],
    ],
)
def test_bad_options_exit_2(tmp_path, args):
    done = CliRunner().invoke(app, ["paper", *args, "--data-dir", str(tmp_path)])
    assert done.exit_code == 2, done.output


def test_chart_tracking_on_the_command_line(tmp_path):
    repo = open_store(Settings(data_dir=tmp_path))
    _patient(repo, "a", "1950-01-01", "2024-03-01")
    repo.engine.dispose()
    run = CliRunner()

    def call(*args: str, code: int = 0):
        done = run.invoke(app, ["paper", "chart", *args, "--data-dir", str(tmp_path)])
        assert done.exit_code == code, done.output
        return done

    label = tmp_path / "label.pdf"
    call("new", "a", "--location", "Shelf 12", "--label", str(label))
    assert label.read_bytes().startswith(b"%PDF")
    (volume,) = json.loads(call("history", _barcode(tmp_path), "--json").stdout)["custody"]
    assert volume["action"] == "create"
    barcode = _barcode(tmp_path)
    call("out", barcode, "--to", "Dr Lee", "--location", "Clinic 3", "--due", "2999-01-01")
    call("out", barcode, "--to", "X", "--location", "Y", "--due", "2000-01-01", code=2)
    late = json.loads(call("overdue", "--today", "2999-01-05", "--json").stdout)
    assert [v["barcode"] for v in late] == [barcode]
    table = call("overdue", "--today", "2999-01-05").stdout
    assert "overdue charts: 1" in table and barcode in table and "Dr Lee" in table
    call("in", barcode, "--location", "Shelf 12")
    assert json.loads(call("pull-list", "--date", "2030-01-01", "--json").stdout) == []
    call("pull-list", "--date", "someday", code=2)
    moves = json.loads(call("history", barcode, "--json").stdout)["custody"]
    assert [m["action"] for m in moves] == ["create", "check-out", "check-in"]


def _barcode(data_dir) -> str:
    from chartkeeper.paper import tracking

    repo = open_store(Settings(data_dir=data_dir))
    try:
        return tracking.volumes(repo, "a")[0]["barcode"]
    finally:
        repo.engine.dispose()


def test_refusals_are_one_line_and_change_nothing(tmp_path, capsys):
    """A corrupt rules file (exit 2); a hold or volume for nobody, check-in of a volume
    on the shelf (exit 1, the domain's refusal): one line each, nothing written."""
    from chartkeeper.cli import main

    repo = open_store(Settings(data_dir=tmp_path))
    _patient(repo, "a", "1950-01-01", "2010-03-01")
    repo.engine.dispose()

    def refused(code: int, *args: str) -> str:
        with pytest.raises(SystemExit) as exited:
            main(["paper", *args, "--data-dir", str(tmp_path)])
        err = capsys.readouterr().err
        assert exited.value.code == code, err
        assert "Traceback" not in err and err.startswith("error:"), err
        return err

    rules = tmp_path / "rules.toml"
    rules.write_text("default_jurisdiction = [\n")
    assert "TOML" in refused(2, "retention", "--rules", str(rules))
    assert "TOML" in refused(2, "destroy", "--method", "shredding", "--rules", str(rules),
                             "--as-of", "2025-06-01", "--execute")  # fmt: skip
    assert "nobody" in refused(1, "hold", "place", "nobody", "--reason", "subpoena")
    assert "nobody" in refused(1, "chart", "new", "nobody", "--location", "Shelf 1")
    ok = CliRunner().invoke(app, ["paper", "chart", "new", "a", "--location", "Shelf 1",
                                  "--data-dir", str(tmp_path)])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    barcode = _barcode(tmp_path)
    assert "not out" in refused(1, "chart", "in", barcode, "--location", "Shelf 1")
    repo = open_store(Settings(data_dir=tmp_path))
    try:
        from chartkeeper.paper import retention, tracking

        assert retention.holds(repo) == [] and retention.certificates(repo) == []
        assert [v["barcode"] for v in tracking.volumes(repo, "a")] == [barcode]
        moves = tracking.history(repo, barcode)["custody"]
        assert [m["action"] for m in moves] == ["create"]
        assert repo.read("Encounter", "a-e1")["id"] == "a-e1"
    finally:
        repo.engine.dispose()


def test_scanning_on_the_command_line(tmp_path):
    import scan_batch

    from chartkeeper.paper import scanning

    repo = open_store(Settings(data_dir=tmp_path))
    scan_batch.patient(repo, "p1", "Okafor")
    scan_batch.patient(repo, "p2", "Lindqvist")
    repo.engine.dispose()
    run = CliRunner()

    def call(*args: str, code: int = 0):
        done = run.invoke(app, ["paper", *args, "--data-dir", str(tmp_path)])
        assert done.exit_code == code, done.output
        return done

    sheets = tmp_path / "covers.pdf"
    call("cover", "p1", "--type", "11506-3", "--encounter", "p1-e1", "-o", str(sheets))
    (cover,) = scanning.read_pages("covers.pdf", sheets.read_bytes())
    drop = tmp_path / "drop"
    drop.mkdir()
    scan_batch.text_page(["loose page"]).save(drop / "0.png")
    cover.save(drop / "1.png")
    scan_batch.text_page(["Assessment: sarcoidosis"]).save(drop / "2.png")
    (drop / "3.pdf").write_bytes(b"%PDF-1.4 broken")
    done = call("scan", str(drop), "--no-ocr", code=1)  # one file failed: exit 1, rest filed
    assert "3.pdf: not a readable PDF" in done.output and "1 queued" in done.output
    again = json.loads(call("scan", str(drop / "2.png"), "--no-ocr", "--json").stdout)
    assert again["skipped"] == ["2.png"]
    (queued,) = json.loads(call("queue", "--json").stdout)
    assert "queue: 1 pages" in call("queue").stdout
    call("queue", "assign", str(queued["id"]), "--patient", "p2", "--type", "51851-4")
    assert json.loads(call("queue", "--json").stdout) == []
    repo = open_store(Settings(data_dir=tmp_path))
    (doc,) = [d for d in repo.search("DocumentReference", [("patient", "Patient/p1")]).resources]
    repo.engine.dispose()
    moved = json.loads(
        call("misfile", doc["id"], "--patient", "p2", "--reason", "wrong chart", "--json").stdout
    )
    assert moved["from_patient"] == "p1" and moved["to_patient"] == "p2"
    call("misfile", doc["id"], "--patient", "p2", "--reason", "again", code=1)
    call("hold", "case", "CV-3", "--patient", "p1", "--patient", "p2", "--reason", "lawsuit")
    assert len(json.loads(call("hold", "list", "--json").stdout)) == 2
    call("hold", "release-case", "CV-3", "--reason", "settled")
    assert json.loads(call("documents", "nothing-here", "--json").stdout) == []
