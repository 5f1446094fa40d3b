"""Rebuilding the search index of a whole store, after the search parameters change.

Index rows are written with each resource; a store written before a parameter existed
(e.g. `Immunization.patient`) has no rows for it, so its searches would find nothing.
Each batch is one transaction: a killed run leaves whole resources indexed, and running
it again finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from sqlalchemy import Engine, and_, delete, func, select, tuple_

from chartkeeper.fhir import search_params
from chartkeeper.store.dialect import bulk_insert
from chartkeeper.store.engine import durable_write
from chartkeeper.store.resources import INDEX_TABLES, current, resource, resource_history

BATCH = 500


def count_current(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(resource).where(resource.c.deleted.is_(False))
        ).scalar_one()


def reindex_all(engine: Engine, on_batch: Callable[[int], None] = lambda n: None) -> int:
    """Re-extract the index rows of every current resource; returns how many."""
    done, after = 0, ("", "")
    while True:
        with durable_write(engine) as conn:
            rows = conn.execute(
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
            keys = [(r.resource_type, r.id) for r in rows]
            for table in INDEX_TABLES.values():
                conn.execute(
                    delete(table).where(
                        and_(tuple_(table.c.resource_type, table.c.resource_id).in_(keys))
                    )
                )
            extracted = [
                (k, search_params.extract(orjson.loads(r.content)))
                for k, r in zip(keys, rows, strict=True)
            ]
            for kind, table in INDEX_TABLES.items():
                bulk_insert(
                    conn,
                    table,
                    [(t, i, *row) for (t, i), idx in extracted for row in getattr(idx, kind)],
                )
        done += len(rows)
        after = keys[-1]
        on_batch(len(rows))
