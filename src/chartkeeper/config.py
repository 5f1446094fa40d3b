"""Settings: every setting has a name, a default and one line of help.

Values come from a CLI flag, then a `CHARTKEEPER_*` environment variable, then the default.
One Settings object is built by the CLI or the app and passed down; nothing reads the
environment at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


class SettingError(ValueError):
    """A `CHARTKEEPER_*` variable whose value the setting cannot take (the CLI exits 2)."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(
        default=Path("data"),
        metadata={"help": "Directory for the embedded database and generated files."},
    )
    database_url: str = field(
        default="",
        metadata={"help": "SQLAlchemy URL of the store; empty means SQLite under data_dir."},
    )

    token_minutes: int = field(
        default=60,
        metadata={"help": "How long a bearer token from /auth/token stays valid, in minutes."},
    )

    workers: int = field(
        default=1,
        metadata={
            "help": "Server processes `chartkeeper serve` runs (1 per core serves most "
            "requests per second; every process shares the one store and audit trail)."
        },
    )

    idle_minutes: int = field(
        default=15,
        metadata={"help": "Sign a token off after this many minutes without a request."},
    )
    break_glass_minutes: int = field(
        default=60,
        metadata={"help": "How long a break-the-glass grant opens a patient's records."},
    )
    reference_dir: str = field(
        default="",
        metadata={
            "help": "Folder of public reference files (icdo3/, naaccr/, casefinding/) the "
            "cancer registry reads; empty: shared/data/reference beside the checkout."
        },
    )
    max_request_mb: int = field(
        default=16,
        metadata={"help": "Largest request body the API takes, in MB; larger ones get 413."},
    )

    audit_key: str = field(
        default="",
        repr=False,
        metadata={
            "help": "Secret that chains and seals the audit trail; empty: audit.key in the "
            "data dir (made on first use). Keep it off the database server.",
            "secret": True,
        },
    )
    deid_key: str = field(
        default="",
        repr=False,
        metadata={
            "help": "Secret for de-identification pseudonyms and date shifts (same key, "
            "same pseudonyms); a --key-file given to a command wins.",
            "secret": True,
        },
    )
    deid_gazetteer: str = field(
        default="",
        metadata={
            "help": "Name and place lists for de-identification: a compiled file or a "
            "reference folder; empty: the one imported into the data dir."
        },
    )

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            if overrides.get(f.name) is not None:
                values[f.name] = overrides[f.name]
                continue
            name = f"CHARTKEEPER_{f.name.upper()}"
            raw = os.environ.get(name)
            values[f.name] = f.default if raw in (None, "") else _parse(name, f.default, raw)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chartkeeper.db').resolve()}"


def _parse(name: str, default: object, raw: str) -> object:
    """The variable's text as its setting's type: a count is a whole number, 0 or more."""
    if isinstance(default, bool) or not isinstance(default, int):
        return type(default)(raw)
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not a whole number") from None
    if value < 0:
        raise SettingError(f"{name}={raw!r} cannot be negative")
    return value
