"""Workbench page times on the demo data, against the API answering the same question.

    python bench/web.py                    # the `make run` demo: 50 synthetic patients
    python bench/web.py --patients 200 --runs 7
    python bench/web.py --data-dir DIR     # a store you already have (users per role added)

Data: the synthetic demo set `make run` loads (`chartkeeper.synth`, seed 1): self-written,
there being no public data set of HIM worklists. Each page is requested in process
(FastAPI's TestClient, no network) `--runs` times after one warm-up; the median is reported
against the issue's target (300 ms) and, as the baseline in the same process, the median of
the JSON API route over the same domain function where there is one (the ratio says what
rendering a page costs over computing its answer). `first ms` is the page's first request
in the process (nothing remembered yet: the encoder's answers, a rendered plot), and the
"coding screen, new encounters" row opens a different encounter each time, as a coder
working down the queue does. The load average is printed beside the figures (the machine
is shared). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from chartkeeper.app import create_app
from chartkeeper.coding import workflow
from chartkeeper.config import Settings
from chartkeeper.demo import load_demo
from chartkeeper.errors import Conflict
from chartkeeper.privacy.users import ROLES, add_user
from chartkeeper.store import open_store
from chartkeeper.web import warm_up

PASSWORD = "bench password 12"
TARGET_MS = 300


def _timed(client: TestClient, method: str, url: str, **kw) -> float:
    start = time.perf_counter()
    answer = client.request(method, url, **kw)
    took = (time.perf_counter() - start) * 1000
    if answer.status_code >= 400:
        raise SystemExit(f"{method} {url}: {answer.status_code} {answer.text[:300]}")
    return took


def _median_ms(client: TestClient, method: str, url, runs: int, **kw) -> tuple[float, float]:
    """(first request, median of `runs` more). `url` may be a list: one URL per request."""
    urls = url if isinstance(url, list) else [url] * (runs + 1)
    first = _timed(client, method, urls[0], **kw)
    times = [_timed(client, method, u, **kw) for u in urls[1 : runs + 1]]
    return first, statistics.median(times)


def _sign_in(client: TestClient, role: str) -> tuple[str, dict]:
    form = client.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', form.text).group(1)
    user = f"bench-{role}"  # the bench's own accounts, beside any the store has
    home = client.post(
        "/signin", data={"username": user, "password": PASSWORD, "signin_token": token}
    )
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    bearer = client.post("/auth/token", data={"username": user, "password": PASSWORD}).json()
    return csrf, {"Authorization": f"Bearer {bearer['access_token']}"}


def _first_case(repo) -> str | None:
    """A registry case the demo made (its abstract editor is a page of its own)."""
    from chartkeeper.registry import casefinding

    found = casefinding.worklist(repo, None)  # every status
    return str(found[0]["id"]) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-web-"))
    settings = Settings(data_dir=data_dir)
    if not (data_dir / "demo-credentials.txt").exists():
        print(f"loading the demo ({args.patients} patients) into {data_dir} ...", file=sys.stderr)
        load_demo(settings, patients=args.patients)
    repo = open_store(settings)
    for role in ROLES:
        with contextlib.suppress(Conflict):
            add_user(repo.engine, f"bench-{role}", PASSWORD, role)
    warm_up(data_dir).join()  # as `chartkeeper serve` does before its first request
    patient = repo.search("Patient", [("_count", "1")]).resources[0]
    queue = workflow.queue(repo)
    inpatient = [i.encounter_id for i in queue if i.encounter_class == "IMP"]
    encounter = (inpatient or [queue[0].encounter_id])[0]
    # encounters not opened before in this process, one per request
    others = [i.encounter_id for i in queue if i.encounter_id != encounter]
    fresh, fresh_api = others[-(args.runs + 1) :], others[-2 * (args.runs + 1) : -(args.runs + 1)]
    mrn = next(
        i["value"] for i in patient["identifier"] if i.get("system", "").startswith("urn:oid")
    )
    case = _first_case(repo)
    repo.engine.dispose()

    app = create_app(settings)
    rows = []
    with TestClient(app, base_url="http://127.0.0.1") as client:
        pages = {
            "him": [
                ("home", "GET", "/", None),
                ("deficiency worklist", "GET", "/him/deficiencies", ("GET", "/deficiencies")),
                (
                    "deficiency ageing plot",
                    "GET",
                    "/him/deficiencies/ageing.png",
                    ("GET", "/deficiencies/ageing.png"),
                ),
                ("duplicate review queue", "GET", "/him/mpi", ("GET", "/mpi/reviews")),
                ("release of information", "GET", "/him/roi", ("GET", "/roi/requests")),
                (
                    "chart",
                    "GET",
                    f"/chart/{patient['id']}",
                    ("GET", f"/fhir/Patient/{patient['id']}/$everything"),
                ),
                (
                    "patient search (MRN)",
                    "POST",
                    "/chart/search",
                    ("GET", f"/fhir/Patient?identifier={mrn}"),
                ),
                ("chart locator", "GET", "/fileroom", None),
                ("indexing queue", "GET", "/fileroom/queue", None),
                ("retention and holds", "GET", "/fileroom/retention", None),
                ("amendments", "GET", "/him/amendments", None),
                ("merge history", "GET", f"/him/merges/{patient['id']}", None),
                ("accounting of disclosures", "GET", f"/him/accounting/{patient['id']}", None),
            ],
            "coder": [
                ("home", "GET", "/", None),
                ("coding queue", "GET", "/coder", ("GET", "/coding/queue")),
                (
                    "coding screen",
                    "GET",
                    f"/coder/encounters/{encounter}",
                    ("GET", f"/coding/encounters/{encounter}/suggestions"),
                ),
                (
                    "coding screen, new encounters",
                    "GET",
                    [f"/coder/encounters/{e}" for e in fresh],
                    ("GET", [f"/coding/encounters/{e}/suggestions" for e in fresh_api]),
                ),
                ("DNFB and productivity", "GET", "/coder/dnfb", ("GET", "/coding/dnfb")),
                ("productivity plot", "GET", "/coder/productivity.png", None),
                ("physician queries", "GET", "/coder/queries", None),
            ],
            "registrar": [
                ("home", "GET", "/", None),
                ("casefinding", "GET", "/registrar", None),
                ("cases", "GET", "/registrar/cases", None),
                ("abstract editor", "GET", f"/registrar/cases/{case}" if case else None, None),
                ("follow-up", "GET", "/registrar/followup", None),
                ("survival", "GET", "/registrar/survival", None),
                ("survival plot", "GET", "/registrar/survival.png", None),
                ("NAACCR export", "GET", "/registrar/export", None),
            ],
            "auditor": [
                ("privacy and audit", "GET", "/privacy", ("GET", "/fhir/AuditEvent?_count=50")),
                ("access report", "GET", f"/privacy/access/{patient['id']}", None),
                ("break-the-glass report", "GET", "/privacy/break-glass", None),
            ],
            "admin": [("users and roles", "GET", "/admin/users", ("GET", "/accounts"))],
        }
        for role, items in pages.items():
            client.cookies.clear()
            csrf, bearer = _sign_in(client, role)
            for name, method, url, api in items:
                if url is None:  # nothing of that kind in the store (no registry case)
                    continue
                kw = {"data": {"mrn": mrn, "csrf_token": csrf}} if method == "POST" else {}
                first_ms, page_ms = _median_ms(client, method, url, args.runs, **kw)
                api_ms = (
                    _median_ms(client, api[0], api[1], args.runs, headers=bearer)[1]
                    if api
                    else None
                )
                rows.append(
                    {
                        "role": role,
                        "page": name,
                        "first_ms": round(first_ms, 1),
                        "ms": round(page_ms, 1),
                        "api_ms": round(api_ms, 1) if api_ms else None,
                        "ratio": round(page_ms / api_ms, 2) if api_ms else None,
                        "under_target": page_ms < TARGET_MS,
                    }
                )
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"load average {load[0]} {load[1]} {load[2]} on {os.cpu_count()} cores")
    print(
        f"{'role':8} {'page':30} {'first ms':>9} {'median ms':>10} {'API ms':>8} {'ratio':>6}"
        f"  < {TARGET_MS} ms"
    )
    for r in rows:
        api = f"{r['api_ms']:.1f}" if r["api_ms"] else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "-"
        print(
            f"{r['role']:8} {r['page']:30} {r['first_ms']:9.1f} {r['ms']:10.1f} {api:>8}"
            f" {ratio:>6}  {'yes' if r['under_target'] else 'NO'}"
        )
    print(
        json.dumps(
            {
                "bench": "web",
                "data": f"chartkeeper demo, {args.patients} synthetic patients (self-written)",
                "runs": args.runs,
                "load_average": load,
                "target_ms": TARGET_MS,
                "pages_under_target": sum(r["under_target"] for r in rows),
                "pages": len(rows),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
