"""Records: the schema, bundle import and export, synthetic and demo data, users, the server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TextColumn
from rich.table import Table

from chartkeeper.privacy.users import ROLES

from .common import (
    MAX_ID,
    DatabaseOption,
    DataDirOption,
    app,
    audit_cli,
    check_directory,
    check_host,
    check_resource_types,
    choice,
    counts_table,
    out,
    progress_bar,
    repo_for,
    settings_for,
)

db_app = typer.Typer(help="The database: schema upgrades.", no_args_is_help=True)
app.add_typer(db_app, name="db")
user_app = typer.Typer(help="Sign-in accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Create the schema, or bring it up to date."""
    from chartkeeper.store import open_store
    from chartkeeper.store.engine import current_revision

    engine = open_store(settings_for(database_url, data_dir)).engine  # migrates, or one clear error
    out.print(f"schema at revision {current_revision(engine)} on {engine.url.render_as_string()}")


@db_app.command("reindex")
def db_reindex(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Rebuild the search index of every resource (after search parameters changed)."""
    from chartkeeper.store.reindex import count_current, reindex_all

    # Opened as every command opens the store: migrated first, so the index tables the
    # rebuild fills are the current ones (and a store not made yet is made, empty).
    repo = repo_for(database_url, data_dir)
    with progress_bar() as bar:
        task = bar.add_task("reindexing", total=count_current(repo.engine))
        done = reindex_all(repo.engine, lambda n: bar.advance(task, n))
    audit_cli(repo, settings_for(database_url, data_dir), "db-reindex", f"{done} resources")
    out.print(f"reindexed {done} resources")


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            exists=True, readable=True, help="Bundles, NDJSON files or directories of them."
        ),
    ],
    workers: Annotated[
        int,
        typer.Option(min=0, max=64, help="Processes that parse and validate (0: in this one)."),
    ] = min(2, os.cpu_count() or 1),
    check_references: Annotated[
        bool, typer.Option(help="Refuse references to resources neither in the bundle nor stored.")
    ] = True,
    bulk: Annotated[
        bool | None,
        typer.Option(
            "--bulk/--no-bulk",
            help="Load in large batches, resumable if killed (default: when the store is empty).",
            show_default=False,
        ),
    ] = None,
    bulk_batch: Annotated[
        int,
        typer.Option(min=1, max=1_000_000, help="Bulk: about this many resources per commit."),
    ] = 20000,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import FHIR bundles (transaction, batch, collection) and NDJSON; one transaction each
    (in bulk: thousands of resources per transaction, whole bundles only)."""
    from chartkeeper.interfaces.bundles import discover, import_paths, read_units

    repo = repo_for(database_url, data_dir)
    files = discover(paths)
    total_units = sum(1 for f in files for _ in read_units(f)) if len(files) < 20000 else None
    rate = TextColumn("{task.fields[rate]}")
    with progress_bar(rate) as progress:
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
            repo,
            paths,
            workers=workers,
            check_references=check_references,
            on_unit=on_unit,
            bulk=bulk,
            bulk_batch=bulk_batch,
        )
    audit_cli(
        repo,
        settings_for(database_url, data_dir),
        "import",
        f"{', '.join(map(str, paths))}: {report.created} created, {report.updated} updated, "
        f"{report.failed_units} units refused",
        "success" if report.ok else "failure",
    )
    _print_import_summary(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_import_summary(report) -> None:
    table = counts_table(
        "import",
        {
            "units": report.units,
            "failed": report.failed_units,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "deleted": report.deleted,
            **({"already loaded (resumed)": report.resumed} if report.resumed else {}),
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


def _deid_methods() -> tuple[str, ...]:
    from chartkeeper.privacy.deid.context import METHODS

    return METHODS


@app.command("export")
def export_command(
    out_dir: Annotated[
        Path,
        typer.Option("--out", callback=check_directory, help="Directory for <Type>.ndjson files."),
    ],
    types: Annotated[
        list[str] | None,
        typer.Option("--type", callback=check_resource_types, help="Only these resource types."),
    ] = None,
    deidentify: Annotated[
        str | None,
        typer.Option(
            callback=choice(among=_deid_methods),
            help="'safe-harbor': remove the 18 HIPAA identifiers.",
        ),
    ] = None,
    date_shift: Annotated[
        bool, typer.Option(help="With --deidentify: shift each patient's dates, keep intervals.")
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Secret for pseudonyms and date shifts (else CHARTKEEPER_DEID_KEY).",
        ),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write every live resource as NDJSON, one file per resource type (or de-identified)."""
    repo = repo_for(database_url, data_dir)
    if deidentify:
        _export_deidentified(
            repo,
            out_dir,
            types,
            deidentify,
            date_shift,
            key_file,
            settings_for(database_url, data_dir),
        )
        audit_cli(
            repo,
            settings_for(database_url, data_dir),
            "export",
            f"de-identified ({deidentify}{', date shift' if date_shift else ''}) to {out_dir}",
        )
        return
    from chartkeeper.interfaces.export import export_ndjson

    with progress_bar() as progress:
        task = progress.add_task("exporting", total=None)
        counts = export_ndjson(repo, out_dir, types, on_resource=lambda: progress.advance(task))
    audit_cli(
        repo,
        settings_for(database_url, data_dir),
        "export",
        f"to {out_dir}: " + ", ".join(f"{t} {n}" for t, n in sorted(counts.items())),
    )
    table = Table(title=f"exported to {out_dir}")
    table.add_column("resource type")
    table.add_column("resources", justify="right")
    for rtype, n in sorted(counts.items()):
        table.add_row(rtype, str(n))
    out.print(table)


def _export_deidentified(repo, out_dir, types, method, date_shift, key_file, settings) -> None:
    from chartkeeper.errors import BadRequest
    from chartkeeper.privacy.deid import export_deidentified, parse_key
    from chartkeeper.privacy.deid.gazetteer import load_gazetteer

    text = key_file.read_text().strip() if key_file else settings.deid_key
    if not text:
        raise BadRequest(
            "a de-identified export needs a secret key: --key-file or CHARTKEEPER_DEID_KEY "
            "(keep it: the same key gives the same pseudonyms next time)"
        )
    with progress_bar() as progress:
        task = progress.add_task("de-identifying", total=None)
        report = export_deidentified(
            repo,
            out_dir,
            key=parse_key(text),
            method=method,
            date_shift=date_shift,
            types=types,
            on_resource=lambda: progress.advance(task),
            gazetteer=load_gazetteer(settings.data_dir, settings.deid_gazetteer),
        )
    out.print(
        counts_table(
            f"de-identified export to {out_dir}",
            {
                "resources": report.resources,
                "dropped": report.dropped,
                "invalid": len(report.invalid),
                "identifiers removed": report.total,
            },
        )
    )


@app.command("synth")
def synth_command(
    out_dir: Annotated[
        Path,
        typer.Option("--out", callback=check_directory, help="Directory to write bundles into."),
    ],
    patients: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many patients.")] = 100,
    seed: Annotated[int, typer.Option(min=0, max=MAX_ID, help="Same seed, same patients.")] = 1,
) -> None:
    """Generate synthetic patients as FHIR transaction bundles (never real data)."""
    from chartkeeper import synth

    with progress_bar() as progress:
        task = progress.add_task("generating patients", total=patients)
        summary = synth.write(
            out_dir, patients, seed, on_progress=lambda n: progress.update(task, completed=n)
        )
    out.print(
        f"wrote {summary.patients} patients ({summary.total_resources} resources) to {out_dir}"
    )


@app.command("demo")
def demo_command(
    patients: Annotated[
        int, typer.Option(min=1, max=100_000, help="Patients in the demo set.")
    ] = 50,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Import the demo set again over a store that has records: changed demo "
            "records get their demo content back (the edits stay in their history).",
        ),
    ] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Generate (once) and load the synthetic demo set into an empty store, and make a demo
    sign-in; a store with records is left alone unless --reset."""
    from chartkeeper.demo import load_demo

    settings = settings_for(database_url, data_dir)
    with progress_bar() as progress:
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

        summary = load_demo(settings, patients=patients, on_progress=on_progress, reset=reset)
    if summary.report is None:
        out.print(
            "the store has records already: demo not loaded again "
            "(`chartkeeper demo --reset` or `make demo` loads it over them)"
        )
    else:
        _print_import_summary(summary.report)
    out.print(
        f"demo sign-in: [bold]{summary.credentials.read_text().strip()}[/bold] "
        f"(kept in {summary.credentials})"
    )
    if summary.report is not None and not summary.report.ok:
        raise typer.Exit(1)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[
        str,
        typer.Option(
            callback=choice(*ROLES), help="him, coder, registrar, clinician, auditor or admin."
        ),
    ],
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

    user = add_user(repo_for(database_url, data_dir).engine, username, password, role)
    out.print(f"added {user.username} with role {user.role}")


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(callback=check_host, help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (default CHARTKEEPER_WORKERS, 1): one per core serves "
            "the most requests per second.",
        ),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the workbench (/), the FHIR API (/fhir), sign-in (/auth/token) and the API docs
    (/docs)."""
    import os

    import uvicorn

    from chartkeeper.app import announce_ready, create_app
    from chartkeeper.web import warm_up

    settings = settings_for(database_url, data_dir)
    processes = workers or settings.workers or 1
    if processes == 1:
        application = create_app(settings)
        warm_up(settings.data_dir, on_ready=announce_ready)
    else:
        from chartkeeper.interfaces.export_jobs import requeue_interrupted

        # Once, here, before the processes start: the schema upgrade, the audit trail's
        # first seal and the requeue of interrupted jobs must not race each other.
        requeue_interrupted(repo_for(database_url, data_dir))
        # Each process reads its settings from the environment (chartkeeper.app.worker_app).
        os.environ["CHARTKEEPER_DATA_DIR"] = str(settings.data_dir.resolve())
        os.environ["CHARTKEEPER_DATABASE_URL"] = settings.effective_database_url
        application = "chartkeeper.app:worker_app"
    out.print(f"chartkeeper workbench: [bold]http://{host}:{port}/[/bold]")
    out.print(f"  FHIR API: http://{host}:{port}/fhir   API docs: http://{host}:{port}/docs")
    if processes > 1:
        out.print(f"  {processes} server processes")
    credentials = settings.data_dir / "demo-credentials.txt"
    if credentials.is_file():
        user, _, password = credentials.read_text().strip().partition(":")
        out.print(
            f"  demo sign-in: user [bold]{user}[/bold], password [bold]{password.strip()}[/bold]"
        )
    several = {"factory": True, "workers": processes} if processes > 1 else {}
    uvicorn.run(application, host=host, port=port, log_level="info", **several)


@app.command("settings")
def settings_command(
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Every setting: its environment variable, the value in force (secrets hidden) and
    what it does. The README's Configuration table lists the same settings."""
    from dataclasses import fields

    from chartkeeper.config import Settings

    settings = settings_for(database_url, data_dir)
    table = Table(title="settings (a command's flag, then CHARTKEEPER_*, then the default)")
    for column in ("variable", "value", "meaning"):
        table.add_column(column, overflow="fold")
    for f in fields(Settings):
        value = str(getattr(settings, f.name))
        if f.metadata.get("secret"):
            value = "(set)" if value else "(not set)"
        table.add_row(f"CHARTKEEPER_{f.name.upper()}", value, f.metadata["help"])
    out.print(table)
