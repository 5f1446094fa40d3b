"""Rebuilding the search index of a whole store, after the search parameters change.

Index rows are written with each resource; a store written before a parameter existed
(e.g. `Immunization.patient`) has no rows for it, so its searches would find nothing.
Each batch is one transaction: a killed run leaves whole resources indexed, and running
it again finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from sqlalchemy import Engine, func, select, tuple_

from chartkeeper.fhir import search_params
from chartkeeper.store.repository import Repository
from chartkeeper.store.resources import current, resource, resource_history

BATCH = 500


def count_current(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(resource).where(resource.c.deleted.is_(False))
        ).scalar_one()


def reindex_all(engine: Engine, on_batch: Callable[[int], None] = lambda n: None) -> int:
    """Re-extract the index rows of every current resource; returns how many. The rows
    are replaced by the same step a write uses (Transaction._reindex), a batch a
    transaction."""
    repo = Repository(engine)
    done, after = 0, ("", "")
    while True:
        with repo.transaction() as tx:
            rows = tx.conn.execute(
                select(resource.c.resource_type, resource.c.id, resource_history.c.content)
                .select_from(current)
                .where(
                    resource.c.deleted.is_(False),
                    tuple_(resource.c.resource_type, resource.c.id) > tuple_(*after),
                )
                .order_by(resource.c.resource_type, resource.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return done
            tx._reindex(
                [
                    ((r.resource_type, r.id), search_params.extract(orjson.loads(r.content)), True)
                    for r in rows
                ]
            )
        done += len(rows)
        after = (rows[-1].resource_type, rows[-1].id)
        on_batch(len(rows))
