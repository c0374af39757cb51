"""Process groups: start a child in its own group, stop the whole group.

Stopping is SIGTERM to the group, a grace period, then SIGKILL, so a child's
own children (the Temporal CLI forks nothing today, but a user's MCP server
may) never outlive it.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import time
from pathlib import Path

import psutil

from services import topology
from services.errors import ConfigError


def create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def is_same_process(pid: int | None, created: float | None) -> bool:
    """True if `pid` still names the process that was started at `created`."""
    if not pid or created is None:
        return False
    now = create_time(pid)
    if now is None or abs(now - created) >= 0.01:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def kill_group_sync(pid: int, created: float | None, grace: float = 3.0) -> None:
    """Stop a group we may not be the parent of (e.g. after a supervisor crash)."""
    if not is_same_process(pid, created):
        return
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_same_process(pid, created):
            return
        time.sleep(0.05)
    signal_group(pid, signal.SIGKILL)


def port_is_free(port: int, host: str = topology.LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers we start: a port in TIME_WAIT is free, a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# Where a port kept for a listener is chosen: below the range the system hands out as
# the source ports of outgoing connections (32768 up), which could hold it meanwhile.
KEPT_PORTS = range(20_000, 32_000)


def free_port(excluding: set[int], host: str = topology.LOOPBACK) -> int:
    """A port to keep for a listener: nothing listens on it now, none of `excluding`."""
    for port in random.sample(KEPT_PORTS, 200):
        if port not in excluding and port_is_free(port, host):
            return port
    raise ConfigError(f"No free port between {KEPT_PORTS.start} and {KEPT_PORTS.stop} on {host}.")


def port_accepts(port: int, host: str = topology.LOOPBACK, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def address_accepts(address: str, timeout: float = 0.5) -> bool:
    """True if something accepts connections at `host:port`."""
    host, _, port = address.rpartition(":")
    return port.isdigit() and port_accepts(int(port), host or topology.LOOPBACK, timeout)


# The line the supervisor writes to a component's log before each start.
START_MARKER = "--- dagent: starting "
# A log line that says what went wrong: an exception's last line, or an error record.
CAUSE = re.compile(r"^\s*(?:[\w.]*(?:Error|Exception)\b|.*\b(?:ERROR|CRITICAL|FATAL)\b)")


def current_run(path: Path, lines: int = 20) -> tuple[str | None, list[str]]:
    """What the component's latest start wrote (not earlier runs' warnings): its last
    `lines` lines, and the line that most likely names the cause (the last error)."""
    logged = tail(path, 2000)
    starts = [n for n, line in enumerate(logged) if line.startswith(START_MARKER)]
    run = logged[starts[-1] + 1 :] if starts else logged
    cause = next((line.strip() for line in reversed(run) if CAUSE.match(line)), None)
    if cause is not None and run and run[-1].strip() == cause:
        run = run[:-1]  # shown once, first
    return cause, run[-lines:] if lines > 0 else []


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last `lines` lines of a text file, empty if it does not exist."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read()
    except OSError:
        return []
    # On "\n" only: a record is one line, whatever else it holds.
    text = data.decode("utf-8", errors="replace").rstrip("\n").split("\n") if data else []
    return text[-lines:] if lines > 0 else []
