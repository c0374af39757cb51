"""What `dagent up`, `down` and `status` do to the stack, without any rendering."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from durable_agents_cli.stack import private
from durable_agents_cli.stack.components import NEVER_INHERITED, WEB, components_for
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.processes import (
    create_time,
    current_run,
    free_port,
    is_same_process,
    kill_group_sync,
    port_is_free,
    tail,
)
from durable_agents_cli.stack.state import StackConfig, StackState, read_config, read_state, write_config
from services import topology
from services.auth_files import METRICS_TOKEN_FILE, ensure_secret
from services.errors import ConfigError, StackNotRunningError, StartupError
from services.settings import warm_marker

UP_TIMEOUT = 120.0
DOWN_TIMEOUT = 15.0
POLL = 0.05

Progress = Callable[[StackState], None]


@dataclass
class UpResult:
    state: StackState
    already_up: bool


@dataclass
class StartupFailure:
    """What `up` shows when a component does not come up."""

    reason: str
    component: str | None
    log_tail: list[str]
    # The log line that most likely names the cause, shown first.
    cause: str | None = None


class StackStartError(StartupError):
    def __init__(self, failure: StartupFailure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def supervisor_alive(paths: StackPaths) -> bool:
    """True while a supervisor holds the lock on this DAGENT_HOME."""
    try:
        with paths.lock_file.open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False
    except OSError as exc:  # a file where a directory should be, no permission
        raise paths.unusable(exc) from None


SUPERVISOR_MODULE = "durable_agents_cli.stack.supervisor"


def lock_holder(paths: StackPaths) -> int | None:
    """The pid of the supervisor that holds this home's lock (checked by its start time,
    so a pid since reused by another process is never taken for it), or None."""
    if not supervisor_alive(paths):
        return None
    try:
        pid_text, created_text = paths.lock_file.read_text().split()
        pid, created = int(pid_text), float(created_text)
    except (OSError, ValueError):
        return _older_supervisor(paths)
    return pid if is_same_process(pid, created) else None


def _older_supervisor(paths: StackPaths) -> int | None:
    """A supervisor started by an earlier dagent, which did not write its pid in the
    lock: the state file's, if that process is this home's supervisor."""
    state = read_state(paths)
    if state is None:
        return None
    try:
        command = psutil.Process(state.supervisor_pid).cmdline()
    except psutil.Error:
        return None
    return state.supervisor_pid if SUPERVISOR_MODULE in command and str(paths.home) in command else None


def up(paths: StackPaths, config: StackConfig, progress: Progress | None = None) -> UpResult:
    """Bring the stack to `config`: start it, or swap what differs. Raise on failure.

    Everything that can be checked is checked before anything running is touched:
    a refused `up` leaves a working stack working. Two `up`s on one home run one
    after the other: the second finds what the first started."""
    paths.ensure()
    with paths.up_lock_file.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return _up(paths, config, progress)


def _up(paths: StackPaths, config: StackConfig, progress: Progress | None) -> UpResult:
    alive = supervisor_alive(paths)
    running = read_state(paths) if alive else None
    if alive and running is None:
        # A supervisor whose state is lost or damaged cannot be told what to change:
        # it is replaced (found by its lock), or a second one would find the lock held.
        down(paths)
    earlier = running.config if running is not None else read_config(paths)
    _check_payload_keys(config, earlier, paths)
    config = _placed(config, earlier, earlier_runs=running is not None)
    if running is not None and running.phase == "ready" and running.config.same_stack(config):
        return UpResult(running, already_up=True)
    _check_ports(config, paths, running)
    holder = lock_holder(paths) if running is not None else None
    if running is not None and (holder is None or _supervisor_lacks_model_environment(holder, config)):
        # The supervisor and its children keep the environment they started with:
        # a key set since reaches them only through a new supervisor.
        down(paths)
        running = None

    previous = read_config(paths)
    config = config.model_copy(update={"generation": (previous.generation + 1) if previous else 1})
    from services import identity  # PyJWT and cryptography: ~0.15 s, only `up` needs them

    identity.ensure_local_keys(paths.home)
    if config.encrypt:
        from services.payloads import keyring

        keyring.ensure(paths.home)
    if config.embedded:
        from services.web_access import ensure_token

        ensure_token(paths.home)
    ensure_secret(paths.home, METRICS_TOKEN_FILE)
    write_config(paths, config)
    if running is not None and holder is not None:
        os.kill(holder, signal.SIGHUP)
        supervisor: subprocess.Popen[bytes] | None = None
    else:
        supervisor = _spawn_supervisor(paths)
    try:
        state = _wait_for_outcome(paths, config.generation, supervisor, progress)
    except KeyboardInterrupt:
        down(paths)  # an aborted `up` leaves nothing behind either
        raise
    if state.phase != "ready":
        failure = describe_failure(paths, state)
        down(paths)
        raise StackStartError(failure)
    return UpResult(state, already_up=False)


def _supervisor_lacks_model_environment(supervisor: int, config: StackConfig) -> bool:
    """Whether the model's provider variables (OPENAI_*) differ between this command's
    environment (its digest is in `config`) and the running supervisor's."""
    if not config.model_environment:  # the built-in model needs none
        return False
    from services.llm.keys import environment_digest

    try:
        environ = psutil.Process(supervisor).environ()
    except psutil.Error:
        return False  # cannot tell: keep what runs
    return environment_digest(config.model, environ) != config.model_environment


def _check_payload_keys(config: StackConfig, earlier: StackConfig | None, paths: StackPaths) -> None:
    """Refuse to make new payload keys over lost ones: a stack that sealed its sessions
    with them would be left unable to read any of them, without a word."""
    from services.payloads import keyring

    if not (config.encrypt and earlier is not None and earlier.encrypt):
        return
    if keyring.load(paths.home) is None:  # a damaged or shared file raises its own line
        raise ConfigError(
            f"The payload keys at {keyring.keys_file(paths.home)} are gone, and this stack's sessions "
            "are sealed with them: put the file back (from a backup), or start afresh with "
            "'dagent down --purge' (the sessions sealed with them stay unreadable)."
        )


def _placed(config: StackConfig, earlier: StackConfig | None, earlier_runs: bool) -> StackConfig:
    """`config` with a port for each internal HTTP listener: a browser-refused one for
    each of the dev server's own (when embedded), which answer anyone; any free one for
    each worker's metrics, which guard themselves. Each keeps the port `earlier` gave
    it while that is still its own (`earlier_runs`; the dev server's only on the same
    server) or free, so turning metrics on or off moves nothing else."""
    server = topology.INTERNAL_LISTENERS if config.embedded else ()
    workers = topology.WORKER_METRICS_LISTENERS if config.metrics else ()
    taken = {config.temporal_port, config.ui_port, *config.mcp_ports.values()}
    same_server = (
        earlier is not None
        and earlier.embedded == config.embedded
        and earlier.temporal_port == config.temporal_port
    )
    ports: dict[str, int] = {}
    for listener in (*server, *workers):
        port = earlier.internal_ports.get(listener) if earlier is not None else None
        ours = earlier_runs and (same_server or listener in workers)
        if port is not None and port not in taken | set(ports.values()) and (ours or port_is_free(port)):
            ports[listener] = port
    unplaced = [listener for listener in server if listener not in ports]
    free = [
        port
        for port in topology.BROWSER_REFUSED_PORTS
        if port not in taken | set(ports.values()) and port_is_free(port)
    ]
    if len(free) < len(unplaced):
        raise ConfigError(
            "The dev server's Web UI, HTTP API and metrics need free ports among those browsers "
            f"refuse ({', '.join(map(str, topology.BROWSER_REFUSED_PORTS))}); free some of them."
        )
    ports.update(zip(unplaced, free, strict=False))
    for listener in workers:
        if listener not in ports:
            ports[listener] = free_port(taken | set(ports.values()))
    return config.model_copy(update={"internal_ports": ports})


def _check_ports(config: StackConfig, paths: StackPaths, running: StackState | None) -> None:
    """Refuse two components on one port, or a port something else listens on."""
    needed = _ports_needed(config, paths, None)
    for n, (port, what) in enumerate(needed):
        other = next((w for p, w in needed[:n] if p == port), None)
        if other is not None:
            raise ConfigError(f"Port {port} is given twice: for {other}, and for {what}.")
    for port, what in _ports_needed(config, paths, running):
        if not port_is_free(port):
            raise ConfigError(
                f"Port {port} ({what}) is already in use; stop whatever listens there "
                f"or choose another port (see 'dagent up --help')."
            )


def _server_placement(config: StackConfig) -> tuple[object, ...]:
    """Where the dev server and its guard listen (the workers' metrics ports aside)."""
    own = {name: port for name, port in config.internal_ports.items() if name in topology.INTERNAL_LISTENERS}
    return (config.temporal_port, config.ui_port, config.external_address, own)


def _ports_needed(
    config: StackConfig, paths: StackPaths, running: StackState | None
) -> list[tuple[int, str]]:
    """Ports that components about to start will bind, with what they are for."""
    current = {c.name for c in running.components if c.state == "running"} if running else set()
    unchanged = running is not None and _server_placement(running.config) == _server_placement(config)
    needed: list[tuple[int, str]] = []
    for spec in components_for(config, paths):
        if spec.name in current and (spec.name not in ("temporal", WEB) or unchanged):
            continue
        if spec.name == "temporal":
            needed.append((config.temporal_port, "Temporal gRPC, --temporal-port / DAGENT_TEMPORAL_PORT"))
            needed.extend(
                (config.internal_ports[name], f"the dev server's {name}")
                for name in topology.INTERNAL_LISTENERS
            )
        elif spec.name == WEB:
            needed.append((config.ui_port, "Temporal Web UI, --ui-port / DAGENT_UI_PORT"))
        elif spec.name in topology.WORKERS and config.metrics:
            port = config.internal_ports[topology.metrics_listener(spec.name)]
            needed.append((port, f"{spec.name}'s metrics"))
        elif spec.port is not None:
            team = next(t for t in topology.TEAMS.values() if t.mcp_component == spec.name)
            needed.append(
                (spec.port, f"{team.title} MCP server, {team.mcp_port_flag} / {team.mcp_port_variable}")
            )
    return needed


def _spawn_supervisor(paths: StackPaths) -> subprocess.Popen[bytes]:
    log = private.open_log(paths.log_file("supervisor"))
    try:
        return subprocess.Popen(
            [sys.executable, "-m", SUPERVISOR_MODULE, str(paths.home)],
            # The user's token is a front end's, never a process of the stack's.
            env={k: v for k, v in os.environ.items() if k not in NEVER_INHERITED},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        log.close()


def _wait_for_outcome(
    paths: StackPaths,
    generation: int,
    supervisor: subprocess.Popen[bytes] | None,
    progress: Progress | None,
) -> StackState:
    deadline = time.monotonic() + UP_TIMEOUT
    last: StackState | None = None
    while time.monotonic() < deadline:
        state = read_state(paths)
        ours = state is not None and state.generation == generation
        if state is not None and ours and (supervisor is None or state.supervisor_pid == supervisor.pid):
            last = state
            if progress is not None:
                progress(state)
            if state.phase in ("ready", "failed"):
                return state
        if supervisor is not None and supervisor.poll() is not None:
            lines = tail(paths.log_file("supervisor"), 20)
            raise StackStartError(
                StartupFailure(
                    f"The supervisor exited with code {supervisor.returncode}.", "supervisor", lines
                )
            )
        time.sleep(POLL)
    if last is None:
        down(paths)
        raise StackStartError(StartupFailure(f"The stack did not start within {UP_TIMEOUT:.0f} s.", None, []))
    return last.model_copy(update={"phase": "failed", "error": f"not ready within {UP_TIMEOUT:.0f} s"})


def describe_failure(paths: StackPaths, state: StackState) -> StartupFailure:
    name = state.failed_component
    if name is None:
        name = next((c.name for c in state.components if c.state != "running"), None)
    cause, log_tail = current_run(paths.log_file(name or "supervisor"), 20)
    return StartupFailure(state.error or "The stack did not become ready.", name, log_tail, cause)


def down(paths: StackPaths) -> bool:
    """Stop everything the stack started. True if something was running."""
    was_running = False
    state = read_state(paths)
    supervisor = lock_holder(paths)
    if supervisor is not None:
        # Found by the lock, not the state file: a lost or forged state stops nothing
        # else, and the children die with their supervisor.
        was_running = True
        _stop_supervisor(supervisor)
    # Whatever a dead or stubborn supervisor left behind, by pid and start time.
    if state is not None:
        for component in state.components:
            if component.pid is not None and is_same_process(component.pid, component.pid_create_time):
                was_running = True
                kill_group_sync(component.pid, component.pid_create_time)
    for leftover in (paths.state_file,):
        leftover.unlink(missing_ok=True)
    return was_running


def _stop_supervisor(pid: int) -> None:
    """SIGTERM, wait for the process to end (not just drop its lock), then SIGKILL."""
    created = create_time(pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + DOWN_TIMEOUT
    # A zombie counts as gone: reaping it is up to its parent (often init).
    while is_same_process(pid, created):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.02)


def observed(state: StackState) -> StackState:
    """`state` with what the supervisor cannot see: a component alive but stopped
    (SIGSTOP, a debugger) is 'suspended', since it answers nothing."""
    suspended = {"state": "suspended", "detail": "stopped (SIGSTOP?): answers nothing until resumed"}
    components = [
        c.model_copy(update=suspended) if c.state == "running" and c.pid and _suspended(c.pid) else c
        for c in state.components
    ]
    return state.model_copy(update={"components": components})


def healthy(state: StackState | None, temporal_reachable: bool) -> bool:
    """Up, every component running, Temporal reachable."""
    return (
        state is not None
        and state.phase == "ready"
        and temporal_reachable
        and all(c.state == "running" for c in state.components)
    )


def _suspended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_STOPPED
    except psutil.Error:
        return False


def model_loading(paths: StackPaths) -> bool:
    """Whether the running orchestrator is still loading the model library: its warm-up
    marker does not (yet) name its pid. A first turn after a start waits for it."""
    state = read_state(paths)
    orchestrator = state.component(topology.ORCHESTRATOR) if state else None
    if orchestrator is None:
        return False
    try:
        return int(warm_marker(paths.home, topology.ORCHESTRATOR).read_text()) != orchestrator.pid
    except (OSError, ValueError):
        return True


def current_state(paths: StackPaths) -> StackState:
    """The running stack's state, or StackNotRunningError with the fix."""
    state = read_state(paths) if supervisor_alive(paths) else None
    if state is None:
        raise StackNotRunningError("dagent is not running; start it with 'dagent up'.")
    return state
