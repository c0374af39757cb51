"""dagent's own settings, read from `DAGENT_*` environment variables.

Temporal connection settings are not here: they come from Temporal's own
environment configuration (`TEMPORAL_ADDRESS`, `TEMPORAL_API_KEY`, profiles in
`temporal.toml`), see `services.temporal`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services import topology
from services.errors import ConfigError

Port = Annotated[int, Field(ge=1, le=65535)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

ENV_PREFIX = "DAGENT_"


class DagentSettings(BaseSettings):
    """Settings shared by the CLI, the supervisor, the workers and MCP servers."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    home: Path = Field(
        default=Path("~/.dagent"),
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
    finance_mcp_port: Port = Field(
        default=topology.FINANCE.default_mcp_port,
        description="Port of the Finance MCP server (mcp pattern).",
    )
    it_mcp_port: Port = Field(
        default=topology.IT.default_mcp_port,
        description="Port of the IT MCP server (mcp pattern).",
    )
    model: str = Field(
        default="offline",
        min_length=1,
        description="LiteLLM model string; 'offline' is the built-in deterministic model.",
    )
    pattern: Literal["nexus", "agents-nexus", "mcp"] = Field(
        default="nexus",
        description="Agent pattern the orchestrator runs (set by `dagent up --pattern`).",
    )
    turns_per_run: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Turns a conversation run holds before it continues as new (keeps history small).",
    )
    log_level: LogLevel = Field(
        default="INFO",
        description="Log level of dagent's own processes.",
    )
    test_slow_tool: str = Field(
        default="",
        pattern=r"^$|^[a-z_]+:\d+(\.\d+)?$",
        description="Test aid, off by default: 'TOOL:SECONDS' makes every run of TOOL wait that long "
        "first, so a fault test can stop a process in the middle of a tool call.",
    )

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
        return {"it": self.it_mcp_port, "finance": self.finance_mcp_port}[team]


def mcp_token_file(home: Path) -> Path:
    """Where `dagent up` keeps the bearer token of the stack's MCP servers (mode 0600)."""
    return home / "run" / "mcp-token"


def load_settings(**overrides: Any) -> DagentSettings:
    """Settings from the environment, with flag values (not None) on top.

    Raises ConfigError naming the variable or flag whose value is unusable.
    """
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return DagentSettings(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        source = f"--{field.replace('_', '-')}" if field in given else f"{ENV_PREFIX}{field.upper()}"
        raise ConfigError(f"Invalid value for {source}: {error['msg']}.") from None
