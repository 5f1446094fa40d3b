"""The audit trail: who did what to which records, when, from where, why, with what result.

Every row is chained to the one before by an HMAC over its content and the previous row's
hash, keyed with a secret kept outside the database (`audit.key` in the data directory, or
CHARTKEEPER_AUDIT_KEY). The database refuses updates and deletes (triggers); someone who
gets around that still cannot forge a row without the key, and `verify` names every row
that was changed, removed or inserted. The head row (last sequence and hash) shows rows
cut from the end, and it is sealed with its own HMAC, so rewriting the head to match a cut
(or a wiped) log shows too: nobody without the key can seal a head. Rows are written in the
same transaction as the change they record.

What the key cannot show is a head rolled back to a sealed state someone copied earlier;
for that the operator keeps a checkpoint elsewhere (`checkpoint`, then
`verify(..., checkpoint=...)`): a signed (sequence, hash, time) the trail must still contain.

Exposed as FHIR AuditEvent (https://hl7.org/fhir/R4/auditevent.html) to auditors, and as
the access report a patient may ask for (45 CFR 164.528 accounting; ONC 170.315(d)(2)).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from chartkeeper.fhir.search_params import utc_now
from chartkeeper.store import audit_trail as trail
from chartkeeper.store.engine import Connection, Engine

GENESIS = "0" * 64
# FHIR AuditEvent.action: C create, R read/view/print, U update, D delete, E execute.
_FHIR_ACTION = {
    "create": "C",
    "update": "U",
    "delete": "D",
    "read": "R",
    "vread": "R",
    "history": "R",
    "search": "E",
    "everything": "R",
    "export": "R",
    "disclosure": "R",
    "login": "E",
    "login-failed": "E",
    "break-glass": "E",
    "logout": "E",
    "amendment": "U",
}
_OUTCOME = {"success": "0", "failure": "4", "denied": "4", "error": "8"}


@dataclass(frozen=True)
class AuditEntry:
    action: str
    outcome: str = "success"
    username: str | None = None
    role: str | None = None
    resources: tuple[str, ...] = ()
    patients: tuple[str, ...] = ()
    source: str | None = None
    purpose: str | None = None
    break_glass: bool = False
    detail: str = ""


@dataclass(frozen=True)
class AuditProblem:
    seq: int | None
    problem: str

    def __str__(self) -> str:
        return f"row {self.seq}: {self.problem}" if self.seq is not None else self.problem


@dataclass
class AuditKey:
    """The HMAC key: from the environment, else a file created on first use (mode 0600)."""

    secret: bytes = field(repr=False)

    @classmethod
    def load(cls, data_dir: Path) -> AuditKey:
        from chartkeeper.config import Settings

        configured = Settings.from_env().audit_key  # CHARTKEEPER_AUDIT_KEY
        if configured:
            return cls(configured.encode())
        path = data_dir / "audit.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(32))
        return cls(path.read_text().strip().encode())


_FIELDS = (
    "seq",
    "recorded",
    "username",
    "role",
    "action",
    "outcome",
    "resources",
    "patients",
    "source",
    "purpose",
    "break_glass",
    "detail",
)


def _digest(key: AuditKey, prev_hash: str, row: dict) -> str:
    body = json.dumps([prev_hash, *(row[f] for f in _FIELDS)], separators=(",", ":"))
    return hmac.new(key.secret, body.encode(), hashlib.sha256).hexdigest()


def _mac(key: AuditKey, purpose: str, *parts: object) -> str:
    """A keyed value for one purpose: a head seal can never pass for a row hash or a
    checkpoint signature, nor the other way round."""
    body = json.dumps([purpose, *parts], separators=(",", ":"))
    return hmac.new(key.secret, body.encode(), hashlib.sha256).hexdigest()


def _seal(key: AuditKey, seq: int, hash_: str) -> str:
    return _mac(key, "chartkeeper-audit-head", seq, hash_)


def open_trail(engine: Engine, key: AuditKey) -> None:
    """Seal a new store's head (as the migration left it: nothing recorded, no seal) before
    anything is recorded or stored; the app and every command call this on opening a
    store. Only a store that holds no records and no audit rows counts as new: a trail
    wiped and its head reset to look new is never sealed again, so it stays found."""
    with trail.writing(engine) as conn:
        head = trail.head(conn, for_update=True)
        new = (
            head.seq == 0
            and head.hash == GENESIS
            and head.seal is None
            and trail.holds_nothing(conn)
        )
        if new:
            trail.set_head(conn, seal=_seal(key, head.seq, head.hash))


def seal_unsealed(engine: Engine, key: AuditKey) -> tuple[int, str]:
    """Seal the head of a store whose trail began before heads were sealed (it has no
    seal at all), once `verify` finds nothing else wrong: the operator's explicit word,
    with the key, that the trail as it stands is whole. A head whose seal does not match
    is never re-sealed: that is tampering, not age. Returns (rows, first row's time)."""
    from chartkeeper.errors import Conflict

    problems = [p for p in verify(engine, key) if "does not carry its seal" not in p.problem]
    if problems:
        raise Conflict(f"the audit trail is not intact ({problems[0]}); nothing was sealed")
    with trail.writing(engine) as conn:
        head = trail.head(conn, for_update=True)
        if head.seal is not None:
            raise Conflict(
                "the audit head carries a seal already"
                + ("" if head.seal == _seal(key, head.seq, head.hash) else " that does not match")
            )
        trail.set_head(conn, seal=_seal(key, head.seq, head.hash))
        first = trail.first_recorded(conn)
    return head.seq, first


def record(conn: Connection, key: AuditKey, entry: AuditEntry) -> int:
    """Append one entry in the caller's transaction; returns its sequence number."""
    head = trail.head(conn, for_update=True)
    row = {
        "seq": head.seq + 1,
        "recorded": utc_now(),
        "username": entry.username,
        "role": entry.role,
        "action": entry.action,
        "outcome": entry.outcome,
        "resources": json.dumps(sorted(set(entry.resources))),
        "patients": json.dumps(sorted(set(entry.patients))),
        "source": entry.source,
        "purpose": entry.purpose,
        "break_glass": bool(entry.break_glass),
        "detail": entry.detail,
    }
    row["prev_hash"] = head.hash
    row["hash"] = _digest(key, head.hash, row)
    trail.append(conn, row)
    # The new head is sealed only when the one it follows was: a head someone rewrote (or
    # reset) stays unsealed, so `verify` keeps saying so however much is recorded after.
    sealed = head.seal is not None and hmac.compare_digest(
        head.seal, _seal(key, head.seq, head.hash)
    )
    trail.set_head(
        conn,
        seq=row["seq"],
        hash=row["hash"],
        seal=_seal(key, row["seq"], row["hash"]) if sealed else None,
    )
    return row["seq"]


def record_alone(engine: Engine, key: AuditKey, entry: AuditEntry) -> int:
    """Append in a transaction of its own: for refusals, whose own transaction rolled back."""
    with trail.writing(engine) as conn:
        return record(conn, key, entry)


def verify(
    engine: Engine, key: AuditKey, *, checkpoint: Checkpoint | None = None
) -> list[AuditProblem]:
    """Walk the chain; every row changed, missing or inserted, a cut end and a head that
    does not carry its seal are named. With a checkpoint (see `checkpoint`), the trail must
    still hold the row it names, unchanged."""
    problems: list[AuditProblem] = []
    expected_seq, prev_hash = 1, GENESIS
    at_checkpoint: str | None = None
    if checkpoint is not None and not checkpoint.signed_by(key):
        problems.append(
            AuditProblem(None, "the checkpoint's signature does not match this audit key")
        )
        checkpoint = None
    with trail.reading(engine) as conn:
        for row in trail.rows_in_order(conn):
            seq = row["seq"]
            if seq > expected_seq:
                gap = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
                problems.append(AuditProblem(None, f"rows {gap} are missing (deleted)"))
            elif row["prev_hash"] != prev_hash:
                problems.append(
                    AuditProblem(
                        seq,
                        "does not follow the row before it (a row was "
                        "inserted or removed before it)",
                    )
                )
            if _digest(key, row["prev_hash"], row) != row["hash"]:
                problems.append(
                    AuditProblem(seq, "was altered: its content does not match its hash")
                )
            if checkpoint is not None and seq == checkpoint.seq:
                at_checkpoint = row["hash"]
            expected_seq, prev_hash = seq + 1, row["hash"]
        head = trail.head(conn)
    if head.seq != expected_seq - 1 or head.hash != prev_hash:
        problems.append(
            AuditProblem(
                None,
                f"the log ends at row {expected_seq - 1} but its head "
                f"says {head.seq}: rows were removed from the end or "
                "appended without the head",
            )
        )
    if head.seal is None or not hmac.compare_digest(head.seal, _seal(key, head.seq, head.hash)):
        problems.append(
            AuditProblem(
                None,
                f"the head (row {head.seq}) does not carry its seal: it was rewritten or "
                "reset without the audit key, so rows were cut from the end or wiped",
            )
        )
    if checkpoint is not None:
        if at_checkpoint is None:
            problems.append(
                AuditProblem(
                    None,
                    f"row {checkpoint.seq} of the checkpoint taken {checkpoint.time} is no "
                    f"longer in the trail (it ends at row {expected_seq - 1})",
                )
            )
        elif at_checkpoint != checkpoint.hash:
            problems.append(
                AuditProblem(
                    checkpoint.seq,
                    f"differs from the checkpoint taken {checkpoint.time}: the trail up to "
                    "it was rewritten",
                )
            )
    return problems


@dataclass(frozen=True)
class Checkpoint:
    """A signed head the operator keeps outside the database (printed by `chartkeeper
    audit checkpoint`): later, the trail must still hold row `seq` with this hash."""

    seq: int
    hash: str
    time: str
    signature: str

    def signed_by(self, key: AuditKey) -> bool:
        expected = _mac(key, "chartkeeper-audit-checkpoint", self.seq, self.hash, self.time)
        return hmac.compare_digest(expected, self.signature)

    def dumps(self) -> str:
        return json.dumps(
            {"seq": self.seq, "hash": self.hash, "time": self.time, "signature": self.signature},
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str) -> Checkpoint:
        """Parse what `dumps` wrote; ValueError says what is wrong with it."""
        try:
            data = json.loads(text)
            checkpoint = cls(
                int(data["seq"]), str(data["hash"]), str(data["time"]), str(data["signature"])
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(
                "a checkpoint is the JSON line `chartkeeper audit checkpoint` printed: "
                '{"seq":…,"hash":…,"time":…,"signature":…}'
            ) from exc
        return checkpoint


def checkpoint(engine: Engine, key: AuditKey) -> Checkpoint:
    """The current head, signed with the audit key and stamped with the time: to be kept
    where whoever can change the database cannot (printed, mailed, in another system)."""
    with trail.reading(engine) as conn:
        head = trail.head(conn)
    stamp = utc_now()
    signature = _mac(key, "chartkeeper-audit-checkpoint", head.seq, head.hash, stamp)
    return Checkpoint(head.seq, head.hash, stamp, signature)


# Audit rows, newest first, filtered by patient, user, action, time, break-glass or number.
entries = trail.find


def as_audit_event(row: dict) -> dict:
    """One audit row as a FHIR R4 AuditEvent."""
    event: dict = {
        "resourceType": "AuditEvent",
        "id": str(row["seq"]),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "urn:chartkeeper:audit-action", "code": row["action"]}],
        "action": _FHIR_ACTION.get(row["action"], "E"),
        "recorded": row["recorded"],
        "outcome": _OUTCOME.get(row["outcome"], "4"),
        "agent": [
            {
                "who": {
                    "identifier": {
                        "system": "urn:chartkeeper:user",
                        "value": row["username"] or "anonymous",
                    }
                },
                "requestor": True,
            }
        ],
        "source": {"observer": {"display": "chartkeeper"}},
    }
    if row["detail"]:
        event["outcomeDesc"] = row["detail"]
    if row["role"]:
        event["agent"][0]["role"] = [{"text": row["role"]}]
    if row["source"]:
        event["agent"][0]["network"] = {"address": row["source"], "type": "2"}
    if row["purpose"]:
        event["purposeOfEvent"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        "code": row["purpose"],
                    }
                ]
            }
        ]
    refs = json.loads(row["resources"])
    if refs:
        event["entity"] = [{"what": {"reference": ref}} for ref in refs]
    if row["break_glass"]:
        event.setdefault("purposeOfEvent", []).append(
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        "code": "ETREAT",
                        "display": "Emergency Treatment (break-the-glass)",
                    }
                ]
            }
        )
    return event
