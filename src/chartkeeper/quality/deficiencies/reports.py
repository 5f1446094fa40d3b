"""Numbers for the HIM department: deficiency ageing, delinquent records, completeness.

- Ageing: open deficiencies by days open (0-7, 8-14, 15-30, >30) and severity.
- Delinquent records: encounters with an open deficiency more than 30 days after discharge.
  CMS requires the record completed within 30 days of discharge (42 CFR 482.24(c)(4)(viii));
  The Joint Commission counts such records as delinquent (RC.01.04.01).
- Completeness: per chart and per provider, the share of the rules' checks that pass, from
  the counts stored at each chart's last evaluation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from chartkeeper.store import Repository
from chartkeeper.store import deficiencies as store

from .chart import instant
from .rules import SEVERITIES
from .worklist import Deficiency, list_deficiencies

BUCKETS = (("0-7", 0, 7), ("8-14", 8, 14), ("15-30", 15, 30), (">30", 31, None))
DELINQUENT_DAYS = 30


def bucket(days: int) -> str:
    return next(
        name for name, low, high in BUCKETS if days >= low and (high is None or days <= high)
    )


def _open(repo: Repository) -> list[Deficiency]:
    found, offset = [], 0
    while page := list_deficiencies(repo, status="open", limit=1000, offset=offset):
        found += page
        offset += len(page)
    return found


def ageing(repo: Repository, *, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """{severity: {bucket: count}} over open deficiencies, every bucket present."""
    now = now or datetime.now(UTC)
    table = {s: {name: 0 for name, _, _ in BUCKETS} for s in SEVERITIES}
    for d in _open(repo):
        table.setdefault(d.severity, {name: 0 for name, _, _ in BUCKETS})
        table[d.severity][bucket(d.age_days(now))] += 1
    return table


@dataclass
class DelinquentRecord:
    patient_id: str
    encounter_id: str
    discharged: str
    days_since_discharge: int
    deficiencies: list[int] = field(default_factory=list)  # ids
    rules: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)


def delinquent_records(
    repo: Repository, *, now: datetime | None = None, days: int = DELINQUENT_DAYS
) -> list[DelinquentRecord]:
    """Encounters discharged more than `days` ago that still have open deficiencies."""
    now = now or datetime.now(UTC)
    records: dict[str, DelinquentRecord] = {}
    for d in _open(repo):
        discharged = instant(d.discharged)
        if d.encounter_id is None or discharged is None or now - discharged <= timedelta(days=days):
            continue
        rec = records.setdefault(
            d.encounter_id,
            DelinquentRecord(d.patient_id, d.encounter_id, d.discharged, (now - discharged).days),
        )
        rec.deficiencies.append(d.id)
        rec.rules = sorted({*rec.rules, d.rule_id})
        rec.assignees = sorted({*rec.assignees, d.assignee or "unassigned"})
    return sorted(records.values(), key=lambda r: -r.days_since_discharge)


@dataclass
class Score:
    who: str  # a patient id or a Practitioner reference
    checked: int
    failed: int

    @property
    def score(self) -> float:
        return 1.0 if not self.checked else round((self.checked - self.failed) / self.checked, 4)

    def as_json(self) -> dict:
        return {**asdict(self), "score": self.score}


@dataclass
class Completeness:
    charts: list[Score]
    providers: list[Score]

    @property
    def overall(self) -> Score:
        return Score("all", sum(c.checked for c in self.charts), sum(c.failed for c in self.charts))

    def as_json(self) -> dict:
        return {
            "overall": self.overall.as_json(),
            "charts": [c.as_json() for c in self.charts],
            "providers": [p.as_json() for p in self.providers],
        }


def completeness(repo: Repository) -> Completeness:
    """Completeness per chart and per provider at each chart's last evaluation."""
    with repo.reading() as tx:
        rows = store.chart_counts(tx)
        tx.note("deficiency-report", [], "completeness")
    charts = [Score(r.patient_id, r.checked, r.failed) for r in rows]
    totals: dict[str, list[int]] = {}
    for r in rows:
        for who, (checked, failed) in orjson.loads(r.by_provider).items():
            t = totals.setdefault(who, [0, 0])
            t[0] += checked
            t[1] += failed
    providers = [Score(who, c, f) for who, (c, f) in sorted(totals.items())]
    return Completeness(charts, sorted(providers, key=lambda s: (s.score, s.who)))


def report(repo: Repository, *, now: datetime | None = None) -> dict:
    """The numbers of the HIM deficiency report, as JSON-ready data."""
    now = now or datetime.now(UTC)
    open_now = _open(repo)
    delinquent = delinquent_records(repo, now=now)
    with repo.reading() as tx:
        closed_by_rule = Counter(store.rule_ids(tx, "closed"))
    scores = completeness(repo)
    return {
        "as_of": now.isoformat(),
        "open": len(open_now),
        "open_by_rule": dict(sorted(Counter(d.rule_id for d in open_now).items())),
        "open_by_assignee": dict(
            sorted(Counter(d.assignee or "unassigned" for d in open_now).items())
        ),
        "closed_by_rule": dict(sorted(closed_by_rule.items())),
        "ageing": ageing(repo, now=now),
        "delinquent_records": len(delinquent),
        "delinquent": [asdict(r) for r in delinquent],
        "completeness": scores.overall.as_json(),
        "provider_completeness": [p.as_json() for p in scores.providers],
    }
