"""HL7 v2: importing message files and the MLLP listener."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import (
    DatabaseOption,
    DataDirOption,
    app,
    check_host,
    counts_table,
    out,
    progress_bar,
    repo_for,
)

hl7_app = typer.Typer(help="HL7 v2 messages: files and the MLLP listener.", no_args_is_help=True)
app.add_typer(hl7_app, name="hl7")


@hl7_app.command("import")
def hl7_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True, readable=True, help="Files of HL7 v2 messages (any segment ends)."
        ),
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
    repo = repo_for(database_url, data_dir)
    with progress_bar() as progress:
        task = progress.add_task("messages", total=None)
        report = import_files(repo, files, on_message=lambda _r: progress.advance(task))
    table = counts_table(
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
    host: Annotated[
        str, typer.Option(callback=check_host, help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="TCP port (2575 is the registered HL7 port).")
    ] = 2575,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Receive HL7 v2 over MLLP, answering each message with its ACK, until Ctrl-C."""
    import asyncio

    from chartkeeper.interfaces.mllp import serve_mllp
    from chartkeeper.quality.deficiencies import on_write

    # A live feed changes charts as they happen: re-check their deficiencies on each write.
    repo = repo_for(database_url, data_dir).with_write_hook(on_write)
    out.print(f"MLLP listener on {host}:{port}; Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_mllp(repo, host, port))
