"""The file room's commands: `chartkeeper paper ...` over `chartkeeper.paper`.

Retention review, legal holds and destruction (a dry run unless --execute), chart
volumes with barcode labels, check-out/transfer/check-in and the overdue list. Each
command is audited as the operator at the machine (`audit_cli`).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    MAX_ID,
    DatabaseOption,
    DataDirOption,
    app,
    audit_cli,
    check_code,
    check_day,
    check_id,
    check_output_file,
    choice,
    console,
    out,
    repo_for,
    settings_for,
)

paper_app = typer.Typer(
    help="Paper records: retention, legal holds, destruction, chart tracking.",
    no_args_is_help=True,
)
hold_app = typer.Typer(help="Legal holds that stop destruction.", no_args_is_help=True)
paper_app.add_typer(hold_app, name="hold")
app.add_typer(paper_app, name="paper")

JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]


def _operator() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _repo(database_url: str | None, data_dir: Path | None):
    return repo_for(database_url, data_dir), settings_for(database_url, data_dir)


# --- option checks (tests/test_cli_options.py): a bad value is one line and exit 2 ---------


def check_required(value: str | None) -> str | None:
    """Words a person types (a reason, a location): anything but blank."""
    if value is not None and not value.strip():
        raise typer.BadParameter("required, not blank")
    return value


def check_barcode(value: str | list[str] | None):
    """A chart volume barcode as scanned (V + letters and digits); the domain upper-cases it."""
    if isinstance(value, list):
        return [check_barcode(v) for v in value]
    return check_code(value.strip()) if value is not None else None


def _methods() -> tuple[str, ...]:
    from chartkeeper.paper import retention

    return retention.METHODS


PatientArgument = Annotated[str, typer.Argument(callback=check_id, help="Patient id.")]
BarcodeArgument = Annotated[
    str, typer.Argument(callback=check_barcode, help="Volume barcode (scan it).")
]
LocationOption = Annotated[
    str, typer.Option(callback=check_required, help="File-room location (shelf, room).")
]


def _rules(path: Path | None):
    from chartkeeper.errors import BadRequest
    from chartkeeper.paper import retention

    try:
        return retention.load_rules(path)
    except BadRequest as exc:
        raise typer.BadParameter(str(exc), param_hint="--rules") from None


RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        exists=True,
        dir_okay=False,
        help="Retention rules TOML; default: the packaged set.",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", callback=check_day, help="Judge retention on this date (default today)."
    ),
]
JurisdictionOption = Annotated[
    str | None,
    typer.Option(
        callback=check_code,
        help="Apply this jurisdiction's rules to everyone (default: by address).",
    ),
]


def _table(title: str, columns: tuple[str, ...], rows):
    """A rich table of `rows` (each a sequence of strings, one per column)."""
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def _records_table(title: str, groups: list[dict]):
    columns = ("MRN", "patient", "born", "record type", "rule", "last seen", "keep until",
               "resources", "hold")  # fmt: skip
    return _table(title, columns, (
        (g["mrn"], g["name"], g["birth_date"] or "", g["record_type"], g["jurisdiction"],
         g["last_encounter"], g["retain_until"], str(len(g["resources"])),
         "HELD" if g["held"] else "")
        for g in groups
    ))  # fmt: skip


@paper_app.command("retention")
def retention_list(
    as_of: AsOfOption = None,
    jurisdiction: JurisdictionOption = None,
    rules: RulesOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Records past their retention period: eligible for destruction unless held."""
    from chartkeeper.paper import retention

    day = as_of or date.today()
    loaded = _rules(rules)
    repo, settings = _repo(database_url, data_dir)
    groups = [g.as_json() for g in retention.eligible(repo, as_of=day, jurisdiction=jurisdiction,
                                                      rules=loaded)]  # fmt: skip
    audit_cli(repo, settings, "paper-retention-review", f"{len(groups)} records on {day}")
    if as_json:
        print(json.dumps(groups))
    else:
        out.print(_records_table(f"past retention on {day}: {len(groups)}", groups))


@paper_app.command("destroy")
def destroy_cmd(
    method: Annotated[
        str,
        typer.Option(
            callback=choice(among=_methods),
            help="electronic-purge, shredding, pulping, incineration, degaussing.",
        ),
    ],
    execute: Annotated[
        bool, typer.Option("--execute", help="Destroy for real (default: a dry run).")
    ] = False,
    as_of: AsOfOption = None,
    jurisdiction: JurisdictionOption = None,
    rules: RulesOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Destroy every record past retention that no legal hold protects; a certificate."""
    from chartkeeper.paper import retention

    day = as_of or date.today()
    if day > date.today():
        raise typer.BadParameter("not a future date", param_hint="--as-of")
    loaded = _rules(rules)
    repo, settings = _repo(database_url, data_dir)
    result = retention.destroy(
        repo, by=_operator(), method=method, as_of=day, dry_run=not execute,
        jurisdiction=jurisdiction, rules=loaded,
    )  # fmt: skip
    went = sum(len(g["resources"]) for g in result.destroyed)
    action = "paper-destruction" if execute else "paper-destruction-dry-run"
    audit_cli(repo, settings, action, f"certificate {result.certificate}: {went} resources")
    if as_json:
        print(json.dumps(result.as_json()))
        return
    verb = "destroyed" if execute else "would destroy (dry run)"
    out.print(_records_table(f"{verb}: {len(result.destroyed)} records", result.destroyed))
    if result.held:
        out.print(_records_table(f"kept by a legal hold: {len(result.held)}", result.held))
    if result.certificate:
        console.print(f"certificate {result.certificate}: {went} resources, method {method}")
    elif not execute:
        console.print("dry run: nothing changed; add --execute to destroy")


@paper_app.command("certificate")
def certificate_cmd(
    number: Annotated[
        int | None, typer.Argument(min=1, max=MAX_ID, help="Certificate number; none: list.")
    ] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """A destruction certificate: what went, when, by whom, how; or the list of them."""
    from chartkeeper.paper import retention

    repo, settings = _repo(database_url, data_dir)
    if number is None:
        rows = retention.certificates(repo)
        if as_json:
            print(json.dumps(rows))
        for r in [] if as_json else rows:
            out.print(f"{r['id']}: {r['performed']} by {r['performed_by']} ({r['method']})")
        return
    cert = retention.certificate(repo, number)
    audit_cli(repo, settings, "paper-certificate-read", f"certificate {number}")
    if as_json:
        print(json.dumps(cert))
        return
    out.print(f"Certificate of destruction {cert['id']}")
    out.print(f"performed {cert['performed']} by {cert['performed_by']}, method {cert['method']}")
    out.print(f"retention judged on {cert['as_of']} ({cert['jurisdiction']})")
    out.print(_records_table("records destroyed", cert["items"]))


@hold_app.command("place")
def hold_place(
    patient: PatientArgument,
    reason: Annotated[
        str,
        typer.Option(callback=check_required, help="Why (litigation, subpoena, investigation)."),
    ],
    case: Annotated[
        str | None, typer.Option(callback=check_required, help="Case or matter reference.")
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Place a legal hold on a patient's records: no destruction touches them."""
    from chartkeeper.paper import retention

    repo, settings = _repo(database_url, data_dir)
    hold = retention.place_hold(repo, patient, reason=reason, by=_operator(), case_ref=case)
    audit_cli(repo, settings, "paper-hold-place", f"hold {hold['id']} on Patient/{patient}")
    console.print(f"legal hold {hold['id']} on Patient/{patient}")


@hold_app.command("release")
def hold_release(
    hold: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="Hold number.")],
    reason: Annotated[str, typer.Option(callback=check_required, help="Why the hold ends.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Release a legal hold (the records become subject to retention again)."""
    from chartkeeper.paper import retention

    repo, settings = _repo(database_url, data_dir)
    released = retention.release_hold(repo, hold, reason=reason, by=_operator())
    audit_cli(repo, settings, "paper-hold-release", f"hold {hold}")
    console.print(f"legal hold {hold} on Patient/{released['patient_id']} released")


@hold_app.command("list")
def hold_list(
    all_holds: Annotated[bool, typer.Option("--all", help="Released holds too.")] = False,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Legal holds, active ones by default."""
    from chartkeeper.paper import retention

    repo, settings = _repo(database_url, data_dir)
    rows = retention.holds(repo, active_only=not all_holds)
    audit_cli(repo, settings, "paper-hold-read", f"{len(rows)} holds")
    if as_json:
        print(json.dumps(rows))
        return
    columns = ("hold", "patient", "case", "reason", "placed", "by", "released")
    out.print(_table(f"legal holds: {len(rows)}", columns, (
        (str(r["id"]), r["patient_id"], r["case_ref"] or "", r["reason"], r["placed"],
         r["placed_by"], r["released"] or "")
        for r in rows
    )))  # fmt: skip


chart_app = typer.Typer(help="Chart tracking: volumes, labels, custody.", no_args_is_help=True)
paper_app.add_typer(chart_app, name="chart")


def check_due(value: str) -> date:
    day = check_day(value)
    if day < date.today():
        raise typer.BadParameter("not a past date")
    return day


def _print_volume(volume: dict) -> None:
    where = f"{volume['custodian']} @ " if volume.get("custodian") else ""
    due = f", due {volume['due']}" if volume.get("due") else ""
    console.print(f"{volume['barcode']}: {volume['status']} {where}{volume['location']}{due}")


@chart_app.command("new")
def chart_new(
    patient: PatientArgument,
    location: LocationOption,
    label: Annotated[
        Path | None,
        typer.Option(callback=check_output_file, help="Write its barcode label PDF here."),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Start a new paper chart volume for a patient (and print its label)."""
    from chartkeeper.paper import tracking

    repo, settings = _repo(database_url, data_dir)
    volume = tracking.create_volume(repo, patient, location=location, by=_operator())
    audit_cli(repo, settings, "paper-volume-create", f"{volume['barcode']} Patient/{patient}")
    if label is not None:
        label.write_bytes(tracking.label_pdf(repo, [volume["barcode"]]))
    _print_volume(volume)


@chart_app.command("label")
def chart_label(
    barcodes: Annotated[list[str], typer.Argument(callback=check_barcode, help="Volume barcodes.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", callback=check_output_file, help="PDF file to write.")
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Barcode labels (PDF, 4 x 2 inch stock) for chart volumes."""
    from chartkeeper.paper import tracking

    repo, settings = _repo(database_url, data_dir)
    output.write_bytes(tracking.label_pdf(repo, barcodes))
    audit_cli(repo, settings, "paper-volume-label", f"{len(barcodes)} labels")
    console.print(f"{len(barcodes)} labels -> {output}")


@chart_app.command("out")
def chart_out(
    barcode: BarcodeArgument,
    to: Annotated[str, typer.Option(callback=check_required, help="Who takes the chart.")],
    location: Annotated[str, typer.Option(callback=check_required, help="Where it goes.")],
    due: Annotated[str, typer.Option(callback=check_due, help="Due back (YYYY-MM-DD).")],
    transfer: Annotated[
        bool, typer.Option("--transfer", help="It is out already: hand it on.")
    ] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check a chart volume out to a person and location, or transfer it onward."""
    from chartkeeper.paper import tracking

    repo, settings = _repo(database_url, data_dir)
    move = tracking.transfer if transfer else tracking.check_out
    volume = move(repo, barcode, to=to, location=location, due=due, by=_operator())
    audit_cli(repo, settings, "paper-transfer" if transfer else "paper-check-out", barcode)
    _print_volume(volume)


@chart_app.command("in")
def chart_in(
    barcode: BarcodeArgument,
    location: LocationOption,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check a chart volume back in to the file room."""
    from chartkeeper.paper import tracking

    repo, settings = _repo(database_url, data_dir)
    volume = tracking.check_in(repo, barcode, location=location, by=_operator())
    audit_cli(repo, settings, "paper-check-in", barcode)
    _print_volume(volume)


@chart_app.command("overdue")
def chart_overdue(
    today: Annotated[
        str | None, typer.Option(callback=check_day, help="As of this date (YYYY-MM-DD).")
    ] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Chart volumes out past their due date, most overdue first."""
    from chartkeeper.paper import tracking

    day = today or date.today()
    repo, settings = _repo(database_url, data_dir)
    rows = tracking.overdue(repo, today=day)
    audit_cli(repo, settings, "paper-overdue", f"{len(rows)} overdue")
    if as_json:
        print(json.dumps(rows))
        return
    columns = ("barcode", "patient", "vol", "with", "at", "due", "days")
    out.print(_table(f"overdue charts: {len(rows)}", columns, (
        (r["barcode"], r["patient_id"], str(r["volume_no"]), r["custodian"] or "",
         r["location"], r["due"], str(r["days_overdue"]))
        for r in rows
    )))  # fmt: skip


@chart_app.command("history")
def chart_history(
    barcode: BarcodeArgument,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Where a chart volume has been: every custody move, oldest first."""
    from chartkeeper.paper import tracking

    repo, settings = _repo(database_url, data_dir)
    found = tracking.history(repo, barcode)
    audit_cli(repo, settings, "paper-volume-read", barcode)
    if as_json:
        print(json.dumps(found))
        return
    _print_volume(found)
    for m in found["custody"]:
        out.print(f"{m['at']}  {m['action']:<9} {m['custodian'] or '':<20} {m['location']}"
                  f"  by {m['by']}")  # fmt: skip


@chart_app.command("pull-list")
def chart_pull_list(
    day: Annotated[
        str | None,
        typer.Option("--date", callback=check_day, help="Clinic day (default tomorrow)."),
    ] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Charts to pull for a clinic day's appointments, with where each volume is now."""
    from datetime import timedelta

    from chartkeeper.paper import tracking

    when = day or date.today() + timedelta(days=1)
    repo, settings = _repo(database_url, data_dir)
    rows = tracking.pull_list(repo, when)
    audit_cli(repo, settings, "paper-pull-list", f"{len(rows)} appointments on {when}")
    if as_json:
        print(json.dumps(rows))
        return
    none = [{"barcode": "(no paper chart)", "status": "", "location": ""}]
    columns = ("time", "patient", "volume", "status", "where")
    out.print(_table(f"pull list for {when}: {len(rows)} appointments", columns, (
        (str(r["start"])[11:16], r["patient_id"], v["barcode"], v["status"], v["location"])
        for r in rows
        for v in r["volumes"] or none
    )))  # fmt: skip


@hold_app.command("case")
def hold_case(
    case: Annotated[str, typer.Argument(callback=check_required, help="Case or matter reference.")],
    patients: Annotated[
        list[str],
        typer.Option(
            "--patient",
            callback=lambda v: [check_id(p) for p in v],
            help="A patient the case holds (repeat).",
        ),
    ],
    reason: Annotated[
        str, typer.Option(callback=check_required, help="Why (litigation, subpoena, audit).")
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Place a legal hold by case: every patient it names is held until the case closes."""
    from chartkeeper.paper import retention

    repo, settings = _repo(database_url, data_dir)
    placed = retention.hold_case(repo, case, patients, reason=reason, by=_operator())
    audit_cli(repo, settings, "paper-hold-place", f"case {case}: {len(placed)} new holds")
    console.print(f"case {case}: {len(placed)} new holds ({len(patients)} patients named)")


@hold_app.command("release-case")
def hold_release_case(
    case: Annotated[str, typer.Argument(callback=check_required, help="Case or matter reference.")],
    reason: Annotated[str, typer.Option(callback=check_required, help="Why the case ends.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Release every active hold of a case."""
    from chartkeeper.paper import retention

    repo, settings = _repo(database_url, data_dir)
    released = retention.release_case(repo, case, reason=reason, by=_operator())
    audit_cli(repo, settings, "paper-hold-release", f"case {case}: {len(released)} holds")
    console.print(f"case {case}: {len(released)} holds released")


# --- scanning and indexing --------------------------------------------------------------


def _document_types() -> tuple[str, ...]:
    from chartkeeper.paper import scanning

    return tuple(scanning.DOCUMENT_TYPES)


def check_ids(values: list[str] | None) -> list[str] | None:
    return [check_id(v) for v in values] if values else values


DocTypeOption = Annotated[
    str,
    typer.Option("--type", callback=choice(among=_document_types),
                 help="LOINC document type (11506-3 progress note, 18842-5 discharge...)."),
]  # fmt: skip
EncounterOption = Annotated[
    str | None, typer.Option(callback=check_id, help="Encounter id it belongs to.")
]


@paper_app.command("cover")
def cover_cmd(
    patient: PatientArgument,
    doc_types: Annotated[
        list[str],
        typer.Option(
            "--type",
            callback=lambda v: [choice(among=_document_types)(t) for t in v],
            help="LOINC document type; repeat for one sheet each.",
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", callback=check_output_file, help="PDF file to write.")
    ],
    encounter: EncounterOption = None,
    day: Annotated[
        str | None, typer.Option("--date", callback=check_day, help="Document date.")
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print scanning cover sheets: put one on each document; the scan files it."""
    from chartkeeper.paper import scanning

    repo, settings = _repo(database_url, data_dir)
    pdf = scanning.cover_sheet_pdf(repo, patient, doc_types=doc_types, encounter_id=encounter,
                                   day=day)  # fmt: skip
    output.write_bytes(pdf)
    audit_cli(repo, settings, "paper-cover-sheet", f"Patient/{patient}: {len(doc_types)} sheets")
    console.print(f"{len(doc_types)} cover sheets -> {output}")


@paper_app.command("scan")
def scan_cmd(
    paths: Annotated[
        list[Path],
        typer.Argument(exists=True, help="Scanned files (PDF, TIFF, PNG, JPEG) or drop folders."),
    ],
    no_ocr: Annotated[bool, typer.Option("--no-ocr", help="File the pages without OCR.")] = False,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import a scanner's output: split at cover sheets, file each document in its patient's
    record, OCR it, report blank pages and send pages without a cover to the queue."""
    from rich.progress import Progress

    from chartkeeper.paper import scanning

    if not no_ocr and not scanning.tesseract_available():
        raise typer.BadParameter("tesseract is not installed (apt-get install tesseract-ocr); "
                                 "or --no-ocr", param_hint="--no-ocr")  # fmt: skip
    repo, settings = _repo(database_url, data_dir)
    with Progress(console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                label = "reading pages" if stage == "reading" else "OCR"
                tasks[stage] = bar.add_task(label, total=total)
            bar.update(tasks[stage], advance=done, total=total)

        result = scanning.scan(repo, paths, by=_operator(), with_ocr=not no_ocr,
                               progress=progress)  # fmt: skip
    audit_cli(repo, settings, "paper-scan", f"batch {result.batch}: {result.pages} pages")
    if as_json:
        print(json.dumps(result.as_json()))
    else:
        out.print(_table(f"batch {result.batch}: {len(result.documents)} documents filed",
                         ("document", "patient", "encounter", "type", "pages"), (
            (d["id"], d["patient_id"], d["encounter_id"] or "", d["type"], str(d["pages"]))
            for d in result.documents
        )))  # fmt: skip
        for b in result.blank:
            console.print(f"blank page: {b['source']} page {b['page_no']}")
        for q in result.queued:
            console.print(f"to the queue: page {q['page']} ({q['source']} p{q['page_no']}): "
                          f"{q['reason']}")  # fmt: skip
        for name in result.skipped:
            console.print(f"imported before, skipped: {name}")
        for e in result.errors:
            where = f" page {e['page_no']}" if e["page_no"] else ""
            console.print(f"[red]error[/red] {e['source']}{where}: {e['message']}")
        console.print(f"{result.pages} pages from {result.files} files: {result.covers} cover "
                      f"sheets, {len(result.blank)} blank, {len(result.queued)} queued, "
                      f"{len(result.errors)} errors")  # fmt: skip
    if result.errors:
        raise typer.Exit(1)


queue_app = typer.Typer(help="The indexing queue: scanned pages nobody could file.",
                        invoke_without_command=True)  # fmt: skip
paper_app.add_typer(queue_app, name="queue")


@queue_app.callback()
def queue_list(
    ctx: typer.Context,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Pages waiting in the indexing queue (with no subcommand)."""
    if ctx.invoked_subcommand:
        return
    from chartkeeper.paper import indexing

    repo, settings = _repo(database_url, data_dir)
    rows = indexing.queue(repo)
    audit_cli(repo, settings, "paper-queue-read", f"{len(rows)} pages")
    if as_json:
        print(json.dumps(rows))
        return
    out.print(_table(f"indexing queue: {len(rows)} pages", ("page", "file", "p", "scanned",
                                                             "why"), (
        (str(r["id"]), r["source"], str(r["page_no"]), r["scanned"], r["reason"] or "")
        for r in rows
    )))  # fmt: skip


@queue_app.command("assign")
def queue_assign(
    pages: Annotated[list[int], typer.Argument(min=1, max=MAX_ID, help="Queued page numbers.")],
    patient: Annotated[str, typer.Option(callback=check_id, help="Patient id.")],
    doc_type: DocTypeOption,
    encounter: EncounterOption = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """File queued pages, in the order given, as one document of a patient."""
    from chartkeeper.paper import indexing

    repo, settings = _repo(database_url, data_dir)
    doc = indexing.assign(repo, pages, patient_id=patient, doc_type=doc_type,
                          encounter_id=encounter, by=_operator())  # fmt: skip
    audit_cli(repo, settings, "paper-index", f"DocumentReference/{doc['id']}")
    console.print(f"{doc['pages']} pages filed as DocumentReference/{doc['id']} "
                  f"for Patient/{patient}")  # fmt: skip


@paper_app.command("documents")
def documents_cmd(
    query: Annotated[str, typer.Argument(help="Words the scanned text must hold.")],
    patient: Annotated[str | None, typer.Option(callback=check_id, help="Patient id.")] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Search scanned documents' OCR text (every word, whole words, any case)."""
    from chartkeeper.paper import indexing

    repo, settings = _repo(database_url, data_dir)
    docs = indexing.find_documents(repo, query, patient_id=patient)
    audit_cli(repo, settings, "paper-document-search", f"{len(docs)} documents")
    if as_json:
        print(json.dumps(docs))
        return
    out.print(_table(f"scanned documents holding '{query}': {len(docs)}",
                     ("document", "patient", "type", "date"), (
        (d["id"], d["subject"]["reference"], (d.get("type") or {}).get("text", ""),
         d.get("date", "")) for d in docs
    )))  # fmt: skip


@paper_app.command("misfile")
def misfile_cmd(
    document: Annotated[str, typer.Argument(callback=check_id, help="DocumentReference id.")],
    patient: Annotated[str, typer.Option(callback=check_id, help="The right patient's id.")],
    reason: Annotated[str, typer.Option(callback=check_required, help="What was wrong.")],
    encounter: EncounterOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Move a misfiled document to the right patient (and encounter); history is kept."""
    from chartkeeper.paper import indexing

    repo, settings = _repo(database_url, data_dir)
    moved = indexing.move_document(repo, document, patient_id=patient, encounter_id=encounter,
                                   reason=reason, by=_operator())  # fmt: skip
    audit_cli(repo, settings, "paper-misfile", f"misfile {moved.id}: DocumentReference/{document}")
    if as_json:
        print(json.dumps(moved.as_json()))
        return
    console.print(f"misfile {moved.id}: DocumentReference/{document} moved from "
                  f"Patient/{moved.from_patient} to Patient/{moved.to_patient}")  # fmt: skip
    for ref in moved.repointed:
        console.print(f"  also repointed: {ref}")
    for d in moved.disclosures:
        console.print(f"[yellow]already disclosed[/yellow] to {d['recipient']} on "
                      f"{d['disclosed'][:10]} (ROI request {d['request']}): assess and notify")  # fmt: skip
