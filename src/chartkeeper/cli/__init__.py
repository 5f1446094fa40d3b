"""The `chartkeeper` command line: batch work over the same domain functions the API uses.

Expected failures (bad input, a refused write) print a message and exit 1 without a
traceback; an import that refused some units ends with exit code 1 and a summary table.
One module per concern registers its commands on the one `app`.
"""

from __future__ import annotations

from chartkeeper.errors import ChartkeeperError

from . import coding, deid, hl7, paper, privacy, quality, records, registry  # noqa: F401  (each registers commands)
from .common import app, console

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except ChartkeeperError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1) from None
