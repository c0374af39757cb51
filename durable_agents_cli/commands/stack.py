"""`dagent up`, `down`, `status` and `logs`: parse, call the stack, render."""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.text import Text

from durable_agents_cli import console, render
from durable_agents_cli.session import check_id
from durable_agents_cli.stack import control, logs, private
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.processes import address_accepts, tail
from durable_agents_cli.stack.state import StackConfig, StackState, read_state
from services import limits, topology
from services.safe_text import clean_text
from services.settings import load_settings, team_port_flag

# `status`'s exit code when the stack is not running or not healthy.
NOT_HEALTHY = 3


def _port_option(what: str, env: str) -> Any:
    return typer.Option(metavar="PORT", help=f"Port of {what} (env {env}).", show_default=False)


def with_team_ports(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` one `--<team>-mcp-port` option per team in the topology; it
    receives them as keyword arguments `<team>_mcp_port`."""
    signature = inspect.signature(command, eval_str=True)
    ports = [
        inspect.Parameter(
            team_port_flag(team.name),
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                int | None, _port_option(f"the {team.title} MCP server", team.mcp_port_variable)
            ],
        )
        for team in topology.TEAMS.values()
    ]
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    command.__signature__ = signature.replace(parameters=[*fixed, *ports])  # type: ignore[attr-defined]
    return command


@with_team_ports
def up(
    pattern: Annotated[
        topology.Pattern, typer.Option(metavar="|".join(topology.PATTERNS), help="Agent pattern to run.")
    ] = topology.DEFAULT_PATTERN,
    model: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL",
            help="LiteLLM model string; default 'offline' (env DAGENT_MODEL).",
            show_default=False,
        ),
    ] = None,
    model_timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Seconds one model call may take, retries included; default "
            f"{limits.DEFAULT_MODEL_TIMEOUT:g} (env DAGENT_MODEL_TIMEOUT).",
            show_default=False,
        ),
    ] = None,
    temporal_port: Annotated[
        int | None, _port_option("the Temporal gRPC server", "DAGENT_TEMPORAL_PORT")
    ] = None,
    ui_port: Annotated[int | None, _port_option("the Temporal Web UI", "DAGENT_UI_PORT")] = None,
    encrypt: Annotated[
        bool | None,
        typer.Option(
            "--encrypt/--no-encrypt",
            help="Encrypt payloads with the stack's keys (default; env DAGENT_ENCRYPT). --no-encrypt "
            "shows raw JSON in the Web UI but lets anyone who reaches Temporal read it and any "
            "worker's result be trusted.",
            show_default=False,
        ),
    ] = None,
    **team_ports: int | None,
) -> None:
    """Start Temporal, the workers (and MCP servers) in the background; return when all are ready."""
    settings = load_settings(
        model=model,
        model_timeout=model_timeout,
        temporal_port=temporal_port,
        ui_port=ui_port,
        encrypt=encrypt,
        **team_ports,
    )
    from services import temporal  # only `up` needs the Temporal SDK

    model_environment = check_model(settings.model)
    from services.identity.keys import check_provider

    check_provider(settings.auth_issuer, settings.auth_jwks)

    config = StackConfig(
        pattern=pattern,
        model=settings.model,
        model_timeout=settings.model_timeout,
        log_level=settings.log_level,
        temporal_port=settings.temporal_port,
        ui_port=settings.ui_port,
        mcp_ports=settings.mcp_ports,
        encrypt=settings.encrypt,
        metrics=settings.metrics,
        external_address=temporal.external_address(),
        model_environment=model_environment,
    )
    paths = StackPaths(settings.home)
    try:
        with Live(Text("Starting dagent..."), console=console.out, transient=True) as live:

            def show(state: StackState) -> None:
                live.update(render.components_table(state, detailed=False))

            result = control.up(paths, config, progress=show)
    except control.StackStartError as exc:
        failure = exc.failure
        where = f" ({failure.component})" if failure.component else ""
        console.error(f"dagent did not start{where}: {failure.reason} Nothing was left running.")
        console.err.print(render.failure_panel(failure.component, failure.log_tail, failure.cause))
        raise typer.Exit(1) from None
    console.out.print(
        render.ready_summary(result.state, result.already_up, _ui_link(settings.home, result.state))
    )


def _payload_keys_problem(paths: StackPaths, state: StackState | None) -> str | None:
    """Why an encrypting stack cannot seal or open payloads now, if it cannot: every
    command that sends or reads a message would fail."""
    if state is None or not state.config.encrypt:
        return None
    from services.errors import ConfigError
    from services.payloads import keyring

    try:
        ring = keyring.load(paths.home)
    except ConfigError as exc:
        return str(exc)
    if ring is None:
        return (
            f"The payload keys at {keyring.keys_file(paths.home)} are gone: nothing can send "
            "or read a message; put the file back."
        )
    return None


def _ui_link(home: Path, state: StackState) -> str | None:
    """The Web UI's address with its secret (the UI answers only a browser that has it)."""
    from services.web_access import login_link

    return login_link(home, state.config.ui_url) if state.config.ui_url else None


def check_model(model: str) -> str:
    """Refuse a model no provider serves; warn when its key is missing. Returns the digest
    of the provider's environment (empty for the built-in model, which needs none)."""
    from services.llm import keys

    if keys.is_builtin(model):
        return ""
    keys.provider_of(model)  # ConfigError: one line, nothing started
    problem = keys.call_problem(model)
    if problem:
        console.warn(problem)
    return keys.environment_digest(model)


def down(
    purge: Annotated[
        bool,
        typer.Option(
            help="Also delete the state dagent created: Temporal's database, the logs and the chat's "
            "files (the keys and users stay)."
        ),
    ] = False,
) -> None:
    """Stop everything `dagent up` started."""
    paths = StackPaths(load_settings().home)
    was_running = control.down(paths)
    message = "dagent stopped." if was_running else "dagent is not running."
    if purge:
        # What dagent made there; a directory it did not make stays.
        kept = private.purge(paths.home)
        message += (
            f" Deleted the state in {paths.home} (database, logs and audit trails, chat files; "
            "the keys and users stay)."
        )
        message += "".join(f" Kept {path}: dagent did not create it." for path in kept)
    console.out.print(message, soft_wrap=True)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show each component: pid, state, restarts, uptime, address.

    Exits 0 when the stack is up and healthy (every component running, Temporal
    reachable), 3 when it is not running or something is not running (as
    `systemctl status` does)."""
    paths = StackPaths(load_settings().home)
    alive = control.supervisor_alive(paths)
    state = read_state(paths) if alive else None
    if alive and state is None:
        # Running, but its state file is lost or damaged: say so, never "not running".
        holder = control.lock_holder(paths)
        console.warn(
            f"dagent's state file {paths.state_file} cannot be read, but its supervisor "
            f"(pid {holder or '?'}) is running; 'dagent down' stops it."
        )
    state = control.observed(state) if state else None
    address = state.config.temporal_address if state else None
    reachable = address_accepts(address) if address else False
    keys_problem = _payload_keys_problem(paths, state)
    if keys_problem:
        console.warn(keys_problem)
    healthy = control.healthy(state, reachable) and keys_problem is None
    if as_json:
        console.out.print_json(json.dumps(render.status_json(state, reachable, address, healthy)))
    elif state is None and not alive:
        console.out.print(console.as_typed("dagent is not running; start it with 'dagent up'."))
    elif state is None:
        pass  # running, its state unreadable: said above
    else:
        console.out.print(render.components_table(state))
        temporal_line = f"Temporal {address}: " + ("reachable" if reachable else "NOT reachable")
        ui_link = _ui_link(paths.home, state)
        payloads = "payloads encrypted" if state.config.encrypt else "payloads NOT encrypted (--no-encrypt)"
        console.out.print(temporal_line + f" · {payloads}" + (f" · Web UI {ui_link}" if ui_link else ""))
        if state.error:
            console.warn(state.error)
    if not healthy:
        raise typer.Exit(NOT_HEALTHY)


def logs_command(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help=f"Component: {', '.join(logs.COMPONENTS)}.")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    lines: Annotated[
        int, typer.Option("--lines", "-n", min=0, metavar="N", help="Lines to show from the end.")
    ] = 40,
    session: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Only the lines about this session.", show_default=False),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Only the JSON lines (DAGENT_LOG_FORMAT=json), one object per line."),
    ] = False,
) -> None:
    """Show the log of one component, or of all of them."""
    check_id("session", session)
    paths = StackPaths(load_settings().home)
    files = logs.log_files(paths, name)
    shown = logs.end_offsets(files)
    many = len(files) > 1 and not as_json

    def wanted(line: str) -> bool:
        return (session is None or logs.about(line, session)) and (
            not as_json or logs.record(line) is not None
        )

    def emit(component: str, line: str) -> None:
        if not wanted(line):
            return
        if as_json:  # for a machine: the line as written (JSON escapes every control)
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
            return
        # Temporal's core writes colour codes into the logs: shown as text, not obeyed.
        text = f"{component} | {line}" if many and follow else line
        console.out.print(clean_text(text), markup=False, highlight=False, soft_wrap=True)

    for component, path in files.items():
        if many:
            console.out.rule(component)
        # With a filter, the last N lines of the whole file that pass it.
        source = logs.all_lines(path) if session or as_json else tail(path, lines)
        chosen = [line for line in source if wanted(line)]
        for line in chosen[-lines:] if lines else []:
            emit(component, line)
    if follow:
        # Until Ctrl-C, which exits 130 like any interrupted command.
        logs.follow(files, emit, shown)


def register(app: typer.Typer) -> None:
    app.command(
        epilog=console.examples(
            "dagent up",
            "dagent up --pattern mcp",
            "OPENAI_API_KEY=... dagent up --model openai/gpt-4o-mini --model-timeout 90",
            "DAGENT_HOME=/tmp/second dagent up --temporal-port 7300 --ui-port 8300",
        )
    )(up)
    app.command(epilog=console.examples("dagent down", "dagent down --purge"))(down)
    app.command(epilog=console.examples("dagent status", "dagent status --json || echo 'not healthy'"))(
        status
    )
    app.command(
        "logs", epilog=console.examples("dagent logs", "dagent logs orchestrator -n 100", "dagent logs it -f")
    )(logs_command)
