"""Settings: every setting has a name, a default and one line of help.

Values come from a CLI flag, then a `CHARTKEEPER_*` environment variable, then the default.
One Settings object is built by the CLI or the app and passed down; nothing reads the
environment at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CHARTKEEPER_{name.upper()}", default)


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

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            if overrides.get(f.name) is not None:
                values[f.name] = overrides[f.name]
                continue
            default = f.default
            raw = _env(f.name, str(default) if default != "" else "")
            values[f.name] = Path(raw) if isinstance(default, Path) else raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chartkeeper.db').resolve()}"
