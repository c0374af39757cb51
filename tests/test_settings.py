from pathlib import Path

import pytest

from services.errors import ConfigError
from services.settings import load_settings


def test_defaults_follow_the_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOME", "TEMPORAL_PORT", "UI_PORT", "IT_MCP_PORT", "FINANCE_MCP_PORT", "MODEL"):
        monkeypatch.delenv(f"DAGENT_{name}", raising=False)
    settings = load_settings()
    assert settings.temporal_port == 7233
    assert settings.ui_port == 8233
    assert settings.mcp_port("it") == 8002
    assert settings.mcp_port("finance") == 8001
    assert settings.model == "offline"
    assert settings.home == Path("~/.dagent").expanduser()


def test_environment_and_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DAGENT_HOME", str(tmp_path))
    monkeypatch.setenv("DAGENT_TEMPORAL_PORT", "9000")
    settings = load_settings(ui_port=9100, model=None)
    assert (settings.home, settings.temporal_port, settings.ui_port) == (tmp_path, 9000, 9100)
    assert settings.mcp_port("finance") == settings.mcp_ports["finance"]


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({"DAGENT_TEMPORAL_PORT": "abc"}, {}, "DAGENT_TEMPORAL_PORT"),
        ({"DAGENT_UI_PORT": "0"}, {}, "DAGENT_UI_PORT"),
        ({}, {"it_mcp_port": 70000}, "--it-mcp-port"),
        ({"DAGENT_LOG_LEVEL": "LOUD"}, {}, "DAGENT_LOG_LEVEL"),
        ({}, {"model": ""}, "--model"),
    ],
)
def test_bad_values_name_their_source(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], flags: dict[str, object], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(**flags)


def test_team_ports_from_flags_variables_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGENT_FINANCE_MCP_PORT", raising=False)
    monkeypatch.setenv("dagent_it_mcp_port", "9005")  # variable names are not case-sensitive
    assert load_settings().mcp_ports == {"it": 9005, "finance": 8001}
    assert load_settings(it_mcp_port=9100).mcp_port("it") == 9100  # the flag wins
    with pytest.raises(ConfigError, match="--it-mcp-port"):
        load_settings(it_mcp_port=0)  # refused, not taken for "unset"


def test_an_unparseable_variable_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGENT_MCP_PORTS", "{not json")
    with pytest.raises(ConfigError, match="DAGENT_"):
        load_settings()


def test_an_empty_home_means_the_default_not_the_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGENT_HOME", "")
    assert load_settings().home == Path("~/.dagent").expanduser()
