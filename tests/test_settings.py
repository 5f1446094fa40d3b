"""Every setting goes through `Settings`: each `CHARTKEEPER_*` variable the code names is a
Settings field, `chartkeeper settings` lists every field, and the README's Configuration
table documents every one (and nothing that is not one)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chartkeeper.cli import app, main
from chartkeeper.config import SettingError, Settings

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"CHARTKEEPER_[A-Z0-9_]*[A-Z0-9]")
# Not settings: the test suite's own switch, and a one-off secret a prompt may take instead.
NOT_SETTINGS = {"CHARTKEEPER_TEST_POSTGRES_URL", "CHARTKEEPER_NEW_PASSWORD"}


def _settings() -> set[str]:
    return {f"CHARTKEEPER_{f.name.upper()}" for f in fields(Settings)}


def test_every_variable_the_code_names_is_a_setting():
    named = set()
    for path in (ROOT / "src" / "chartkeeper").rglob("*.py"):
        named |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    assert named - NOT_SETTINGS <= _settings(), "read these through Settings (config.py)"


def test_the_settings_command_and_the_readme_list_every_setting():
    listed = CliRunner().invoke(app, ["settings"], env={"COLUMNS": "300"})
    assert listed.exit_code == 0, listed.output
    assert set(VARIABLE.findall(listed.output)) == _settings()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {m for m in re.findall(r"^\| `(CHARTKEEPER_\w+)`", section, re.M)}
    assert documented == _settings()
    assert "settings" in CliRunner().invoke(app, ["--help"], env={"COLUMNS": "300"}).output


def test_secrets_are_never_shown(monkeypatch):
    monkeypatch.setenv("CHARTKEEPER_AUDIT_KEY", "s3cret-audit")
    monkeypatch.setenv("CHARTKEEPER_DEID_KEY", "s3cret-deid")
    listed = CliRunner().invoke(app, ["settings"], env={"COLUMNS": "300"})
    assert "s3cret" not in listed.output and "(set)" in listed.output
    assert "s3cret" not in repr(Settings.from_env())


NUMERIC = [f.name for f in fields(Settings) if type(f.default) is int]


def test_every_numeric_setting_refuses_text_with_one_line(monkeypatch):
    assert NUMERIC, "the settings have counts (minutes, MB)"
    for name in NUMERIC:
        variable = f"CHARTKEEPER_{name.upper()}"
        for bad, why in [("abc", "is not a whole number"), ("1.5", "is not a whole number"),
                         ("-5", "cannot be negative")]:  # fmt: skip
            monkeypatch.setenv(variable, bad)
            with pytest.raises(SettingError, match=f"{variable}='{re.escape(bad)}' {why}"):
                Settings.from_env()
        monkeypatch.setenv(variable, " 30 ")
        assert getattr(Settings.from_env(), name) == 30
        monkeypatch.delenv(variable)


def test_a_bad_setting_is_exit_2_in_the_cli(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CHARTKEEPER_TOKEN_MINUTES", "abc")
    with pytest.raises(SystemExit) as exited:
        main(["paper", "hold", "list", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert err.strip() == "error: CHARTKEEPER_TOKEN_MINUTES='abc' is not a whole number"
    assert not (tmp_path / "chartkeeper.db").exists()  # refused before the store was opened


@pytest.mark.parametrize("target", ["postgresql", "not-a-database"])
def test_a_database_that_cannot_be_opened_is_one_line_and_exit_1(capsys, tmp_path, target):
    """No driver traceback: the command names the database (never its password) and why."""
    if target == "postgresql":  # nothing listens on port 1
        url = "postgresql+psycopg://clerk:s3cret@127.0.0.1:1/records"
    else:
        junk = tmp_path / "junk.db"
        junk.write_bytes(b"this is a scanned letter, not a database\n" * 200)
        url = f"sqlite:///{junk}"
    with pytest.raises(SystemExit) as exited:
        main(["paper", "hold", "list", "--database-url", url])
    err = capsys.readouterr().err.strip()
    assert exited.value.code == 1, err
    assert err.startswith("error: cannot open the database at "), err
    assert "s3cret" not in err and "Traceback" not in err and len(err.splitlines()) <= 2
    if target == "not-a-database":
        assert junk.read_bytes().startswith(b"this is a scanned letter")  # left as it was
