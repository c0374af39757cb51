"""Reading the components' log files under DAGENT_HOME/logs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from durable_agents_cli.stack.components import WEB
from durable_agents_cli.stack.paths import StackPaths
from services import topology
from services.errors import ConfigError

COMPONENTS = (
    "supervisor",
    "temporal",
    WEB,
    *topology.WORKERS,
    *(team.mcp_component for team in topology.TEAMS.values()),
)


def log_files(paths: StackPaths, name: str | None) -> dict[str, Path]:
    """The log file of one component, or of every component that has one."""
    if name is not None:
        if name not in COMPONENTS:
            raise ConfigError(f"Unknown component '{name}'; known components: {', '.join(COMPONENTS)}.")
        path = paths.log_file(name)
        if not path.exists():
            raise ConfigError(
                f"'{name}' has no log in {paths.logs_dir} yet; has it run? Try 'dagent status'."
            )
        return {name: path}
    found = {c: paths.log_file(c) for c in COMPONENTS if paths.log_file(c).exists()}
    if not found:
        raise ConfigError(f"No logs in {paths.logs_dir} yet; start the stack with 'dagent up'.")
    return found


def all_lines(path: Path) -> list[str]:
    """Every line of a log (split on "\n" only: a record is one line)."""
    try:
        return path.read_text(errors="replace").rstrip("\n").split("\n")
    except OSError:
        return []


def record(line: str) -> dict[str, Any] | None:
    """A JSON log line's object (DAGENT_LOG_FORMAT=json), or None for a line of text."""
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def about(line: str, session: str) -> bool:
    """Whether a log line is about `session`: a JSON record that says so, or a line of
    text that names the session's workflow."""
    from services.conversation.contract import workflow_id

    found = record(line)
    if found is not None:
        return found.get("session") == session
    return workflow_id(session) in line


def end_offsets(files: dict[str, Path]) -> dict[str, int]:
    """Where each file ends now: what `follow` treats as already shown."""
    return {name: path.stat().st_size if path.exists() else 0 for name, path in files.items()}


def follow(
    files: dict[str, Path],
    emit: Callable[[str, str], None],
    offsets: dict[str, int],
    should_stop: Callable[[], bool] = lambda: False,
    interval: float = 0.2,
) -> None:
    """Emit (component, line) for every line appended past `offsets`, until stopped."""
    offsets = dict(offsets)
    while not should_stop():
        for name, path in files.items():
            for line in _new_lines(path, offsets, name):
                emit(name, line)
        time.sleep(interval)


def _new_lines(path: Path, offsets: dict[str, int], name: str) -> Iterator[str]:
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size < offsets[name]:  # rotated or truncated: start over
        offsets[name] = 0
    if size == offsets[name]:
        return
    with path.open("rb") as handle:
        handle.seek(offsets[name])
        data = handle.read()
    complete, _, partial = data.rpartition(b"\n")
    offsets[name] += len(data) - len(partial)
    if complete or data.endswith(b"\n"):
        yield from complete.decode("utf-8", errors="replace").split("\n")
