"""Account administration at the machine: list, disable, enable, unlock, reset a password,
change a role.

The same domain functions as the admin API (`/accounts`); each change is audited as the
operator (`cli:<login>`).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chartkeeper.privacy.users import ROLES

from .common import DatabaseOption, DataDirOption, audit_cli, choice, out, repo_for, settings_for
from .records import user_app


def _check_username(value: str) -> str:
    if not value or len(value) > 64 or any(c.isspace() for c in value):
        raise typer.BadParameter(f"'{value[:70]}' is not a username (1-64 characters, no spaces)")
    return value


Username = Annotated[str, typer.Argument(callback=_check_username, help="The sign-in name.")]


def _admin(database_url, data_dir, action: str, username: str, change) -> None:
    repo = repo_for(database_url, data_dir)
    account = change(repo.engine)
    audit_cli(repo, settings_for(database_url, data_dir), f"user-{action}", f"{username}")
    out.print(f"{account.username} ({account.role}): {account.state}")


@user_app.command("list")
def user_list(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Every account: role, state (active, locked, disabled), failed sign-ins."""
    from chartkeeper.privacy.users import list_accounts

    repo = repo_for(database_url, data_dir)
    accounts = list_accounts(repo.engine)
    audit_cli(repo, settings_for(database_url, data_dir), "user-list", f"{len(accounts)} users")
    table = Table(title=f"users: {len(accounts)}")
    columns = ("username", "role", "state", "created", "last sign-in", "failed sign-ins")
    for column in (*columns, "locked until"):
        table.add_column(column)
    for a in accounts:
        locked = (a.locked_until or "")[:19] if a.locked else ""
        last = (a.last_sign_in or "never")[:16].replace("T", " ")
        table.add_row(
            a.username, a.role, a.state, a.created[:10], last, str(a.failed_sign_ins), locked
        )
    out.print(table)


@user_app.command("disable")
def user_disable(
    username: Username, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Stop an account signing in; its tokens stop working at once. The account is kept."""
    from chartkeeper.privacy.users import disable

    _admin(database_url, data_dir, "disable", username, lambda e: disable(e, username))


@user_app.command("enable")
def user_enable(
    username: Username, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Let a disabled account sign in again."""
    from chartkeeper.privacy.users import enable

    _admin(database_url, data_dir, "enable", username, lambda e: enable(e, username))


@user_app.command("unlock")
def user_unlock(
    username: Username, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Lift the lock after repeated failed sign-ins."""
    from chartkeeper.privacy.users import unlock

    _admin(database_url, data_dir, "unlock", username, lambda e: unlock(e, username))


@user_app.command("password")
def user_password(
    username: Username,
    password: Annotated[
        str,
        typer.Option(
            prompt="New password",
            hide_input=True,
            confirmation_prompt=True,
            envvar="CHARTKEEPER_NEW_PASSWORD",
            help="Asked for when not given.",
        ),
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Set a new password; the account's tokens are revoked (it signs in afresh)."""
    from chartkeeper.privacy.users import set_password

    _admin(
        database_url, data_dir, "password", username, lambda e: set_password(e, username, password)
    )


@user_app.command("role")
def user_role(
    username: Username,
    role: Annotated[
        str,
        typer.Argument(
            callback=choice(*ROLES), help="him, coder, registrar, clinician, auditor or admin."
        ),
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Give an account another role (it applies from the account's next request)."""
    from chartkeeper.privacy.users import change_role

    _admin(database_url, data_dir, "role", username, lambda e: change_role(e, username, role))
