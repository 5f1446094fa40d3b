"""`chartkeeper registry ...` end to end on an embedded database: casefinding to NAACCR XML,
and every bad option a clear exit 2."""

from __future__ import annotations

import json

import pytest
from test_registry_workflow import _record
from typer.testing import CliRunner

from chartkeeper.cli import app
from chartkeeper.config import Settings
from chartkeeper.store import open_store

pytestmark = pytest.mark.usefixtures("icdo3_reference", "naaccr_reference")


def test_registrar_day_on_the_command_line(tmp_path):
    repo = open_store(Settings(data_dir=tmp_path))
    _record(repo)
    repo.engine.dispose()
    run = CliRunner()

    def call(*args: str):
        done = run.invoke(app, ["registry", *args, "--data-dir", str(tmp_path)])
        assert done.exit_code == 0, done.output
        return done

    call("casefind")
    (case,) = json.loads(call("worklist", "--json").stdout)
    assert case["mrn"] == "MRN-p1" and case["primary_site"] == "C50.4"
    call("accept", str(case["id"]))
    shown = json.loads(call("abstract", str(case["id"]), "--set", "laterality=0", "--json").stdout)
    assert [e["id"] for e in shown["edits"]] == ["CK005"]
    call("override", str(case["id"]), "CK005", "--reason", "checked with the pathologist")
    call("complete", str(case["id"]))
    xml = tmp_path / "out.xml"
    call("export", "--naaccr-xml", str(xml), "--registry-id", "42")
    assert b"<Tumor>" in xml.read_bytes() and not (tmp_path / "out.xml.partial").exists()
    call("import", str(xml))
    follow = json.loads(call("followup", "--today", "2025-06-01", "--json").stdout)
    assert follow["rates"]["analytic_cases"] == 1
    png = tmp_path / "km.png"
    table = json.loads(
        call("survival", "--today", "2025-06-01", "--plot", str(png), "--json").stdout
    )
    assert table[0]["group"] == "C50" and png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "args",
    [
        ["worklist", "--status", "lost"],
        ["export", "--naaccr-xml", "x.xml", "--record-type", "Z"],
        ["export", "--naaccr-xml", "x.xml", "--registry-id", "abc"],
        ["survival", "--by", "colour"],
        ["followup", "--today", "yesterday"],
        ["accept", "0"],
        ["import", "no-such-file.xml"],
        ["abstract", "1", "--set", "novalue"],
    ],
)
def test_bad_options_exit_2(tmp_path, args):
    done = CliRunner().invoke(app, ["registry", *args, "--data-dir", str(tmp_path)])
    assert done.exit_code == 2, done.output


def test_invalid_naaccr_file_and_unknown_case_exit_1_without_a_traceback(tmp_path, capsys):
    from chartkeeper.cli import main

    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<NaaccrData/>")
    data = ["--data-dir", str(tmp_path / "d")]
    for args, said in [
        (["import", str(bad)], "XSD"),
        (["accept", "424242"], "424242"),
        (["dismiss", "424242", "--reason", "not ours"], "424242"),
    ]:
        with pytest.raises(SystemExit) as exited:
            main(["registry", *args, *data])
        err = capsys.readouterr().err
        assert exited.value.code == 1, (args, err)
        assert said in err and "Traceback" not in err, (args, err)
    repo = open_store(Settings(data_dir=tmp_path / "d"))
    try:
        from chartkeeper.registry import casefinding

        assert casefinding.worklist(repo, status=None) == []
    finally:
        repo.engine.dispose()
