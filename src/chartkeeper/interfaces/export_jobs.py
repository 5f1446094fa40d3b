"""Bulk Data export jobs: asked for by the API, stored as rows, run by a worker.

`submit` records a job (queued); `ExportWorker` is a thread that claims queued jobs one at
a time and runs the same `export_ndjson` the CLI uses, through a Repository guarded as
the job's owner (so labels they may not see stay out and the export is audited as
theirs), writing its progress to the row. A server that stops mid-export loses nothing:
`ExportWorker.start` first puts jobs left running back in the queue, and they run again.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chartkeeper.fhir.search_params import utc_now
from chartkeeper.interfaces.export import export_ndjson
from chartkeeper.privacy import policy
from chartkeeper.privacy.users import User
from chartkeeper.store import Repository
from chartkeeper.store import export_jobs as store

log = logging.getLogger(__name__)
PROGRESS_EVERY = 500  # resources between progress updates of the row

# Builds the owner's guarded Repository: (user, purpose, source) -> Repository.
GuardedFor = Callable[[User, str, str | None], Repository]


@dataclass
class ExportJob:
    id: str
    owner: str
    request_url: str
    folder: Path
    transaction_time: str
    status: str
    exported: int
    counts: dict[str, int]
    error: str | None

    @property
    def done(self) -> bool:
        return self.status in ("done", "failed")


def _job(row) -> ExportJob:
    return ExportJob(
        row.id,
        row.owner,
        row.request_url,
        Path(row.folder),
        row.transaction_time,
        row.status,
        row.exported,
        json.loads(row.counts) if row.counts else {},
        row.error,
    )


def submit(
    repo: Repository,
    user: User,
    *,
    request_url: str,
    exports_dir: Path,
    types: list[str],
    since: str | None,
    patient_compartment: bool,
    purpose: str = "TREAT",
    source: str | None = None,
) -> ExportJob:
    job_id = uuid.uuid4().hex
    with repo.trusted().transaction() as tx:
        store.add_job(
            tx,
            id=job_id,
            owner=user.username,
            role=user.role,
            purpose=purpose[:32],
            source=(source or "")[:64] or None,
            request_url=request_url,
            folder=str(exports_dir / job_id),
            types=json.dumps(types),
            since=since,
            patient_compartment=patient_compartment,
            transaction_time=utc_now(),
            status="queued",
            exported=0,
        )
        return _job(store.get_job(tx, job_id))


def get_job(repo: Repository, job_id: str) -> ExportJob | None:
    with repo.trusted().reading() as tx:
        row = store.get_job(tx, job_id)
    return _job(row) if row else None


def cancel(repo: Repository, job_id: str) -> None:
    """Forget a job and remove its files (a running one finishes into nothing)."""
    with repo.trusted().transaction() as tx:
        row = store.get_job(tx, job_id)
        store.delete_job(tx, job_id)
    if row:
        shutil.rmtree(row.folder, ignore_errors=True)


def run_one(repo: Repository, guarded_for: GuardedFor) -> bool:
    """Claim and run the oldest queued job; False when there was none."""
    trusted = repo.trusted()
    with trusted.transaction() as tx:
        row = store.next_queued(tx)
        if row is None or not store.claim(tx, row.id):
            return row is not None
    user = User(row.owner, row.role)
    folder = Path(row.folder)
    shutil.rmtree(folder, ignore_errors=True)  # a rerun after a restart starts afresh
    written = 0

    def tick() -> None:
        nonlocal written
        written += 1
        if written % PROGRESS_EVERY == 0:
            with trusted.transaction() as tx:
                store.update_job(tx, row.id, exported=written)

    try:
        with trusted.reading() as tx:
            present = tx.resource_types()
        wanted = json.loads(row.types) or [t for t in present if policy.allows(user, "export", t)]
        counts = export_ndjson(
            guarded_for(user, row.purpose, row.source),
            folder,
            wanted,
            tick,
            since=row.since,
            patient_compartment=row.patient_compartment,
        )
        outcome = {"status": "done", "counts": json.dumps(counts), "exported": written}
    except Exception as exc:  # the status URL reports it; the worker keeps running
        log.exception("export job %s failed", row.id)
        outcome = {"status": "failed", "error": str(exc), "exported": written}
    with trusted.transaction() as tx:
        if store.get_job(tx, row.id) is not None:  # not cancelled meanwhile
            store.update_job(tx, row.id, finished=utc_now(), **outcome)
    return True


def requeue_interrupted(repo: Repository) -> int:
    """Put the export jobs a stopped server left running back in the queue."""
    with repo.trusted().transaction() as tx:
        requeued = store.requeue_running(tx)
    if requeued:
        log.info("%d export jobs interrupted by a restart are queued again", requeued)
    return requeued


class ExportWorker:
    """A daemon thread that runs queued export jobs; `wake()` after a submit."""

    def __init__(self, repo: Repository, guarded_for: GuardedFor):
        self.repo, self.guarded_for = repo, guarded_for
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def resume(self, requeue: bool = True) -> None:
        """On opening the store: jobs a stopped server left running are queued again, and
        the thread starts if anything is queued (otherwise at the first `wake`).
        `requeue=False` for the second and later processes of one server: the first did
        it, and a job another process has since claimed is running, not interrupted."""
        if requeue:
            requeue_interrupted(self.repo)
        with self.repo.trusted().transaction() as tx:
            pending = store.next_queued(tx) is not None
        if pending:
            self.wake()

    def wake(self) -> None:
        with self._lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="export-worker", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        """Run jobs while there are any; with nothing queued the thread ends (the next
        `wake` starts another), so an idle server polls nothing."""
        while not self._stop.is_set():
            self._wake.clear()
            try:
                worked = run_one(self.repo, self.guarded_for)
            except Exception:  # a database hiccup: the job stays queued for the next wake
                log.exception("export worker")
                worked = False
            if worked:
                continue
            with self._lock:
                if not self._wake.is_set():
                    self._thread = None
                    return
