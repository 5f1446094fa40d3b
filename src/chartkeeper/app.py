"""Builds the one ASGI application: settings, store, sign-in, the FHIR API and its docs, and
the workbench (web UI) at `/`."""

from __future__ import annotations

import os

from fastapi import FastAPI

from chartkeeper import __version__, web
from chartkeeper.api import (
    admin,
    auth,
    bodies,
    bulk,
    capability,
    coding,
    coding_work,
    deficiencies,
    docs,
    fhir,
    merges,
    mpi,
    outcomes,
    paper,
    privacy,
    registry,
    roi,
)
from chartkeeper.config import Settings
from chartkeeper.interfaces.export_jobs import ExportWorker
from chartkeeper.privacy.access import UserGuard
from chartkeeper.privacy.audit import AuditKey, open_trail
from chartkeeper.privacy.users import User
from chartkeeper.quality.deficiencies import on_write as deficiency_check
from chartkeeper.store import Repository, open_store


def _guarded_for(app: FastAPI):
    def guarded(user: User, purpose: str, source: str | None) -> Repository:
        guard = UserGuard(
            app.state.repo.engine, app.state.audit_key, user, source=source, purpose=purpose
        )
        return app.state.repo.guarded(guard)

    return guarded


def create_app(
    settings: Settings | None = None,
    repo: Repository | None = None,
    *,
    requeue_jobs: bool = True,
) -> FastAPI:
    """The application. `requeue_jobs`: put export jobs a stopped server left running back
    in the queue (the one process of a server, or the parent of several; see worker_app)."""
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="chartkeeper",
        version=__version__,
        summary="Health information management over a FHIR R4 record store.",
        docs_url=None,  # api.docs serves /docs and /redoc with local assets (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    # Writes through the API re-evaluate chart deficiencies in the same transaction.
    app.state.repo = (repo or open_store(settings)).with_write_hook(deficiency_check)
    app.state.audit_key = AuditKey.load(settings.data_dir)
    open_trail(app.state.repo.engine, app.state.audit_key)  # a new store's head is sealed
    app.state.export_worker = ExportWorker(app.state.repo, _guarded_for(app))
    # Bulk Data jobs a restart interrupted run again
    app.state.export_worker.resume(requeue=requeue_jobs)
    outcomes.install(app)
    docs.install(app)
    app.add_middleware(bodies.BodyLimit, max_bytes=settings.max_request_mb * 1_048_576)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(capability.router)
    app.include_router(bulk.router)  # before fhir: `$export` paths must not read as ids
    app.include_router(privacy.router)  # before fhir: AuditEvent is not in the store
    app.include_router(merges.router)
    app.include_router(mpi.router)
    app.include_router(fhir.router)
    app.include_router(roi.router)
    app.include_router(deficiencies.router)
    app.include_router(coding.router)
    app.include_router(coding_work.router)
    app.include_router(registry.router)
    app.include_router(paper.router)
    web.install(app)  # the workbench at / (after the API: its error pages wrap the API's)
    return app


def worker_app() -> FastAPI:
    """One of several server processes (`chartkeeper serve --workers N`; uvicorn imports this
    factory in each): settings from the environment `serve` set up, the store already
    migrated and its jobs requeued by the parent, and its own warm-up, announced with a
    'ready:' line (a load test waits for one per process)."""
    settings = Settings.from_env()
    app = create_app(settings, requeue_jobs=False)

    web.warm_up(settings.data_dir, on_ready=announce_ready)
    return app


def announce_ready(seconds: float) -> None:
    """Say on stdout that a server process has finished its warm-up (a load test waits for
    one such line per process). One write of the whole line: several processes share the
    parent's stdout, and a line written in pieces can interleave with a sibling's."""
    line = f"ready: process {os.getpid()} loaded code sets and libraries in {seconds:.1f} s\n"
    os.write(1, line.encode())
