"""Release of information (ROI): requests for a patient's records, checked against the
authorization on file, the disclosure itself, and the accounting of disclosures.

A request moves `logged → validated → fulfilled`, or to `denied` (with a reason) from
either of the first two; each transition is stamped with when and by whom, and any other
move is refused (Conflict). Validation applies 45 CFR 164.508: the authorization must be on
file, signed, unexpired, state an expiry (164.508(c)(1)(v)) and describe what it covers
(164.508(c)(1)(i)); the request may not ask for more than it covers. Psychotherapy notes
need an authorization of their own (164.508(a)(2), (b)(3)(ii)) and substance use records
one that names them (42 CFR 2.31); every other category in `policy.SENSITIVE_LABELS` is
treated the same way: disclosed only when the authorization names it.

Fulfilment (`fulfil`) makes the disclosure packet (`packet.py`: a FHIR document Bundle and a
PDF) from what both the request and the authorization cover, and in the same transaction
writes a DisclosureRecord and a "disclosure" audit entry. `accounting` lists six years of
disclosures (164.528(a)), leaving out those 164.528(a)(1) exempts: treatment, payment and
operations, to the patient, and under a 164.508 authorization. The exemption is decided
and stored when the disclosure is made.

Records are gathered with the store's trusted reads, not the clerk's label filter: what
may leave is decided by the patient's authorization, not by what the clerk's role may view.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from chartkeeper.errors import BadRequest, ChartkeeperError, Conflict, Forbidden, Issue, NotFound
from chartkeeper.fhir.resource_types import RESOURCE_TYPES
from chartkeeper.fhir.search_params import utc_now
from chartkeeper.privacy import amendments, packet, policy
from chartkeeper.privacy.packet import PSYCHOTHERAPY, SENSITIVE, Scope, Withheld, clinical_date
from chartkeeper.store import Repository, Transaction
from chartkeeper.store import disclosures as store
from chartkeeper.store import paper as scanned
from chartkeeper.store.search import referencing

__all__ = ["DisclosureRecord", "Fulfilment", "RoiRequest", "Scope", "Withheld"]


class Refused(ChartkeeperError):
    """A request that breaks a release-of-information rule (OperationOutcome business-rule)."""

    code = "business-rule"
    http_status = 422


@dataclass(frozen=True)
class Purpose:
    label: str
    exemption: str | None  # the 164.528(a)(1) paragraph that keeps it out of the accounting
    of_use: str = ""  # HL7 v3 ActReason purpose of use, for the audit trail


PURPOSES = {
    "patient-request": Purpose(
        "the patient's own request", "(a)(1)(ii) to the individual", "PATRQT"
    ),
    "continuing-care": Purpose("continuing care", "(a)(1)(i) treatment", "TREAT"),
    "payment": Purpose("payment", "(a)(1)(i) payment", "HPAYMT"),
    "operations": Purpose("health care operations", "(a)(1)(i) operations", "HOPERAT"),
    "insurance": Purpose("insurance (underwriting or a claim)", None, "COVERAGE"),
    "legal": Purpose("legal proceedings", None, "HLEGAL"),
    "law-enforcement": Purpose("law enforcement", None, "HLEGAL"),
    "public-health": Purpose("public health", None, "PUBHLTH"),
    "research": Purpose("research", None, "HRESCH"),
}
# What permits the disclosure. Only a 164.508 authorization is exempt from the accounting;
# a court order or a subpoena (164.512(e)) is not, whatever the purpose.
BASES = {
    "authorization": Purpose(
        "authorization signed by the patient or a personal representative (45 CFR 164.508)",
        "(a)(1)(iv) pursuant to an authorization",
    ),
    "court-order": Purpose("order of a court or tribunal (45 CFR 164.512(e)(1)(i))", None),
    "subpoena": Purpose("subpoena with satisfactory assurances (45 CFR 164.512(e)(1)(ii))", None),
    "required-by-law": Purpose("required by law (45 CFR 164.512(a))", None),
}
AUTHORIZATION_TYPES = ("Consent", "DocumentReference")
ACCOUNTING_YEARS = 6  # 164.528(a)(1): disclosures in the six years before the request
ACCESS_DAYS = 30  # 164.524(b)(2): act on a patient's own request within 30 days
DEFAULT_BASE = "https://chartkeeper.invalid/fhir"  # fullUrl base when the caller gives none


@dataclass(frozen=True)
class Requester:
    name: str = ""
    organization: str = ""
    address: str = ""


@dataclass(frozen=True)
class Authorization:
    reference: str = ""  # Consent/… or DocumentReference/… on file
    basis: str = "authorization"  # a key of BASES
    signed: str | None = None
    expires: str | None = None
    covers: Scope = field(default_factory=Scope)
    sensitive: tuple[str, ...] = ()  # SENSITIVE codes the patient specifically authorized


@dataclass(frozen=True)
class RoiRequest:
    id: int
    patient_id: str
    purpose: str
    status: str
    requester: Requester
    authorization: Authorization
    asked: Scope
    logged: str
    logged_by: str
    validated: str | None = None
    validated_by: str | None = None
    fulfilled: str | None = None
    fulfilled_by: str | None = None
    denied: str | None = None
    denied_by: str | None = None
    denial_reason: str | None = None
    withheld: tuple[Withheld, ...] = ()
    packet: str | None = None

    @property
    def due(self) -> str | None:
        """The patient's own request is answered within 30 days (164.524(b)(2))."""
        if self.purpose != "patient-request":
            return None
        return (date.fromisoformat(self.logged[:10]) + timedelta(days=ACCESS_DAYS)).isoformat()

    def as_json(self) -> dict:
        return {**asdict(self), "due": self.due}


@dataclass(frozen=True)
class DisclosureRecord:
    """One disclosure, with what 164.528(b)(2) asks the accounting to show."""

    id: int
    request_id: int
    patient_id: str
    disclosed: str
    recipient_name: str
    recipient_address: str
    purpose: str
    description: str
    resources: tuple[str, ...]
    disclosed_by: str
    exemption: str | None


@dataclass(frozen=True)
class Fulfilment:
    request: RoiRequest
    record: DisclosureRecord
    bundle: dict
    pdf: Path


# --- reading and writing requests -------------------------------------------------------------


def _object(raw: dict, key: str, path: str, issues: list[Issue]) -> dict:
    value = raw.get(key)
    if value is not None and not isinstance(value, dict):
        issues.append(Issue(f"{path}{key}", "expected a JSON object"))
    return value if isinstance(value, dict) else {}


def _strings(raw: dict, key: str, path: str, issues: list[Issue]) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        issues.append(Issue(f"{path}.{key}", "expected a list of strings"))
        return ()
    return tuple(value)


def _date_issues(raw: dict, keys: tuple[str, ...], path: str) -> list[Issue]:
    """Dates are compared as text, so only the one form YYYY-MM-DD is accepted."""
    issues = []
    for key in keys:
        value = raw.get(key)
        try:
            if value is not None and (
                not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) or not date.fromisoformat(value)
            ):
                raise ValueError(value)
        except (TypeError, ValueError):
            issues.append(Issue(f"{path}.{key}", f"{value!r} is not a date (YYYY-MM-DD)"))
    return issues


def _scope(raw: dict, path: str, issues: list[Issue]) -> Scope:
    issues += _date_issues(raw, ("start", "end"), path)
    types, items = _strings(raw, "types", path, issues), _strings(raw, "items", path, issues)
    issues += [
        Issue(f"{path}.types", f"{t} is not a FHIR R4 resource type")
        for t in types
        if t != "*" and t not in RESOURCE_TYPES
    ]
    issues += [Issue(f"{path}.items", f"{i!r} is not Type/id") for i in items if i.count("/") != 1]
    return Scope(types, raw.get("start"), raw.get("end"), items)


def _authorization(raw: dict, issues: list[Issue]) -> Authorization:
    ref, basis = raw.get("reference") or "", raw.get("basis", "authorization")
    if ref and str(ref).split("/")[0] not in AUTHORIZATION_TYPES:
        issues.append(
            Issue("authorization.reference", f"{ref}: not a Consent or DocumentReference")
        )
    if basis not in BASES:
        issues.append(Issue("authorization.basis", f"one of {', '.join(BASES)}"))
    issues += _date_issues(raw, ("signed", "expires"), "authorization")
    sensitive = tuple(sorted(set(_strings(raw, "sensitive", "authorization", issues))))
    if unknown := set(sensitive) - set(SENSITIVE):
        issues.append(Issue("authorization.sensitive", f"unknown categories {sorted(unknown)}"))
    covers = _scope(
        _object(raw, "covers", "authorization.", issues), "authorization.covers", issues
    )
    return Authorization(str(ref), basis, raw.get("signed"), raw.get("expires"), covers, sensitive)


def parse_request(spec: dict) -> tuple[str, str, Requester, Authorization, Scope]:
    """Check the shape of a request as sent (JSON); every problem is reported at once.
    Whether it may be fulfilled is `validate_request`'s question."""
    issues: list[Issue] = []
    patient = str(spec.get("patient") or "").removeprefix("Patient/")
    if not patient:
        issues.append(Issue("patient", "which patient's records?"))
    if spec.get("purpose") not in PURPOSES:
        issues.append(Issue("purpose", f"one of {', '.join(PURPOSES)}"))
    who = _object(spec, "requester", "", issues)
    requester = Requester(**{k: str(who.get(k) or "") for k in ("name", "organization", "address")})
    auth = _authorization(_object(spec, "authorization", "", issues), issues)
    asked = _scope(_object(spec, "asked", "", issues), "asked", issues)
    if issues:
        raise BadRequest("the request is malformed: " + "; ".join(map(str, issues)), issues)
    return patient, spec["purpose"], requester, auth, asked


def _scope_of(raw: dict) -> Scope:
    return Scope(tuple(raw["types"]), raw["start"], raw["end"], tuple(raw["items"]))


def _from_row(row) -> RoiRequest:
    values = dict(row._mapping)
    auth = json.loads(values["authorization"])
    auth.update(covers=_scope_of(auth["covers"]), sensitive=tuple(auth["sensitive"]))
    values.update(
        requester=Requester(**json.loads(values["requester"])),
        authorization=Authorization(**auth),
        asked=_scope_of(json.loads(values["asked"])),
        withheld=tuple(Withheld(**w) for w in json.loads(values["withheld"] or "[]")),
    )
    return RoiRequest(**values)


def _load(tx: Transaction, request_id: int, *, lock: bool = False) -> RoiRequest:
    row = store.get_request(tx, request_id, lock=lock)
    if row is None:
        raise NotFound(f"there is no release-of-information request {request_id}")
    return _from_row(row)


@contextmanager
def _roi_work(repo: Repository) -> Iterator[Transaction]:
    """A transaction for ROI work: for a signed-in caller, the role must be one that may
    export every type (HIM, admin), checked and audited by the caller's guard."""
    with repo.transaction() as tx:
        if tx.guard:
            tx.guard.check("export", policy.ALL)
        yield tx


_FROM = {"validated": ("logged",), "fulfilled": ("validated",), "denied": ("logged", "validated")}
_HINT = {"logged": "validate it first", "fulfilled": "it is closed", "denied": "it is closed"}


def _require(req: RoiRequest, to: str) -> None:
    """Refuse a move the request's state does not allow, saying why."""
    if req.status not in _FROM[to]:
        raise Conflict(
            f"request {req.id} is {req.status}: only a {' or '.join(_FROM[to])} request can be "
            f"{to}" + (f" ({_HINT[req.status]})" if req.status in _HINT else "")
        )


def _move(tx: Transaction, req: RoiRequest, to: str, values: dict) -> None:
    """Change state only from a state that allows it, and only if nobody moved it first."""
    _require(req, to)
    if not store.move_request(tx, req.id, req.status, {"status": to, **values}):
        raise Conflict(f"request {req.id} was changed by someone else meanwhile; reload it")


def log_request(repo: Repository, spec: dict, *, by: str) -> RoiRequest:
    """Record a request as received. Example spec::

    {"patient": "p1", "purpose": "insurance",
     "requester": {"name": "Ann Lee", "organization": "Acme Life", "address": "1 Main St"},
     "authorization": {"reference": "DocumentReference/auth-1", "signed": "2026-01-05",
                       "expires": "2027-01-05", "covers": {"types": ["Condition"]},
                       "sensitive": ["HIV"]},
     "asked": {"types": ["Condition"], "start": "2024-01-01"}}
    """
    patient, purpose, requester, auth, asked = parse_request(spec)
    with _roi_work(repo) as tx:
        new_id = store.add_request(
            tx,
            patient_id=patient,
            purpose=purpose,
            status="logged",
            requester=json.dumps(asdict(requester)),
            authorization=json.dumps(asdict(auth)),
            asked=json.dumps(asdict(asked)),
            logged=utc_now(),
            logged_by=by,
        )
        return _load(tx, new_id)


def get_request(repo: Repository, request_id: int) -> RoiRequest:
    """One request, read past the guard: the caller's route authorised the reader."""
    with repo.trusted().reading() as tx:
        return _load(tx, request_id)


def list_requests(
    repo: Repository, *, patient_id: str | None = None, status: str | None = None
) -> list[RoiRequest]:
    with repo.trusted().reading() as tx:
        found = store.find_requests(tx, patient_id=patient_id or None, status=status or None)
        return [_from_row(r) for r in found]


def deny_request(repo: Repository, request_id: int, *, reason: str, by: str) -> RoiRequest:
    if not reason.strip():
        raise BadRequest("a denial needs its reason")
    with _roi_work(repo) as tx:
        req = _load(tx, request_id, lock=True)
        _move(
            tx,
            req,
            "denied",
            {"denied": utc_now(), "denied_by": by, "denial_reason": reason.strip()},
        )
        return _load(tx, request_id)


# --- validation -----------------------------------------------------------------------------


def _missing(req: RoiRequest) -> list[Issue]:
    auth, issues = req.authorization, []
    for path, value in (
        ("requester.name", req.requester.name),
        ("requester.address", req.requester.address),  # 164.528(b)(2)(ii) and where to send
        ("authorization.reference", auth.reference),
    ):
        if not value.strip():
            issues.append(Issue(path, "missing"))
    if auth.covers.empty:
        issues.append(Issue("authorization.covers", "missing: what does it cover?"))
    if req.asked.empty:
        issues.append(Issue("asked", "missing: which records are asked for?"))
    return issues


def _dates(auth: Authorization, today: str) -> list[Issue]:
    if not auth.signed:
        return [Issue("authorization.signed", "the authorization has not been signed")]
    issues = []
    if auth.signed > today:
        issues.append(Issue("authorization.signed", f"signed on {auth.signed}, a date to come"))
    if auth.expires and auth.expires < today:
        issues.append(
            Issue("authorization.expires", f"the authorization expired on {auth.expires}")
        )
    if not auth.expires and auth.basis == "authorization":
        issues.append(Issue("authorization.expires", "missing: 164.508(c)(1)(v) requires one"))
    if PSYCHOTHERAPY in auth.sensitive and len(auth.sensitive) > 1:
        issues.append(
            Issue(
                "authorization.sensitive",
                "psychotherapy notes need an authorization of their own, combined with no "
                "other category (45 CFR 164.508(b)(3)(ii))",
            )
        )
    return issues


def _beyond(asked: Scope, covers: Scope, items: dict[str, dict]) -> list[Issue]:
    """What the request asks for that the authorization does not cover, each named."""
    outside = []
    if asked.by_criteria and not covers.by_criteria:
        outside.append("records by type or date: the authorization names items only")
    elif asked.by_criteria:
        if covers.types and "*" not in covers.types:
            wanted = {"*"} if not asked.types else set(asked.types)
            extra = sorted(wanted - set(covers.types))
            outside += [f"resource type {t if t != '*' else 'any'}" for t in extra]
        if covers.start and (not asked.start or asked.start < covers.start):
            outside.append(f"dates before {covers.start}")
        if covers.end and (not asked.end or asked.end > covers.end):
            outside.append(f"dates after {covers.end}")
    for ref in asked.items:
        if ref not in items:
            outside.append(f"{ref}, which is not in this patient's record")
        elif reason := covers.why_not(items[ref]):
            outside.append(f"{ref} ({reason})")
    return [Issue("asked", f"outside the authorization: {what}") for what in outside]


def validate_request(
    repo: Repository, request_id: int, *, by: str, today: str | None = None
) -> RoiRequest:
    """Check the request against its authorization; refuse (Refused, 422) naming every
    problem, or move it to `validated`. `today`: YYYY-MM-DD, for a fixed clock."""
    today = today or utc_now()[:10]
    with _roi_work(repo) as tx:
        req = _load(tx, request_id, lock=True)
        _require(req, "validated")
        trusted = tx.unguarded()
        issues = _missing(req) + _dates(req.authorization, today)
        ref = req.authorization.reference
        if ref and not trusted.exists(*ref.split("/", 1)):
            issues.append(Issue("authorization.reference", f"{ref} is not on file"))
        if not trusted.exists("Patient", req.patient_id):
            issues.append(Issue("patient", f"Patient/{req.patient_id} is not in the store"))
        record = referencing(tx, "Patient", req.patient_id) | {("Patient", req.patient_id)}
        asked = [
            tuple(i.split("/", 1)) for i in req.asked.items if tuple(i.split("/", 1)) in record
        ]
        items = {f"{r['resourceType']}/{r['id']}": r for r in trusted.read_many(asked)}
        issues += _beyond(req.asked, req.authorization.covers, items)
        if issues:
            raise Refused(
                f"request {req.id} cannot be validated: " + "; ".join(map(str, issues)), issues
            )
        _move(tx, req, "validated", {"validated": utc_now(), "validated_by": by})
        return _load(tx, request_id)


# --- fulfilment -------------------------------------------------------------------------------


def _exemption(req: RoiRequest) -> str | None:
    reason = PURPOSES[req.purpose].exemption or BASES[req.authorization.basis].exemption
    return f"45 CFR 164.528{reason}" if reason else None


def _description(enclosed: list[dict]) -> str:
    """A brief description of what was disclosed (164.528(b)(2)(iii))."""
    counts = Counter(r["resourceType"] for r in enclosed)
    days = sorted(filter(None, map(clinical_date, enclosed)))
    what = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    return what + (f", dated {days[0]} to {days[-1]}" if days else "")


def _packet(tx: Transaction, req: RoiRequest, by: str, stamp: str) -> packet.Packet:
    trusted = tx.unguarded()
    keys = referencing(tx, "Patient", req.patient_id) | {("Patient", req.patient_id)}
    records = trusted.read_many(keys)
    patient = next(r for r in records if r["resourceType"] == "Patient")
    auth = req.authorization
    enclosed, withheld = packet.choose(records, req.asked, auth.covers, auth.sensitive)
    if not enclosed:
        raise Refused(
            f"request {req.id}: nothing the authorization covers was found "
            f"({len(withheld)} withheld); deny the request instead"
        )
    refs = [f"{r['resourceType']}/{r['id']}" for r in enclosed]
    who = req.requester
    return packet.Packet(
        request_id=req.id,
        stamp=stamp,
        patient=patient,
        requester=[
            ("Requester", who.name),
            ("Organization", who.organization),
            ("Address", who.address),
        ],
        purpose=PURPOSES[req.purpose].label,
        authorization=[
            ("On file", auth.reference),
            ("Basis", BASES[auth.basis].label),
            ("Signed", auth.signed or ""),
            ("Expires", auth.expires or "no expiry stated"),
            ("Covers", auth.covers.describe()),
            (
                "Also names",
                ", ".join(SENSITIVE[c] for c in auth.sensitive) or "no sensitive category",
            ),
        ],
        enclosed=enclosed,
        withheld=withheld,
        amendments=amendments.travelling(tx, refs),
        prepared_by=by,
        scans=_scanned_pages(trusted, enclosed),
    )


def _scanned_pages(tx: Transaction, enclosed: list[dict]) -> dict[str, list[bytes]]:
    """The page images of enclosed scanned documents (checksum-verified: a damaged page
    stops the disclosure rather than sending something other than the record)."""
    found: dict[str, list[bytes]] = {}
    for res in enclosed:
        for content in res.get("content") or [] if res["resourceType"] == "DocumentReference" else []:
            url = (content.get("attachment") or {}).get("url") or ""
            if url.startswith(scanned.SCAN_URL):
                try:
                    image = scanned.get_blob(tx, url.removeprefix(scanned.SCAN_URL))[1]
                except scanned.BlobDamaged as exc:
                    raise Conflict(f"{res['resourceType']}/{res['id']}: {exc}") from None
                found.setdefault(f"{res['resourceType']}/{res['id']}", []).append(image)
    return found


def fulfil(
    repo: Repository,
    request_id: int,
    *,
    by: str,
    out_dir: Path,
    base_url: str = DEFAULT_BASE,
    today: str | None = None,
) -> Fulfilment:
    """Make the disclosure: the packet (Bundle and PDF, written to `out_dir`), the
    DisclosureRecord and the "disclosure" audit entry, all in one transaction.

    `repo` must be guarded (a signed-in user, or the CLI operator's guard): a disclosure
    that could not be audited is refused.
    """
    if repo.guard is None:
        raise Forbidden("a disclosure must be made through a guarded store so it is audited")
    today = today or utc_now()[:10]
    with _roi_work(repo) as tx:
        req = _load(tx, request_id, lock=True)
        _require(req, "fulfilled")
        if problems := _dates(req.authorization, today):  # it may have expired since
            raise Refused(f"request {req.id}: " + "; ".join(map(str, problems)), problems)
        stamp = utc_now()
        made = _packet(tx, req, by, stamp)
        bundle = packet.bundle(made, base_url.rstrip("/"))
        record_id = _record_disclosure(tx, req, made.enclosed, by, stamp)
        pdf = out_dir.resolve() / f"roi-request-{req.id}.pdf"
        _move(
            tx,
            req,
            "fulfilled",
            {
                "fulfilled": stamp,
                "fulfilled_by": by,
                "withheld": json.dumps([asdict(w) for w in made.withheld]),
                "packet": str(pdf),
            },
        )
        packet.write_pdf(made, pdf)  # last: a failure here rolls the disclosure back
        pdf.with_suffix(".json").write_bytes(json.dumps(bundle).encode())
        return Fulfilment(_load(tx, req.id), _record(tx, record_id), bundle, pdf)


def _record_disclosure(
    tx: Transaction, req: RoiRequest, enclosed: list[dict], by: str, stamp: str
) -> int:
    """The DisclosureRecord row (exactly which versions went out) and its audit entry."""
    versions = [
        f"{r['resourceType']}/{r['id']}/_history/{r['meta']['versionId']}" for r in enclosed
    ]
    who = req.requester
    record_id = store.add_disclosure(
        tx,
        request_id=req.id,
        patient_id=req.patient_id,
        disclosed=stamp,
        recipient_name=", ".join(filter(None, [who.name, who.organization])),
        recipient_address=who.address,
        purpose=PURPOSES[req.purpose].label,
        description=_description(enclosed),
        resources=json.dumps(versions),
        disclosed_by=by,
        exemption=_exemption(req),
    )
    detail = f"ROI request {req.id} to {who.name} for {req.purpose}; disclosure {record_id}"
    tx.note("disclosure", enclosed, detail)
    return record_id


def packet_file(repo: Repository, request_id: int, kind: str = "pdf") -> Path:
    """The stored packet (kind "pdf" or "json") of a fulfilled request; fetching it again
    is audited as a read of the patient's record."""
    with _roi_work(repo) as tx:
        req = _load(tx, request_id)
        if req.status != "fulfilled" or not req.packet:
            raise NotFound(f"request {req.id} is {req.status}: it has no packet")
        path = Path(req.packet).with_suffix(f".{kind}")
        if not path.exists():
            raise NotFound(f"the packet of request {req.id} is no longer at {path}")
        tx.note(
            "read", [{"resourceType": "Patient", "id": req.patient_id}], f"ROI packet {path.name}"
        )
        return path


# --- accounting of disclosures -----------------------------------------------------------------


def _record(tx: Transaction, record_id: int) -> DisclosureRecord:
    return _disclosure(store.get_disclosure(tx, record_id))


def _disclosure(row) -> DisclosureRecord:
    values = dict(row._mapping)
    return DisclosureRecord(**{**values, "resources": tuple(json.loads(values["resources"]))})


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def accounting(
    repo: Repository,
    patient_id: str,
    *,
    as_of: datetime | None = None,
    include_exempt: bool = False,
) -> list[DisclosureRecord]:
    """The accounting of disclosures a patient may ask for (45 CFR 164.528): those in the
    six years up to `as_of` (default now), oldest first, without the ones 164.528(a)(1)
    exempts unless `include_exempt` (the HIM department's full disclosure log)."""
    end = as_of or datetime.now(UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)  # a naive instant is read as UTC
    try:
        start = end.replace(year=end.year - ACCOUNTING_YEARS)
    except ValueError:  # 29 February, six years back, is 28 February
        start = end.replace(year=end.year - ACCOUNTING_YEARS, day=28)
    with repo.trusted().reading() as tx:
        found = store.disclosures_of(
            tx, patient_id, _stamp(start), _stamp(end), include_exempt=include_exempt
        )
        return [_disclosure(r) for r in found]
