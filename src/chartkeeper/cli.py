"""The `chartkeeper` command line: batch work over the same domain functions the API uses.

Expected failures (bad input, a refused write) print a message and exit 1 without a
traceback; an import that refused some units ends with exit code 1 and a summary table.
"""

from __future__ import annotations

import contextlib
import json
import os
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
from chartkeeper.errors import ChartkeeperError

app = typer.Typer(
    help="chartkeeper: health information management over a FHIR R4 store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: schema upgrades.", no_args_is_help=True)
app.add_typer(db_app, name="db")
user_app = typer.Typer(help="Sign-in accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
audit_app = typer.Typer(help="The audit trail: verify it, report on it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
privacy_app = typer.Typer(help="Privacy officer's reports.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
hl7_app = typer.Typer(help="HL7 v2 messages: files and the MLLP listener.", no_args_is_help=True)
app.add_typer(hl7_app, name="hl7")
console = Console(stderr=True)
out = Console()

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL; default: SQLite under the data dir."),
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Directory for the embedded database.")
]


def _settings(database_url: str | None, data_dir: Path | None) -> Settings:
    return Settings.from_env(database_url=database_url, data_dir=data_dir)


def _repo(database_url: str | None, data_dir: Path | None):
    from chartkeeper.store import open_store

    return open_store(_settings(database_url, data_dir))


def _progress(*extra_columns) -> Progress:
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


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Create the schema, or bring it up to date."""
    from chartkeeper.store.engine import current_revision, make_engine, upgrade

    settings = _settings(database_url, data_dir)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    out.print(f"schema at revision {current_revision(engine)} on {engine.url.render_as_string()}")


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Bundles, NDJSON files or directories of them.")
    ],
    workers: Annotated[
        int, typer.Option(help="Processes that parse and validate (0: in this one).")
    ] = min(2, os.cpu_count() or 1),
    check_references: Annotated[
        bool, typer.Option(help="Refuse references to resources neither in the bundle nor stored.")
    ] = True,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import FHIR bundles (transaction, batch, collection) and NDJSON; one transaction each."""
    from chartkeeper.interfaces.bundles import discover, import_paths, read_units

    repo = _repo(database_url, data_dir)
    files = discover(paths)
    total_units = sum(1 for f in files for _ in read_units(f)) if len(files) < 20000 else None
    rate = TextColumn("{task.fields[rate]}")
    with _progress(rate) as progress:
        task = progress.add_task("importing", total=total_units, rate="")
        done = {"resources": 0}

        def on_unit(report) -> None:
            done["resources"] += report.resources
            elapsed = progress.tasks[task].elapsed or 1e-9
            per_s = (
                f"{progress.tasks[task].completed / elapsed:,.1f} bundles/s, "
                f"{done['resources'] / elapsed:,.0f} resources/s"
            )
            progress.update(task, advance=1, rate=per_s)

        report = import_paths(
            repo, paths, workers=workers, check_references=check_references, on_unit=on_unit
        )
    _audit_cli(
        repo,
        _settings(database_url, data_dir),
        "import",
        f"{', '.join(map(str, paths))}: {report.created} created, {report.updated} updated, "
        f"{report.failed_units} units refused",
        "success" if report.ok else "failure",
    )
    _print_import_summary(report)
    if not report.ok:
        raise typer.Exit(1)


def _audit_cli(
    repo, settings: Settings, action: str, detail: str, outcome: str = "success"
) -> None:
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


def _counts_table(title: str, counts: dict[str, object]) -> Table:
    table = Table(title=title)
    for column in counts:
        table.add_column(column, justify="right")
    table.add_row(*(str(v) for v in counts.values()))
    return table


def _print_import_summary(report) -> None:
    table = _counts_table(
        "import",
        {
            "units": report.units,
            "failed": report.failed_units,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "deleted": report.deleted,
        },
    )
    out.print(table)
    if report.errors:
        errors = Table(
            title=f"{len(report.errors)} problem(s); nothing of a failed unit was stored"
        )
        for column in ("file", "entry", "path", "problem"):
            errors.add_column(column, overflow="fold")
        for e in report.errors[:200]:
            errors.add_row(e.source, "" if e.entry is None else str(e.entry), e.path, e.reason)
        out.print(errors)


@app.command("export")
def export_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for <Type>.ndjson files.")],
    types: Annotated[
        list[str] | None, typer.Option("--type", help="Only these resource types.")
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write every live resource as NDJSON, one file per resource type."""
    from chartkeeper.interfaces.export import export_ndjson

    repo = _repo(database_url, data_dir)
    with _progress() as progress:
        task = progress.add_task("exporting", total=None)
        counts = export_ndjson(repo, out_dir, types, on_resource=lambda: progress.advance(task))
    _audit_cli(
        repo,
        _settings(database_url, data_dir),
        "export",
        f"to {out_dir}: " + ", ".join(f"{t} {n}" for t, n in sorted(counts.items())),
    )
    table = Table(title=f"exported to {out_dir}")
    table.add_column("resource type")
    table.add_column("resources", justify="right")
    for rtype, n in sorted(counts.items()):
        table.add_row(rtype, str(n))
    out.print(table)


@app.command("synth")
def synth_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write bundles into.")],
    patients: Annotated[int, typer.Option(min=1, help="How many patients.")] = 100,
    seed: Annotated[int, typer.Option(help="Same seed, same patients.")] = 1,
) -> None:
    """Generate synthetic patients as FHIR transaction bundles (never real data)."""
    from chartkeeper import synth

    with _progress() as progress:
        task = progress.add_task("generating patients", total=patients)
        summary = synth.write(
            out_dir, patients, seed, on_progress=lambda n: progress.update(task, completed=n)
        )
    out.print(
        f"wrote {summary.patients} patients ({summary.total_resources} resources) to {out_dir}"
    )


@app.command("demo")
def demo_command(
    patients: Annotated[int, typer.Option(min=1, help="Patients in the demo set.")] = 50,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Generate (once) and load the synthetic demo set, and make a demo sign-in."""
    from chartkeeper.demo import load_demo

    settings = _settings(database_url, data_dir)
    with _progress() as progress:
        tasks: dict[str, int] = {}

        def on_progress(stage: str, n: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(
                    stage, total=patients if stage == "generated" else None
                )
            if stage == "generated":
                progress.update(tasks[stage], completed=n)
            else:
                progress.advance(tasks[stage], n)

        summary = load_demo(settings, patients=patients, on_progress=on_progress)
    _print_import_summary(summary.report)
    out.print(
        f"demo sign-in: [bold]{summary.credentials.read_text().strip()}[/bold] "
        f"(kept in {summary.credentials})"
    )
    if not summary.report.ok:
        raise typer.Exit(1)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[str, typer.Option(help="him, coder, registrar, clinician, auditor or admin.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="CHARTKEEPER_NEW_PASSWORD",
            help="Asked for when not given.",
        ),
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a user who can sign in with a password and the given role."""
    from chartkeeper.privacy.users import add_user

    user = add_user(_repo(database_url, data_dir).engine, username, password, role)
    out.print(f"added {user.username} with role {user.role}")


@hl7_app.command("import")
def hl7_import(
    files: Annotated[
        list[Path], typer.Argument(help="Files of HL7 v2 messages (any segment ends).")
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Process every message in the files, each in its own transaction, as if received."""
    import logging

    from chartkeeper.interfaces.hl7v2 import import_files

    logging.getLogger("chartkeeper.interfaces.hl7v2").setLevel(
        logging.ERROR
    )  # the table below says it
    repo = _repo(database_url, data_dir)
    with _progress() as progress:
        task = progress.add_task("messages", total=None)
        report = import_files(repo, files, on_message=lambda _r: progress.advance(task))
    table = _counts_table(
        "HL7 v2 import",
        {
            "files": report.files,
            "messages": report.messages,
            "AA": report.accepted,
            "AE": report.errors,
            "AR": report.rejected,
            "re-sent": report.duplicates,
            "resources": report.resources,
        },
    )
    out.print(table)
    problems = [r for r in report.results if r.ack.code != "AA"]
    if problems or report.unreadable:
        listing = Table(title="messages not accepted; nothing of them was stored")
        for column in ("file", "message", "ACK", "problem"):
            listing.add_column(column, overflow="fold")
        for r in problems[:200]:
            detail = "; ".join(f"{p.location}: {p.text}" for p in r.ack.problems) or r.ack.text
            listing.add_row(r.source, str(r.index), r.ack.code, detail)
        for line in report.unreadable:
            listing.add_row(line, "", "", "unreadable")
        out.print(listing)
    if not report.ok:
        raise typer.Exit(1)


@hl7_app.command("listen")
def hl7_listen(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (2575 is the registered HL7 port).")] = 2575,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Receive HL7 v2 over MLLP, answering each message with its ACK, until Ctrl-C."""
    import asyncio

    from chartkeeper.interfaces.mllp import serve_mllp

    repo = _repo(database_url, data_dir)
    out.print(f"MLLP listener on {host}:{port}; Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_mllp(repo, host, port))


def _audit_key(database_url: str | None, data_dir: Path | None):
    from chartkeeper.privacy.audit import AuditKey

    return AuditKey.load(_settings(database_url, data_dir).data_dir)


@audit_app.command("verify")
def audit_verify(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Check every audit row against the chain; name each one changed, removed or inserted."""
    from chartkeeper.privacy.audit import verify

    problems = verify(_repo(database_url, data_dir).engine, _audit_key(database_url, data_dir))
    if not problems:
        out.print("[green]the audit trail is intact[/green]")
        return
    for problem in problems:
        out.print(f"[red]{problem}[/red]")
    raise typer.Exit(1)


def _audit_table(title: str, rows: list[dict]) -> Table:
    table = Table(title=title)
    for column in ("when", "who", "role", "action", "outcome", "records", "from", "why", "detail"):
        table.add_column(column, overflow="fold")
    for r in rows:
        why = ("BREAK-THE-GLASS " if r["break_glass"] else "") + (r["purpose"] or "")
        table.add_row(
            r["recorded"][:19],
            r["username"] or "",
            r["role"] or "",
            r["action"],
            r["outcome"],
            ", ".join(json.loads(r["resources"]))[:200],
            r["source"] or "",
            why,
            r["detail"][:200],
        )
    return table


@audit_app.command("patient")
def audit_patient(
    patient_id: Annotated[str, typer.Argument(help="The Patient resource id.")],
    since: Annotated[
        str | None, typer.Option(help="Only from this instant (e.g. 2026-01-01).")
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Who accessed this patient's record, when and why (the patient's access report)."""
    from chartkeeper.privacy.audit import entries

    rows = entries(
        _repo(database_url, data_dir).engine, patient=patient_id, since=since, limit=100_000
    )
    out.print(_audit_table(f"access to Patient/{patient_id}: {len(rows)} events", rows))


@privacy_app.command("btg-report")
def btg_report_command(
    since: Annotated[
        str | None, typer.Option(help="Only from this instant (e.g. 2026-01-01).")
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Every break-the-glass grant and every access made under one."""
    from chartkeeper.privacy.access import btg_report

    rows = btg_report(_repo(database_url, data_dir).engine, since)
    out.print(_audit_table(f"break-the-glass: {len(rows)} events", rows))


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the FHIR API (/fhir), sign-in (/auth/token) and the API docs (/docs)."""
    import uvicorn

    from chartkeeper.app import create_app

    application = create_app(_settings(database_url, data_dir))
    out.print(f"chartkeeper on http://{host}:{port}  (FHIR: /fhir, docs: /docs)")
    uvicorn.run(application, host=host, port=port, log_level="info")


def main() -> None:
    try:
        app()
    except ChartkeeperError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
