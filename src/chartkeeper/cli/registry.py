"""The cancer registrar's commands: `chartkeeper registry ...` over `chartkeeper.registry`."""

from __future__ import annotations

import json
import sys
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
    check_input_file,
    check_output_file,
    check_pairs,
    choice,
    console,
    counts_table,
    jsonl_batch,
    out,
    repo_for,
    settings_for,
)

registry_app = typer.Typer(
    help="Cancer registry: classify reports, casefinding, abstracts, follow-up, survival, NAACCR.",
    no_args_is_help=True,
)
app.add_typer(registry_app, name="registry")


def _statuses() -> tuple[str, ...]:
    from chartkeeper.registry.casefinding import STATUSES

    return STATUSES


@registry_app.command("classify")
def classify_report(
    file: Annotated[
        Path | None,
        typer.Argument(
            callback=check_input_file, help="A pathology report as text; '-' or none: stdin."
        ),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help='JSON lines {"id", "text"} in; one JSON result a line out.',
        ),
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
        # Reports are read as text with undecodable bytes replaced, as a single FILE is.
        done, errors = jsonl_batch(
            batch,
            lambda fh: classify_lines(line.decode("utf-8", "replace") for line in fh),
            "classifying",
        )
        console.print(f"{done - errors} report(s) classified, {errors} line(s) with errors")
        if errors:  # the good lines are out; the exit status says some were not (as deid does)
            raise typer.Exit(1)
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


def _registrar() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _repo(database_url: str | None, data_dir: Path | None):
    return repo_for(database_url, data_dir), settings_for(database_url, data_dir)


def _emit(payload, as_json: bool, table=None) -> None:
    if as_json or table is None:
        print(json.dumps(payload, default=str))
    else:
        out.print(table)


@registry_app.command("screen")
def screen(
    file: Annotated[
        Path,
        typer.Argument(
            callback=check_input_file, help="Report text, or an HL7 v2 ORU^R01 message."
        ),
    ],
) -> None:
    """Is this report (or ORU message) reportable? The words that decided, per SEER rules."""
    from chartkeeper.registry import casefinding

    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
    text = file.read_text(encoding="utf-8", errors="replace")
    if text.startswith("MSH|"):
        print(json.dumps([s.as_json() for s in casefinding.screen_oru(text)]))
    else:
        print(json.dumps(casefinding.screen_text(text).as_json()))


@registry_app.command("casefind")
def casefind(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Screen diagnoses and pathology reports; new suspected cases go on the worklist."""
    from chartkeeper.registry import casefinding

    repo, settings = _repo(database_url, data_dir)
    with console.status("screening the record"):
        run = casefinding.run(repo, by=_registrar())
    audit_cli(
        repo,
        settings,
        "registry-casefinding",
        f"screened {run.screened}; {len(run.new_cases)} new cases",
    )
    out.print(
        counts_table(
            "casefinding",
            {
                "screened": run.screened,
                "reportable findings": run.findings,
                "new cases": len(run.new_cases),
                "joined existing case": run.joined,
            },
        )
    )


@registry_app.command("worklist")
def worklist(
    status: Annotated[
        str,
        typer.Option(
            callback=choice(among=_statuses), help="suspected, abstracting, complete, dismissed."
        ),
    ] = "suspected",
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Registry cases by status, with the patient's name, MRN and the evidence."""
    from rich.table import Table

    from chartkeeper.registry import casefinding

    if status not in casefinding.STATUSES:
        raise typer.BadParameter(f"one of {', '.join(casefinding.STATUSES)}", param_hint="--status")
    repo, settings = _repo(database_url, data_dir)
    rows = casefinding.worklist(repo, status)
    audit_cli(repo, settings, "registry-worklist", f"{len(rows)} {status} cases")
    table = Table(title=f"registry cases: {status} ({len(rows)})")
    for column in (
        "case",
        "patient",
        "MRN",
        "born",
        "site",
        "morphology",
        "side",
        "diagnosed",
        "evidence",
    ):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["patient_name"] or r["patient_id"],
            r["mrn"] or "",
            r["birth_date"] or "",
            r["primary_site"] or "",
            f"{r['histology']}/{r['behavior']}" if r["histology"] else "",
            r["laterality"] or "",
            r["diagnosis_date"] or "",
            _evidence_summary(r["evidence"]),
        )
    _emit(rows, as_json, table)


def _evidence_summary(evidence: list[dict]) -> str:
    kinds: dict[str, int] = {}
    for e in evidence:
        kinds[e.get("source", "?")] = kinds.get(e.get("source", "?"), 0) + 1
    first = next(
        (e for e in evidence if e.get("source") == "pathology"), evidence[0] if evidence else {}
    )
    counts = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    return f"{counts}: {first.get('text') or first.get('reason', '')}"


CaseArg = Annotated[int, typer.Argument(help="Registry case number.", min=1, max=MAX_ID)]


@registry_app.command("accept")
def accept(
    case: CaseArg, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Accept a suspected case: abstracting starts, prefilled from the record."""
    from chartkeeper.registry import casefinding

    repo, settings = _repo(database_url, data_dir)
    done = casefinding.accept(repo, case, by=_registrar())
    audit_cli(repo, settings, "registry-accept", f"registry case {case}")
    console.print(f"case {case}: {done['status']}, {len(done['items']) - 1} items prefilled")


@registry_app.command("dismiss")
def dismiss(
    case: CaseArg,
    reason: Annotated[str, typer.Option(help="Why it is not a reportable case.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Dismiss a suspected case (kept, so the tumour is not suggested again)."""
    from chartkeeper.registry import casefinding

    repo, settings = _repo(database_url, data_dir)
    casefinding.dismiss(repo, case, by=_registrar(), reason=reason)
    audit_cli(repo, settings, "registry-dismiss", f"registry case {case}: {reason}")
    console.print(f"case {case}: dismissed")


@registry_app.command("abstract")
def show_abstract(
    case: CaseArg,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            callback=check_pairs,
            help="naaccrId=value (repeatable); an empty value clears the item.",
        ),
    ] = None,
    prefill: Annotated[bool, typer.Option(help="Refill from the record first.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show (and edit) a case's abstract: NAACCR v26 items, edits that fail, activity."""
    from rich.table import Table

    from chartkeeper.registry import abstract, casefinding, edits, reference

    repo, settings = _repo(database_url, data_dir)
    by = _registrar()
    if prefill:
        abstract.prefill(repo, case, by=by)
    if set_:
        changes = {}
        for pair in set_:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise typer.BadParameter(f"'{pair}' is not naaccrId=value", param_hint="--set")
            changes[key.strip()] = value
        abstract.edit_items(repo, case, changes, by=by)
    found = casefinding.get(repo, case)
    audit_cli(repo, settings, "registry-abstract", f"registry case {case}")
    items = abstract.public_items(found)
    failing = edits.run(items, found["overrides"])
    payload = {
        "case": case,
        "status": found["status"],
        "patient_id": found["patient_id"],
        "items": items,
        "edits": [e.as_json() for e in failing],
        "mp_rule": found["mp_rule"],
        "activity": found["activity"],
    }
    names = (
        reference.naaccr_dictionary().items
        if reference.available("naaccr", "naaccr-dictionary-260.xml")
        else {}
    )
    table = Table(title=f"case {case} ({found['status']})")
    for column in ("item", "name", "value"):
        table.add_column(column)
    for key, value in sorted(
        items.items(), key=lambda kv: names[kv[0]].number if kv[0] in names else 0
    ):
        table.add_row(key, names[key].name if key in names else "", value)
    _emit(payload, as_json, table)
    if not as_json:
        for e in failing:
            state = f"overridden: {e.overridden}" if e.overridden else "FAILS"
            console.print(f"{e.id} {state}: {e.message}")


@registry_app.command("override")
def override(
    case: CaseArg,
    edit: Annotated[str, typer.Argument(callback=check_code, help="Edit id, e.g. CK004.")],
    reason: Annotated[str, typer.Option(help="Why the coded values are right.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Override a failing edit for one case, with the reason."""
    from chartkeeper.registry import abstract

    repo, settings = _repo(database_url, data_dir)
    abstract.override(repo, case, edit, reason, by=_registrar())
    audit_cli(repo, settings, "registry-override", f"registry case {case}: {edit}")
    console.print(f"case {case}: {edit} overridden")


@registry_app.command("complete")
def complete(
    case: CaseArg, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Mark an abstract complete (every edit passes or is overridden)."""
    from chartkeeper.registry import abstract

    repo, settings = _repo(database_url, data_dir)
    abstract.complete(repo, case, by=_registrar())
    audit_cli(repo, settings, "registry-complete", f"registry case {case}")
    console.print(f"case {case}: complete")


@registry_app.command("followup")
def followup_cmd(
    today: Annotated[
        str | None, typer.Option(callback=check_day, help="As of this date (YYYY-MM-DD).")
    ] = None,
    reference_date: Annotated[
        str | None,
        typer.Option(
            callback=check_day,
            help="The registry's reference date: cases diagnosed before it are not counted.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Follow-up due list and lost-to-follow-up rates against the CoC standards."""
    from rich.table import Table

    from chartkeeper.registry import followup

    as_of, since = today, reference_date
    repo, settings = _repo(database_url, data_dir)
    due = followup.due_list(repo, today=as_of)
    rates = followup.rates(repo, today=as_of, reference_date=since)
    audit_cli(repo, settings, "registry-followup", f"{len(due)} due")
    table = Table(title=f"follow-up due: {len(due)}")
    for column in ("case", "patient", "MRN", "site", "diagnosed", "last contact", "days", "lost"):
        table.add_column(column)
    for r in due:
        table.add_row(
            str(r.case_id),
            r.patient_name or r.patient_id,
            r.mrn or "",
            r.primary_site or "",
            r.diagnosis_date or "",
            r.last_contact or "",
            str(r.days_since_contact or ""),
            "yes" if r.lost else "",
        )
    _emit({"due": [r.as_json() for r in due], "rates": rates}, as_json, table)
    if not as_json:
        out.print(
            counts_table(
                "follow-up rates (CoC: >= 80% all, >= 90% last 5 years)",
                {
                    "analytic cases": rates["analytic_cases"],
                    "followed": rates["followed_rate"],
                    "last 5 years": rates["last_5_years_followed_rate"],
                },
            )
        )


@registry_app.command("survival")
def survival_cmd(
    by: Annotated[
        str,
        typer.Option(
            callback=choice("site", "stage", "site-stage"),
            help="Group by site, stage or site-stage.",
        ),
    ] = "site",
    plot: Annotated[
        Path | None, typer.Option(callback=check_output_file, help="Write the curves as PNG here.")
    ] = None,
    today: Annotated[
        str | None, typer.Option(callback=check_day, help="As of this date (YYYY-MM-DD).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Kaplan-Meier observed survival with 95% intervals: 1, 3 and 5 years; a plot."""
    from rich.table import Table

    from chartkeeper.registry import survival

    repo, settings = _repo(database_url, data_dir)
    cases = survival.from_registry(repo, by=by, today=today)
    audit_cli(repo, settings, "registry-survival", f"{len(cases)} cases by {by}")
    if not cases:
        console.print("no cases with a diagnosis date and a last contact yet")
        if as_json:
            print("[]")
        return
    groups = survival.kaplan_meier(cases)
    if plot:
        plot.write_bytes(survival.plot(cases, f"Observed survival by {by}"))
        console.print(f"plot written to {plot}")
    table = Table(title=f"observed survival by {by}")
    for column in ("group", "cases", "deaths", "1 year", "3 years", "5 years", "median"):
        table.add_column(column)
    for g in groups:
        table.add_row(
            g.group,
            str(g.cases),
            str(g.deaths),
            *(
                f"{g.at[y]['survival']:.0%} ({g.at[y]['lower']:.0%}-{g.at[y]['upper']:.0%})"
                if g.at[y]["survival"] is not None
                else "not followed that long"
                for y in survival.YEARS
            ),
            f"{g.median_years:.1f} y" if g.median_years else "-",
        )
    _emit([g.as_json() for g in groups], as_json, table)


@registry_app.command("export")
def export(
    naaccr_xml: Annotated[
        Path,
        typer.Option("--naaccr-xml", callback=check_output_file, help="Write NAACCR XML here."),
    ],
    record_type: Annotated[
        str, typer.Option(callback=choice("A", "I"), help="A (full abstract) or I (incidence).")
    ] = "A",
    registry_id: Annotated[
        str | None, typer.Option(callback=check_code, help="Registry ID (item 40).")
    ] = None,
    include_abstracting: Annotated[
        bool, typer.Option(help="Also cases still being abstracted.")
    ] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Completed cases as NAACCR XML v26, validated against dictionary and XSD first."""
    from chartkeeper.interfaces import naaccr

    if record_type not in ("A", "I"):
        raise typer.BadParameter("A or I", param_hint="--record-type")
    if registry_id is not None and not (registry_id.isdigit() and len(registry_id) <= 10):
        raise typer.BadParameter("up to 10 digits", param_hint="--registry-id")
    repo, settings = _repo(database_url, data_dir)
    statuses = ("complete", "abstracting") if include_abstracting else ("complete",)
    content, count = naaccr.export_cases(
        repo, record_type=record_type, registry_id=registry_id, statuses=statuses
    )
    partial = naaccr_xml.with_name(naaccr_xml.name + ".partial")
    partial.write_bytes(content)
    partial.replace(naaccr_xml)  # a killed export leaves no half-written file
    audit_cli(
        repo,
        settings,
        "registry-export",
        f"NAACCR XML record type {record_type}: {count} tumours to {naaccr_xml}",
    )
    console.print(f"{count} tumours written to {naaccr_xml} (record type {record_type})")


@registry_app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A NAACCR XML v26 file.")
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Read NAACCR XML into registry cases (all checks first; nothing stored on error)."""
    from chartkeeper.interfaces import naaccr

    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
    repo, settings = _repo(database_url, data_dir)
    try:
        result = naaccr.import_cases(repo, file.read_bytes(), by=_registrar(), source=file.name)
    except naaccr.NaaccrInvalid as exc:
        for problem in exc.problems:
            console.print(f"[red]{problem}[/red]")
        audit_cli(repo, settings, "registry-import", f"{file}: refused", outcome="failure")
        raise SystemExit(1) from None
    audit_cli(
        repo,
        settings,
        "registry-import",
        f"{file}: {len(result['added'])} added, {len(result['updated'])} updated",
    )
    out.print(
        counts_table(
            f"imported {file.name}",
            {
                "patients": result["patients"],
                "tumours": result["tumors"],
                "added": len(result["added"]),
                "updated": len(result["updated"]),
            },
        )
    )
