"""The six tools, on their own: semantics, validation, and labels on sample data."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from typing import Any

import psutil
import pytest

from services.teams import TOOLS, get_tool
from services.teams.calculator import MAX_MAGNITUDE, evaluate, tidy
from services.tools import SAMPLE_DATA, ToolInputError


def run(name: str, arguments: Any) -> dict[str, Any]:
    return asyncio.run(TOOLS[name].run(arguments))


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("125 * 8", 1000),
        ("2 ** 10", 1024),
        ("(2 + 3) * 4", 20),
        ("-5 // 2", -3),
        ("7 % 3", 1),
        ("0.1 + 0.2", 0.3),
        ("-(-3)", 3),
        ("10 / 4", 2.5),
        ("10,000 * 1.05", 10500),
        ("3 × 4", 12),
        ("10 ÷ 4", 2.5),
        ("2^8", 256),
        ("  42  ", 42),
        ("2x3", 6),
        ("2 ** -10", 0.0009765625),
    ],
)
def test_calculator_computes(expression: str, value: float) -> None:
    assert tidy(evaluate(expression)) == value


HOSTILE = [
    "__import__('os').system('true')",
    "open('/etc/passwd').read()",
    "(1).__class__.__bases__",
    "().__class__",
    "x.real",
    "lambda: 1",
    "[1, 2, 3]",
    "{'a': 1}",
    "'a' * 10",
    "True + 1",
    "1 if 1 else 2",
    "a = 1",
    "1; 2",
    "9 ** 9 ** 9",
    "10 ** 1000",
    "2 ** 100000",
    "1e308 * 10",
    "1 / 0",
    "5 // 0",
    "5 % 0",
    "0 ** -1",
    "(-8) ** 0.5",
    "(" * 100 + "1" + ")" * 100,
    "-" * 150 + "1",
    "1 + " * 60 + "1",
    "",
    "   ",
    "１２３ + 1",
    "1 + 𝟏",
    "2 ** 3 ** 4 ** 5",
    "\x00",
    "1 +",
    "import os",
    "eval('1')",
    "1 << 1000",
    "~1",
    "1 & 1",
    "3 @ 4",
    "1 < 2",
    "j",
    "1j * 1j",
    "0x10",
    "0o17 + 1",
    "0b101",
]


@pytest.mark.parametrize("expression", HOSTILE)
def test_calculator_refuses_hostile_input(expression: str) -> None:
    with pytest.raises(ToolInputError) as caught:
        evaluate(expression)
    assert str(caught.value)  # always a message a user can read


def test_calculator_results_stay_bounded() -> None:
    assert evaluate("10 ** 100") <= MAX_MAGNITUDE
    assert evaluate("2 ** -1000") == pytest.approx(2**-1000)  # tiny is not too large
    with pytest.raises(ToolInputError, match="too large"):
        evaluate("10 ** 100 * 10")


def test_roi_matches_the_reference_figures() -> None:
    result = run("calculate_roi", {"principal": 10_000, "annual_rate_percent": 5, "years": 10})
    assert result["final_value"] == 16288.95
    assert result["gain"] == 6288.95
    assert result["roi_percent"] == 62.89


@pytest.mark.parametrize(
    "arguments",
    [
        {"principal": -1, "annual_rate_percent": 5, "years": 10},
        {"principal": 1000, "annual_rate_percent": -150, "years": 10},
        {"principal": 1000, "annual_rate_percent": 5, "years": 0},
        {"principal": 1000, "annual_rate_percent": 5},
        {"principal": "lots", "annual_rate_percent": 5, "years": 1},
        {"principal": 1000, "annual_rate_percent": 5, "years": 1, "bonus": 3},
    ],
)
def test_roi_rejects_bad_input(arguments: dict[str, Any]) -> None:
    with pytest.raises(ToolInputError, match="calculate_roi"):
        run("calculate_roi", arguments)


def test_stock_quote_is_deterministic_validated_and_labelled() -> None:
    first = run("stock_price", {"ticker": "tsla"})
    assert first == run("stock_price", '{"ticker": "TSLA"}')
    assert first["ticker"] == "TSLA"
    assert first["source"] == SAMPLE_DATA
    assert first["price"] > 0
    assert run("stock_price", {"ticker": "AAPL"})["price"] != first["price"]
    for bad in ("", "TOOLONGX", "12", "DROP TABLE", "TS LA"):
        with pytest.raises(ToolInputError, match="ticker"):
            run("stock_price", {"ticker": bad})


def test_jira_metrics_add_up_and_validate_the_key() -> None:
    result = run("jira_metrics", {"project": "demo-456"})
    assert result["project"] == "DEMO-456"
    assert result["open_issues"] + result["closed_issues"] == result["total_issues"]
    assert result["source"] == SAMPLE_DATA
    assert run("jira_metrics", {"project": "DEMO"})["total_issues"] > 0
    for bad in ("", "4DEMO", "DEMO-", "DE MO", "A" * 20, "DEMO-12345678"):
        with pytest.raises(ToolInputError, match="Jira project key"):
            run("jira_metrics", {"project": bad})


def test_weather_is_deterministic_and_labelled() -> None:
    result = run("weather", {"city": "san  francisco"})
    assert result["city"] == "San Francisco"
    assert result == run("weather", {"city": "San Francisco"})
    assert result["source"] == SAMPLE_DATA
    assert run("weather", {"city": "Reykjavik"})["source"] == SAMPLE_DATA


def test_get_ip_reports_the_hosts_real_addresses() -> None:
    result = run("get_ip", {})
    reported = {entry["address"] for entry in result["addresses"]}
    real = {a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs}
    assert reported <= real
    assert "127.0.0.1" in reported
    if result["primary_address"]:
        assert not ipaddress.ip_address(result["primary_address"]).is_loopback
    assert "sample" not in result["source"]


def test_arguments_are_validated_before_any_work() -> None:
    tool = TOOLS["calculator"]
    for bad, message in [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("{}", "expression"),
        (json.dumps({"expression": "1" * 5000}), "too large"),
        ({"expression": 5}, "expression"),
    ]:
        with pytest.raises(ToolInputError, match=message):
            tool.parse(bad)


def test_unknown_tool_names_the_known_ones() -> None:
    with pytest.raises(ToolInputError, match=r"Tool 'stock_prise' not found; known tools: .*stock_price"):
        get_tool("stock_prise")
    with pytest.raises(ToolInputError, match="known tools: get_ip, jira_metrics"):
        get_tool("stock_price", team="it")


def test_every_tool_is_described_with_a_flat_schema() -> None:
    teams = {tool.team for tool in TOOLS.values()}
    assert teams == {"orchestrator", "it", "finance"}
    for tool in TOOLS.values():
        spec = tool.function_spec()["function"]
        assert spec["name"] == tool.name
        assert len(spec["description"]) > 10
        schema = spec["parameters"]
        assert schema["type"] == "object"
        assert "$defs" not in schema
        assert "input" not in schema.get("properties", {})
        for prop in schema.get("properties", {}).values():
            assert prop.get("description")
