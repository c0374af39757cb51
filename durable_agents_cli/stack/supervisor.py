"""The supervisor: a background process that owns every child of the stack.

It starts the dev server, then has the namespaces and endpoints created (a step
of its own, `bootstrap`), starts workers
(and MCP servers) in parallel, judges each ready by probing, restarts a child
that crashes (with backoff, giving up after too many crashes in a row), swaps
components on SIGHUP when `up` asks for another pattern, and on SIGTERM stops
every child group before it exits.

Run as `python -m durable_agents_cli.stack.supervisor DAGENT_HOME`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client

from durable_agents_cli.stack import private, probes
from durable_agents_cli.stack.components import ComponentSpec, Probe, components_for, supervised_env
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.processes import START_MARKER, create_time, port_accepts, signal_group
from durable_agents_cli.stack.state import ComponentStatus, StackConfig, StackState, read_config, write_state
from services import bootstrap, logs, temporal, topology
from services.errors import DagentError, StartupError
from services.settings import load_settings

logger = logging.getLogger("dagent.supervisor")

# prctl(2): the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1

STOP_GRACE = 5.0
# How long creating namespaces and endpoints may take, retries included.
BOOTSTRAP_PATIENCE = 30.0
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 8.0
CRASH_WINDOW, CRASH_LIMIT = 60.0, 5
LOG_ROTATE_BYTES = 10 * 1024 * 1024


class Child:
    """One supervised process and what is known about it."""

    def __init__(self, spec: ComponentSpec, log_file: Path) -> None:
        self.spec = spec
        self.log_file = log_file
        self.process: asyncio.subprocess.Process | None = None
        self.status = ComponentStatus(
            name=spec.name, address=spec.address, metrics=spec.metrics, log_file=str(log_file)
        )
        self.stopping = False
        self.crashes: list[float] = []
        self.monitor: asyncio.Task[None] | None = None


# How a child process is started: `asyncio.create_subprocess_exec`'s signature.
ProcessStarter = Callable[..., Awaitable[Any]]


class Supervisor:
    """Owns the stack's children. The clock, the sleep and the process starter are
    injected, so the restart policy can be tested without waiting or spawning."""

    def __init__(
        self,
        paths: StackPaths,
        config: StackConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        start_process: ProcessStarter = asyncio.create_subprocess_exec,
    ) -> None:
        self.paths = paths
        self.config = config
        self.clock = clock
        self.sleep = sleep
        self.start_process = start_process
        self.children: dict[str, Child] = {}
        self.client: Client | None = None
        self.state = StackState(
            supervisor_pid=os.getpid(),
            generation=config.generation,
            phase="starting",
            config=config,
            components=[],
        )
        self.reload = asyncio.Event()
        self.stop = asyncio.Event()

    # -- state ------------------------------------------------------------

    def publish(self) -> None:
        self.state.components = [child.status for child in self.children.values()]
        write_state(self.paths, self.state)

    # -- life cycle ---------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop.set)
        loop.add_signal_handler(signal.SIGINT, self.stop.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload.set)
        self.publish()
        work = asyncio.create_task(self.reconcile())
        while not self.stop.is_set():
            stop_wait = asyncio.create_task(self.stop.wait())
            reload_wait = asyncio.create_task(self.reload.wait())
            await asyncio.wait({stop_wait, reload_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            reload_wait.cancel()
            if self.reload.is_set() and not self.stop.is_set():
                self.reload.clear()
                config = read_config(self.paths)
                if config is not None:
                    work.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await work
                    self.config = config
                    work = asyncio.create_task(self.reconcile())
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        await self.shutdown()

    async def reconcile(self) -> None:
        """Make the running children match the configuration."""
        config = self.config
        self.state.generation = config.generation
        self.state.config = config
        self.state.phase = "starting"
        self.state.error = self.state.failed_component = None
        wanted = {spec.name: spec for spec in components_for(config, self.paths)}
        stale = [
            child
            for name, child in self.children.items()
            if name not in wanted
            or child.spec.fingerprint != wanted[name].fingerprint
            # a start or restart that a newer request interrupted
            or child.status.state != "running"
        ]
        if any(child.spec.name == "temporal" for child in stale):
            self.client = None
        await asyncio.gather(*(self.retire(child) for child in stale))
        self.publish()
        try:
            first = [spec for spec in wanted.values() if spec.probe is Probe.TEMPORAL]
            rest = [spec for spec in wanted.values() if spec.probe is not Probe.TEMPORAL]
            await asyncio.gather(*(self.ensure_started(spec) for spec in first))
            await self.bootstrap()
            await asyncio.gather(*(self.ensure_started(spec) for spec in rest))
        except DagentError as exc:
            self.state.phase = "failed"
            self.state.error = str(exc)
            logger.error("startup failed: %s", exc)
            self.publish()
            return
        self.state.phase = "ready"
        self.publish()
        logger.info("stack ready (pattern %s, generation %s)", config.pattern, config.generation)

    async def bootstrap(self) -> None:
        """Create what the workers need on Temporal: namespaces and Nexus endpoints.

        A server that has just opened its port may still refuse for a moment: errors
        other than dagent's own (a refusal it explains) are retried until the deadline.
        """
        address = self.config.temporal_address
        deadline = self.clock() + BOOTSTRAP_PATIENCE
        while True:
            try:
                if self.client is None:  # an external server: nothing probed it
                    self.client = await temporal.connect(topology.ORCHESTRATOR_NAMESPACE, address=address)
                await asyncio.wait_for(bootstrap.ensure_topology(self.client), BOOTSTRAP_PATIENCE)
                return
            except DagentError:
                self._blame_temporal()
                raise
            except Exception as exc:
                if self.clock() > deadline:
                    self._blame_temporal()
                    raise StartupError(f"Temporal at {address} is not usable: {exc or 'no answer'}") from None
                logger.info("Temporal not ready for set-up yet: %s", exc)
                await asyncio.sleep(0.2)

    def _blame_temporal(self) -> None:
        if "temporal" in self.children:
            self.state.failed_component = "temporal"

    async def ensure_started(self, spec: ComponentSpec) -> None:
        if spec.name in self.children:
            return
        child = Child(spec, self.paths.log_file(spec.name))
        self.children[spec.name] = child
        await self.launch(child, first_start=True)

    async def launch(self, child: Child, *, first_start: bool) -> None:
        """Spawn the child and wait until its probe passes; raise StartupError if not."""
        await self.spawn(child)
        try:
            await asyncio.wait_for(self.wait_ready(child), child.spec.ready_timeout)
        except TimeoutError:
            await self.terminate(child)
            child.stopping = False  # a failed start is a crash, not a stop
            self.mark_crashed(child, f"not ready after {child.spec.ready_timeout:.0f} s")
            raise StartupError(
                f"'{child.spec.name}' was not ready after {child.spec.ready_timeout:.0f} s."
            ) from None
        except StartupError as exc:
            self.mark_crashed(child, str(exc))
            if first_start:
                self.state.failed_component = child.spec.name
            raise
        child.status.state = "running"
        child.status.detail = ""
        self.publish()
        if first_start:
            child.monitor = asyncio.create_task(self.watch(child))

    async def spawn(self, child: Child) -> None:
        rotate(child.log_file)
        log = private.open_log(child.log_file)
        log.write(f"{START_MARKER}{child.spec.name} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        log.flush()
        try:
            child.process = await self.start_process(
                *child.spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=supervised_env(child.spec, os.getpid()),
                start_new_session=True,
                preexec_fn=die_with(os.getpid()),
            )
        except OSError as exc:
            raise StartupError(f"Could not start '{child.spec.name}': {exc}") from None
        finally:
            log.close()
        child.stopping = False
        child.status.pid = child.process.pid
        child.status.pid_create_time = create_time(child.process.pid)
        child.status.started_at = time.time()
        child.status.state = "starting"
        self.publish()
        logger.info("started %s (pid %s)", child.spec.name, child.process.pid)

    async def wait_ready(self, child: Child) -> None:
        assert child.process is not None
        while True:
            if child.process.returncode is not None:
                raise StartupError(
                    f"'{child.spec.name}' exited with code {child.process.returncode} before it was ready."
                )
            if await self.probe(child):
                return
            await asyncio.sleep(0.05)

    async def probe(self, child: Child) -> bool:
        spec = child.spec
        if spec.probe is Probe.TCP:
            return spec.port is not None and port_accepts(spec.port)
        if spec.probe is Probe.TEMPORAL:
            return await self.probe_temporal(spec)
        if self.client is None or child.process is None:
            return False
        try:
            return await probes.worker_is_polling(self.client, spec.name, child.process.pid)
        except Exception as exc:
            logger.debug("poller probe of %s failed: %s", spec.name, exc)
            return False

    async def probe_temporal(self, spec: ComponentSpec) -> bool:
        """Ready once it answers gRPC (connecting asks the server for its system info)."""
        if spec.port is None or not port_accepts(spec.port):
            return False
        try:
            client = await temporal.connect(topology.ORCHESTRATOR_NAMESPACE, address=spec.address)
        except Exception as exc:  # not up yet: keep probing until the deadline
            logger.debug("temporal not ready: %s", exc)
            return False
        self.client = client
        return True

    # -- crashes ------------------------------------------------------------

    async def watch(self, child: Child) -> None:
        """Restart the child whenever it dies on its own."""
        while True:
            assert child.process is not None
            code = await child.process.wait()
            if child.stopping:
                return
            now = self.clock()
            child.crashes = [t for t in child.crashes if now - t < CRASH_WINDOW] + [now]
            delay = restart_delay(len(child.crashes))
            if delay is None:
                self.mark_crashed(
                    child,
                    f"gave up after {CRASH_LIMIT} restarts within {CRASH_WINDOW:.0f} s; "
                    f"see 'dagent logs {child.spec.name}'",
                )
                return
            # Stamped, not "restarting in 0.5 s": a status read later must not look stale.
            child.status.state = "restarting"
            child.status.detail = f"{how_it_ended(code)} at {time.strftime('%H:%M:%S')}"
            self.publish()
            logger.warning("%s %s; restarting in %.1f s", child.spec.name, how_it_ended(code), delay)
            await self.sleep(delay)
            child.status.restarts += 1
            try:
                await self.launch(child, first_start=False)
                logger.info("%s is back (restart %s)", child.spec.name, child.status.restarts)
            except StartupError as exc:
                # The dead or terminated process counts as the next crash.
                logger.warning("restart of %s failed: %s", child.spec.name, exc)

    def mark_crashed(self, child: Child, detail: str) -> None:
        child.status.state = "crashed"
        child.status.detail = detail
        self.publish()

    # -- stopping -----------------------------------------------------------

    async def terminate(self, child: Child) -> None:
        child.stopping = True
        process = child.process
        if process is None or process.returncode is not None:
            return
        signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except TimeoutError:
            signal_group(process.pid, signal.SIGKILL)
            await process.wait()
        # Grandchildren that ignored SIGTERM share the group; leave none behind.
        signal_group(process.pid, signal.SIGKILL)

    async def retire(self, child: Child) -> None:
        await self.terminate(child)
        if child.monitor is not None:
            child.monitor.cancel()
        self.children.pop(child.spec.name, None)
        logger.info("stopped %s", child.spec.name)

    async def shutdown(self) -> None:
        self.state.phase = "stopping"
        self.publish()
        # All at once: the dev server's graceful stop (~1.3 s) dominates, and
        # workers that are stopping do not mind losing it.
        await asyncio.gather(*(self.terminate(child) for child in self.children.values()))
        for child in self.children.values():
            child.status.state = "stopped"
            child.status.pid = None
        self.state.phase = "stopped"
        self.publish()
        logger.info("supervisor stopped")


def how_it_ended(code: int) -> str:
    """A child's exit status in words: a negative code is the signal that killed it."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def restart_delay(recent_crashes: int) -> float | None:
    """Seconds to wait before the next restart, or None to give up.

    Exponential backoff, so a child that cannot start does not spin the CPU; a
    limit, so a broken child ends in a clear 'crashed' state instead of a loop.
    """
    if recent_crashes > CRASH_LIMIT:
        return None
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** (recent_crashes - 1))


def rotate(log_file: Path) -> None:
    """Keep one previous log, so a stack left running never fills the disk at restarts."""
    with contextlib.suppress(OSError):
        if log_file.stat().st_size > LOG_ROTATE_BYTES:
            log_file.replace(log_file.with_suffix(".log.1"))


def _prctl() -> Callable[..., int] | None:
    """prctl(2), resolved once in the parent (never looked up between fork and exec);
    None where there is none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


PRCTL = _prctl()


def die_with(parent: int) -> Callable[[], None] | None:
    """What a child runs before it becomes its program: the kernel sends it SIGTERM when
    the supervisor dies, however it dies (SIGKILL included), so no child outlives it
    (the dev server and the MCP servers do not watch the supervisor themselves).
    None where the kernel cannot (the children's own watch is all there is)."""
    prctl = PRCTL
    if prctl is None:
        return None

    def arrange() -> None:
        prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM))
        if os.getppid() != parent:  # the supervisor died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


def main(home: str) -> int:
    private.private_umask()
    paths = StackPaths(Path(home))
    logs.configure("INFO", load_settings().log_format, "supervisor")
    lock = paths.lock_file.open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        logger.error("another supervisor already owns %s", paths.home)
        return 1
    # Who holds the lock, for `down` and `up` to find even when the state file is
    # lost or lies: this process, by pid and start time.
    lock.truncate(0)
    lock.write(f"{os.getpid()} {create_time(os.getpid())}\n")
    lock.flush()
    config = read_config(paths)
    if config is None:
        logger.error("no stack configuration at %s", paths.config_file)
        return 1
    asyncio.run(Supervisor(paths, config).run())
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1])
    logging.shutdown()
    # Every child is stopped and the state written; skip the interpreter's
    # slow teardown of the Temporal client's runtime (sdk-python issue 300).
    os._exit(code)
