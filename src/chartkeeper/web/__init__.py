"""The workbench: the web UI HIM technicians, coders, privacy officers and administrators
work in all day, served at `/` beside the FHIR API.

Server-rendered Jinja2 pages, progressively enhanced with htmx (shipped as package data by
the `django-js-lib-htmx` wheel, 0BSD; nothing is fetched at run time), and usable without
JavaScript. Every page is a thin view over the same domain functions the API and the CLI
call, through the same guarded store (`session.store`), so the workbench has no access rule
of its own: who may work a worklist is `policy.WORKLISTS`, what a role may read is
`policy.POLICY` and the sensitivity labels, and every access is audited by the store.

Modules: `session` (sign-in cookie, CSRF, guarded store), `render` (templates, security
headers, naming people), `home` (sign-in, sign-out, the home page per role), `chart`
(patient search and chart view), `him` (deficiencies, patient index, release of
information, amendments), `coder` (coding queue and screen, queries, DNFB, productivity),
`oversight` (access and break-the-glass reports, audit chain, users). Registrar screens
(casefinding, abstracting, follow-up, survival, NAACCR export) are `registry`, at
/registrar (the API owns /registry).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from chartkeeper.errors import ChartkeeperError

from . import chart, coder, him, home, oversight
from . import paper as fileroom
from . import registry as registrar
from .render import redirect, render
from .session import CsrfRefused, SignInRequired

# Paths the workbench owns; everything else (/fhir, /auth, /docs, the work APIs) keeps the
# API's OperationOutcome errors.
log = logging.getLogger("chartkeeper.web")
WEB_PREFIXES = (
    "/chart",
    "/him",
    "/coder",
    "/privacy",
    "/admin",
    "/registrar",
    "/fileroom",
    "/home",
    "/signin",
    "/signout",
    "/static",
)


def warm_up(data_dir, on_ready: Callable[[float], None] | None = None) -> threading.Thread:
    """Parse the ICD-10-CM code set and load the encoder's index in the background, so the
    first coder to open a coding screen after `chartkeeper serve` does not wait for it;
    then import the survival and plotting libraries (lifelines with pandas and scipy take
    about 1.5 s), so the registrar's first survival page does not wait either.
    `on_ready(seconds)` is called when all of that is done (a load test waits for it:
    until then the server shares its CPU with the warm-up)."""

    def work() -> None:
        started = time.perf_counter()
        from chartkeeper.coding import codesets, search

        try:
            search.index_for(codesets.load(data_dir=data_dir), data_dir)
        except Exception:  # a missing code set is reported where it is used, not here
            log.warning("code sets could not be loaded ahead of use", exc_info=True)
        import lifelines  # noqa: F401
        import matplotlib.backends.backend_agg  # noqa: F401

        if on_ready:
            on_ready(time.perf_counter() - started)

    thread = threading.Thread(target=work, name="chartkeeper-warm-up", daemon=True)
    thread.start()
    return thread


def is_web(request: Request) -> bool:
    path = request.url.path
    return path == "/" or path.startswith(WEB_PREFIXES)


def install(app: FastAPI) -> None:
    """Mount the workbench on `app` and answer its errors as pages, not JSON."""
    for module in (home, chart, him, coder, oversight, registrar, fileroom):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired):
        if request.method == "GET" and not request.headers.get("HX-Request"):
            return redirect("/signin" + ("?expired=1" if exc.message else ""))
        response = render(request, "signin.html", status_code=401, message="Sign in again.")
        response.headers["HX-Redirect"] = "/signin"
        return response

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _exc: CsrfRefused):
        return render(
            request,
            "error.html",
            status_code=403,
            title="Form refused",
            message="The form was not sent from this workbench (its security token is "
            "missing or stale). Go back, reload the page and try again.",
        )

    previous = {
        kind: app.exception_handlers[kind]
        for kind in (ChartkeeperError, HTTPException, RequestValidationError)
        if kind in app.exception_handlers
    }

    def page_or_api(kind):
        async def handler(request: Request, exc: Exception):
            if not is_web(request) and kind in previous:
                return await previous[kind](request, exc)
            status, message = _status_and_message(exc)
            return render(
                request,
                "error.html",
                status_code=status,
                title=_TITLES.get(status, "Not done"),
                message=message,
            )

        return handler

    for kind in (ChartkeeperError, HTTPException, RequestValidationError):
        app.add_exception_handler(kind, page_or_api(kind))


_TITLES = {
    400: "Check the form",
    401: "Sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Not done",
    410: "Gone",
    422: "Not done",
}


def _status_and_message(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ChartkeeperError):
        return exc.http_status, exc.message
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, RequestValidationError):
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors()[:5])
        return 400, f"The form is incomplete or malformed ({fields})."
    return 500, "Something went wrong."
