"""What every command shares: the app, consoles, the database options, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from chartkeeper.config import Settings

app = typer.Typer(
    help="chartkeeper: health information management over a FHIR R4 store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

# --- option checks: every bad value is a one-line message and exit 2 (see main()) ------


def check_database_url(value: str | None) -> str | None:
    if value is None:
        return None
    from chartkeeper.errors import BadRequest
    from chartkeeper.store.engine import check_url

    try:
        check_url(value)
    except BadRequest as exc:
        raise typer.BadParameter(exc.message) from None
    return value


def check_directory(value: Path | None) -> Path | None:
    """A directory that exists or can be made (not a file)."""
    if value is not None and value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file, not a directory")
    return value


def check_input_file(value):
    """A file to read, or '-' (standard input)."""
    if value is None or str(value) == "-":
        return value
    if not Path(value).is_file():
        raise typer.BadParameter(f"{value} is not a file")
    return value


def check_pairs(values: list[str] | None) -> list[str] | None:
    """name=value pairs (repeatable options that set items)."""
    bad = [v for v in values or [] if "=" not in v or not v.split("=", 1)[0].strip()]
    if bad:
        raise typer.BadParameter(f"expected name=value, not {', '.join(bad)[:80]}")
    return values


def check_code(value: str | None) -> str | None:
    """A short code or id from a code list (an edit id, a registry id): letters, digits, - _ ."""
    import re

    if value is not None and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,32}", value):
        raise typer.BadParameter(f"'{value[:40]}' is not a code (letters, digits, - _ .)")
    return value


def code_list(kind: str):
    """A callback for codes of `kind` (diagnosis or procedure) as a coder types them,
    "J18.9:Y, I10; E11.9": parsed and checked by the coding functions `coding assign` then
    calls (shape, POA indicator), so a stray word is refused before any store is opened."""

    def check(value: str | None) -> str | None:
        if not value:
            return value
        from chartkeeper.coding.workflow import codes_from_text, parse_codes
        from chartkeeper.errors import BadRequest

        try:
            parse_codes(codes_from_text(value, kind))
        except BadRequest as exc:
            raise typer.BadParameter(exc.message) from None
        return value

    return check


def check_output_file(value: Path | None) -> Path | None:
    """A file to write: its folder must exist and it must not be a directory."""
    if value is None:
        return None
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a directory; name a file")
    if not value.parent.is_dir():
        raise typer.BadParameter(f"there is no folder {value.parent} to write {value.name} in")
    return value


def check_instant(value: str | None) -> str | None:
    """A date or date-time (2026-01-01, 2026-01-01T08:00:00Z)."""
    if value is None:
        return None
    from datetime import datetime

    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{value[:40]}' is not a date or date-time (e.g. 2026-01-01 or 2026-01-01T08:00)"
        ) from None
    return value


def check_day(value: str | None):
    """A calendar date, YYYY-MM-DD (the command gets a `datetime.date`)."""
    from datetime import date

    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value[:40]}' is not a date, YYYY-MM-DD") from None


def check_year_or_date(value: str | None):
    if value is None:
        return None
    from chartkeeper.errors import BadRequest
    from chartkeeper.fhir.wire import year_or_date

    try:
        return year_or_date(value, "the value")
    except BadRequest as exc:
        raise typer.BadParameter(exc.message.removeprefix("the value ")) from None


def check_id(value: str | None) -> str | None:
    """A resource id as R4 writes it (1-64 of A-Z a-z 0-9 - .)."""
    from chartkeeper.fhir.wire import is_id

    if value is not None and not is_id(value):
        raise typer.BadParameter(f"'{value[:70]}' is not a resource id (1-64 of A-Z a-z 0-9 - .)")
    return value


def check_host(value: str) -> str:
    """An IP address or a host name to listen on."""
    import ipaddress
    import re

    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    label = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
    if not re.fullmatch(rf"{label}(\.{label})*", value) or len(value) > 253:
        raise typer.BadParameter(f"'{value[:70]}' is neither an IP address nor a host name")
    return value


def choice(*values: str, among=None):
    """A callback that takes one of `values`, or of what `among()` returns (for lists that
    live in a module too heavy to import before the command runs)."""

    def check(value: str | None) -> str | None:
        allowed = among() if among else values
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"'{value[:40]}' is not one of: {', '.join(allowed)}")
        return value

    return check


def check_resource_types(values: list[str] | None) -> list[str] | None:
    from chartkeeper.fhir.resource_types import RESOURCE_TYPES

    unknown = [v for v in values or [] if v not in RESOURCE_TYPES]
    if unknown:
        raise typer.BadParameter(f"not FHIR R4 resource types: {', '.join(unknown)}")
    return values


def json_file(path: Path) -> object:
    """A JSON file's content; malformed JSON is a usage error naming the file."""
    from chartkeeper.errors import BadRequest
    from chartkeeper.fhir.wire import parse_json

    try:
        return parse_json(path.read_bytes(), str(path))
    except BadRequest as exc:
        raise typer.BadParameter(exc.message) from None


# Ids, counts and limits the store keeps as 32-bit integers.
MAX_ID = 2**31 - 1
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        callback=check_database_url,
        help="SQLAlchemy URL; default: SQLite under the data dir.",
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", callback=check_directory, help="Directory for the embedded database."
    ),
]


def settings_for(database_url: str | None, data_dir: Path | None) -> Settings:
    return Settings.from_env(database_url=database_url, data_dir=data_dir)


def repo_for(database_url: str | None, data_dir: Path | None):
    from chartkeeper.privacy.audit import AuditKey, open_trail
    from chartkeeper.store import open_store

    settings = settings_for(database_url, data_dir)
    repo = open_store(settings)
    open_trail(repo.engine, AuditKey.load(settings.data_dir))  # a new store's head is sealed
    return repo


def progress_bar(*extra_columns) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        *extra_columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def jsonl_batch(
    path: Path,
    results: Callable[[BinaryIO], Iterator[dict]],
    what: str,
    *,
    text_only: bool = False,
) -> tuple[int, int]:
    """Run a JSON Lines batch (`chartkeeper.jsonl`) under a progress bar: each result goes to
    stdout as one JSON line (with text_only: its 'text' alone, bad lines left out), each bad
    line is named on stderr. Returns (lines done, lines with errors)."""
    import orjson

    with path.open("rb") as fh:
        total = sum(1 for line in fh if line.strip())
    errors = done = 0
    write = sys.stdout.write
    with path.open("rb") as fh, progress_bar() as progress:
        task = progress.add_task(what, total=total)
        for result in results(fh):
            done += 1
            if "error" in result:
                errors += 1
                console.print(f"[red]line {result['line']}[/red]: {result['error']}")
            if not text_only:
                write(orjson.dumps(result).decode() + "\n")
            elif "error" not in result:
                write(result["text"].rstrip("\n") + "\n")
            progress.advance(task)
    return done, errors


def audit_cli(repo, settings: Settings, action: str, detail: str, outcome: str = "success") -> None:
    """The CLI is the operator at the machine: its bulk work goes in the audit trail too."""
    import getpass

    from chartkeeper.privacy.audit import AuditEntry, AuditKey, record_alone

    entry = AuditEntry(
        action=action,
        outcome=outcome,
        username=f"cli:{getpass.getuser()}",
        role="operator",
        source="localhost",
        purpose="HOPERAT",
        detail=detail,
    )
    record_alone(repo.engine, AuditKey.load(settings.data_dir), entry)


def counts_table(title: str, counts: dict[str, object]) -> Table:
    table = Table(title=title)
    for column in counts:
        table.add_column(column, justify="right")
    table.add_row(*(str(v) for v in counts.values()))
    return table


def audit_key_for(database_url: str | None, data_dir: Path | None):
    from chartkeeper.privacy.audit import AuditKey

    return AuditKey.load(settings_for(database_url, data_dir).data_dir)
