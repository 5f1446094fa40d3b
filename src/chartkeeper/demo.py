"""The demo data set `make run` loads: generated synthetic patients and a demo account.

The repository ships no patient data, not even synthetic: the demo is generated on first
use with a fixed seed, imported like any other bundles, scanned for chart deficiencies, and
given a `demo` user whose random password is written (readable by the owner only) beside
the database.

Loaded once: a store that holds any record already is left alone, so `make run` never
writes over what a user changed. `reset=True` (`chartkeeper demo --reset`, `make demo`)
imports the demo set again on purpose: each demo record changed since gets a new version
with its demo content back (the edits stay in its history); other records are untouched.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chartkeeper import synth
from chartkeeper.config import Settings
from chartkeeper.errors import Conflict
from chartkeeper.interfaces.bundles import ImportReport, import_paths
from chartkeeper.privacy.users import add_user
from chartkeeper.quality.deficiencies import scan
from chartkeeper.store import open_store

DEMO_USER = "demo"


@dataclass
class DemoSummary:
    bundles: Path
    report: ImportReport | None  # None: the store had records already and reset was not asked
    credentials: Path
    password: str


def _registry_cases(repo) -> None:
    """Casefinding over the demo, and its cases abstracted: those that pass every edit
    complete (so `registry export` has cases), the others left for the registrar."""
    from chartkeeper.errors import Conflict as EditsFail
    from chartkeeper.registry import abstract, casefinding

    casefinding.run(repo, by="demo-registrar")
    for case in casefinding.worklist(repo, "suspected"):
        casefinding.accept(repo, case["id"], by="demo-registrar")
        try:
            abstract.complete(repo, case["id"], by="demo-registrar")
        except EditsFail:
            continue


def load_demo(
    settings: Settings,
    *,
    patients: int = 50,
    seed: int = 1,
    on_progress: Callable[[str, int], None] | None = None,
    reset: bool = False,
) -> DemoSummary:
    folder = settings.data_dir / "demo"
    if not (folder / "facility.json").exists():
        synth.write(
            folder,
            patients,
            seed,
            on_progress=(lambda n: on_progress("generated", n)) if on_progress else None,
        )
    repo = open_store(settings)
    with repo.reading() as tx:
        loaded = bool(tx.resource_types())
    report = None
    if reset or not loaded:
        report = import_paths(
            repo,
            [folder],
            on_unit=(lambda _report: on_progress("imported", 1)) if on_progress else None,
        )
        scan(repo)  # so the deficiency worklist has the demo's documentation gaps on it
        _registry_cases(repo)
    credentials = settings.data_dir / "demo-credentials.txt"
    if credentials.exists():
        password = credentials.read_text().split(":", 1)[1].strip()
    else:
        password = secrets.token_urlsafe(12)
        try:
            add_user(repo.engine, DEMO_USER, password, "him")
        except Conflict:  # the account outlived its credentials file: give it up
            password = "(unknown: the demo user existed already)"
        credentials.touch(mode=0o600)
        credentials.write_text(f"{DEMO_USER}: {password}\n")
    repo.engine.dispose()
    return DemoSummary(folder, report, credentials, password)
