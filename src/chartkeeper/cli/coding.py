"""Coding and reimbursement: the encoder, code set releases, DRG grouping and claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    DatabaseOption,
    DataDirOption,
    app,
    audit_cli,
    check_id,
    check_output_file,
    check_year_or_date,
    choice,
    code_list,
    console,
    out,
    repo_for,
    settings_for,
)

code_app = typer.Typer(help="The encoder: find codes from clinicians' words.", no_args_is_help=True)
app.add_typer(code_app, name="code")
work_app = typer.Typer(
    help="The coder's day: queue, suggestions, DNFB, productivity.", no_args_is_help=True
)
app.add_typer(work_app, name="coding")
codes_app = typer.Typer(
    help="Code set releases (ICD-10-CM, ICD-10-PCS, HCPCS).", no_args_is_help=True
)
app.add_typer(codes_app, name="codes")


def _systems() -> tuple[str, ...]:
    from chartkeeper.coding.codesets import SYSTEMS

    return tuple(SYSTEMS)


@code_app.command("find")
def code_find(
    query: Annotated[str | None, typer.Argument(help="What the clinician wrote.")] = None,
    fy: Annotated[
        str | None,
        typer.Option(
            callback=check_year_or_date, help="Fiscal year (2026), or the date of service."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="How many codes.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    batch: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, readable=True, help="One statement a line; JSON lines out."
        ),
    ] = None,
    system: Annotated[
        str,
        typer.Option(
            callback=choice(among=_systems),
            help="icd10cm (diagnoses), icd10pcs (procedures) or hcpcs.",
        ),
    ] = "icd10cm",
    data_dir: DataDirOption = None,
) -> None:
    """Rank billable codes for a statement (ICD-10-CM by the Alphabetic Index once imported,
    ICD-10-PCS by the PCS Index and Tables), with the index path, notes and prompts."""
    from rich.table import Table

    from chartkeeper.coding import search

    folder = settings_for(None, data_dir).data_dir
    if batch:
        with batch.open() as lines:
            found = search.batch(lines, fy=fy, limit=limit, data_dir=folder, system=system)
            for line in found:
                print(line)
        return
    if not query:
        raise typer.BadParameter("give a statement, or --batch FILE")
    hits = search.find(query, fy=fy, limit=limit, data_dir=folder, system=system)
    if as_json:
        print(json.dumps([h.to_json() for h in hits]))
        return
    table = Table(title=f"codes for “{query}”")
    for column in ("code", "description", "score", "still needed", "notes", "how found"):
        table.add_column(column, overflow="fold")
    for h in hits:
        prompts = "; ".join(p.question for p in h.prompts)
        notes = "; ".join(f"{n.kind}: {n.text}" for n in h.notes[:3])
        how = " > ".join(s for s in h.path if not s.startswith("no "))
        table.add_row(h.code, h.display, f"{h.score:.2f}", prompts, notes, how)
    out.print(table)
    if hits and hits[0].path and hits[0].path[0].startswith("no "):
        out.print(f"[yellow]{hits[0].path[0]}[/yellow] (load one with `chartkeeper codes import`)")


@codes_app.command("import")
def codes_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CMS release files (XML, text, or .zip).",
        ),
    ],
    year: Annotated[
        int | None,
        typer.Option(min=1990, max=2100, help="Fiscal year, when the file does not say."),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Load CMS's official code set files for a year, so that year's dates use them."""
    from rich.table import Table

    from chartkeeper.coding.alphabetic import IndexImport
    from chartkeeper.coding.cms_files import import_releases

    infos = import_releases(files, settings_for(None, data_dir).data_dir, year=year)
    sets = [i for i in infos if not isinstance(i, IndexImport)]
    books = [i for i in infos if isinstance(i, IndexImport)]
    if sets:
        table = Table(title="code sets imported")
        for column in ("system", "year", "codes", "billable", "stored at"):
            table.add_column(column)
        for info in sets:
            table.add_row(
                info.system, str(info.fy), str(info.codes), str(info.billable), str(info.path)
            )
        out.print(table)
    if books:
        table = Table(title="index books imported, codes verified in the tabular")
        for column in ("book", "year", "main terms", "tabular", "codes", "billable",
                       "need more", "7th char", "expanded since", "missing"):  # fmt: skip
            table.add_column(column)
        for b in books:
            v = b.verification
            table.add_row(
                b.book, str(b.fy), str(b.main_terms), f"FY{v['tabular_fy']}",
                str(v.get("checked", "")), str(v.get("billable", "")),
                str(v.get("incomplete", "")), str(v.get("needs_seventh", "")),
                str(len(v.get("expanded", ()))), str(len(v.get("missing", ()))),
            )  # fmt: skip
        out.print(table)
        for b in books:
            v = b.verification
            if v["tabular_fy"] != b.fy:
                out.print(
                    f"{b.book} FY{b.fy}: no FY{b.fy} tabular; verified in FY{v['tabular_fy']}"
                )
            for code, now in list(v.get("expanded", {}).items())[:10]:
                out.print(f"  {b.book}: {code} is no longer billable; now {', '.join(now[:6])}")
            for code in v.get("missing", [])[:10]:
                after = v["successors"].get(code)
                tail = f"; nearest: {', '.join(after[:6])}" if after else ""
                out.print(f"  {b.book}: {code} is not in FY{v['tabular_fy']}{tail}")


@app.command("drg")
def drg_command(
    encounter_id: Annotated[
        str, typer.Argument(callback=check_id, help="An inpatient Encounter id.")
    ],
    weights: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, readable=True, help="CMS IPPS Table 5 (CSV) for weights."
        ),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Group a coded inpatient stay to its MS-DRG, and say why."""
    from chartkeeper.coding.drg import group_encounter, load_relative_weights

    table = load_relative_weights(weights) if weights else None
    result = group_encounter(repo_for(database_url, data_dir), encounter_id, weights=table)
    out.print(result.explain())


@app.command("claim")
def claim_command(
    encounter_id: Annotated[str, typer.Argument(callback=check_id, help="A coded Encounter id.")],
    kind: Annotated[
        str,
        typer.Option(
            callback=choice("institutional", "professional"),
            help="institutional (837I) or professional (837P).",
        ),
    ] = "institutional",
    coverage: Annotated[
        str | None, typer.Option(callback=check_id, help="The Coverage id to bill.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--out", callback=check_output_file, help="Write the 837 here.")
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Build an X12 837 claim (and a FHIR Claim); missing data gives claim edits, no file."""
    from chartkeeper.interfaces.x12 import build_claim

    built = build_claim(
        repo_for(database_url, data_dir), encounter_id, kind=kind, coverage_id=coverage
    )
    if built.edits:
        for edit in built.edits:
            console.print(f"[red]claim edit:[/red] {edit.field}: {edit.message} ({edit.source})")
        raise typer.Exit(1)
    if output:
        output.write_text(built.x12_text)
        out.print(f"837 written to {output}")
    else:
        out.print(built.x12_text)


@app.command("x12-validate")
def x12_validate_command(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="An X12 file to check with pyx12."
        ),
    ],
) -> None:
    """Validate an X12 005010 file; list every error pyx12 finds."""
    from chartkeeper.interfaces.x12 import validate_x12

    errors = validate_x12(file.read_text())
    for error in errors:
        console.print(f"[red]{error}[/red]")
    if errors:
        raise typer.Exit(1)
    out.print("valid")


@work_app.command("queue")
def coding_queue(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Encounters ready to code: discharged, notes final and signed, not yet coded."""
    from rich.table import Table

    from chartkeeper.coding.workflow import queue
    from chartkeeper.privacy.people import People

    repo = repo_for(database_url, data_dir)
    items = queue(repo)
    people = People(repo, [f"Patient/{i.patient_id}" for i in items if i.patient_id])
    table = Table(title=f"ready to code: {len(items)}")
    columns = ("encounter", "patient", "name", "class", "discharged", "DNFB days", "open queries")
    for column in columns:
        table.add_column(column, overflow="fold")
    for i in items:
        days = f"{i.dnfb_days:.1f}" if i.dnfb_days is not None else ""
        table.add_row(
            i.encounter_id,
            i.patient_id or "",
            people.label(i.patient_id) if i.patient_id else "",
            i.encounter_class or "",
            (i.discharged or "")[:10],
            days,
            str(i.open_queries),
        )
    out.print(table)


@work_app.command("suggest")
def coding_suggest(
    encounter_id: Annotated[str, typer.Argument(callback=check_id, help="The Encounter to code.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Codes suggested from the encounter's notes, with the words that support each."""
    from rich.table import Table

    from chartkeeper.coding.cac import suggest

    suggestions = suggest(
        repo_for(database_url, data_dir),
        encounter_id,
        data_dir=settings_for(database_url, data_dir).data_dir,
    )
    table = Table(title=f"suggestions for Encounter/{encounter_id}")
    for column in ("code", "description", "status", "why", "evidence"):
        table.add_column(column, overflow="fold")
    for s in suggestions:
        evidence = " | ".join(e.text for e in s.evidence[:2])
        table.add_row(s.code, s.display, s.status, s.reason, evidence)
    out.print(table)


@work_app.command("assign")
def coding_assign(
    encounter_id: Annotated[str, typer.Argument(callback=check_id, help="The Encounter coded.")],
    diagnoses: Annotated[
        str,
        typer.Argument(
            callback=code_list("diagnosis"),
            help='Diagnosis codes, principal first, with POA: "J18.9:Y, I10:Y".',
        ),
    ],
    procedures: Annotated[
        str,
        typer.Option(callback=code_list("procedure"), help='Procedure codes: "0BH17EZ, 5A1955Z".'),
    ] = "",
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Code an encounter (as the workbench's coding screen does): the codes are stored,
    the encounter leaves the queue, and its MS-DRG can be read with `drg`."""
    import getpass

    from chartkeeper.coding.workflow import assign_codes, codes_from_text

    settings = settings_for(database_url, data_dir)
    repo = repo_for(database_url, data_dir)
    dx = codes_from_text(diagnoses, "diagnosis")
    coder = f"cli:{getpass.getuser()}"
    done = assign_codes(
        repo,
        encounter_id,
        dx + codes_from_text(procedures, "procedure"),
        coder=coder,
        principal=dx[0]["code"] if dx else None,
        data_dir=settings.data_dir,
    )
    audit_cli(repo, settings, "coding-assign", f"Encounter/{encounter_id}: {len(done.codes)} codes")
    out.print(
        f"Encounter/{encounter_id} coded by {coder}: "
        + ", ".join(c.code + (f":{c.poa}" if c.poa else "") for c in done.codes)
    )


@work_app.command("productivity")
def coding_productivity(
    png: Annotated[
        Path | None, typer.Option(callback=check_output_file, help="Write the chart (PNG) here.")
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Encounters coded per coder per day, discharge-to-coded time, and DNFB days."""
    from chartkeeper.coding.workflow import dnfb, plot_productivity, productivity

    repo = repo_for(database_url, data_dir)
    report = productivity(repo)
    out.print_json(json.dumps({"productivity": report, "dnfb": dnfb(repo)}, default=str))
    if png:
        png.write_bytes(plot_productivity(report))
        out.print(f"chart written to {png}")
