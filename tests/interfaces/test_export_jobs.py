"""Bulk Data export jobs are rows: one asked for before a restart (or left running by a
server that stopped) is run by the next server's worker."""

from __future__ import annotations

import time

from chartkeeper.interfaces import export_jobs
from chartkeeper.privacy import audit
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.users import User
from chartkeeper.store import export_jobs as rows

KEY = audit.AuditKey(b"test key, not a secret")


def _guarded(repo):
    def guarded(user, purpose, source):
        return repo.guarded(UserGuard(repo.engine, KEY, user, source=source, purpose=purpose))

    return guarded


def _wait(repo, job_id: str) -> export_jobs.ExportJob:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = export_jobs.get_job(repo, job_id)
        if job.done:
            return job
        time.sleep(0.1)
    raise AssertionError("the export job never finished")


def test_a_job_survives_a_restart_and_runs_once(repo, tmp_path):
    audit.open_trail(repo.engine, KEY)
    for n in range(3):
        repo.update({"resourceType": "Patient", "id": f"x{n}"})
    asked = dict(request_url="/fhir/$export", exports_dir=tmp_path, since=None)
    user = User("clerk", "him")
    first = export_jobs.submit(repo, user, types=["Patient"], patient_compartment=False, **asked)
    second = export_jobs.submit(repo, user, types=[], patient_compartment=False, **asked)
    with repo.transaction() as tx:  # the server stopped while running the second one
        assert rows.claim(tx, second.id)
    assert export_jobs.get_job(repo, first.id).status == "queued"

    worker = export_jobs.ExportWorker(repo, _guarded(repo))
    worker.resume()  # as a new server does on start
    try:
        for job_id in (first.id, second.id):
            job = _wait(repo, job_id)
            assert job.status == "done" and job.counts == {"Patient": 3}, job.error
            assert len((job.folder / "Patient.ndjson").read_text().splitlines()) == 3
    finally:
        worker.stop()
    exports = [r for r in audit.entries(repo.engine) if r["action"] == "export"]
    assert {r["username"] for r in exports} == {"clerk"} and len(exports) == 2


def test_a_second_server_process_leaves_a_running_job_alone(repo, tmp_path):
    """`serve --workers N`: the parent requeues once; a process starting beside one that is
    running a job (resume(requeue=False)) must not put that job back in the queue."""
    audit.open_trail(repo.engine, KEY)
    repo.update({"resourceType": "Patient", "id": "y0"})
    asked = dict(request_url="/fhir/$export", exports_dir=tmp_path, since=None)
    job = export_jobs.submit(
        repo, User("clerk", "him"), types=["Patient"], patient_compartment=False, **asked
    )
    with repo.transaction() as tx:  # a sibling process claimed it and is running it
        assert rows.claim(tx, job.id)

    sibling = export_jobs.ExportWorker(repo, _guarded(repo))
    sibling.resume(requeue=False)
    try:
        assert export_jobs.get_job(repo, job.id).status == "running"
    finally:
        sibling.stop()
    # the parent of the next start does requeue it: the process running it is gone then
    assert export_jobs.requeue_interrupted(repo) == 1
    assert export_jobs.get_job(repo, job.id).status == "queued"
