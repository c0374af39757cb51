"""`dagent keys`: the keys that encrypt the stack's payloads (ids only, never the keys)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from durable_agents_cli import console
from durable_agents_cli.stack.state import as_the_stack_runs
from services.settings import load_settings

NOT_SEALING = "This stack runs with --no-encrypt: the keys only read what was sealed before."


def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the payload keys by id; the current one encrypts, every one decrypts."""
    from services.payloads import keyring

    ring = keyring.load(load_settings().home)
    ids = sorted(ring.keys) if ring is not None else []
    if as_json:
        console.out.print_json(json.dumps({"current": ring.current if ring else None, "keys": ids}))
        return
    if ring is None:
        console.out.print("No payload keys yet: 'dagent up' makes the first.")
        return
    if not as_the_stack_runs(load_settings()).encrypt:
        console.warn(NOT_SEALING)
    table = Table(title="Payload keys")
    table.add_column("id")
    table.add_column("use")
    for key_id in ids:
        table.add_row(key_id, "encrypts and decrypts" if key_id == ring.current else "decrypts")
    console.out.print(table)


def keys_rotate() -> None:
    """Make a new current payload key. Older keys stay, to read what they encrypted."""
    from services.payloads import keyring

    settings = as_the_stack_runs(load_settings())
    ring = keyring.rotate(settings.home)
    if not settings.encrypt:
        console.warn(NOT_SEALING)
    console.out.print(
        f"Payload key {ring.current} now encrypts; {len(ring.keys) - 1} older key(s) kept to decrypt. "
        "Running workers use it from their next payload."
    )


def register(app: typer.Typer) -> None:
    keys = typer.Typer(help="The keys that encrypt the stack's payloads.", no_args_is_help=True)
    keys.command("list", epilog=console.examples("dagent keys list", "dagent keys list --json"))(keys_list)
    keys.command("rotate", epilog=console.examples("dagent keys rotate"))(keys_rotate)
    app.add_typer(keys, name="keys")
