"""The `chartkeeper` command line: batch work over the same domain functions the API uses.

A bad option or argument prints one line (`error: --link: 1.5 is not in the range
0<=x<=1`) and exits 2, as usage errors do; expected failures (bad input data, a refused
write) print a message and exit 1 without a traceback; an import that refused some units
ends with exit code 1 and a summary table.
One module per concern registers its commands on the one `app`.
"""

from __future__ import annotations

import typer

from chartkeeper.config import SettingError
from chartkeeper.errors import ChartkeeperError

from . import coding, deid, hl7, paper, privacy, quality, records, registry, users  # noqa: F401  (each registers commands)
from .common import app, console

__all__ = ["app", "main"]


# Click's UsageError, whether typer uses click or its own vendored copy of it.
UsageError = typer.BadParameter.__base__


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, prog_name="chartkeeper", standalone_mode=False)
    except UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as usual
            exc.show()
        else:
            console.print(f"[red]error:[/red] {_usage_line(exc)}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except SettingError as exc:  # a bad CHARTKEEPER_* variable is a usage error too
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except typer.Abort:
        console.print("aborted")
        raise SystemExit(130) from None
    except ChartkeeperError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _usage_line(exc) -> str:
    """Click's usage error as one line: the option it concerns, then what is wrong."""
    message = " ".join(exc.format_message().split())
    if isinstance(exc, typer.BadParameter) and exc.param is not None:
        names = exc.param_hint or getattr(exc.param, "opts", None) or [exc.param.name]
        where = names if isinstance(names, str) else " / ".join(names)
        if where not in message:
            return f"{where}: {message}"
    if exc.ctx is not None and "Try" not in message:
        message += f" (see '{exc.ctx.command_path} --help')"
    return message
