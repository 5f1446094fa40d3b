"""Confidentiality: the audit trail, break-the-glass reports, release of information."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import (
    MAX_ID,
    DatabaseOption,
    DataDirOption,
    app,
    audit_cli,
    audit_key_for,
    check_id,
    check_instant,
    choice,
    console,
    json_file,
    out,
    repo_for,
    settings_for,
)

audit_app = typer.Typer(help="The audit trail: verify it, report on it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
privacy_app = typer.Typer(help="Privacy officer's reports.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
roi_app = typer.Typer(
    help="Release of information and the accounting of disclosures.", no_args_is_help=True
)
app.add_typer(roi_app, name="roi")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        str | None,
        typer.Option(
            help="A checkpoint `audit checkpoint` printed (the JSON line, or a file holding "
            "it): the trail must still hold the row it names, unchanged."
        ),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check every audit row against the chain and the head against its seal; name each
    row changed, removed or inserted, and a cut or wiped end."""
    from chartkeeper.privacy.audit import Checkpoint, verify

    kept = None
    if checkpoint is not None:
        text = checkpoint
        if not checkpoint.lstrip().startswith("{") and Path(checkpoint).is_file():
            text = Path(checkpoint).read_text(encoding="utf-8").strip()
        try:
            kept = Checkpoint.loads(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--checkpoint") from None
    problems = verify(
        repo_for(database_url, data_dir).engine,
        audit_key_for(database_url, data_dir),
        checkpoint=kept,
    )
    if not problems:
        against = f" and holds row {kept.seq} of the checkpoint taken {kept.time}" if kept else ""
        out.print(f"[green]the audit trail is intact{against}[/green]")
        return
    for problem in problems:
        out.print(f"[red]{problem}[/red]")
    raise typer.Exit(1)


@audit_app.command("seal")
def audit_seal(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Seal the audit head of a store whose trail began before heads were sealed, once
    every row checks out. Refused when the trail is damaged or its head already sealed."""
    from chartkeeper.errors import ChartkeeperError
    from chartkeeper.privacy.audit import seal_unsealed

    repo = repo_for(database_url, data_dir)
    try:
        rows, since = seal_unsealed(repo.engine, audit_key_for(database_url, data_dir))
    except ChartkeeperError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    out.print(f"[green]sealed the audit head: {rows} rows since {since or 'the start'}[/green]")
    settings = settings_for(database_url, data_dir)
    audit_cli(repo, settings, "audit-seal", f"sealed the head over {rows} rows")


@audit_app.command("checkpoint")
def audit_checkpoint(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Print the signed head of the audit trail (sequence, hash, time). Keep the line
    where whoever can change the database cannot; `audit verify --checkpoint` checks it."""
    from chartkeeper.privacy.audit import checkpoint, verify

    repo = repo_for(database_url, data_dir)
    key = audit_key_for(database_url, data_dir)
    problems = verify(repo.engine, key)
    if problems:  # signing a damaged trail would vouch for it
        for problem in problems:
            console.print(f"[red]{problem}[/red]")
        console.print("[red]no checkpoint: the audit trail is not intact[/red]")
        raise typer.Exit(1)
    kept = checkpoint(repo.engine, key)
    console.print(f"audit trail head: row {kept.seq}, hash {kept.hash[:16]}…, at {kept.time}")
    print(kept.dumps())


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
            ", ".join(json.loads(r["resources"]))[:200]
            + (f" (+{r['others']} of other patients)" if r.get("others") else ""),
            r["source"] or "",
            why,
            r["detail"][:200],
        )
    return table


@audit_app.command("patient")
def audit_patient(
    patient_id: Annotated[str, typer.Argument(callback=check_id, help="The Patient resource id.")],
    since: Annotated[
        str | None,
        typer.Option(callback=check_instant, help="Only from this instant (e.g. 2026-01-01)."),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Who accessed this patient's record, when and why (the patient's access report)."""
    from chartkeeper.privacy.access_report import patient_access_report

    rows = patient_access_report(repo_for(database_url, data_dir), patient_id, since=since)
    out.print(_audit_table(f"access to Patient/{patient_id}: {len(rows)} events", rows))


@privacy_app.command("btg-report")
def btg_report_command(
    since: Annotated[
        str | None,
        typer.Option(callback=check_instant, help="Only from this instant (e.g. 2026-01-01)."),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Every break-the-glass grant and every access made under one."""
    from chartkeeper.privacy.access import btg_report

    rows = btg_report(repo_for(database_url, data_dir).engine, since)
    out.print(_audit_table(f"break-the-glass: {len(rows)} events", rows))


def him_repo(database_url: str | None, data_dir: Path | None, purpose: str | None = None):
    """The store as the HIM clerk at this machine: ROI work is checked and audited like the
    API's (the CLI user signs as `cli:<login>` with the him role)."""
    import getpass

    from chartkeeper.privacy.access import UserGuard
    from chartkeeper.privacy.users import User

    repo = repo_for(database_url, data_dir)
    user = User(f"cli:{getpass.getuser()}", "him")
    guard = UserGuard(
        repo.engine,
        audit_key_for(database_url, data_dir),
        user,
        source="localhost",
        purpose=purpose,
    )
    return repo.guarded(guard), user.username


@roi_app.command("accounting")
def roi_accounting(
    patient_id: Annotated[str, typer.Argument(callback=check_id, help="The Patient resource id.")],
    as_of: Annotated[
        str | None,
        typer.Option(callback=check_instant, help="End of the six-year window (YYYY-MM-DD)."),
    ] = None,
    all_disclosures: Annotated[
        bool, typer.Option("--all", help="Include disclosures 164.528(a)(1) exempts.")
    ] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The accounting of disclosures a patient may ask for: six years, 45 CFR 164.528."""
    from datetime import datetime

    from chartkeeper.privacy.disclosures import accounting

    when = datetime.fromisoformat(as_of) if as_of else None
    records = accounting(
        repo_for(database_url, data_dir),
        patient_id,
        as_of=when,
        include_exempt=all_disclosures,
    )
    table = Table(title=f"disclosures of Patient/{patient_id}'s records: {len(records)}")
    for column in (
        "date",
        "recipient",
        "address",
        "what",
        "purpose",
        *(["exempt"] * all_disclosures),
    ):
        table.add_column(column, overflow="fold")
    for r in records:
        row = [r.disclosed[:10], r.recipient_name, r.recipient_address, r.description, r.purpose]
        table.add_row(*row, *([r.exemption or ""] * all_disclosures))
    out.print(table)


@roi_app.command("list")
def roi_list(
    patient: Annotated[
        str | None, typer.Option(callback=check_id, help="Only this patient's requests.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            callback=choice("logged", "validated", "fulfilled", "denied"),
            help="logged, validated, fulfilled or denied.",
        ),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Release-of-information requests, the worklist of the ROI desk."""
    from chartkeeper.privacy.disclosures import list_requests
    from chartkeeper.privacy.people import People

    repo = repo_for(database_url, data_dir)
    requests = list_requests(repo, patient_id=patient, status=status)
    people = People(repo, [f"Patient/{r.patient_id}" for r in requests])
    table = Table(title=f"ROI requests: {len(requests)}")
    for column in ("id", "patient", "name", "requester", "purpose", "status"):
        table.add_column(column, overflow="fold")
    for r in requests:
        shown = people.label(r.patient_id)
        table.add_row(str(r.id), r.patient_id, shown, r.requester.name, r.purpose, r.status)
    out.print(table)


@roi_app.command("log")
def roi_log(
    spec: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="The request as JSON (see /docs, POST /roi/requests).",
        ),
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Log a request for release of information."""
    from chartkeeper.privacy.disclosures import log_request

    repo, by = him_repo(database_url, data_dir)
    request = log_request(repo, json_file(spec), by=by)
    out.print(f"logged request {request.id} for Patient/{request.patient_id}")


@roi_app.command("validate")
def roi_validate(
    request_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The request id.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check a request against its authorization (dates, scope, sensitive categories)."""
    from chartkeeper.privacy.disclosures import validate_request

    repo, by = him_repo(database_url, data_dir)
    out.print(f"request {validate_request(repo, request_id, by=by).id} is validated")


@roi_app.command("deny")
def roi_deny(
    request_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The request id.")],
    reason: Annotated[str, typer.Option(help="Why; kept with the request.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Deny a request, keeping the reason."""
    from chartkeeper.privacy.disclosures import deny_request

    repo, by = him_repo(database_url, data_dir)
    out.print(f"request {deny_request(repo, request_id, reason=reason, by=by).id} is denied")


@roi_app.command("fulfil")
def roi_fulfil(
    request_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The request id.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Make the disclosure: the packet (FHIR Bundle and PDF) and its record in the accounting."""
    from chartkeeper.privacy.disclosures import fulfil

    repo, by = him_repo(database_url, data_dir)
    done = fulfil(
        repo, request_id, by=by, out_dir=settings_for(database_url, data_dir).data_dir / "roi"
    )
    out.print(
        f"disclosed {done.record.description} to {done.record.recipient_name}; packet: {done.pdf}"
    )
