"""`kill -9` in the middle of a bundle import and of an HL7 v2 stream leaves nothing
half-written and loses nothing: every unit (a bundle, a message with its log row) is all
there or not at all, and running the same input again completes it. On both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from chartkeeper.store import Repository
from chartkeeper.store.engine import make_engine, upgrade

BUNDLES = 400  # enough that a loaded machine cannot finish before the kill
OBSERVATIONS = 6  # per bundle, each pointing at the bundle's patient
MESSAGES = 400
CLI = [sys.executable, "-c", "from chartkeeper.cli import main; main()"]


def _bundle(n: int) -> dict:
    patient = {"resourceType": "Patient", "id": f"kp{n}", "name": [{"family": f"Kill{n}"}]}
    entries = [patient] + [
        {
            "resourceType": "Observation",
            "id": f"kp{n}-o{k}",
            "status": "final",
            "code": {"text": f"reading {k}"},
            "subject": {"reference": f"Patient/kp{n}"},
            "valueQuantity": {"value": k, "unit": "mm[Hg]"},
        }
        for k in range(OBSERVATIONS)
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"{r['resourceType']}/{r['id']}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in entries
        ],
    }


def _adt(n: int) -> str:
    return (
        "\r".join(
            [
                f"MSH|^~\\&|ADT1|KILLTEST|CHARTKEEPER|CK|20240105083000||ADT^A04^ADT_A01|K{n}|P|2.5.1",
                "EVN|A04|20240105083000",
                f"PID|1||KMRN{n}^^^KILLTEST^MR||Stream^Kay{n}||19700101|F",
                f"PV1|1|O|||||||||||||||||KV{n}^^^KILLTEST^VN",
            ]
        )
        + "\r"
    )


def _live(repo: Repository, rtype: str) -> list[dict]:
    with repo.reading() as tx:
        return [json.loads(c) for c in tx.iter_content(rtype)]


def _run_and_kill(args: list[str], repo: Repository, rtype: str, at_least: int) -> None:
    """Start the CLI, wait until `at_least` resources of `rtype` are committed, kill -9."""
    proc = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(_live(repo, rtype)) >= at_least:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be killed: make it longer"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(60)


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield Repository(engine), database_url
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode",
    [["--no-bulk"], ["--bulk", "--bulk-batch", "14"]],  # bulk: two bundles per commit
    ids=["per-bundle", "bulk"],
)
def test_kill_during_bundle_import_leaves_whole_bundles_and_a_rerun_completes(
    store, tmp_path, mode
):
    repo, url = store
    folder = tmp_path / "bundles"
    folder.mkdir()
    for n in range(BUNDLES):
        (folder / f"b{n:04d}.json").write_text(json.dumps(_bundle(n)))
    args = ["import", str(folder), "--workers", "0", "--database-url", url, *mode]
    _run_and_kill([*args, "--data-dir", str(tmp_path / "d")], repo, "Patient", 5)

    patients = {p["id"] for p in _live(repo, "Patient")}
    assert 5 <= len(patients) < BUNDLES  # killed in the middle
    by_patient: dict[str, int] = {}
    for obs in _live(repo, "Observation"):
        pid = obs["subject"]["reference"].split("/")[1]
        by_patient[pid] = by_patient.get(pid, 0) + 1
    assert set(by_patient) == patients  # no bundle half-written
    assert set(by_patient.values()) == {OBSERVATIONS}

    done = subprocess.run(
        [*CLI, *args, "--data-dir", str(tmp_path / "d")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_live(repo, "Patient")) == BUNDLES
    assert len(_live(repo, "Observation")) == BUNDLES * OBSERVATIONS


@pytest.mark.slow
def test_kill_during_hl7_stream_leaves_whole_messages_and_a_resend_completes(store, tmp_path):
    repo, url = store
    stream = tmp_path / "adt.hl7"
    stream.write_text("".join(_adt(n) for n in range(MESSAGES)))
    args = ["hl7", "import", str(stream), "--database-url", url, "--data-dir", str(tmp_path / "d")]
    _run_and_kill(args, repo, "Patient", 5)

    from chartkeeper.store.hl7_log import logged_resources

    with repo.reading() as tx:
        logged = logged_resources(tx, ("ADT1", "KILLTEST"))
    patients = {p["id"] for p in _live(repo, "Patient")}
    assert 5 <= len(logged) < MESSAGES
    # Each logged message's resources are stored, and nothing is stored without its log row.
    written = {
        ref.split("/")[1] for refs in logged.values() for ref in refs if ref.startswith("Patient/")
    }
    assert written == patients

    again = subprocess.run([*CLI, *args], capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(_live(repo, "Patient")) == MESSAGES
    with repo.reading() as tx:
        assert len(logged_resources(tx, ("ADT1", "KILLTEST"))) == MESSAGES
