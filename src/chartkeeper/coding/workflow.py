"""The coding workflow: the queue of encounters ready to code, assigning codes, physician
queries, discharged-not-final-billed (DNFB) days and coder productivity.

- Ready to code: the encounter is finished (discharged) and every note linked to it
  (DocumentReference.context.encounter) is final (`docStatus` final or amended) and
  authenticated (`authenticator` set); ICD-10-CM Official Guidelines Section III/IV code
  from the provider's documentation, so an unsigned or preliminary note is not coded from.
  An encounter with no notes at all is not ready either.
- Assigning codes writes one Condition per diagnosis (category encounter-diagnosis, the
  coder as `recorder` and `asserter`, `recordedDate` now, present-on-admission as the
  `drg.POA_EXTENSION` extension, principal/secondary as the `RANK_EXTENSION`) and one
  Procedure per procedure code, and records the encounter as coded in `coding_abstract`.
  The mark is a table row, not an Encounter tag: coders may not write Encounters
  (privacy.policy). Recoding marks the previous coding's resources entered-in-error.
- Physician queries are rows of `physician_query` (open -> answered | withdrawn), not FHIR
  Communication resources, which coders may not write.
- DNFB: a finished encounter that is not yet coded; its DNFB days run from discharge
  (Encounter.period.end). Being coded stands in for final billing here.
- Productivity: encounters coded per coder per day, and days from discharge to coded.
"""

from __future__ import annotations

import io
import re
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import orjson

from chartkeeper.coding import codesets
from chartkeeper.coding.cac import documents_by_encounter, is_inpatient, service_date
from chartkeeper.coding.drg import POA_EXTENSION, RANK_EXTENSION
from chartkeeper.errors import BadRequest, Conflict, NotFound
from chartkeeper.figures import drawn_once
from chartkeeper.store import PutItem, Repository, Transaction
from chartkeeper.store import coding_work as store

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
USER_SYSTEM = "https://chartkeeper.example/fhir/sid/username"
FINAL_DOC = {"final", "amended"}
POA_VALUES = {"Y", "N", "U", "W", "1"}
QUERY_STATES = ("open", "answered", "withdrawn")


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ref_id(reference: str | None) -> str | None:
    return reference.rsplit("/", 1)[-1] if reference else None


def _finished_encounters(repo: Repository | Transaction) -> list[dict]:
    found, offset = [], 0
    while True:
        page = repo.search(
            "Encounter", [("status", "finished"), ("_count", "1000"), ("_offset", str(offset))]
        )
        found += page.resources
        if page.next_offset is None:
            return found
        offset = page.next_offset


def _days(since: datetime | None, now: datetime) -> float | None:
    return round((now - since).total_seconds() / 86400, 2) if since else None


# --- the queue -----------------------------------------------------------------------------


@dataclass
class QueueItem:
    encounter_id: str
    patient_id: str | None
    encounter_class: str | None
    discharged: str | None
    dnfb_days: float | None
    documents: int
    open_queries: int = 0


def notes_final(docs: list[dict]) -> bool:
    """At least one note, and every note final and authenticated (no open deficiency)."""
    return bool(docs) and all(
        d.get("docStatus") in FINAL_DOC and d.get("authenticator") for d in docs
    )


def queue(repo: Repository, *, now: datetime | None = None) -> list[QueueItem]:
    """Encounters ready to code, longest waiting first."""
    moment = _now(now)
    # One snapshot for the whole worklist: the encounters, their notes, the coded set and
    # the open queries agree with each other, and the reads' audit entries are stored in
    # one write rather than one per search.
    with repo.reading() as tx:
        coded = store.coded_encounters(tx)
        open_queries: dict[str, int] = defaultdict(int)
        for row in store.find_queries(tx, status="open"):
            open_queries[row.encounter_id] += 1
        waiting = [enc for enc in _finished_encounters(tx) if enc["id"] not in coded]
        notes = documents_by_encounter(tx, (enc["id"] for enc in waiting))
    items = []
    for enc in waiting:
        docs = notes[enc["id"]]
        if not notes_final(docs):
            continue
        end = (enc.get("period") or {}).get("end")
        items.append(
            QueueItem(
                enc["id"],
                _ref_id((enc.get("subject") or {}).get("reference")),
                (enc.get("class") or {}).get("code"),
                end,
                _days(_instant(end), moment),
                len(docs),
                open_queries.get(enc["id"], 0),
            )
        )
    return sorted(items, key=lambda i: (i.discharged or "", i.encounter_id))


# --- assigning codes -----------------------------------------------------------------------


@dataclass
class AssignedCode:
    code: str
    kind: str = "diagnosis"  # diagnosis | procedure
    poa: str | None = None


@dataclass
class CodingResult:
    encounter_id: str
    coder: str
    coded: str
    principal: str | None
    codes: list[AssignedCode]
    resources: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)


# What a code looks like once normalised, per kind: ICD-10-CM (J18.9); ICD-10-PCS (seven
# characters, never I or O: 0BH17EZ), HCPCS Level II (J1100) or CPT (99213). Diagnosis codes
# are also checked against the code set in `assign_codes`; procedures only here, which keeps a
# stray word ("intubated") from being stored as a procedure code.
_CODE_SHAPES = {
    "diagnosis": re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?"),
    "procedure": re.compile(r"[0-9A-HJ-NP-Z]{7}|[A-Z][0-9]{4}|[0-9]{4}[0-9A-Z]"),
}


def parse_codes(codes: list) -> list[AssignedCode]:
    """Codes as `assign_codes` takes them (strings or {'code', 'kind', 'poa'}), checked for
    shape, kind and POA indicator before any store is read."""
    parsed = []
    for item in codes:
        if isinstance(item, str):
            item = {"code": item}
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise BadRequest("each code is a string or {'code', 'kind', 'poa'}")
        kind = item.get("kind", "diagnosis")
        if kind not in ("diagnosis", "procedure"):
            raise BadRequest(f"code kind must be diagnosis or procedure, not {kind!r}")
        poa = item.get("poa")
        if poa is not None and poa not in POA_VALUES:
            raise BadRequest(f"poa must be one of {sorted(POA_VALUES)}, not {poa!r}")
        code = codesets.normalize(item["code"]) if kind == "diagnosis" else item["code"].upper()
        if not _CODE_SHAPES[kind].fullmatch(code):
            example = "J18.9" if kind == "diagnosis" else "0BH17EZ, J1100 or 99213"
            raise BadRequest(f"'{item['code'][:40]}' is not a {kind} code (e.g. {example})")
        parsed.append(AssignedCode(code, kind, poa))
    if not parsed:
        raise BadRequest("no codes given")
    return parsed


def codes_from_text(text: str, kind: str = "diagnosis") -> list[dict]:
    """A code list as a coder types it, "J18.9:Y, I10; E11.9:N" (commas, semicolons or
    lines; a present-on-admission indicator after a colon), in the order written: the form
    `assign_codes` takes (the first diagnosis is the principal unless one is named)."""
    codes = []
    for item in str(text).replace(";", ",").replace("\n", ",").split(","):
        code, _, poa = item.strip().partition(":")
        if code.strip():
            entry = {"code": code.strip(), "kind": kind}
            if poa.strip():
                entry["poa"] = poa.strip().upper()
            codes.append(entry)
    return codes


def _coder_ref(coder: str) -> dict:
    # A logical reference: the coder is a user of this system, not a Practitioner resource.
    return {"identifier": {"system": USER_SYSTEM, "value": coder}, "display": coder}


def assign_codes(
    repo: Repository,
    encounter_id: str,
    codes: list,
    *,
    coder: str,
    principal: str | None = None,
    data_dir=None,
    now: datetime | None = None,
) -> CodingResult:
    """Store the codes as Conditions and Procedures and mark the encounter coded, in one
    transaction. Diagnosis codes must be billable ICD-10-CM codes for the date of service;
    `principal` (default: the first diagnosis) must be one of them."""
    parsed = parse_codes(codes)
    moment = _now(now)
    with repo.transaction() as tx:
        enc = tx.read("Encounter", encounter_id)
        if enc.get("status") != "finished":
            raise Conflict(f"Encounter/{encounter_id} is {enc.get('status')}, not finished")
        when = service_date(enc)
        cs = codesets.load("icd10cm", date_of_service=when, data_dir=data_dir)
        dx = [c for c in parsed if c.kind == "diagnosis"]
        bad = [c.code for c in dx if not cs.is_billable(c.code)]
        if bad:
            raise BadRequest(f"not billable ICD-10-CM codes for FY{cs.fy}: {', '.join(bad)}")
        principal = codesets.normalize(principal) if principal else (dx[0].code if dx else None)
        if principal and principal not in {c.code for c in dx}:
            raise BadRequest(f"the principal diagnosis {principal} is not among the codes")
        subject = enc.get("subject")
        previous = store.abstract_resources(tx, encounter_id)
        items = _retire(tx, orjson.loads(previous) if previous else [])
        written = []
        for c in parsed:
            res = (
                _condition(c, cs.title(c.code), c.code == principal, enc, subject, coder, moment)
                if c.kind == "diagnosis"
                else _procedure(c, enc, subject, coder, moment)
            )
            items.append(PutItem(res, create_only=True))
            written.append(f"{res['resourceType']}/{res['id']}")
        tx.put_many(items)
        row = {
            "encounter_id": encounter_id,
            "patient_id": _ref_id((subject or {}).get("reference")),
            "coder": coder,
            "coded": _stamp(moment),
            "discharged": (enc.get("period") or {}).get("end"),
            "principal": principal,
            "codes": orjson.dumps([asdict(c) for c in parsed]).decode(),
            "resources": orjson.dumps(written).decode(),
        }
        store.save_abstract(tx, row, recoded=previous is not None)
        tx.note("coding", [enc], f"coded by {coder}: {', '.join(c.code for c in parsed)}")
    return CodingResult(encounter_id, coder, row["coded"], principal, parsed, written)


def _retire(tx, keys: list[str]) -> list[PutItem]:
    """Recoding: the previous coding's resources become entered-in-error (coders may not
    delete, and the history keeps what was coded before)."""
    items = []
    for res in tx.read_many([tuple(k.split("/", 1)) for k in keys]):
        if res["resourceType"] == "Condition":
            res = {
                **res,
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "entered-in-error",
                        }
                    ]
                },
            }
            res.pop("clinicalStatus", None)  # FHIR: none when entered-in-error
        else:
            res = {**res, "status": "entered-in-error"}
        items.append(PutItem(res))
    return items


def _condition(c, title, is_principal, enc, subject, coder, moment) -> dict:
    res = {
        "resourceType": "Condition",
        "id": str(uuid.uuid4()),
        "extension": [
            {"url": RANK_EXTENSION, "valueCode": "principal" if is_principal else "secondary"}
        ],
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                        "display": "Encounter Diagnosis",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": ICD10CM, "code": c.code, "display": title or c.code}]},
        "subject": subject,
        "encounter": {"reference": f"Encounter/{enc['id']}"},
        "recordedDate": _stamp(moment),
        "recorder": _coder_ref(coder),
        "asserter": _coder_ref(coder),
    }
    if c.poa:
        res["extension"].append({"url": POA_EXTENSION, "valueCode": c.poa})
    return res


def _procedure(c, enc, subject, coder, moment) -> dict:
    # ICD-10-PCS codes are 7 characters; anything else is taken as HCPCS/CPT.
    system = ICD10PCS if len(c.code) == 7 and is_inpatient(enc) else HCPCS
    res = {
        "resourceType": "Procedure",
        "id": str(uuid.uuid4()),
        "status": "completed",
        "code": {"coding": [{"system": system, "code": c.code}]},
        "subject": subject,
        "encounter": {"reference": f"Encounter/{enc['id']}"},
        "recorder": _coder_ref(coder),
        "asserter": _coder_ref(coder),
    }
    period = enc.get("period")
    if period:
        res["performedPeriod"] = period
    return res


# --- physician queries ---------------------------------------------------------------------


@dataclass
class PhysicianQuery:
    id: int
    encounter_id: str
    patient_id: str | None
    practitioner: str
    question: str
    status: str
    answer: str | None
    asked_by: str
    asked: str
    closed: str | None
    closed_by: str | None

    def as_json(self) -> dict:
        return asdict(self)


def _query(row) -> PhysicianQuery:
    return PhysicianQuery(
        **{name: getattr(row, name) for name in PhysicianQuery.__dataclass_fields__}
    )


def open_query(
    repo: Repository,
    encounter_id: str,
    practitioner: str,
    question: str,
    *,
    asked_by: str,
    now: datetime | None = None,
) -> PhysicianQuery:
    """Ask the provider (a Practitioner reference) to clarify the encounter's documentation."""
    if not question.strip():
        raise BadRequest("the query needs a question")
    practitioner = practitioner if "/" in practitioner else f"Practitioner/{practitioner}"
    if not practitioner.startswith("Practitioner/"):
        raise BadRequest("a query is addressed to a Practitioner")
    with repo.transaction() as tx:
        enc = tx.read("Encounter", encounter_id)
        tx.read("Practitioner", practitioner.split("/", 1)[1])  # NotFound if no such provider
        new_id = store.add_query(
            tx,
            encounter_id=encounter_id,
            patient_id=_ref_id((enc.get("subject") or {}).get("reference")),
            practitioner=practitioner,
            question=question.strip(),
            status="open",
            asked_by=asked_by,
            asked=_stamp(_now(now)),
        )
        tx.note("physician-query", [enc], f"query {new_id} to {practitioner}")
        return _query(store.get_query(tx, new_id))


def _close(repo, query_id: int, status: str, by: str, answer: str | None, now) -> PhysicianQuery:
    with repo.transaction() as tx:
        row = store.get_query(tx, query_id)
        if row is None:
            raise NotFound(f"no physician query {query_id}")
        if row.status != "open":
            raise Conflict(f"physician query {query_id} is already {row.status}")
        moved = store.move_query(
            tx,
            query_id,
            "open",
            {"status": status, "answer": answer, "closed": _stamp(_now(now)), "closed_by": by},
        )
        if not moved:
            raise Conflict(f"physician query {query_id} was closed by someone else just now")
        enc = tx.read("Encounter", row.encounter_id)
        tx.note("physician-query", [enc], f"query {query_id} {status} by {by}")
        return _query(store.get_query(tx, query_id))


def answer_query(
    repo: Repository, query_id: int, answer: str, *, by: str, now: datetime | None = None
) -> PhysicianQuery:
    if not answer.strip():
        raise BadRequest("the answer is empty")
    return _close(repo, query_id, "answered", by, answer.strip(), now)


def withdraw_query(
    repo: Repository, query_id: int, *, by: str, now: datetime | None = None
) -> PhysicianQuery:
    return _close(repo, query_id, "withdrawn", by, None, now)


def list_queries(
    repo: Repository,
    *,
    status: str | None = None,
    encounter_id: str | None = None,
    practitioner: str | None = None,
) -> list[PhysicianQuery]:
    if status is not None and status not in QUERY_STATES:
        raise BadRequest(f"status must be one of {', '.join(QUERY_STATES)}")
    with repo.reading() as tx:
        rows = store.find_queries(
            tx,
            status=status or None,
            encounter_id=encounter_id or None,
            practitioner=practitioner or None,
        )
        found = [_query(row) for row in rows]
        tx.note("physician-query", [], f"listed {len(found)} queries")
    return found


# --- DNFB and productivity -----------------------------------------------------------------


def dnfb(repo: Repository, *, now: datetime | None = None) -> dict:
    """Discharged-not-final-billed: every finished, uncoded encounter and its days since
    discharge, whether or not its notes are complete yet."""
    moment = _now(now)
    with repo.reading() as tx:  # one snapshot, one audit write
        coded = store.coded_encounters(tx)
        finished = _finished_encounters(tx)
    rows = []
    for enc in finished:
        end = _instant((enc.get("period") or {}).get("end"))
        if enc["id"] in coded or end is None:
            continue
        rows.append(
            {"encounter_id": enc["id"], "discharged": _stamp(end), "days": _days(end, moment)}
        )
    rows.sort(key=lambda r: -r["days"])
    return {
        "encounters": rows,
        "count": len(rows),
        "total_days": round(sum(r["days"] for r in rows), 2),
        "average_days": round(sum(r["days"] for r in rows) / len(rows), 2) if rows else 0.0,
    }


def productivity(repo: Repository, *, since: date | None = None, until: date | None = None) -> dict:
    """Encounters coded per coder per day, and the average days from discharge to coded."""
    with repo.reading() as tx:
        rows = store.abstracts(tx)
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    turnaround: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        coded = _instant(row.coded)
        day = coded.date()
        if (since and day < since) or (until and day > until):
            continue
        per_day[row.coder][day.isoformat()] += 1
        discharged = _instant(row.discharged)
        if discharged:
            turnaround[row.coder].append((coded - discharged).total_seconds() / 86400)
    coders = {}
    for coder, days in sorted(per_day.items()):
        total = sum(days.values())
        waits = turnaround[coder]
        coders[coder] = {
            "encounters": total,
            "days_worked": len(days),
            "per_day": round(total / len(days), 2),
            "by_day": dict(sorted(days.items())),
            "average_days_to_coded": round(sum(waits) / len(waits), 2) if waits else None,
        }
    waits = [w for ws in turnaround.values() for w in ws]
    return {
        "coders": coders,
        "encounters": sum(c["encounters"] for c in coders.values()),
        "average_days_to_coded": round(sum(waits) / len(waits), 2) if waits else None,
    }


@drawn_once
def plot_productivity(report: dict) -> bytes:
    """Encounters coded per day, one line per coder, as a PNG (matplotlib's object API on
    the Agg canvas: pyplot's global figures are not safe in a threaded server)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for coder, figures in report["coders"].items():
        days = [date.fromisoformat(d) for d in figures["by_day"]]
        ax.plot(days, list(figures["by_day"].values()), marker="o", label=coder)
    if report["coders"]:
        ax.legend(loc="upper left")
    else:
        ax.text(0.5, 0.5, "nothing coded yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Encounters coded per coder per day")
    ax.set_ylabel("encounters")
    fig.autofmt_xdate()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=80)
    return out.getvalue()
