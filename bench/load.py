"""Load test: N clients against a real server on 127.0.0.1, then lost updates and the audit chain.

    python bench/load.py                                  # 16 clients, 60 s, both engines
    python bench/load.py --clients 4 --seconds 10         # a quick look
    python bench/load.py --engine sqlite --workers 1      # one engine, one server process
    python bench/load.py --engine postgresql --database-url postgresql+psycopg://postgres@127.0.0.1/test

For each engine the script starts `chartkeeper serve --workers N` (default: one process
per core) in a fresh data directory (for PostgreSQL: in a new database on that server,
dropped afterwards), waits until every process has finished its warm-up (code sets and
libraries, a one-off start-up cost), signs each client in, and runs a mix of
reads, searches, creates and If-Match updates for the given time. The updates all go to a
few shared counters (an Observation's value), read-modify-write with If-Match, retried on
412, so the clients really race: the final value of each counter must equal the number of
updates the server confirmed, else an update was lost. Then the server stops and
`chartkeeper audit verify` must find the chain intact.

Baseline, same clients and process: `GET /metadata` (no sign-in, no store) for a few
seconds; the ratio says what the store, sign-in and audit cost per request. The server's
CPU time per request (its processes' user + system time over the run, from /proc) is
printed too: unlike requests per second it hardly depends on what else the machine runs.
Requests only go to 127.0.0.1 and stop after --seconds. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

FHIR = {"Content-Type": "application/fhir+json"}
PASSWORD = "load test password 42"
MIX = (("read", 40), ("search", 20), ("create", 15), ("update", 25))


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    increments: Counter = field(default_factory=Counter)  # counter id -> confirmed updates


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chartkeeper.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


class Database:
    """The store for one run: SQLite in the data directory, or a new PostgreSQL database."""

    def __init__(self, engine: str, url: str | None):
        self.engine, self.base_url, self.name = engine, url, None

    def __enter__(self) -> str:
        if self.engine == "sqlite":
            return ""
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        self.name = f"ck_load_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return make_url(self.base_url).set(database=self.name).render_as_string(False)

    def __exit__(self, *exc) -> None:
        if self.name:
            from sqlalchemy import text

            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


def _start_server(env: dict, port: int, workers: int) -> subprocess.Popen:
    """`chartkeeper serve`, once it answers and its warm-up (code sets, libraries) is done:
    measured before that, the clients would share the CPU with a one-off start-up cost."""
    command = [sys.executable, "-m", "chartkeeper.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)] + (["--workers", str(workers)] if workers > 1 else [])
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = threading.Event()
    said: list[str] = []

    def drain(stream) -> None:  # an undrained pipe would stall the server once it fills
        for line in stream:
            said.append(line)
            if "".join(said).count("ready:") >= workers:  # one per process
                ready.set()

    for stream in (server.stdout, server.stderr):
        threading.Thread(target=drain, args=(stream,), daemon=True).start()
    deadline = time.monotonic() + 300  # a loaded shared machine starts Python slowly
    while time.monotonic() < deadline:
        if server.poll() is not None:
            time.sleep(0.2)
            raise SystemExit(f"the server did not start: {''.join(said)[-2000:]}")
        if ready.wait(0.2):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=5).is_success:
                    return server
            except httpx.HTTPError:
                pass
    server.terminate()
    raise SystemExit("the server was not ready within 300 s")


def _sign_in(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base}/auth/token", data={"username": username, "password": PASSWORD}, timeout=30
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _seed(base: str, headers: dict, patients: int, counters: int) -> tuple[list[str], list[str]]:
    with httpx.Client(base_url=base, headers=headers | FHIR, timeout=60) as client:
        pids = []
        for i in range(patients):
            body = {
                "resourceType": "Patient",
                "name": [{"family": f"Loadtest{i % 10}", "given": [f"P{i}"]}],
                "gender": "female" if i % 2 else "male",
                "birthDate": f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
            }
            answer = client.post("/fhir/Patient", json=body)
            answer.raise_for_status()
            pids.append(answer.json()["id"])
        cids = []
        for i in range(counters):
            answer = client.post("/fhir/Observation", json=_counter(pids[i % len(pids)], 0))
            answer.raise_for_status()
            cids.append(answer.json()["id"])
    return pids, cids


def _counter(patient_id: str, value: int, oid: str | None = None) -> dict:
    res = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "load-test counter"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueQuantity": {"value": value},
    }
    return res | {"id": oid} if oid else res


def _client_loop(base, headers, pids, cids, until, seed: int, tally: Tally, lock) -> None:
    rng = random.Random(seed)
    kinds = [k for k, weight in MIX for _ in range(weight)]
    local = Tally()
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:

        def call(kind, method, url, ok=(200, 201), **kw):
            started = time.perf_counter()
            try:
                answer = client.request(method, url, **kw)
            except httpx.HTTPError as exc:
                local.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                return None
            local.latencies.append(time.perf_counter() - started)
            local.kinds[kind] += 1
            local.statuses[answer.status_code] += 1
            if answer.status_code not in ok:
                local.errors.append(
                    f"{kind} {method} {url}: {answer.status_code} {answer.text[:200]}"
                )
                return None
            return answer

        while time.monotonic() < until:
            kind = rng.choice(kinds)
            if kind == "read":
                call(kind, "GET", f"/fhir/Patient/{rng.choice(pids)}")
            elif kind == "search":
                call(kind, "GET", f"/fhir/Patient?family=Loadtest{rng.randrange(10)}&_count=10")
            elif kind == "create":
                body = {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "heart rate"},
                    "subject": {"reference": f"Patient/{rng.choice(pids)}"},
                    "valueQuantity": {"value": rng.randrange(50, 120), "unit": "/min"},
                }
                call(kind, "POST", "/fhir/Observation", json=body, headers=FHIR)
            else:
                oid = rng.choice(cids)
                current = call(kind, "GET", f"/fhir/Observation/{oid}")
                if current is None:
                    continue
                res = current.json()
                res["valueQuantity"]["value"] += 1
                answer = call(
                    kind,
                    "PUT",
                    f"/fhir/Observation/{oid}",
                    ok=(200, 412),
                    json=res,
                    headers=FHIR | {"If-Match": current.headers["ETag"]},
                )
                if answer is not None and answer.status_code == 412:
                    local.conflicts += 1  # another client won the race: expected, not an error
                elif answer is not None:
                    local.increments[oid] += 1
    with lock:
        tally.latencies += local.latencies
        tally.kinds.update(local.kinds)
        tally.statuses.update(local.statuses)
        tally.errors += local.errors
        tally.conflicts += local.conflicts
        tally.increments.update(local.increments)


def _baseline(base: str, clients: int, seconds: float) -> float:
    """Requests per second of `GET /fhir/metadata` with the same clients: no store, no sign-in."""
    count = [0] * clients
    until = time.monotonic() + seconds

    def loop(i: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while time.monotonic() < until:
                if client.get("/fhir/metadata").status_code == 200:
                    count[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(count) / (time.monotonic() - started)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CHARTKEEPER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to make a database on (dropped afterwards)",
    )
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--counters", type=int, default=4, help="shared If-Match targets")
    parser.add_argument("--baseline-seconds", type=float, default=5)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes (serve --workers)",
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 256 and 0 < args.seconds <= 3600 and 1 <= args.workers <= 64):
        parser.error("--clients 1-256, --seconds up to 3600, --workers 1-64")
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    results = [_measure(args, engine) for engine in engines]
    for result in results:
        _report(args, result)
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} (1 min) on {os.cpu_count()} cores")
    summary = results[0] if len(results) == 1 else {"engines": results}
    print(json.dumps({**summary, "workers": args.workers, "load_average": round(load, 2)}))
    ok = all(
        r["errors"] == 0 and r["lost_updates"] == 0 and r["audit_chain_verified"] for r in results
    )
    raise SystemExit(0 if ok else 1)


def _measure(args, engine: str) -> dict:
    """One engine: a fresh store, a server on it, the load, then the audit chain verified."""
    data_dir = Path(tempfile.mkdtemp(prefix="ck-load-"))
    try:
        with Database(engine, args.database_url) as url:
            env = dict(os.environ, CHARTKEEPER_DATA_DIR=str(data_dir))
            env["CHARTKEEPER_DATABASE_URL"] = url
            env["CHARTKEEPER_NEW_PASSWORD"] = PASSWORD
            added = _cli("user", "add", "loadtest", "--role", "him", env=env)
            if added.returncode:
                raise SystemExit(f"could not add the load-test user: {added.stderr}")
            port = _free_port()
            server = _start_server(env, port, args.workers)
            try:
                result = _run(args, f"http://127.0.0.1:{port}", server.pid)
            finally:
                server.terminate()
                server.wait(30)
            verify = _cli("audit", "verify", env=env)
            result["audit_chain_verified"] = verify.returncode == 0
            if verify.returncode:
                print(verify.stdout[-2000:], verify.stderr[-2000:])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"engine": engine, **result}


def _cpu_seconds(root: int) -> float | None:
    """CPU time (user + system) used so far by a process and its descendants (Linux /proc;
    None elsewhere): the server's cost per request, whatever else the machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        stats[int(entry.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    if root not in stats:
        return None
    total, tree = 0.0, {root}
    for _ in range(4):  # the server, its worker processes and theirs
        tree |= {pid for pid, (ppid, _cpu) in stats.items() if ppid in tree}
    for pid in tree:
        total += stats[pid][1]
    return total


def _run(args, base: str, server_pid: int) -> dict:
    headers = _sign_in(base, "loadtest")
    pids, cids = _seed(base, headers, args.patients, args.counters)
    baseline = _baseline(base, args.clients, args.baseline_seconds)
    tally, lock = Tally(), threading.Lock()
    tokens = [_sign_in(base, "loadtest") for _ in range(args.clients)]  # before the clock
    until = time.monotonic() + args.seconds
    threads = [
        threading.Thread(
            target=_client_loop,
            args=(base, tokens[i], pids, cids, until, args.seed + i, tally, lock),
        )
        for i in range(args.clients)
    ]
    server_cpu, client_cpu = _cpu_seconds(server_pid), time.process_time()
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    client_cpu = time.process_time() - client_cpu
    server_after = _cpu_seconds(server_pid)
    server_cpu = server_after - server_cpu if server_cpu is not None and server_after else None
    lost = 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for oid in cids:
            res = client.get(f"/fhir/Observation/{oid}").json()
            value, version = res["valueQuantity"]["value"], int(res["meta"]["versionId"])
            confirmed = tally.increments[oid]
            lost += abs(confirmed - value) + abs((confirmed + 1) - version)
    requests = len(tally.latencies)
    return {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "req_per_s": round(requests / elapsed, 1),
        "baseline_metadata_req_per_s": round(baseline, 1),
        "ratio_to_baseline": round((requests / elapsed) / baseline, 3) if baseline else None,
        "p50_ms": round(_pct(tally.latencies, 0.50), 1),
        "p95_ms": round(_pct(tally.latencies, 0.95), 1),
        "p99_ms": round(_pct(tally.latencies, 0.99), 1),
        "mean_ms": round(statistics.fmean(tally.latencies) * 1000, 1) if requests else 0,
        "server_cpu_ms_per_request": (
            round(server_cpu / requests * 1000, 2) if requests and server_cpu is not None else None
        ),
        "client_cpu_ms_per_request": round(client_cpu / requests * 1000, 2) if requests else None,
        "by_kind": dict(tally.kinds),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": len(tally.errors),
        "first_errors": tally.errors[:5],
        "if_match_conflicts_412": tally.conflicts,
        "confirmed_updates": sum(tally.increments.values()),
        "lost_updates": lost,
    }


def _report(args, r: dict) -> None:
    print(
        f"engine {r['engine']}, {r['clients']} clients, {args.workers} server processes, "
        f"{r['seconds']} s on 127.0.0.1"
    )
    print(f"  requests        {r['requests']}  ({r['req_per_s']} req/s)  {r['by_kind']}")
    print(
        f"  baseline        GET /fhir/metadata {r['baseline_metadata_req_per_s']} req/s; "
        f"ratio {r['ratio_to_baseline']}"
    )
    print(f"  latency         p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms")
    print(
        f"  server CPU      {r['server_cpu_ms_per_request']} ms a request "
        f"(the clients: {r['client_cpu_ms_per_request']} ms)"
    )
    print(f"  errors          {r['errors']}  {r['first_errors'][:2]}")
    print(
        f"  If-Match        {r['confirmed_updates']} confirmed, {r['if_match_conflicts_412']} "
        f"refused as stale (412), lost updates: {r['lost_updates']}"
    )
    print(f"  audit verify    {'intact' if r['audit_chain_verified'] else 'BROKEN'}")


if __name__ == "__main__":
    main()
