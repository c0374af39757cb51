"""What the supervisor runs for each pattern, and its restart policy."""

from pathlib import Path

from durable_agents_cli.stack.components import Probe, components_for
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.state import StackConfig
from durable_agents_cli.stack.supervisor import CRASH_LIMIT, restart_delay


def config(**changes: object) -> StackConfig:
    base = StackConfig(
        pattern="nexus",
        model="offline",
        log_level="INFO",
        temporal_port=7233,
        ui_port=8233,
        mcp_ports={"it": 8002, "finance": 8001},
        internal_ports={"ui": 6666, "http": 6667, "metrics": 6668},
        encrypt=True,
    )
    return base.model_copy(update=changes)


PATHS = StackPaths(Path("/tmp/dagent-test-home"))


def names(cfg: StackConfig) -> list[str]:
    return [spec.name for spec in components_for(cfg, PATHS)]


def test_each_pattern_runs_its_components() -> None:
    assert names(config()) == ["temporal", "web", "orchestrator", "it", "finance"]
    assert names(config(pattern="agents-nexus")) == ["temporal", "web", "orchestrator", "it", "finance"]
    assert names(config(pattern="mcp")) == [
        "temporal",
        "web",
        "orchestrator",
        "it",
        "finance",
        "it-mcp",
        "finance-mcp",
    ]


def test_external_temporal_is_not_started() -> None:
    started = names(config(external_address="temporal.example:7233"))
    assert "temporal" not in started
    assert "web" not in started


def test_dev_server_is_local_persistent_and_tuned() -> None:
    temporal = components_for(config(temporal_port=7300, ui_port=8300), PATHS)[0]
    argv = " ".join(temporal.argv)
    assert "--ip 127.0.0.1" in argv
    assert "--port 7300" in argv
    # Its own HTTP listeners on ports browsers refuse; the user's UI port is the guard's.
    assert "--ui-port 6666" in argv
    assert "--http-port 6667" in argv
    assert "--metrics-port 6668" in argv
    assert "--ui-codec-endpoint http://127.0.0.1:8300/dagent-codec" in argv
    assert 'frontend.httpAllowedHosts=["http-api-off.invalid"]' in argv
    web = components_for(config(temporal_port=7300, ui_port=8300), PATHS)[1]
    assert web.port == 8300
    assert web.argv[-4:] == ("--port", "8300", "--upstream-port", "6666")
    assert f"--db-filename {PATHS.database}" in argv
    assert "--namespace it-namespace" in argv
    assert "--namespace finance-namespace" in argv
    assert "history.transferProcessorMaxPollRPS=10000" in argv
    assert temporal.probe is Probe.TEMPORAL


def test_swapping_pattern_changes_only_the_orchestrator() -> None:
    before = {s.name: s.fingerprint for s in components_for(config(), PATHS)}
    after = {s.name: s.fingerprint for s in components_for(config(pattern="mcp"), PATHS)}
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed == {"orchestrator", "it-mcp", "finance-mcp"}


def test_model_change_restarts_workers_not_the_server() -> None:
    before = {s.name: s.fingerprint for s in components_for(config(), PATHS)}
    after = {s.name: s.fingerprint for s in components_for(config(model="openai/gpt-4o-mini"), PATHS)}
    changed = {name for name in after if before[name] != after[name]}
    assert changed == {"orchestrator"}


def test_restart_backoff_grows_then_gives_up() -> None:
    delays = [restart_delay(n) for n in range(1, CRASH_LIMIT + 1)]
    assert delays == sorted(delays)
    assert delays[0] is not None
    assert delays[0] <= 1
    assert restart_delay(CRASH_LIMIT + 1) is None


def test_a_stack_file_of_dagent_0_1_still_reads() -> None:
    written_by_0_1 = {
        "pattern": "mcp",
        "model": "offline",
        "log_level": "INFO",
        "temporal_port": 7233,
        "ui_port": 8233,
        "it_mcp_port": 9002,
        "finance_mcp_port": 9001,
    }
    assert StackConfig.model_validate(written_by_0_1).mcp_ports == {"it": 9002, "finance": 9001}
    assert "it_mcp_port" in written_by_0_1  # the caller's dict is left alone


def test_a_team_missing_from_the_stack_file_gets_its_default_port() -> None:
    read = StackConfig.model_validate({**config().model_dump(), "mcp_ports": {"it": 9002}})
    assert read.mcp_ports == {"it": 9002, "finance": 8001}
    assert "finance-mcp" in names(read.model_copy(update={"pattern": "mcp"}))


def test_an_unencrypted_stack_tells_every_child_and_offers_the_ui_no_codec() -> None:
    specs = components_for(config(encrypt=False), PATHS)
    assert all(spec.env.get("DAGENT_ENCRYPT") == "false" for spec in specs if spec.name != "temporal")
    assert "--ui-codec-endpoint" not in specs[0].argv
    encrypted = components_for(config(), PATHS)
    assert all(spec.env.get("DAGENT_ENCRYPT") == "true" for spec in encrypted if spec.name != "temporal")


def test_each_worker_serves_its_metrics_on_ports_of_its_own() -> None:
    ports = {"ui": 6666, "http": 6667, "metrics": 6668}
    workers = ["orchestrator", "it", "finance"]
    for n, worker in enumerate(workers):
        ports[f"{worker}-metrics"] = 30100 + n
    specs = {spec.name: spec for spec in components_for(config(internal_ports=ports), PATHS)}
    assert specs["temporal"].metrics == "http://127.0.0.1:6668/metrics"
    for worker in workers:
        spec = specs[worker]
        assert spec.env["DAGENT_METRICS_PORT"] == str(ports[f"{worker}-metrics"])
        assert spec.metrics == f"http://127.0.0.1:{ports[f'{worker}-metrics']}/metrics"
    # DAGENT_METRICS=false: no worker serves any.
    quiet = {spec.name: spec for spec in components_for(config(internal_ports=ports, metrics=False), PATHS)}
    assert all("DAGENT_METRICS_PORT" not in quiet[w].env and not quiet[w].metrics for w in workers)
