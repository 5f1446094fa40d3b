"""What every command shares: the app, consoles, the database options, progress bars."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL; default: SQLite under the data dir."),
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Directory for the embedded database.")
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
