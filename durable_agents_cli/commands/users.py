"""`dagent users`: who may use the stack's tools, and with which scopes (local issuer)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from durable_agents_cli import console
from services.settings import load_settings


def _scopes() -> list[str]:
    from services.teams import SCOPES

    return SCOPES


def users_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user's name (their login, say).")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", "-s", metavar="SCOPE", help="A scope to grant; repeat for more."),
    ] = None,
) -> None:
    """Add a user, or replace an existing user's scopes."""
    from services.identity import users

    home = load_settings().home
    first = not users.users_path(home).exists()
    users.add(home, name, scope or [], _scopes())
    granted = ", ".join(sorted(scope or [])) or "no scope"
    console.out.print(f"User '{name}' holds {granted}.")
    me = users.login_user()
    if first and name != me:
        # The file now lists everyone who may act: the login user, who held every scope
        # without a file, keeps them rather than being locked out.
        console.out.print(f"The users file now lists who may act; {me} (you) keeps every scope.")


def users_remove(name: Annotated[str, typer.Argument(metavar="NAME", help="The user to remove.")]) -> None:
    """Remove a user: their next token is refused."""
    from services.identity import users

    users.remove(load_settings().home, name, _scopes())
    console.out.print(f"User '{name}' removed.")


def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the users and the scopes each holds."""
    from services.identity import users

    listed = users.load(load_settings().home, _scopes())
    if as_json:
        console.out.print_json(json.dumps({"users": {n: sorted(s) for n, s in sorted(listed.items())}}))
        return
    table = Table(title="Users")
    table.add_column("user")
    table.add_column("scopes", overflow="fold")
    for name, scopes in sorted(listed.items()):
        table.add_row(name, ", ".join(sorted(scopes)) or "-")
    console.out.print(table)
    console.out.print(f"Scopes: {', '.join(_scopes())}.", style="dim")


def users_token(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user the token is for.")],
    service: Annotated[
        str,
        typer.Option(
            "--for", metavar="TEAM", help="The team whose MCP server the token is for: it or finance."
        ),
    ],
    minutes: Annotated[
        int, typer.Option(min=1, max=24 * 60, metavar="MINUTES", help="How long the token is good for.")
    ] = 60,
) -> None:
    """Print a token with NAME's scopes for one team's MCP server, for an MCP client's
    bearer token (an inspector, an IDE). It is good for that server only."""
    from datetime import timedelta

    from services import topology
    from services.errors import ConfigError
    from services.identity import delegation, signing_key, users
    from services.identity.tokens import mint

    if service not in topology.TEAMS:
        raise ConfigError(f"Unknown team '{service}'; teams: {', '.join(topology.TEAMS)}.")
    home = load_settings().home
    scopes = users.scopes_of(home, name, _scopes())
    if not any(scope.startswith(f"{service}:") for scope in scopes):
        console.warn(
            f"{name} holds no {service} scope: {service} will refuse every tool this token asks for."
        )
    token = mint(
        signing_key(home), name, scopes, delegation.service_audience(service), timedelta(minutes=minutes)
    )
    console.out.print(token, soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Who may use the tools, and with which scopes.", no_args_is_help=True)
    group.command(
        "add",
        epilog=console.examples(
            "dagent users add bob --scope it:read",
            "dagent users add alice -s it:read -s finance:read -s orchestrator:read",
        ),
    )(users_add)
    group.command("remove", epilog=console.examples("dagent users remove bob"))(users_remove)
    group.command("list", epilog=console.examples("dagent users list", "dagent users list --json"))(
        users_list
    )
    group.command(
        "token",
        epilog=console.examples(
            "dagent users token alice --for finance",
            "TOKEN=$(dagent users token alice --for it --minutes 10)",
        ),
    )(users_token)
    app.add_typer(group, name="users")
