"""dagent's own settings, read from `DAGENT_*` environment variables.

Temporal connection settings are not here: they come from Temporal's own
environment configuration (`TEMPORAL_ADDRESS`, `TEMPORAL_API_KEY`, profiles in
`temporal.toml`), see `services.temporal`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from services import limits, topology
from services.errors import ConfigError

Port = Annotated[int, Field(ge=1, le=65535)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

ENV_PREFIX = "DAGENT_"
DEFAULT_HOME = Path("~/.dagent")
# Under DAGENT_HOME: what running processes share (pid, lock, state and marker files).
RUN_DIR = "run"
# Where every process of the stack logs, and each tool service keeps its audit trail.
LOGS_DIR = "logs"
# Set by the supervisor on its children; a worker whose supervisor vanished stops by itself.
SUPERVISOR_PID_ENV = "DAGENT_SUPERVISOR_PID"
# The variable of the `encrypt` setting (the supervisor sets it on every child).
ENCRYPT_VARIABLE = "DAGENT_ENCRYPT"


def warm_marker(home: Path, worker: str) -> Path:
    """The file a worker writes (its pid) once its warm-up is done: LiteLLM loaded, for
    the orchestrator. A chat reads it to say why a first turn takes seconds."""
    return home / RUN_DIR / f"{worker}.warm"


def team_port_flag(team: str) -> str:
    """The keyword a caller passes a team's MCP port as (the `up` flag, without dashes)."""
    return f"{team}_mcp_port"


class DagentSettings(BaseSettings):
    """Settings shared by the CLI, the supervisor, the workers and MCP servers."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    home: Path = Field(
        default=DEFAULT_HOME,
        description="State directory: Temporal's SQLite file, logs, pid and state files.",
    )
    temporal_port: Port = Field(
        default=topology.DEFAULT_TEMPORAL_PORT,
        description="gRPC port of the embedded Temporal dev server.",
    )
    ui_port: Port = Field(
        default=topology.DEFAULT_UI_PORT,
        description="Port of the embedded Temporal Web UI.",
    )
    mcp_ports: dict[str, Port] = Field(
        default_factory=lambda: {team.name: team.default_mcp_port for team in topology.TEAMS.values()},
        description="Port of each team's MCP server (mcp pattern): DAGENT_<TEAM>_MCP_PORT each, "
        "or all at once as JSON in DAGENT_MCP_PORTS.",
    )
    model: str = Field(
        default="offline",
        min_length=1,
        description="LiteLLM model string; 'offline' is the built-in deterministic model.",
    )
    model_timeout: float = Field(
        default=limits.DEFAULT_MODEL_TIMEOUT,
        ge=1,
        le=limits.MAX_MODEL_TIMEOUT,
        description="Seconds one model call may take, its retries and a provider's rate-limit waits "
        "included; a model silent that long ends the turn with a reply that says so.",
    )
    pattern: topology.Pattern = Field(
        default=topology.DEFAULT_PATTERN,
        description="Agent pattern the orchestrator runs (set by `dagent up --pattern`).",
    )
    turns_per_run: int = Field(
        default=limits.DEFAULT_TURNS_PER_RUN,
        ge=1,
        le=10_000,
        description="Turns a conversation run holds before it continues as new (keeps history small).",
    )
    workflow_cache: int = Field(
        default=limits.DEFAULT_WORKFLOW_CACHE,
        ge=1,
        le=100_000,
        description="Workflows (conversations) a worker keeps in memory between their tasks; one "
        "pushed out replays its history at its next turn.",
    )
    log_level: LogLevel = Field(
        default="INFO",
        description="Log level of dagent's own processes.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="How dagent's processes write their logs: text for people, json for machines "
        "(one object per line, with session, message, workflow, trace and span ids).",
    )
    metrics: bool = Field(
        default=True,
        description="Whether `dagent up` gives each worker a Prometheus /metrics.",
    )
    metrics_port: Port | None = Field(
        default=None,
        description="Loopback port of a worker's Prometheus /metrics (dagent's and the Temporal "
        "SDK's metrics, for a bearer of DAGENT_HOME/auth/metrics-token); unset: none. "
        "`dagent up` gives each worker one.",
    )
    encrypt: bool = Field(
        default=True,
        description="Encrypt every payload (messages, tool arguments and results) with the stack's "
        "keys; off (`up --no-encrypt`), Temporal stores them as plain JSON and trusts any worker's result.",
    )
    user: str = Field(
        default="",
        description="Who `chat` and `ask` act as (a user in the users file); empty: the OS login user.",
    )
    token: str = Field(
        default="",
        description="An identity token (JWT) to act with instead, e.g. one your identity provider minted.",
    )
    auth_issuer: str = Field(
        default="",
        description="Issuer (`iss`) of the user tokens the orchestrator accepts; empty: the stack's own.",
    )
    auth_audience: str = Field(
        default="dagent",
        min_length=1,
        description="Audience (`aud`) a user token must name to be accepted by the orchestrator.",
    )
    auth_jwks: str = Field(
        default="",
        description="A JWKS file or https URL with the keys of DAGENT_AUTH_ISSUER; empty: the stack's own.",
    )
    test_slow_tool: str = Field(
        default="",
        pattern=r"^$|^[a-z_]+:\d+(\.\d+)?$",
        description="Test aid, off by default: 'TOOL:SECONDS' makes every run of TOOL wait that long "
        "first, so a fault test can stop a process in the middle of a tool call.",
    )

    @model_validator(mode="before")
    @classmethod
    def _team_ports(cls, values: Any) -> Any:
        """Each team's port: its keyword (`it_mcp_port`, the `up` flag), else its own
        variable (DAGENT_IT_MCP_PORT), else `mcp_ports`, else the topology's default."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        ports: dict[str, Any] = {team.name: team.default_mcp_port for team in topology.TEAMS.values()}
        if isinstance(values.get("mcp_ports"), dict):
            ports.update(values["mcp_ports"])
        # Environment names are matched without regard to case, as pydantic-settings does.
        environment = {name.upper(): value for name, value in os.environ.items()}
        for team in topology.TEAMS.values():
            flag = values.pop(team_port_flag(team.name), None)
            given = flag if flag is not None else environment.get(team.mcp_port_variable)
            if given is not None:
                ports[team.name] = given
        return {**values, "mcp_ports": ports}

    @field_validator("home", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: Any) -> Any:
        # DAGENT_HOME= (empty) means "not set", not the current directory.
        return DEFAULT_HOME if isinstance(value, str) and not value.strip() else value

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    def tool_delays(self) -> dict[str, float]:
        if not self.test_slow_tool:
            return {}
        tool, seconds = self.test_slow_tool.split(":")
        return {tool: float(seconds)}

    def mcp_port(self, team: str) -> int:
        return self.mcp_ports[team]


def load_settings(**overrides: Any) -> DagentSettings:
    """Settings from the environment, with flag values (not None) on top.

    A team's MCP port is given as `<team>_mcp_port`. Raises ConfigError naming
    the variable or flag whose value is unusable.
    """
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return DagentSettings(**given)
    except SettingsError as exc:  # a variable that is not even parseable (JSON)
        raise ConfigError(f"Invalid DAGENT_* environment variable: {exc}.") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        location = [str(part) for part in error["loc"]] or ["?"]
        field = (
            team_port_flag(location[1]) if location[0] == "mcp_ports" and len(location) > 1 else location[0]
        )
        source = f"--{field.replace('_', '-')}" if field in given else f"{ENV_PREFIX}{field.upper()}"
        raise ConfigError(f"Invalid value for {source}: {error['msg']}.") from None
