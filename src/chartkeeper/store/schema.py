"""All of the store's tables, gathered for Alembic and the tests.

No table is declared here: each domain's tables live in, and are queried only from, that
domain's module under `chartkeeper.store` (resources, users, hl7_log, audit_trail,
break_glass, disclosures, amendments, deficiencies, merges, mpi, coding_work, registry,
paper). Add a new domain's tables in a module of its own and import it below. The migrations in
`migrations/versions` create exactly this metadata; `tests/store/test_migrations.py`
checks the two never drift apart.
"""

from __future__ import annotations

from chartkeeper.store import (  # noqa: F401  (imported to register their tables)
    amendments,
    audit_trail,
    break_glass,
    bulk,
    coding_work,
    deficiencies,
    disclosures,
    export_jobs,
    hl7_log,
    merges,
    mpi,
    paper,
    registry,
    resources,
    users,
)
from chartkeeper.store.base import metadata

__all__ = ["metadata"]
