"""The cancer registrar's commands: `chartkeeper registry ...` over `chartkeeper.registry`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import app, console, out

registry_app = typer.Typer(
    help="Cancer registry: classify reports, casefinding, abstracts, follow-up, survival, NAACCR.",
    no_args_is_help=True,
)
app.add_typer(registry_app, name="registry")


@registry_app.command("classify")
def classify_report(
    file: Annotated[
        Path | None, typer.Argument(help="A pathology report as text; '-' or none: stdin.")
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(help='JSON lines {"id", "text"} in; one JSON result a line out.'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Primary site (ICD-O-3), histology/behaviour, laterality and grade of a report."""
    from chartkeeper.registry.batch import classify_lines
    from chartkeeper.registry.classify import classify

    if batch is not None:
        if file is not None:
            raise typer.BadParameter("give a FILE or --batch, not both")
        if not batch.is_file():
            raise typer.BadParameter(f"no such file: {batch}", param_hint="--batch")
        with batch.open(encoding="utf-8", errors="replace") as lines:
            for result in classify_lines(lines):
                print(json.dumps(result))
        return
    if file is None or str(file) == "-":
        text = sys.stdin.read()
    elif not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
    else:
        text = file.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise typer.BadParameter("the report is empty")
    result = classify(text)
    if as_json:
        print(json.dumps(result.as_json()))
        return
    from rich.table import Table

    table = Table(title="Report classification")
    for column in ("item", "code", "evidence"):
        table.add_column(column)
    spans = {e.field: e.text for e in result.evidence}
    table.add_row(
        "primary site",
        f"{result.primary_site or '-'} {result.site_label or ''}",
        spans.get("primary_site", ""),
    )
    table.add_row("morphology", result.morphology or "-", spans.get("histology", ""))
    table.add_row("laterality", result.laterality or "-", spans.get("laterality", ""))
    table.add_row("grade", result.grade or "-", spans.get("grade", ""))
    out.print(table)
    console.print(f"confidence {result.confidence}")
