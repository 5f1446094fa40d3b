"""Every CLI option is checked before work starts: a bad value is one line and exit 2.

`test_every_option_is_checked` walks the whole command tree, so a command added later with
an unbounded number, an unchecked path or a free string fails here until it says what it
takes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from chartkeeper.cli import app, main

# Strings whose every value is legitimate (words people type, secrets, rule names), or that
# the command parses itself and refuses with a usage error (an audit checkpoint).
FREE_TEXT = {"query", "reason", "note", "username", "password", "rule", "checkpoint"}


def _commands(command, path=()):
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def _annotation(param):
    from typing import get_args

    kind = param.get_runtime_param().annotation
    inner = [a for a in get_args(kind) if a is not type(None)]
    while inner:  # Optional[X] and list[X] -> X
        kind = inner[0]
        inner = [a for a in get_args(kind) if a is not type(None)]
    return kind


def test_every_option_is_checked():
    unchecked = []
    for name, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            kind = _annotation(param)
            info = param.get_runtime_param().parameter_info
            if kind is bool or param.name == "help":
                continue
            if kind in (int, float):
                ok = param.min is not None and param.max is not None
            elif kind is Path:
                ok = bool(getattr(info, "exists", False)) or param.callback is not None
            else:
                ok = param.callback is not None or param.name in FREE_TEXT
            if not ok:
                unchecked.append(f"{name} {param.name}")
    assert not unchecked, f"options taking any value: {unchecked}"


BAD = [
    (["mpi", "scan", "--link", "1.5"], "--link"),
    (["mpi", "scan", "--link", "0.3", "--review", "0.5"], "--review"),
    (["code", "find", "--fy", "banana", "asthma"], "--fy"),
    (["code", "find", "--fy", "²⁰²⁶", "asthma"], "--fy"),
    (["code", "find", "--limit", "0", "asthma"], "--limit"),
    (["drg", "E1", "--weights", "missing.csv"], "--weights"),
    (["claim", "E1", "--kind", "dental"], "--kind"),
    (["claim", "E1", "--out", "/no/such/folder/x.837"], "--out"),
    (["mpi", "queue", "--status", "bogus"], "--status"),
    (["mpi", "decide", "1", "maybe"], "verdict"),
    (["roi", "validate", "99999999999999999999"], "request_id"),
    (["roi", "validate", "²"], "request_id"),
    (["roi", "list", "--status", "lost"], "--status"),
    (["roi", "accounting", "p1", "--as-of", "last tuesday"], "--as-of"),
    (["audit", "patient", "../../etc/passwd"], "patient_id"),
    (["deficiencies", "scan", "--as-of", "soon"], "--as-of"),
    (["serve", "--port", "99999"], "--port"),
    (["serve", "--host", "not a host!"], "--host"),
    (["serve", "--workers", "0"], "--workers"),
    (["hl7", "listen", "--port", "0"], "--port"),
    (["export", "--out", "x", "--type", "Bogus"], "--type"),
    (["export", "--out", "x", "--deidentify", "mostly"], "--deidentify"),
    (["import", "/no/such/bundle.json"], "paths"),
    (["import", ".", "--workers", "-1"], "--workers"),
    (["synth", "--out", "x", "--patients", "0"], "--patients"),
    (["user", "add", "pat", "--role", "overlord", "--password", "x"], "--role"),
    (["db", "upgrade", "--database-url", "mysql://x/y"], "--database-url"),
    (["db", "upgrade", "--database-url", "::not a url::"], "--database-url"),
    (["nosuchcommand"], "nosuchcommand"),
    (["paper", "retention", "--as-of", "last tuesday"], "--as-of"),
    (["paper", "retention", "--jurisdiction", "US MA; drop"], "--jurisdiction"),
    (["paper", "destroy", "--method", "burying"], "--method"),
    (["paper", "certificate", "0"], "number"),
    (["paper", "hold", "place", "../x", "--reason", "subpoena"], "patient"),
    (["paper", "hold", "release", "1", "--reason", "  "], "--reason"),
    (["paper", "chart", "new", "a", "--location", " "], "--location"),
    (["paper", "chart", "new", "a", "--location", "A", "--label", "/no/such/l.pdf"], "--label"),
    (["paper", "chart", "label", "V1-01", "-o", "/no/such/x.pdf"], "--output"),
    (["paper", "chart", "in", "V 1!", "--location", "A"], "barcode"),
    (["paper", "chart", "out", "V1-01", "--to", "x", "--location", "y", "--due", "1"], "--due"),
    (
        ["paper", "chart", "out", "V1-01", "--to", "x", "--location", "y", "--due", "2001-01-01"],
        "--due",
    ),
    (["paper", "chart", "pull-list", "--date", "tomorrow"], "--date"),
    (["paper", "cover", "a", "--type", "99999-9", "-o", "c.pdf"], "--type"),
    (["paper", "scan", "/no/such/folder"], "paths"),
    (["paper", "queue", "assign", "0", "--patient", "a", "--type", "11506-3"], "pages"),
    (["paper", "misfile", "../d", "--patient", "a", "--reason", "x"], "document"),
    (["paper", "hold", "case", "CV-1", "--patient", "a b", "--reason", "x"], "--patient"),
    (["coding", "assign", "E1", "J18.9:Y, pneumonia please"], "diagnoses"),
    (["coding", "assign", "E1", "J18.9:maybe"], "diagnoses"),
    (["coding", "assign", "E1", "J18.9", "--procedures", "0BH17EZ; x y"], "--procedures"),
    (["user", "role", "pat", "overlord"], "role"),
    (["registry", "followup", "--today", "2026-01-01T08:00"], "--today"),
    (["registry", "survival", "--today", "soon"], "--today"),
]


@pytest.mark.parametrize(("args", "names"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_option_is_one_line_and_exit_2(args, names, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as exited:
        main(args)
    captured = capsys.readouterr()
    assert exited.value.code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error:") and names in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_roi_log_of_malformed_json_is_a_usage_error(capsys, tmp_path):
    spec = tmp_path / "request.json"
    spec.write_text("{not json")
    with pytest.raises(SystemExit) as exited:
        main(["roi", "log", str(spec), "--data-dir", str(tmp_path / "d")])
    assert exited.value.code == 2
    assert "request.json is not valid JSON" in capsys.readouterr().err


def test_help_still_exits_0(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["mpi", "scan", "--help"])
    assert exited.value.code == 0
    assert "--link" in capsys.readouterr().out


def test_import_goes_on_past_malformed_entries(tmp_path, capsys, monkeypatch):
    """Each malformed file is one failed unit with its reason; the others load."""
    monkeypatch.setenv("COLUMNS", "400")
    folder = tmp_path / "in"
    folder.mkdir()
    good = {"resourceType": "Patient", "id": "good1"}
    (folder / "a-good.json").write_text(json.dumps(good))
    shapes = {
        "b-request-string.json": {"entry": [{"request": "x", "resource": good}]},
        "c-url-number.json": {
            "entry": [{"request": {"method": "PUT", "url": 7}, "resource": good}]
        },
        "d-method-null.json": {"entry": [{"request": {"method": None, "url": "Patient/x"}}]},
        "e-entry-string.json": {"entry": "x"},
        "f-type-object.json": {"type": {"a": 1}},
    }
    for name, body in shapes.items():
        kind = "collection" if "b-" in name else "transaction"
        (folder / name).write_text(json.dumps({"resourceType": "Bundle", "type": kind} | body))
    deep = '{"url": "u", "extension": [' * 600 + '{"url": "u"}' + "]}" * 600
    (folder / "g-deep.json").write_text('{"resourceType": "Patient", "extension": [' + deep + "]}")
    (folder / "h-late-good.json").write_text(json.dumps({"resourceType": "Patient", "id": "good2"}))
    with pytest.raises(SystemExit) as exited:
        main(["import", str(folder), "--workers", "0", "--data-dir", str(tmp_path / "d")])
    assert exited.value.code == 1
    output = " ".join((capsys.readouterr().out).split())
    assert "6 problem(s)" in output

    from chartkeeper.interfaces.bundles import prepare

    for name in [*shapes, "g-deep.json"]:  # each names its reason
        unit = prepare(name, (folder / name).read_bytes(), "json")
        assert unit.error is not None and unit.error.reason, name
    deep_unit = prepare("g", (folder / "g-deep.json").read_bytes(), "json")
    assert "nests deeper than" in deep_unit.error.reason

    from chartkeeper.config import Settings
    from chartkeeper.store import open_store

    repo = open_store(Settings(data_dir=tmp_path / "d"))
    assert repo.read("Patient", "good1")["id"] == "good1"
    assert repo.read("Patient", "good2")["id"] == "good2"
