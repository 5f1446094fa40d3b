"""Follow-up: the annual follow-up due list and lost-to-follow-up rates.

Commission on Cancer (Optimal Resources for Cancer Care, 2020 standards 6.4 "Rapid Cancer
Reporting"/follow-up; formerly standards 1.12/5.x): the registry follows every analytic
case (class of case 10-22) for life; a patient is followed when the registry has a
contact, or knows of the death, within the last 15 months. Targets: at least 80% of all
analytic cases diagnosed since the registry's reference date, and at least 90% of those
diagnosed in the last five years.

Last contact is the latest of any encounter of the patient (start or end) and the abstract's
Date of Last Contact; vital status comes from Patient.deceased[x].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from chartkeeper.registry import casefinding
from chartkeeper.store import Repository
from chartkeeper.store import registry as tables

ANALYTIC = {f"{c:02d}" for c in range(0, 23)} - {"30", "31", "32"}
FOLLOWED_WITHIN = timedelta(days=456)  # 15 months
DUE_AFTER = timedelta(days=365)


@dataclass
class FollowUp:
    case_id: int
    patient_id: str
    patient_name: str | None
    mrn: str | None
    primary_site: str | None
    diagnosis_date: str | None
    last_contact: str | None
    vital_status: str  # alive | dead
    due: bool
    lost: bool
    days_since_contact: int | None

    def as_json(self) -> dict:
        return asdict(self)


def _latest(values) -> str | None:
    found = [v[:10] for v in values if v]
    return max(found) if found else None


def status(repo: Repository, *, today: date | None = None) -> list[FollowUp]:
    """Every analytic case that is being abstracted or complete, with its follow-up state."""
    today = today or date.today()
    with repo.reading() as tx:
        cases = tables.list_cases(tx, status=("abstracting", "complete"))
    rows = []
    for case in cases:
        items = case["items"]
        if items.get("classOfCase", "10") not in ANALYTIC:
            continue
        pid = case["patient_id"]
        try:
            patient = repo.read("Patient", pid)
        except Exception:  # a patient merged away or not visible: follow-up cannot be shown
            continue
        encounters = casefinding._all(repo, "Encounter", [("patient", f"Patient/{pid}")])
        death = patient.get("deceasedDateTime")
        dead = bool(death or patient.get("deceasedBoolean"))
        from_abstract = items.get("dateOfLastContact")
        if from_abstract and len(from_abstract) == 8:
            from_abstract = f"{from_abstract[:4]}-{from_abstract[4:6]}-{from_abstract[6:]}"
        last = _latest(
            [
                *[
                    (e.get("period") or {}).get("end") or (e.get("period") or {}).get("start")
                    for e in encounters
                ],
                death,
                from_abstract,
            ]
        )
        since = (today - date.fromisoformat(last)).days if last else None
        lost = not dead and (since is None or since > FOLLOWED_WITHIN.days)
        due = not dead and (since is None or since >= DUE_AFTER.days)
        who = casefinding.patient_summary(patient)
        rows.append(
            FollowUp(
                case["id"],
                pid,
                who["patient_name"],
                who["mrn"],
                case["primary_site"],
                case["diagnosis_date"],
                last,
                "dead" if dead else "alive",
                due,
                lost,
                since,
            )
        )
    return rows


def due_list(repo: Repository, *, today: date | None = None) -> list[FollowUp]:
    """Living patients with no contact for a year or more, longest without contact first."""
    return sorted(
        (r for r in status(repo, today=today) if r.due),
        key=lambda r: (-(r.days_since_contact or 10**6), r.case_id),
    )


def rates(
    repo: Repository, *, today: date | None = None, reference_date: date | None = None
) -> dict:
    """Followed rates against the CoC targets (80% all analytic, 90% last five years)."""
    today = today or date.today()
    rows = [
        r
        for r in status(repo, today=today)
        if r.diagnosis_date
        and (reference_date is None or r.diagnosis_date >= reference_date.isoformat())
    ]
    # Cases diagnosed in the last year are not yet due their first follow-up.
    eligible = [r for r in rows if r.diagnosis_date <= (today - DUE_AFTER).isoformat()]
    recent = [
        r for r in eligible if r.diagnosis_date >= (today - timedelta(days=5 * 365 + 1)).isoformat()
    ]

    def rate(group: list[FollowUp]) -> float | None:
        return round(sum(not r.lost for r in group) / len(group), 4) if group else None

    all_rate, recent_rate = rate(eligible), rate(recent)
    return {
        "today": today.isoformat(),
        "analytic_cases": len(eligible),
        "followed": sum(not r.lost for r in eligible),
        "lost": sum(r.lost for r in eligible),
        "followed_rate": all_rate,
        "meets_80_percent_standard": None if all_rate is None else all_rate >= 0.80,
        "last_5_years_cases": len(recent),
        "last_5_years_followed_rate": recent_rate,
        "meets_90_percent_standard": None if recent_rate is None else recent_rate >= 0.90,
    }
