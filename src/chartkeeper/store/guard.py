"""What the store asks of access control, declared here so `store` never imports `privacy`.

A Repository built with a Guard checks every read and write against it and writes an
audit entry in the same transaction as the access; `chartkeeper.privacy.access` implements
it for a signed-in user. A Repository without one (bulk import, migrations, the
privacy code itself) is the trusted inside of the system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection


@dataclass(frozen=True)
class HiddenLabels:
    """Security labels (system, code) the caller may not see, except for resources of the
    patients in `exempt_patients` (an active break-the-glass grant); `sealed` ones (of
    `codes`) stay hidden even there."""

    codes: frozenset[tuple[str, str]]
    exempt_patients: frozenset[str] = frozenset()
    sealed: frozenset[tuple[str, str]] = frozenset()


class Guard(Protocol):
    def check(self, action: str, resource_type: str) -> None:
        """Raise Forbidden unless the caller may do `action` on this type."""

    def hidden_labels(self) -> HiddenLabels | None:
        """Labels to leave out of searches and exports (None: nothing hidden)."""

    def visible(self, resource: dict) -> bool:
        """Whether this one resource may be shown to the caller."""

    def audit(
        self, conn: Connection, action: str, resources: Sequence[dict], detail: str = ""
    ) -> None:
        """Record a successful access, in the transaction that made it."""

    def failed(self, error: Exception) -> None:
        """Record a refused or failed access (its own transaction rolled back)."""
