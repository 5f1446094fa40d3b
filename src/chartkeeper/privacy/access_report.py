"""The patient's access report: who saw or changed this patient's records, when and why,
naming only this patient's records.

One audit row can concern several patients (a search that listed many, an export, a
merge): the row belongs in each patient's report, but what it says about the others does
not. So each row keeps, of the records it names, those in this patient's chart (the
Patient itself and every stored resource that refers to it), counts the rest without
naming them, and withholds a detail written about several patients at once.
"""

from __future__ import annotations

import json

from chartkeeper.privacy.audit import entries
from chartkeeper.store import Repository
from chartkeeper.store.search import referencing


def patient_access_report(
    repo: Repository, patient_id: str, *, since: str | None = None, limit: int = 100_000
) -> list[dict]:
    """The audit rows about one patient, newest first, narrowed to that patient's records.
    Each row gains `others`: how many records of other patients it named."""
    rows = entries(repo.engine, patient=patient_id, since=since, limit=limit)
    with repo.trusted().reading() as tx:
        chart = {f"{t}/{i}" for t, i in referencing(tx, "Patient", patient_id)}
    chart.add(f"Patient/{patient_id}")
    report = []
    for row in rows:
        named = json.loads(row["resources"])
        mine = [r for r in named if r in chart]
        patients = json.loads(row["patients"])
        narrowed = {**row, "resources": json.dumps(mine), "others": len(named) - len(mine)}
        if any(p != patient_id for p in patients):
            narrowed["patients"] = json.dumps([patient_id])
            narrowed["detail"] = "(about several patients: detail withheld)"
        report.append(narrowed)
    return report
