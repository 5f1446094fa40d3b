"""`chartkeeper deid text` (one note, --json, --batch) and `deid import-gazetteers`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chartkeeper.cli import app
from chartkeeper.privacy.deid.gazetteer import FILE_NAME

runner = CliRunner()
NOTE = "PT SEEN BY DR. KOWALSKI 7/22. CALL 617-555-0143. LASIX 40MG GIVEN.\n"


def cli(tmp_path: Path, *args: str, stdin: str | bytes | None = None):
    return runner.invoke(
        app,
        ["deid", *args, "--data-dir", str(tmp_path / "data")],
        input=stdin,
        env={"COLUMNS": "200", "CHARTKEEPER_DEID_GAZETTEER": ""},
    )


def test_text_from_stdin_prints_the_scrubbed_note(tmp_path):
    result = cli(tmp_path, "text", "-", stdin=NOTE)
    assert result.exit_code == 0, result.output
    assert "KOWALSKI" not in result.stdout and "7/22" not in result.stdout
    assert "555-0143" not in result.stdout and "LASIX 40MG GIVEN" in result.stdout


def test_text_json_gives_spans_with_offsets_into_the_input(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text(NOTE)
    result = cli(tmp_path, "text", str(path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"text", "spans"}
    found = {NOTE[s["start"] : s["end"]]: s["kind"] for s in data["spans"]}
    assert found["7/22"] == "date" and found["617-555-0143"] == "phone"
    assert found["KOWALSKI"] == "name"
    assert all(s["replacement"].startswith("[") for s in data["spans"])


def test_batch_keeps_order_and_reports_bad_lines_by_number(tmp_path):
    batch = tmp_path / "notes.jsonl"
    lines = [
        json.dumps({"id": "a", "text": "dtr mary called 7/22"}).encode(),
        b"{not json",
        json.dumps({"id": "c"}).encode(),
        b"",
        b'{"id": "e", "text": "bin\x00ary"}',
        json.dumps({"id": "f", "text": 5}).encode(),
        json.dumps({"id": "g", "text": "SON BILL KOWALSKI AT BEDSIDE"}).encode(),
        json.dumps({"id": "h", "text": "no phi here", "patient": "nobody"}).encode(),
    ]
    batch.write_bytes(b"\n".join(lines) + b"\n")
    result = cli(tmp_path, "text", "--batch", str(batch), "--json")
    assert result.exit_code == 1  # some lines failed; the others still came out
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", None, "c", None, "f", "g", "h"]
    assert "mary" not in rows[0]["text"] and "7/22" not in rows[0]["text"]
    assert rows[0]["spans"][0]["start"] == 4
    assert rows[1]["line"] == 2 and "not JSON" in rows[1]["error"]
    assert rows[2]["line"] == 3 and "no 'text'" in rows[2]["error"]
    assert rows[3]["line"] == 5 and "binary" in rows[3]["error"]
    assert "int" in rows[4]["error"]
    assert "KOWALSKI" not in rows[5]["text"]
    assert rows[6]["line"] == 8 and "patient nobody" in rows[6]["error"]
    assert "line 2" in result.stderr and "notes/s" in result.stderr


def test_batch_and_file_errors_are_clear(tmp_path):
    result = cli(tmp_path, "text", "--batch", str(tmp_path / "missing.jsonl"))
    assert result.exit_code == 2 and "is not a file" in result.output
    result = cli(tmp_path, "text", str(tmp_path / "missing.txt"))
    assert result.exit_code == 2
    binary = tmp_path / "scan.bin"
    binary.write_bytes(b"\x89PNG\x00\x01")
    result = cli(tmp_path, "text", str(binary))
    assert result.exit_code == 2 and "binary" in result.output


def _tiny_reference(folder: Path) -> Path:
    """A names-places folder in the real files' layouts, a few rows each."""
    folder.mkdir()
    (folder / "last-name.csv").write_text(
        "last_name,count\nSmith,2442977\nZylstra,3000\nWhite,1370000\n,7170\nKowalski,60000\n"
    )
    (folder / "dist.male.first").write_text(
        "JAMES          3.318  3.318      1\nWALTER         0.399  0.399     30\n"
    )
    (folder / "dist.female.first").write_text(
        "MARY           2.629  2.629      1\nHOPE           0.010  0.010    900\n"
    )
    (folder / "faraday_places.csv").write_text(
        'id,name,type\n2524925,"Framingham, MA",town\n02108,"02108",zcta\n'
    )
    return folder


def test_import_gazetteers_writes_the_compiled_file(tmp_path):
    folder = _tiny_reference(tmp_path / "names-places")
    result = cli(tmp_path, "import-gazetteers", str(folder))
    assert result.exit_code == 0, result.output
    path = tmp_path / "data" / "deid" / FILE_NAME
    data = json.loads(gzip.decompress(path.read_bytes()))
    assert "zylstra" in data["strong"] and "kowalski" in data["strong"]
    assert "white" in data["weak"] and "hope" in data["weak"]  # words first
    assert "framingham" in data["places"] and "02108" not in data["places"]
    # the imported file is what `deid text` then uses
    result = cli(tmp_path, "text", "-", stdin="SEEN BY ZYLSTRA FROM FRAMINGHAM")
    assert "ZYLSTRA" not in result.stdout and "FRAMINGHAM" not in result.stdout


@pytest.mark.parametrize("missing", ["last-name.csv", "dist.male.first"])
def test_import_gazetteers_names_a_missing_file(tmp_path, missing):
    folder = _tiny_reference(tmp_path / "names-places")
    (folder / missing).unlink()
    result = cli(tmp_path, "import-gazetteers", str(folder))
    assert result.exit_code == 1 and missing in result.output
    result = cli(tmp_path, "import-gazetteers", str(tmp_path / "nowhere"))
    assert result.exit_code == 2


def test_gazetteer_option_is_this_run_only(tmp_path, monkeypatch):
    """--gazetteer reaches the scrubber through Settings, not by rewriting the environment
    (which would leak into every later command in the same process)."""
    monkeypatch.delenv("CHARTKEEPER_DEID_GAZETTEER", raising=False)
    folder = _tiny_reference(tmp_path / "names-places")
    result = runner.invoke(
        app,
        ["deid", "text", "-", "--gazetteer", str(folder), "--data-dir", str(tmp_path / "d")],
        input="SEEN BY ZYLSTRA FROM FRAMINGHAM",
    )
    assert result.exit_code == 0, result.output
    assert "ZYLSTRA" not in result.stdout and "FRAMINGHAM" not in result.stdout
    import os

    assert "CHARTKEEPER_DEID_GAZETTEER" not in os.environ
