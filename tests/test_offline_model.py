"""The offline model's routing: which tools it asks for, and what it answers from results."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from services.llm.activity import LlmActivities
from services.llm.messages import ChatMessage, LlmRequest
from services.llm.offline.planner import plan
from services.orchestrator.memory import Memory
from services.teams import TOOLS

ALL_TOOLS = [tool.function_spec() for tool in TOOLS.values()]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def asked(text: str, tools: list[dict[str, Any]] = ALL_TOOLS) -> list[tuple[str, dict[str, Any]]]:
    return plan([user(text)], tools).tool_calls


@pytest.mark.parametrize(
    ("question", "calls"),
    [
        ("What is 125 * 8?", [("calculator", {"expression": "125 * 8"})]),
        ("What's the weather like in San Francisco?", [("weather", {"city": "San Francisco"})]),
        ("What is my IP address?", [("get_ip", {})]),
        ("Get JIRA metrics for project DEMO-456", [("jira_metrics", {"project": "DEMO-456"})]),
        ("What's the stock price of TSLA?", [("stock_price", {"ticker": "TSLA"})]),
        (
            "Calculate ROI for $10,000 at 5% over 10 years",
            [("calculate_roi", {"principal": 10000.0, "annual_rate_percent": 5.0, "years": 10.0})],
        ),
        ("How is Tesla stock doing?", [("stock_price", {"ticker": "TSLA"})]),
        ("jira metrics for project OPS", [("jira_metrics", {"project": "OPS"})]),
        ("what's (2 + 3) * 4", [("calculator", {"expression": "(2 + 3) * 4"})]),
    ],
)
def test_reference_questions_pick_the_right_tool(question: str, calls: list[Any]) -> None:
    assert asked(question) == calls


def test_multi_part_questions_call_several_tools_at_once() -> None:
    assert sorted(name for name, _ in asked("TSLA price and my IP")) == ["get_ip", "stock_price"]
    names = sorted(name for name, _ in asked("What is 2 + 2 and the weather in London?"))
    assert names == ["calculator", "weather"]


def conversation_after(question: str, tool: str, args: dict[str, Any], result: dict[str, Any]) -> list[Any]:
    return [
        user(question),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": tool, "arguments": json.dumps(args)}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": tool, "content": json.dumps(result)},
    ]


def test_answers_from_tool_results_and_flags_sample_data() -> None:
    quote = {"ticker": "TSLA", "price": 244.15, "currency": "USD", "change_percent": -1.75,
             "source": "sample data (deterministic demo values, not live)"}  # fmt: skip
    answer = plan(conversation_after("TSLA?", "stock_price", {"ticker": "TSLA"}, quote), ALL_TOOLS).content
    assert answer is not None
    assert "$244.15" in answer
    assert "sample data" in answer


def test_tool_errors_are_reported_not_hidden() -> None:
    messages = conversation_after("1/0", "calculator", {"expression": "1/0"}, {"error": "Division by zero."})
    answer = plan(messages, ALL_TOOLS).content
    assert answer is not None
    assert "Division by zero" in answer


def test_follow_ups_reuse_the_previous_tool() -> None:
    earlier = conversation_after("What's the stock price of TSLA?", "stock_price", {"ticker": "TSLA"}, {})
    earlier.append({"role": "assistant", "content": "TSLA is ..."})
    assert plan([*earlier, user("and for AAPL?")], ALL_TOOLS).tool_calls == [
        ("stock_price", {"ticker": "AAPL"})
    ]
    weather = conversation_after("weather in Paris", "weather", {"city": "Paris"}, {})
    weather.append({"role": "assistant", "content": "..."})
    assert plan([*weather, user("what about Tokyo?")], ALL_TOOLS).tool_calls == [
        ("weather", {"city": "Tokyo"})
    ]
    roi_args = {"principal": 10000.0, "annual_rate_percent": 5.0, "years": 10.0}
    roi = conversation_after("ROI ...", "calculate_roi", roi_args, {})
    roi.append({"role": "assistant", "content": "..."})
    assert plan([*roi, user("and over 20 years?")], ALL_TOOLS).tool_calls == [
        ("calculate_roi", {**roi_args, "years": 20.0})
    ]


def test_memory_questions_are_answered_from_the_conversation() -> None:
    history = [user("What is 125 * 8?"), {"role": "assistant", "content": "1000"}, user("Weather in Paris?"),
               {"role": "assistant", "content": "..."}]  # fmt: skip
    first = plan([*history, user("What was my first question?")], ALL_TOOLS).content
    assert first == 'Your first question was: "What is 125 * 8?"'
    previous = plan([*history, user("what did I ask before this?")], ALL_TOOLS).content
    assert previous is not None
    assert "Weather in Paris?" in previous
    assert "first question" in str(plan([user("what was my first question?")], ALL_TOOLS).content)


def test_first_question_survives_the_sliding_window() -> None:
    memory = Memory()
    memory.add(ChatMessage(role="user", content="What is 125 * 8?"))
    for i in range(60):
        memory.add(ChatMessage(role="assistant", content=f"answer {i}"))
        memory.add(ChatMessage(role="user", content=f"question {i}"))
    memory.fold()
    assert len(memory.window) <= 40
    context = [m.to_openai() for m in memory.context()]
    assert all(m["content"] != "What is 125 * 8?" for m in context if m["role"] == "user")
    assert plan([*context, user("what was my first question?")], ALL_TOOLS).content == (
        'Your first question was: "What is 125 * 8?"'
    )


def test_says_what_it_can_do_when_it_cannot_help() -> None:
    answer = plan([user("Write me a poem about the sea")], ALL_TOOLS).content
    assert answer is not None
    assert "can only help with" in answer
    assert "125 * 8" in answer


def test_never_calls_a_tool_it_was_not_offered() -> None:
    only_local = [TOOLS["calculator"].function_spec(), TOOLS["weather"].function_spec()]
    result = plan([user("What's the stock price of TSLA?")], only_local)
    assert result.tool_calls == []
    assert "stock_price" in str(result.content)
    assert "not available" in str(result.content)


def test_runs_through_the_real_litellm_code_path() -> None:
    response = asyncio.run(
        LlmActivities("offline").call_llm(
            LlmRequest(messages=[ChatMessage(role="user", content="TSLA price and my IP")], tools=ALL_TOOLS)
        )
    )
    assert sorted(call.name for call in response.tool_calls) == ["get_ip", "stock_price"]
    assert all(call.id.startswith("call_") for call in response.tool_calls)
    assert json.loads(next(c for c in response.tool_calls if c.name == "stock_price").arguments) == {
        "ticker": "TSLA"
    }


def test_a_model_that_cannot_work_fails_without_retries() -> None:
    from temporalio.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        asyncio.run(
            LlmActivities("no-such-provider-model").call_llm(
                LlmRequest(messages=[ChatMessage(role="user", content="hi")])
            )
        )
    assert caught.value.non_retryable
    assert "no-such-provider-model" in caught.value.message
