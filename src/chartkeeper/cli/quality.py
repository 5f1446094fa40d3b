"""Accurate and complete records: chart deficiencies (and, as it lands, the patient index)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import (
    MAX_ID,
    DatabaseOption,
    DataDirOption,
    app,
    check_id,
    check_instant,
    check_output_file,
    choice,
    out,
    progress_bar,
    repo_for,
)
from .privacy import him_repo

patient_app = typer.Typer(help="The master patient index: merge and unmerge.", no_args_is_help=True)
app.add_typer(patient_app, name="patient")
mpi_app = typer.Typer(help="Find duplicate patients: scan, review queue.", no_args_is_help=True)
app.add_typer(mpi_app, name="mpi")
deficiency_app = typer.Typer(
    help="Chart deficiencies: scan, worklist, report.", no_args_is_help=True
)
app.add_typer(deficiency_app, name="deficiencies")

AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", callback=check_instant, help="Evaluate as of this instant."),
]


def _as_of(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@deficiency_app.command("scan")
def deficiencies_scan(
    as_of: AsOfOption = None, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Evaluate every chart against the rules; opens and closes deficiencies."""
    from chartkeeper.quality.deficiencies import scan

    repo = repo_for(database_url, data_dir)
    with progress_bar() as progress:
        task = progress.add_task("charts", total=None)
        report = scan(
            repo,
            now=_as_of(as_of),
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    out.print_json(json.dumps(report.as_json()))


@deficiency_app.command("list")
def deficiencies_list(
    assignee: Annotated[
        str | None, typer.Option(callback=check_id, help="A Practitioner id, or 'unassigned'.")
    ] = None,
    status: Annotated[
        str, typer.Option(callback=choice("open", "closed", "all"), help="open, closed or all.")
    ] = "open",
    patient: Annotated[
        str | None, typer.Option(callback=check_id, help="Only this patient.")
    ] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule id.")] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The deficiency worklist, oldest first."""
    from chartkeeper.privacy.people import People
    from chartkeeper.quality.deficiencies import list_deficiencies

    repo = repo_for(database_url, data_dir)
    rows = list_deficiencies(
        repo,
        assignee=assignee,
        status=status,
        patient=patient,
        rule=rule,
        limit=1000,
    )
    people = People(repo, [f"Patient/{d.patient_id}" for d in rows] + [d.responsible for d in rows])
    table = Table(title=f"deficiencies: {len(rows)}")
    columns = ("id", "rule", "severity", "patient", "name", "encounter", "provider", "assigned to")
    for column in (*columns, "age (days)"):
        table.add_column(column, overflow="fold")
    for d in rows:
        table.add_row(
            str(d.id),
            d.rule_id,
            d.severity,
            d.patient_id,
            people.label(d.patient_id),
            d.encounter_id or "",
            people.name(d.responsible) if d.responsible else "",
            d.assignee or "HIM pool",
            str(d.age_days()),
        )
    out.print(table)


@deficiency_app.command("report")
def deficiencies_report(
    plot: Annotated[
        Path | None,
        typer.Option(callback=check_output_file, help="Write the ageing chart (PNG) here."),
    ] = None,
    as_of: AsOfOption = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Ageing, delinquent records and completeness, as numbers and (with --plot) a chart."""
    from chartkeeper.quality.deficiencies import plot_ageing, report

    repo = repo_for(database_url, data_dir)
    out.print_json(json.dumps(report(repo, now=_as_of(as_of)), default=str))
    if plot:
        plot_ageing(repo, plot, now=_as_of(as_of))
        out.print(f"ageing chart written to {plot}")


@patient_app.command("merge")
def patient_merge(
    source: Annotated[
        str, typer.Argument(callback=check_id, help="The duplicate Patient id (retired).")
    ],
    survivor: Annotated[
        str, typer.Argument(callback=check_id, help="The Patient id that survives.")
    ],
    reason: Annotated[str, typer.Option(help="Why; kept with the merge and its Provenance.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Merge a duplicate into the survivor: every reference repointed, all undoable."""
    from chartkeeper.quality.merge import merge_patients

    repo, by = him_repo(database_url, data_dir)
    with repo.transaction() as tx:
        result = merge_patients(tx, source, survivor, reason=reason, by=by)
    out.print(
        f"merge {result.merge_id}: Patient/{source} into Patient/{survivor}, "
        f"{len(result.changes)} resources changed"
    )


@patient_app.command("unmerge")
def patient_unmerge(
    merge_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The merge to undo.")],
    reason: Annotated[str, typer.Option(help="Why it was wrong.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Undo a merge: every changed resource gets its content back, as a new version."""
    from chartkeeper.quality.unmerge import unmerge_patients

    repo, by = him_repo(database_url, data_dir)
    with repo.transaction() as tx:
        result = unmerge_patients(tx, merge_id, reason=reason, by=by)
    out.print(f"merge {merge_id} undone: {len(result.changes)} resources restored")


@patient_app.command("merges")
def patient_merges(
    patient_id: Annotated[str, typer.Argument(callback=check_id, help="A Patient id.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The merges a patient took part in."""
    from chartkeeper.quality.merge import merges_of

    repo = repo_for(database_url, data_dir)
    with repo.reading() as tx:
        records = merges_of(tx, patient_id)
    table = Table(title=f"merges of Patient/{patient_id}: {len(records)}")
    for column in ("id", "source", "survivor", "by", "when", "reason", "undone"):
        table.add_column(column, overflow="fold")
    for m in records:
        table.add_row(
            str(m.id),
            m.source_id,
            m.survivor_id,
            m.merged_by,
            m.merged[:19],
            m.reason,
            (m.unmerged or "")[:19],
        )
    out.print(table)


# a Spark master URL: local mode (local, local[4], local[*], local[4,2]) or a cluster manager's
_SPARK_MASTER = re.compile(r"local(\[(\*|\d+)(,\d+)?\])?|(spark|k8s|mesos)://[^\s/]+.*|yarn")


def _check_spark_master(value: str | None) -> str | None:
    if value is not None and not _SPARK_MASTER.fullmatch(value):
        raise typer.BadParameter(
            f"'{value[:60]}' is not a Spark master URL (local[*], spark://host:7077, yarn, ...)"
        )
    return value


@mpi_app.command("scan")
def mpi_scan(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per candidate pair.")
    ] = False,
    link: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Auto-link at or above this probability.")
    ] = 0.9,
    review: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Queue for review at or above this.")
    ] = 0.5,
    queue: Annotated[bool, typer.Option(help="Put review pairs on the review queue.")] = True,
    engine: Annotated[
        str,
        typer.Option(
            callback=choice("duckdb", "spark"),
            help="Where the matching runs: duckdb (in this process) or spark (pyspark and "
            "Java; the same model and pairs).",
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            metavar="URL",
            callback=_check_spark_master,
            help="With --engine spark: the cluster's master URL (default local[*], this machine).",
        ),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Score every plausible pair of patients; auto-link the sure ones, queue the doubtful."""
    if review > link:
        raise typer.BadParameter(f"--review {review} is above --link {link}", param_hint="--review")
    if spark_master is not None and engine != "spark":
        raise typer.BadParameter("is for --engine spark", param_hint="--spark-master")
    if engine == "spark":
        from chartkeeper.quality.mpi.spark import SparkUnavailable, require

        try:
            require()
        except SparkUnavailable as exc:
            raise typer.BadParameter(str(exc), param_hint="--engine") from None
    from chartkeeper.quality.mpi import Thresholds, json_lines, scan_repo

    repo, _by = him_repo(database_url, data_dir)
    with progress_bar() as progress:
        task = progress.add_task("matching", total=None)
        pairs = scan_repo(
            repo,
            thresholds=Thresholds(link=link, review=review),
            queue=queue,
            on_progress=lambda stage: progress.update(task, description=stage),
            engine=engine,
            spark_master=spark_master,
        )
    if as_json:
        for line in json_lines(pairs):
            print(line)
        return
    linked = [p for p in pairs if p.decision == "link"]
    stored = "stored as Patient.link pairs" if queue else "not stored: --no-queue"
    out.print(
        f"{len(pairs)} candidate pairs: {len(linked)} auto-linked ({stored}), "
        f"{len(pairs) - len(linked)} for review"
    )
    for p in linked:
        out.print(f"  linked {p.a} <-> {p.b} (probability {p.probability:.4f})")


@mpi_app.command("queue")
def mpi_queue(
    status: Annotated[
        str,
        typer.Option(
            callback=choice("open", "linked", "not-a-match", "all"),
            help="open, linked, not-a-match or all.",
        ),
    ] = "open",
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="How many.")] = 100,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The manual review queue: pairs the index is unsure of, most probable first."""
    from chartkeeper.privacy.people import People
    from chartkeeper.quality.mpi import list_reviews

    repo, _by = him_repo(database_url, data_dir)
    items = list_reviews(repo, status=status, limit=limit)
    table = Table(title=f"possible duplicates ({status}): {len(items)}")
    people = People(repo, [ref for i in items for ref in (i.a, i.b)])
    for column in ("id", "a", "a's name", "b", "b's name", "probability", "status"):
        table.add_column(column, overflow="fold")
    for i in items:
        a, b = people.label(i.a), people.label(i.b)
        table.add_row(str(i.id), i.a, a, i.b, b, f"{i.probability:.3f}", i.status)
    out.print(table)


@mpi_app.command("decide")
def mpi_decide(
    item_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The review item.")],
    verdict: Annotated[
        str, typer.Argument(callback=choice("linked", "not-a-match"), help="linked or not-a-match.")
    ],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    survivor: Annotated[
        str | None,
        typer.Option(
            callback=check_id, help="With linked: the Patient id kept (default: the pair's a)."
        ),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record a reviewer's verdict on a queued pair; "linked" merges the two records."""
    from chartkeeper.quality.mpi import decide

    repo, by = him_repo(database_url, data_dir)
    item = decide(repo, item_id, verdict, reviewer=by, note=note, survivor=survivor)
    out.print(f"{item.a} and {item.b}: {item.status}")
