"""De-identification of free text outside the record store, and its gazetteers."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import orjson
import typer

from chartkeeper.config import Settings

from .common import (
    DatabaseOption,
    DataDirOption,
    app,
    audit_cli,
    check_input_file,
    console,
    jsonl_batch,
    out,
    settings_for,
)

deid_app = typer.Typer(
    help="De-identify free text (Safe Harbor) and manage the name and place lists it uses.",
    no_args_is_help=True,
)
app.add_typer(deid_app, name="deid")

DEFAULT_REFERENCE = Path("../shared/data/reference/names-places")


def _context(key_file: Path | None, gazetteer: Path | None, data_dir: Path | None):
    from chartkeeper.privacy.deid import DeidContext, new_key, parse_key
    from chartkeeper.privacy.deid.gazetteer import load_gazetteer

    key_text = key_file.read_text().strip() if key_file else settings_for(None, None).deid_key
    # Plain Safe Harbor tags need no secret; one is drawn for this run when none is given.
    key = parse_key(key_text or new_key())
    if gazetteer is not None and not gazetteer.exists():
        raise typer.BadParameter(f"{gazetteer} does not exist", param_hint="--gazetteer")
    # --gazetteer is this run's Settings.deid_gazetteer (it wins over the environment).
    settings = Settings.from_env(data_dir=data_dir, deid_gazetteer=gazetteer and str(gazetteer))
    gaz = load_gazetteer(settings.data_dir, settings.deid_gazetteer)
    if not gaz.loaded:
        console.print(
            "[yellow]no gazetteer imported: names and places from the built-in lists only "
            "(run `chartkeeper deid import-gazetteers`)[/yellow]"
        )
    return DeidContext(key, gazetteer=gaz)


@deid_app.command("text")
def text_command(
    source: Annotated[
        str | None,
        typer.Argument(
            callback=check_input_file, help="A text file, or - for standard input (default)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"text", "spans": [...]} (one line per note).')
    ] = False,
    batch: Annotated[
        Path | None,
        typer.Option(
            callback=check_input_file,
            help='JSON Lines of {"id", "text", "patient"?}; one result line each.',
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Secret for date shifts (else CHARTKEEPER_DEID_KEY)."
        ),
    ] = None,
    gazetteer: Annotated[
        Path | None,
        typer.Option(
            exists=True, help="A compiled gazetteer file or a names-places folder to build from."
        ),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Scrub Safe Harbor identifiers from free text; print the text or, with --json, spans."""
    from chartkeeper.privacy.deid.batch import scrub_one

    if batch is not None and source is not None:
        raise typer.BadParameter("give a FILE or --batch, not both")
    if batch is not None and not batch.is_file():
        raise typer.BadParameter(f"{batch} is not a file", param_hint="--batch")
    ctx = _context(key_file, gazetteer, data_dir)
    if batch is not None:
        _batch(batch, ctx, as_json, database_url, data_dir)
        return
    if source in (None, "-"):
        raw = sys.stdin.buffer.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise typer.BadParameter(f"{source} is not a file", param_hint="FILE")
        raw = path.read_bytes()
    if b"\x00" in raw:
        raise typer.BadParameter("binary content (a NUL byte): give a text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    result = scrub_one(text, ctx)
    if as_json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
    else:
        sys.stdout.write(result["text"])


def _batch(path: Path, ctx, as_json: bool, database_url, data_dir) -> None:
    from chartkeeper.privacy.deid.batch import scrub_lines

    store = _PatientLearner(ctx, database_url, data_dir)
    started = time.perf_counter()
    done, errors = jsonl_batch(
        path,
        lambda fh: scrub_lines(fh, ctx, learn_patient=store.learn),
        "de-identifying",
        text_only=not as_json,
    )
    elapsed = time.perf_counter() - started
    console.print(
        f"{done - errors} note(s) de-identified, {errors} line(s) with errors, "
        f"{done / elapsed if elapsed else 0:.0f} notes/s"
    )
    if store.used:
        audit_cli(
            store.repo,
            settings_for(database_url, data_dir),
            "deid-text",
            f"{path.name}: {done - errors} notes, records of {len(store.used)} patient(s) used",
        )
    if errors:
        raise typer.Exit(1)


class _PatientLearner:
    """Reads a patient's record from the store the first time a batch line names it."""

    def __init__(self, ctx, database_url, data_dir):
        self.ctx, self.database_url, self.data_dir = ctx, database_url, data_dir
        self.repo = None
        self.used: set[str] = set()
        self.missing: dict[str, str] = {}

    def learn(self, patient_id: str) -> str | None:
        from chartkeeper.errors import ChartkeeperError

        if patient_id in self.used:
            return None
        if patient_id in self.missing:
            return self.missing[patient_id]
        from .common import repo_for

        try:
            if self.repo is None:
                self.repo = repo_for(self.database_url, self.data_dir)
                with self.repo.reading() as tx:
                    for content in tx.iter_content("Practitioner"):
                        self.ctx.learn(orjson.loads(content))
            with self.repo.reading() as tx:
                self.ctx.learn(tx.read("Patient", patient_id))
        except ChartkeeperError as exc:
            self.missing[patient_id] = str(exc)
            return str(exc)
        self.used.add(patient_id)
        return None


@deid_app.command("import-gazetteers")
def import_gazetteers(
    folder: Annotated[
        Path,
        typer.Argument(
            exists=True,
            file_okay=False,
            help="The names-places reference folder (Census names, places, CMS).",
        ),
    ] = DEFAULT_REFERENCE,
    icd_folder: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="ICD-10-CM index files, for medical words (default: beside FOLDER).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Compile the name and place lists into the data dir for `deid text` and exports."""
    from chartkeeper.privacy.deid.gazetteer import build, gazetteer_path

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder", param_hint="FOLDER")
    if icd_folder is not None and not icd_folder.is_dir():
        raise typer.BadParameter(f"{icd_folder} is not a folder", param_hint="--icd-folder")
    with console.status("building the gazetteer (Census names against English frequencies)"):
        try:
            gaz = build(folder, icd_folder)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            console.print(f"[red]cannot build the gazetteer: {exc}[/red]")
            raise typer.Exit(1) from None
    target = gazetteer_path(settings_for(None, data_dir).data_dir)
    gaz.save(target)
    out.print(f"gazetteer written to {target}")
    for what, n in gaz.counts.items():
        out.print(f"  {what.replace('_', ' ')}: {n}")
