"""Retention and destruction: which records have outlived their retention period, legal
holds that stop destruction, and destruction that leaves a certificate.

A "record" here is one patient's resources of one record type (retention_rules.toml maps
resource types to record types). Retention ends at the later of the last encounter plus
the rule's years and the date the patient reaches majority plus the rule's years (for
minors the second is the later one). The Patient resource is the master patient index
entry and is never destroyed; nor is a resource that also refers to another patient
(it is that patient's record too).

Destruction runs in one transaction: it re-reads the holds, soft-deletes each resource
(so it reads as Gone and leaves the search indexes) and blanks the content of every stored
version, then writes the certificate: every resource that went, with its last version and
the SHA-256 of its last content, so the certificate proves what went without keeping it.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import orjson

from chartkeeper.errors import BadRequest, NotFound
from chartkeeper.fhir.references import iter_references, parse_relative
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.privacy.people import human_name, mrn_of
from chartkeeper.store import Repository
from chartkeeper.store import paper as table
from chartkeeper.store.chart import current_versions, find_references

RULES_FILE = Path(__file__).with_name("retention_rules.toml")
METHODS = ("electronic-purge", "shredding", "pulping", "incineration", "degaussing")


@dataclass(frozen=True)
class Rule:
    jurisdiction: str
    record_type: str
    years_after_last_encounter: int
    age_of_majority: int
    years_after_majority: int
    source: str


@dataclass(frozen=True)
class Rules:
    default_jurisdiction: str
    record_types: dict[str, frozenset[str]]  # name -> resource types ("" catch-all: empty)
    rules: dict[tuple[str, str], Rule]

    @property
    def catch_all(self) -> str:
        return next(n for n, types in self.record_types.items() if not types)

    def record_type_of(self, resource_type: str) -> str:
        for name, types in self.record_types.items():
            if resource_type in types:
                return name
        return self.catch_all

    def jurisdiction_for(self, patient: dict) -> str:
        for address in patient.get("address") or []:
            state = (address.get("state") or "").strip().upper()
            code = f"{self.default_jurisdiction}-{state}"
            if state and any(j == code for j, _t in self.rules):
                return code
        return self.default_jurisdiction

    def rule(self, jurisdiction: str, record_type: str) -> Rule:
        found = self.rules.get((jurisdiction, record_type)) or self.rules.get(
            (self.default_jurisdiction, record_type)
        )
        if found is None:
            raise BadRequest(f"no retention rule for {record_type} in {jurisdiction}")
        return found


def load_rules(path: Path | None = None) -> Rules:
    """Rules from a TOML file (the packaged defaults when None); a clear error when bad."""
    path = path or RULES_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadRequest(f"cannot read retention rules {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadRequest(f"retention rules {path} are not valid TOML: {exc}") from None
    default = data.get("default_jurisdiction")
    if not isinstance(default, str) or not default:
        raise BadRequest(f"{path}: default_jurisdiction (text) is required")
    record_types: dict[str, frozenset[str]] = {}
    for entry in data.get("record_type", []):
        name, types = entry.get("name"), entry.get("resource_types", [])
        if not isinstance(name, str) or not isinstance(types, list):
            raise BadRequest(f"{path}: each [[record_type]] needs name and resource_types")
        record_types[name] = frozenset(types)
    if sum(1 for t in record_types.values() if not t) != 1:
        raise BadRequest(f"{path}: exactly one record type must have no resource_types")
    rules: dict[tuple[str, str], Rule] = {}
    for entry in data.get("rule", []):
        try:
            rule = Rule(
                jurisdiction=str(entry["jurisdiction"]),
                record_type=str(entry["record_type"]),
                years_after_last_encounter=int(entry["years_after_last_encounter"]),
                age_of_majority=int(entry.get("age_of_majority", 18)),
                years_after_majority=int(entry.get("years_after_majority", 0)),
                source=str(entry.get("source", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"{path}: a [[rule]] is missing or has a bad {exc}") from None
        if rule.record_type not in record_types:
            raise BadRequest(f"{path}: rule names unknown record type {rule.record_type!r}")
        if min(rule.years_after_last_encounter, rule.years_after_majority) < 0:
            raise BadRequest(f"{path}: retention years cannot be negative")
        rules[(rule.jurisdiction, rule.record_type)] = rule
    for name in record_types:
        if (default, name) not in rules:
            raise BadRequest(f"{path}: no {default} rule for record type {name!r}")
    return Rules(default, record_types, rules)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _day(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass
class RecordGroup:
    patient_id: str
    name: str
    mrn: str
    birth_date: str | None
    record_type: str
    jurisdiction: str
    last_encounter: str
    retain_until: str
    rule: str
    held: bool
    resources: list[dict] = field(default_factory=list)  # {type, id, version, sha256}

    def as_json(self) -> dict:
        return asdict(self)


def _live(tx, resource_type: str) -> list[dict]:
    """Every live resource of a type, by id (read whole: the review writes as it goes)."""
    return [orjson.loads(content) for content in tx.iter_content(resource_type)]


def _last_encounters(tx) -> dict[str, date]:
    last: dict[str, date] = {}
    for enc in _live(tx, "Encounter"):
        ref = parse_relative((enc.get("subject") or {}).get("reference") or "")
        period = enc.get("period") or {}
        when = _day(period.get("end")) or _day(period.get("start"))
        if ref and ref[0] == "Patient" and when:
            last[ref[1]] = max(when, last.get(ref[1], when))
    return last


def _compartment(tx, patient_id: str) -> list[tuple[tuple[str, str], int, dict]]:
    """The patient's live resources that refer to this patient and no other."""
    keys = sorted(k for k in find_references(tx, patient_id) if k[0] != "Patient")
    found = []
    for key, (version, body) in current_versions(tx, keys).items():
        if body is None:
            continue
        patients = {
            ref[1]
            for _path, value in iter_references(body)
            if (ref := parse_relative(value)) and ref[0] == "Patient"
        }
        if patients == {patient_id}:
            found.append((key, version, body))
    return sorted(found, key=lambda f: f[0])


def _review(tx, rules: Rules, as_of: date, jurisdiction: str | None) -> list[RecordGroup]:
    inside = tx.unguarded()
    held = table.held_patients(tx)
    last = _last_encounters(inside)
    groups: list[RecordGroup] = []
    for patient in _live(inside, "Patient"):
        pid = patient["id"]
        if pid not in last:
            continue  # no dated encounter: retention cannot start, never eligible
        where = jurisdiction or rules.jurisdiction_for(patient)
        born = _day(patient.get("birthDate"))
        due: dict[str, tuple[date, Rule]] = {}
        for record_type in rules.record_types:
            rule = rules.rule(where, record_type)
            until = add_years(last[pid], rule.years_after_last_encounter)
            if born:
                majority = add_years(born, rule.age_of_majority + rule.years_after_majority)
                until = max(until, majority)
            due[record_type] = (until, rule)
        if not any(until <= as_of for until, _r in due.values()):
            continue
        name, mrn = human_name(patient), mrn_of(patient)
        by_type: dict[str, RecordGroup] = {}
        for (rtype, rid), version, body in _compartment(inside, pid):
            record_type = rules.record_type_of(rtype)
            until, rule = due[record_type]
            if until > as_of:
                continue
            group = by_type.get(record_type)
            if group is None:
                group = by_type[record_type] = RecordGroup(
                    pid, name, mrn, patient.get("birthDate"), record_type, where,
                    last[pid].isoformat(), until.isoformat(), rule.source, pid in held,
                )  # fmt: skip
            digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
            group.resources.append({"type": rtype, "id": rid, "version": version, "sha256": digest})
        groups.extend(by_type[k] for k in sorted(by_type))
    return groups


def eligible(
    repo: Repository,
    *,
    as_of: date,
    jurisdiction: str | None = None,
    rules: Rules | None = None,
) -> list[RecordGroup]:
    """Records past retention on `as_of`, held ones included and marked (the worklist shows
    why a record past its date is still here). Audited as a read of those patients."""
    rules = rules or load_rules()
    with repo.transaction() as tx:
        groups = _review(tx, rules, as_of, jurisdiction)
        if groups:
            tx.note(
                "paper-retention-review",
                [{"resourceType": "Patient", "id": g.patient_id} for g in groups],
                f"{len(groups)} records past retention on {as_of}",
            )
    return groups


@dataclass
class DestructionResult:
    dry_run: bool
    certificate: int | None
    performed: str
    performed_by: str
    method: str
    as_of: str
    jurisdiction: str
    destroyed: list[dict]  # RecordGroup.as_json() of what went (or would go)
    held: list[dict]  # what a hold kept

    def as_json(self) -> dict:
        return asdict(self)


def destroy(
    repo: Repository,
    *,
    by: str,
    method: str,
    as_of: date,
    dry_run: bool = True,
    jurisdiction: str | None = None,
    rules: Rules | None = None,
) -> DestructionResult:
    """Destroy every record past retention that no hold protects, or (dry run) say what
    would go. One transaction: a hold placed meanwhile is seen, and a failure leaves all."""
    if method not in METHODS:
        raise BadRequest(f"unknown destruction method {method!r}; one of {', '.join(METHODS)}")
    if as_of > date.today():
        raise BadRequest("destruction cannot be judged against a future date")
    rules = rules or load_rules()
    stamp = utc_now()
    with repo.transaction() as tx:
        groups = _review(tx, rules, as_of, jurisdiction)
        going = [g for g in groups if not g.held]
        kept = [g.as_json() for g in groups if g.held]
        result = DestructionResult(
            dry_run, None, stamp, by, method, as_of.isoformat(),
            jurisdiction or "by patient address", [g.as_json() for g in going], kept,
        )  # fmt: skip
        patients = [{"resourceType": "Patient", "id": g.patient_id} for g in groups]
        if dry_run:
            if patients:
                tx.note("paper-destruction-dry-run", patients, f"{len(going)} records would go")
            return result
        if not going:
            return result
        inside = tx.unguarded()
        keys = [(r["type"], r["id"]) for g in going for r in g.resources]
        for key in keys:
            inside.delete(*key)
        table.purge_content(tx, keys)
        table.purge_scans(tx, [rid for rtype, rid in keys if rtype == "DocumentReference"])
        result.certificate = table.insert_certificate(
            tx,
            {
                "performed": stamp,
                "performed_by": by,
                "method": method,
                "as_of": result.as_of,
                "jurisdiction": result.jurisdiction,
                "items": result.destroyed,
            },
        )
    return result


def certificate(repo: Repository, number: int) -> dict:
    with repo.transaction() as tx:
        found = table.get_certificate(tx, number)
    if found is None:
        raise NotFound(f"no destruction certificate {number}")
    return found


def certificates(repo: Repository) -> list[dict]:
    with repo.reading() as tx:
        return table.list_certificates(tx)


# --- legal holds -----------------------------------------------------------------------


def place_hold(
    repo: Repository, patient_id: str, *, reason: str, by: str, case_ref: str | None = None
) -> dict:
    if not reason.strip():
        raise BadRequest("a legal hold needs a reason")
    with repo.transaction() as tx:
        tx.read("Patient", patient_id)  # NotFound for a patient who is not there; audited
        hold_id = table.insert_hold(
            tx,
            {
                "patient_id": patient_id,
                "case_ref": case_ref,
                "reason": reason.strip(),
                "placed": utc_now(),
                "placed_by": by,
            },
        )
        return table.get_hold(tx, hold_id)


def release_hold(repo: Repository, hold_id: int, *, reason: str, by: str) -> dict:
    if not reason.strip():
        raise BadRequest("releasing a legal hold needs a reason")
    with repo.transaction() as tx:
        hold = table.get_hold(tx, hold_id)
        if hold is None:
            raise NotFound(f"no legal hold {hold_id}")
        if hold["released"]:
            raise BadRequest(f"legal hold {hold_id} was already released {hold['released']}")
        values = {"released": utc_now(), "released_by": by, "release_reason": reason.strip()}
        table.release_hold(tx, hold_id, values)
        return {**hold, **values}


def holds(repo: Repository, *, active_only: bool = True, case_ref: str | None = None) -> list[dict]:
    with repo.transaction() as tx:
        rows = table.list_holds(tx, active_only=active_only, case_ref=case_ref)
    return rows


def _case(case_ref: str) -> str:
    if not isinstance(case_ref, str) or not case_ref.strip():
        raise BadRequest("a legal hold by case needs the case or matter reference")
    return case_ref.strip()


def hold_case(
    repo: Repository, case_ref: str, patient_ids: list[str], *, reason: str, by: str
) -> list[dict]:
    """A legal hold by case: one matter (a lawsuit, a subpoena, an investigation) holding
    the records of every patient it names, placed in one transaction (all or none: a
    patient not in the store refuses the lot). Naming more patients later adds them to the
    case; a patient the case holds already is not held twice."""
    case_ref = _case(case_ref)
    if not reason.strip():
        raise BadRequest("a legal hold needs a reason")
    wanted = list(dict.fromkeys(p.strip() for p in patient_ids if p and p.strip()))
    if not wanted:
        raise BadRequest(f"name the patients whose records case {case_ref} holds")
    stamp = utc_now()
    with repo.transaction() as tx:
        held = {h["patient_id"] for h in table.list_holds(tx, case_ref=case_ref, audit=False)}
        placed = []
        for patient_id in wanted:
            tx.read("Patient", patient_id)  # NotFound rolls the whole case back; audited
            if patient_id in held:
                continue
            hold_id = table.insert_hold(
                tx,
                {"patient_id": patient_id, "case_ref": case_ref, "reason": reason.strip(),
                 "placed": stamp, "placed_by": by},
            )  # fmt: skip
            placed.append(table.get_hold(tx, hold_id))
        return placed


def release_case(repo: Repository, case_ref: str, *, reason: str, by: str) -> list[dict]:
    """Release every active hold of a case at once (the matter closed)."""
    case_ref = _case(case_ref)
    if not reason.strip():
        raise BadRequest("releasing a legal hold needs a reason")
    values = {"released": utc_now(), "released_by": by, "release_reason": reason.strip()}
    with repo.transaction() as tx:
        active = table.list_holds(tx, case_ref=case_ref, audit=False)
        if not active:
            raise NotFound(f"no active legal hold for case {case_ref!r}")
        for hold in active:
            table.release_hold(tx, hold["id"], values)
        return [{**hold, **values} for hold in active]
