"""Evaluating charts against the rules and keeping the deficiency table in step.

The unit of evaluation is the patient's chart: every rule runs over it, and what the rules
find is reconciled with the stored deficiencies of that patient. A new finding opens a
deficiency assigned to the person the record names; an open deficiency the rules no longer
find closes by itself (`fixed`); a finding already fixed late (a discharge summary written
after its deadline) is recorded closed (`fixed-late`), so history and delinquency numbers
keep it.

Three ways in, one code path (`evaluate_chart`):
- `on_write(tx, written)` re-evaluates the charts a write touched, in the writer's own
  transaction (give it to the Repository as its write callback);
- `reevaluate(repo, "Patient/x" | "Encounter/y" | "x")` for one chart on demand;
- `scan(repo)` over every chart, with progress callbacks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from chartkeeper.errors import BadRequest, NotFound
from chartkeeper.store import Repository, Transaction
from chartkeeper.store import deficiencies as store
from chartkeeper.store.chart import live_ids

from .catalogue import DETECTORS
from .chart import Chart, instant, load_chart, ref_id, stamp
from .checks import Check
from .rules import Rule, RuleBook, default_rules

Clock = Callable[[], datetime]
WriteHook = Callable[[Transaction, list[dict]], None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Finding:
    rule: Rule
    check: Check
    responsible: str | None

    @property
    def key(self) -> str:
        return f"{self.rule.id}|{self.check.resource}"


@dataclass
class ChartResult:
    """What one evaluation changed."""

    patient_id: str
    checked: int = 0
    failed: int = 0
    opened: list[str] = field(default_factory=list)  # keys
    closed: list[str] = field(default_factory=list)


def evaluate(chart: Chart, rules: RuleBook, now: datetime) -> list[Finding]:
    """Run every rule over the chart: one Finding per check, passed or failed."""
    if chart.patient is None:
        return []
    found = []
    for rule in rules:
        for check in DETECTORS[rule.detector].run(chart, rule.params, now):
            who = chart.responsible(rule.responsible, check.item, check.encounter_id)
            found.append(Finding(rule, check, who))
    return found


def evaluate_chart(
    tx: Transaction, patient_id: str, *, rules: RuleBook | None = None, now: datetime | None = None
) -> ChartResult:
    """Evaluate one chart and reconcile its stored deficiencies, in this transaction."""
    rules = rules or default_rules()
    now = now or _utc_now()
    chart = load_chart(tx, patient_id)
    findings = evaluate(chart, rules, now)
    result = _reconcile(tx, chart, findings, rules, now)
    _save_counts(tx, patient_id, findings, now)
    return result


def _reconcile(
    tx: Transaction, chart: Chart, findings: list[Finding], rules: RuleBook, now: datetime
) -> ChartResult:
    result = ChartResult(chart.patient_id)
    rows = store.rows_of_patient(tx, chart.patient_id)
    open_rows = {r.key: r for r in rows if r.status == "open"}
    known = {r.key for r in rows}
    failing = {f.key: f for f in findings if f.check.deficient}
    for key, finding in failing.items():
        if finding.check.resolved is not None:
            if key in open_rows:
                _close(tx, open_rows.pop(key), finding.check.resolved, "fixed-late")
                result.closed.append(key)
            elif key not in known:
                _insert(tx, chart, finding, now)
            continue
        if key in open_rows:
            _follow(tx, open_rows.pop(key), finding)
        else:
            _insert(tx, chart, finding, now)
            result.opened.append(key)
    for key, row in open_rows.items():  # open, and no rule finds it any more
        reason = "fixed" if rules.get(row.rule_id) else "rule-retired"
        _close(tx, row, now, "removed" if chart.patient is None else reason)
        result.closed.append(key)
    result.checked = len(findings)
    result.failed = sum(1 for f in findings if f.check.open_now)
    return result


def _insert(tx: Transaction, chart: Chart, finding: Finding, now: datetime) -> None:
    check, rule = finding.check, finding.rule
    enc = chart.encounter(check.encounter_id)
    discharged = instant(((enc or {}).get("period") or {}).get("end"))
    closed = check.resolved
    values = {
        "rule_id": rule.id,
        "rule_set": rule.rule_set,
        "severity": rule.severity,
        "patient_id": chart.patient_id,
        "encounter_id": check.encounter_id,
        "resource": check.resource,
        "responsible_role": rule.responsible,
        "responsible": finding.responsible,
        "assignee": finding.responsible,
        "detail": check.detail or rule.description,
        "discharged": stamp(discharged) if discharged else None,
        "opened": stamp(check.opened or now),
        "detected": stamp(now),
        "status": "closed" if closed else "open",
        "closed": stamp(closed) if closed else None,
        "closed_reason": "fixed-late" if closed else None,
        "key": finding.key,
        "open_key": None if closed else finding.key,
        "notes": "[]",
    }
    store.insert_deficiency(tx, values)


def _follow(tx: Transaction, row, finding: Finding) -> None:
    """Keep an open deficiency's description and responsible person current; a manual
    reassignment (assignee no longer the responsible person) is left alone."""
    changes = {}
    detail = finding.check.detail or finding.rule.description
    if row.detail != detail:
        changes["detail"] = detail
    if row.responsible != finding.responsible:
        changes["responsible"] = finding.responsible
        if row.assignee == row.responsible:
            changes["assignee"] = finding.responsible
    if changes:
        store.update_deficiency(tx, row.id, **changes)


def _close(tx: Transaction, row, when: datetime, reason: str) -> None:
    store.update_deficiency(
        tx, row.id, status="closed", closed=stamp(when), closed_reason=reason, open_key=None
    )


def _save_counts(tx: Transaction, patient_id: str, findings: list[Finding], now: datetime):
    by_provider: dict[str, list[int]] = {}
    for f in findings:
        if f.responsible:
            counts = by_provider.setdefault(f.responsible, [0, 0])
            counts[0] += 1
            counts[1] += int(f.check.open_now)
    values = {
        "checked": len(findings),
        "failed": sum(1 for f in findings if f.check.open_now),
        "by_provider": orjson.dumps(by_provider, option=orjson.OPT_SORT_KEYS).decode(),
        "evaluated": stamp(now),
    }
    store.save_chart_counts(tx, patient_id, values)


# --- ways in -----------------------------------------------------------------------------


def patients_of(tx: Transaction, written: Iterable[dict]) -> set[str]:
    """The patients whose charts these resources belong to."""
    found: set[str] = set()
    for res in written:
        if res.get("resourceType") == "Patient" and res.get("id"):
            found.add(res["id"])
            continue
        for element in ("subject", "patient"):
            pid = ref_id(res.get(element), "Patient")
            if pid:
                found.add(pid)
    return found


def make_on_write(rules: RuleBook | None = None, clock: Clock = _utc_now) -> WriteHook:
    """A write callback for the Repository: `hook(tx, written_resources)` re-evaluates the
    charts of the written resources inside the writer's transaction, so a fix closes its
    deficiency in the same commit that makes it."""

    def hook(tx: Transaction, written: list[dict]) -> None:
        now = clock()
        for pid in sorted(patients_of(tx, written)):
            evaluate_chart(tx, pid, rules=rules, now=now)

    return hook


def on_write(tx: Transaction, written: list[dict]) -> None:
    """The write callback with the shipped rules and the real clock (see make_on_write)."""
    make_on_write()(tx, written)


def reevaluate(
    repo: Repository,
    target: str,
    *,
    rules: RuleBook | None = None,
    now: datetime | None = None,
) -> ChartResult:
    """Re-evaluate one chart now: `target` is "Patient/x", "Encounter/y" or a patient id."""
    with repo.transaction() as tx:
        patient_id = _patient_for(tx, target)
        tx.note("deficiency-evaluate", [{"resourceType": "Patient", "id": patient_id}], target)
        return evaluate_chart(tx, patient_id, rules=rules, now=now)


def _patient_for(tx: Transaction, target: str) -> str:
    rtype, _, rid = target.rpartition("/")
    if rtype in ("", "Patient"):
        return rid
    if rtype != "Encounter":
        raise BadRequest(f"re-evaluate a Patient or an Encounter, not {rtype}")
    try:
        enc = tx.unguarded().read("Encounter", rid)
    except NotFound:
        raise NotFound(f"Encounter/{rid} is not in the store") from None
    pid = ref_id(enc.get("subject"), "Patient")
    if pid is None:
        raise BadRequest(f"Encounter/{rid} names no patient")
    return pid


@dataclass
class ScanReport:
    patients: int = 0
    checked: int = 0
    failed: int = 0
    opened: int = 0
    closed: int = 0
    open_by_rule: Counter = field(default_factory=Counter)
    started: str = ""
    finished: str = ""

    def as_json(self) -> dict:
        return {**self.__dict__, "open_by_rule": dict(sorted(self.open_by_rule.items()))}


def scan(
    repo: Repository,
    *,
    rules: RuleBook | None = None,
    now: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ScanReport:
    """Evaluate every patient's chart (and so every encounter), one transaction per chart.
    `on_progress(done, total)` is called after each chart."""
    rules = rules or default_rules()
    now = now or _utc_now()
    with repo.reading() as tx:
        # Charts of deleted patients too, while they have open deficiencies: they close.
        ids = sorted(live_ids(tx, "Patient") | store.patients_with_open(tx))
    report = ScanReport(started=stamp(_utc_now()))
    for done, pid in enumerate(ids, 1):
        with repo.transaction() as tx:
            result = evaluate_chart(tx, pid, rules=rules, now=now)
        report.patients += 1
        report.checked += result.checked
        report.failed += result.failed
        report.opened += len(result.opened)
        report.closed += len(result.closed)
        if on_progress:
            on_progress(done, len(ids))
    with repo.reading() as tx:
        report.open_by_rule.update(store.rule_ids(tx, "open"))
    report.finished = stamp(_utc_now())
    return report
