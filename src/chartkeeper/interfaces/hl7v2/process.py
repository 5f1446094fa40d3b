"""One HL7 v2 message in, one ACK out: `process_message`.

This module owns the order of the steps and their all-or-nothing property. The message is
parsed; its header is checked the way HL7 v2 2.9.2 tells a receiver to (MSH-9 message type
and event, MSH-11 processing id, MSH-12 version: any of these unacceptable is AR); the
message log is asked whether this very message (sender, control id and content) was
processed before, and if so its first ACK is returned and nothing is written; a control id
re-used for different content is processed, with a warning in its ACK; the mapper for its
type builds the resources; they are validated and written, and the log row recorded, in
ONE store transaction. Any problem on the way is an AE or AR with ERR segments naming
where, and the transaction rolls back, so a refused message writes nothing at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from chartkeeper.errors import VersionConflict
from chartkeeper.interfaces.hl7v2 import (
    adt,
    documents,
    financial,
    immunization,
    log,
    orders,
    problems,
    results,
    scheduling,
    source,
)
from chartkeeper.interfaces.hl7v2.ack import Ack, build_ack
from chartkeeper.interfaces.hl7v2.build import Build
from chartkeeper.interfaces.hl7v2.datatypes import lenient
from chartkeeper.interfaces.hl7v2.errors import (
    DUPLICATE_KEY,
    INTERNAL,
    RECORD_LOCKED,
    REQUIRED_FIELD,
    SEGMENT_SEQUENCE,
    UNSUPPORTED_EVENT,
    UNSUPPORTED_PROCESSING_ID,
    UNSUPPORTED_TYPE,
    UNSUPPORTED_VERSION,
    VALUE_TOO_LONG,
    Hl7Error,
    Location,
    Problem,
)
from chartkeeper.interfaces.hl7v2.parser import (
    Message,
    decode_message,
    parse_message,
    split_messages,
)
from chartkeeper.store import DatabaseError, DuplicateKey, Repository

logger = logging.getLogger(__name__)

# Message type (table 0076) -> (mapper, trigger events it handles, table 0003).
HANDLERS: dict[str, tuple[Callable[[Build], None], frozenset[str]]] = {
    "ADT": (adt.handle_adt, adt.EVENTS),
    "ORU": (results.handle_oru, results.EVENTS),
    "MDM": (documents.handle_mdm, documents.EVENTS),
    "ORM": (orders.handle_orm, orders.EVENTS),
    # OML (laboratory order, 4.4.6): its ORDER groups are ORM's, ORC then OBR.
    "OML": (orders.handle_orm, frozenset({"O21", "O33", "O35"})),
    "SIU": (scheduling.handle_siu, scheduling.EVENTS),
    "VXU": (immunization.handle_vxu, immunization.EVENTS),
    "BAR": (financial.handle_bar, financial.BAR_EVENTS),
    "DFT": (financial.handle_dft, financial.DFT_EVENTS),
    "PPR": (problems.handle_ppr, problems.EVENTS),
}
SUPPORTED = {f"{kind}^{event}" for kind, (_, events) in HANDLERS.items() for event in events}
# v2.1 to v2.8.2. HL7 v2 only ever adds fields at the end of a segment and components at the
# end of a field (2.8.4, "Version compatibility definition"), so the PID, PV1, MRG, ORC, OBR,
# OBX, TXA, RXA, SCH and AI* fields we read sit where an older or newer sender puts them;
# what an older version lacks is simply absent. A later 2.x is read the same way, with a
# warning; anything else (3.0, garbage) is refused, since we cannot know its layout.
VERSIONS = frozenset(
    [
        "2.1",
        "2.2",
        "2.3",
        "2.3.1",
        "2.4",
        "2.5",
        "2.5.1",
        "2.6",
        "2.7",
        "2.7.1",
        "2.8",
        "2.8.1",
        "2.8.2",
    ]
)
_LATER_V2 = re.compile(r"2\.(9|[1-9][0-9])(\.[0-9]+)*")
PROCESSING_IDS = frozenset({"P", "T", "D"})  # table 0103; T and D are accepted as-is
_ATTEMPTS = 3  # a concurrent writer on the same patient is retried, then AR


def process_message(repo: Repository, raw: bytes | str) -> Ack:
    """Store what one message says and return its ACK. Never raises for bad input. A
    refused message is still kept, raw, with its ACK in the message log (`source`)."""
    ack = _answer(repo, raw)
    if not ack.accepted and not ack.duplicate:
        _keep_refused(repo, raw, ack)
    return ack


def _keep_refused(repo: Repository, raw: bytes | str, ack: Ack) -> None:
    """The raw bytes of a refused message, so nothing a sender sent is lost; in a
    transaction of its own, since the message's own rolled back."""
    if not raw_length_ok(raw):
        return
    try:
        message = _readable(raw)
        sender = message.sender if message else ("", "")
        key = log.digest(message) if message else log.raw_digest(raw)
        with repo.transaction() as tx:
            written = source.keep(tx, raw, None, [])
            log.record_refused(tx, sender, ack, key, written)
    except Exception:  # the store is down or refuses: the ACK already tells the sender
        logger.exception("HL7 %s: the refused message could not be kept", ack.control_id)


def raw_length_ok(raw: bytes | str) -> bool:
    return 0 < len(raw) <= 16 * 1024 * 1024


def _readable(raw: bytes | str) -> Message | None:
    try:
        return parse_message(decode_message(split_messages(raw)[0]))
    except Exception:  # unreadable: logged under no sender
        return None


def _answer(repo: Repository, raw: bytes | str) -> Ack:
    try:
        chunks = split_messages(raw)
        if len(chunks) != 1:
            found = "no MSH segment" if not chunks else f"{len(chunks)} messages"
            raise Hl7Error("AR", [Problem(Location("MSH"), SEGMENT_SEQUENCE, f"found {found}")])
        message = parse_message(decode_message(chunks[0]))
    except Hl7Error as exc:
        return _refused(exc, None)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _process(repo, message, raw)
        except Hl7Error as exc:
            return _refused(exc, message)
        except (VersionConflict, DuplicateKey) as exc:
            if attempt == _ATTEMPTS:
                problem = Problem(None, RECORD_LOCKED, f"record locked by another writer: {exc}")
                return _refused(Hl7Error("AR", [problem]), message)
        except DatabaseError as exc:  # the store is unreachable: AR asks the sender to retry
            logger.exception("HL7 %s: store error", message.control_id)
            return _refused(Hl7Error("AR", [Problem(None, INTERNAL, str(exc.orig))]), message)
        except Exception as exc:
            logger.exception("HL7 %s: internal error", message.control_id)
            problem = Problem(None, INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
            return _refused(Hl7Error("AE", [problem]), message)
    raise AssertionError("unreachable")


def check_header(message: Message) -> None:
    """The MSH checks of 2.9.2 step 1: raise AR naming every unacceptable field."""
    msh = message.msh
    problems: list[Problem] = []
    required = ((9, "message type"), (10, "control id"), (11, "processing id"), (12, "version"))
    for n, what in required:
        if not msh.get(n):
            problems.append(Problem(msh.loc(n), REQUIRED_FIELD, f"MSH-{n} {what} is required"))
    for n, limit in ((3, 227), (4, 227), (10, 199)):
        if len(msh.raw(n)) > limit:
            problems.append(Problem(msh.loc(n), VALUE_TOO_LONG, f"MSH-{n} exceeds {limit}"))
    if msh.get(11) and msh.get(11).upper() not in PROCESSING_IDS:
        text = f"processing id {msh.get(11)!r} is not P, T or D"
        problems.append(Problem(msh.loc(11), UNSUPPORTED_PROCESSING_ID, text))
    if message.version and message.version not in VERSIONS:
        if _LATER_V2.fullmatch(message.version):
            text = f"version {message.version!r} is read as 2.8 (fields added later are ignored)"
            message.warnings.append(Problem(msh.loc(12), UNSUPPORTED_VERSION, text, "W"))
        else:
            text = f"version {message.version!r} is not supported (2.1 to 2.8.2 are)"
            problems.append(Problem(msh.loc(12), UNSUPPORTED_VERSION, text))
    if message.type and message.type not in HANDLERS:
        text = f"message type {message.type} is not supported; supported: {_supported()}"
        problems.append(Problem(msh.rep(9).loc_of(1), UNSUPPORTED_TYPE, text))
    elif message.type and message.event not in HANDLERS[message.type][1]:
        name = f"{message.type}^{message.event}" if message.event else message.type
        text = f"{name} is not supported; supported: {_supported()}"
        problems.append(Problem(msh.rep(9).loc_of(2), UNSUPPORTED_EVENT, text))
    if problems:
        raise Hl7Error("AR", problems, msh)


def _supported() -> str:
    return ", ".join(sorted(SUPPORTED))


def _process(repo: Repository, message: Message, raw: bytes | str) -> Ack:
    check_header(message)
    sender, control_id = message.sender, message.control_id
    message_type = f"{message.type}^{message.event}"
    message_digest = log.digest(message)
    with repo.transaction() as tx:
        logged = log.find(tx, sender, control_id, message_digest)
        if logged is not None:
            return _repeat(message, logged)
        build = Build(message, tx)
        earlier = log.find(tx, sender, control_id)
        if earlier is not None:
            build.warnings.append(_reused(message, earlier))
        with lenient(build.warnings):
            HANDLERS[message.type][0](build)
            written = build.write()
        written += source.keep(tx, raw, message, build.touched)
        warnings = build.distinct_warnings()
        ack_text = build_ack(message.msh, "AA", warnings)
        log.record(tx, sender, control_id, message_type, message_digest, "AA", ack_text, written)
    logger.info("HL7 %s %s accepted: %d written", message_type, control_id, len(written))
    return Ack("AA", ack_text, control_id, message_type, tuple(warnings), False, tuple(written))


def _repeat(message: Message, logged: log.LoggedMessage) -> Ack:
    logger.info("HL7 %s re-sent: answered from the message log", message.control_id)
    return Ack(
        logged.ack_code,
        logged.ack_text,
        message.control_id,
        logged.message_type,
        (),
        True,
        tuple(logged.resources),
    )


def _reused(message: Message, earlier: log.LoggedMessage) -> Problem:
    """The warning for a control id that already named a different message. The message is
    processed all the same: refusing it would make the sender drop it or loop re-sending,
    and answering it as a resend would drop it silently (table 0357 205, severity W)."""
    app, facility = message.sender
    text = (
        f"control id {message.control_id!r} from {app or '(no MSH-3)'} / "
        f"{facility or '(no MSH-4)'} was already used for a different {earlier.message_type} "
        f"message, received {earlier.received}; this message was processed as a new one, "
        "and control ids should be unique per sender"
    )
    return Problem(message.msh.loc(10), DUPLICATE_KEY, text, "W")


def _refused(exc: Hl7Error, message: Message | None) -> Ack:
    header = exc.header or (message.msh if message else None)
    text = build_ack(header, exc.ack_code, exc.problems)
    control_id = header.get(10) if header else ""
    message_type = "^".join(p for p in (header.get(9, 1), header.get(9, 2)) if p) if header else ""
    logger.warning("HL7 %s %s refused (%s): %s", message_type, control_id, exc.ack_code, exc)
    return Ack(exc.ack_code, text, control_id, message_type, tuple(exc.problems))
