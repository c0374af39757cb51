"""The files through which `dagent` commands and the supervisor talk.

`stack.json` (StackConfig) is what the user asked for; `state.json`
(StackState) is what the supervisor reports. Both are written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, model_validator

from durable_agents_cli.stack.paths import StackPaths, write_atomic
from services import limits, topology
from services.settings import ENCRYPT_VARIABLE, DagentSettings

# restarting: it died and the supervisor starts it again; crashed: it gave up on it;
# suspended: alive but stopped (SIGSTOP), as `status` observes it: it answers nothing.
ComponentState = Literal["starting", "running", "restarting", "crashed", "suspended", "stopped"]
Phase = Literal["starting", "ready", "failed", "stopping", "stopped"]


class StackConfig(BaseModel):
    pattern: topology.Pattern
    model: str
    # Seconds one model call may take (DAGENT_MODEL_TIMEOUT).
    model_timeout: float = limits.DEFAULT_MODEL_TIMEOUT
    log_level: str
    temporal_port: int
    ui_port: int
    # team -> port of its MCP server
    mcp_ports: dict[str, int]
    # None: dagent runs its own dev server on temporal_port.
    external_address: str | None = None
    # A digest of the model provider's environment variables (never their values):
    # the processes must start again to see a key set or changed since.
    model_environment: str = ""
    # The dev server's own HTTP listeners (topology.INTERNAL_LISTENERS), each on a port
    # browsers refuse, and each worker's metrics (`<worker>-metrics`): chosen once per
    # home, so a second `up` finds the same.
    internal_ports: dict[str, int] = {}
    # Payloads encrypted with the stack's keys (`up --no-encrypt` turns it off). `up`
    # always writes it; a file from before encryption means a stack that had none.
    encrypt: bool = False
    # Each worker serves Prometheus /metrics (DAGENT_METRICS=false: none).
    metrics: bool = True
    # Bumped by every `up`, so it can tell its own request's outcome apart.
    generation: int = 0

    @model_validator(mode="before")
    @classmethod
    def _every_team_port(cls, values: Any) -> Any:
        """A port for every team of the topology: a team added since the file was written
        gets its default, and dagent 0.1.0's one field per team (`it_mcp_port`) still reads."""
        if not isinstance(values, dict):
            return values
        legacy = {f"{team}_mcp_port": team for team in topology.TEAMS}
        ports = {team.name: team.default_mcp_port for team in topology.TEAMS.values()}
        ports.update({team: values[field] for field, team in legacy.items() if field in values})
        ports.update(values.get("mcp_ports") or {})
        return {**{k: v for k, v in values.items() if k not in legacy}, "mcp_ports": ports}

    @property
    def embedded(self) -> bool:
        return self.external_address is None

    @property
    def temporal_address(self) -> str:
        return self.external_address or f"{topology.LOOPBACK}:{self.temporal_port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://{topology.LOOPBACK}:{self.ui_port}" if self.embedded else None

    def same_stack(self, other: StackConfig) -> bool:
        return self.model_dump(exclude={"generation"}) == other.model_dump(exclude={"generation"})


class ComponentStatus(BaseModel):
    name: str
    state: ComponentState = "starting"
    pid: int | None = None
    # With pid, identifies the process even after its pid is reused.
    pid_create_time: float | None = None
    restarts: int = 0
    address: str = ""
    # Its Prometheus /metrics ('' for none).
    metrics: str = ""
    log_file: str = ""
    started_at: float | None = None
    detail: str = ""


class StackState(BaseModel):
    supervisor_pid: int
    generation: int
    phase: Phase
    config: StackConfig
    components: list[ComponentStatus]
    error: str | None = None
    failed_component: str | None = None

    def component(self, name: str) -> ComponentStatus | None:
        return next((c for c in self.components if c.name == name), None)


def _read(path: Path, model: type[BaseModel]) -> BaseModel | None:
    try:
        return model.model_validate_json(path.read_bytes())
    except (OSError, ValueError):  # missing, cut short, not JSON, not text at all
        return None


def read_config(paths: StackPaths) -> StackConfig | None:
    found = _read(paths.config_file, StackConfig)
    return found if isinstance(found, StackConfig) else None


def write_config(paths: StackPaths, config: StackConfig) -> None:
    write_atomic(paths.config_file, config.model_dump_json(indent=2))


def read_state(paths: StackPaths) -> StackState | None:
    found = _read(paths.state_file, StackState)
    return found if isinstance(found, StackState) else None


def write_state(paths: StackPaths, state: StackState) -> None:
    write_atomic(paths.state_file, state.model_dump_json(indent=2))


def as_the_stack_runs(settings: DagentSettings) -> DagentSettings:
    """`settings` with encryption as the stack in DAGENT_HOME runs it, unless
    DAGENT_ENCRYPT says otherwise: an MCP client that launches `mcp serve` against a
    `--no-encrypt` stack must not seal what its workers cannot open."""
    if ENCRYPT_VARIABLE in os.environ:
        return settings
    stack = read_config(StackPaths(settings.home))
    return settings.model_copy(update={"encrypt": stack.encrypt}) if stack else settings
