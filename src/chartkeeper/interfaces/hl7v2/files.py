"""Importing HL7 v2 files: every message in every file, each through process_message.

This module owns the file-level loop and its report. What a file is called says nothing
(the sample `MDM_01.hl7` holds an ADT^A01); MSH-9 of each message decides. A file may hold
one message or many, bare or in FHS/BHS batches; each message is its own transaction and
gets its own ACK, so one bad message does not stop the rest of the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from chartkeeper.interfaces.hl7v2.ack import Ack
from chartkeeper.interfaces.hl7v2.parser import split_messages
from chartkeeper.interfaces.hl7v2.process import process_message
from chartkeeper.store import Repository


@dataclass(frozen=True)
class MessageResult:
    source: str  # the file
    index: int  # which message in the file, from 1
    ack: Ack


@dataclass
class Hl7ImportReport:
    files: int = 0
    messages: int = 0
    accepted: int = 0  # AA, re-sent ones included
    errors: int = 0  # AE
    rejected: int = 0  # AR
    duplicates: int = 0  # re-sent control ids answered from the log
    resources: int = 0  # resource versions written
    results: list[MessageResult] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "path: reason"

    @property
    def ok(self) -> bool:
        return not (self.errors or self.rejected or self.unreadable)

    def add(self, result: MessageResult) -> None:
        ack = result.ack
        self.messages += 1
        self.accepted += ack.code == "AA"
        self.errors += ack.code == "AE"
        self.rejected += ack.code == "AR"
        self.duplicates += ack.duplicate
        self.resources += 0 if ack.duplicate else len(ack.resources)
        self.results.append(result)


def import_files(
    repo: Repository,
    paths: Iterable[str | Path],
    on_message: Callable[[MessageResult], None] | None = None,
) -> Hl7ImportReport:
    """Process every message of every file in order; `on_message` sees each result."""
    report = Hl7ImportReport()
    for path in paths:
        source = str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            report.unreadable.append(f"{source}: {exc.strerror or exc}")
            continue
        report.files += 1
        chunks = split_messages(data) or [data]  # an empty file is one bad message
        for index, chunk in enumerate(chunks, start=1):
            result = MessageResult(source, index, process_message(repo, chunk))
            report.add(result)
            if on_message is not None:
                on_message(result)
    return report
