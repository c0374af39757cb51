"""The offline model's routing: which tools it asks for, and what it answers from results."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from services.llm.activity import LlmActivities
from services.llm.messages import ChatMessage, LlmRequest, unavailable_note
from services.llm.offline.planner import plan
from services.orchestrator.memory import Memory
from services.teams import TOOLS, calculator

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
        (
            "How are Apple and Microsoft shares doing?",
            [("stock_price", {"ticker": "AAPL"}), ("stock_price", {"ticker": "MSFT"})],
        ),
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


@pytest.mark.parametrize(
    ("question", "city"),
    [
        ("What's the weather in London today", "London"),
        ("Is it raining in Seattle right now?", "Seattle"),
        ("weather in Paris tomorrow morning?", "Paris"),
        ("What's the temperature in New York at the moment", "New York"),
        ("what is the weather currently in Berlin", "Berlin"),
        ("weather for today in Rome", "Rome"),
        ("forecast for Oslo tonight", "Oslo"),
        ("I'm interested in the weather in Lisbon this evening", "Lisbon"),
    ],
)
def test_time_words_are_not_part_of_a_city(question: str, city: str) -> None:
    assert asked(question) == [("weather", {"city": city})]


@pytest.mark.parametrize(
    ("question", "cities"),
    [
        ("Weather in Tokyo and New York", ["Tokyo", "New York"]),
        ("weather in Paris, London and Rome?", ["Paris", "London", "Rome"]),
        ("what's the weather like in san francisco & tokyo today", ["San Francisco", "Tokyo"]),
        ("Is it sunny in Madrid or in Lisbon?", ["Madrid", "Lisbon"]),
        ("weather in Oslo, Bergen, Tromso", ["Oslo", "Bergen", "Tromso"]),
        ("What's the weather in Paris, France?", ["Paris"]),  # a city and its region
    ],
)
def test_several_cities_each_get_a_weather_call(question: str, cities: list[str]) -> None:
    assert asked(question) == [("weather", {"city": city}) for city in cities]


def test_a_list_of_cities_ends_where_the_next_request_starts() -> None:
    assert sorted(asked("weather in London and my IP")) == [("get_ip", {}), ("weather", {"city": "London"})]
    assert sorted(asked("weather in Paris and the TSLA stock price")) == [
        ("stock_price", {"ticker": "TSLA"}),
        ("weather", {"city": "Paris"}),
    ]


def computed(question: str) -> list[tuple[str, Any]]:
    """The calculator expressions asked for, each with the value the calculator gives it."""
    calls = asked(question)
    assert calls, question
    assert all(name == "calculator" for name, _ in calls), calls
    return [(a["expression"], calculator.tidy(calculator.evaluate(a["expression"]))) for _, a in calls]


@pytest.mark.parametrize(
    ("question", "expression", "value"),
    [
        ("sqrt(144) + 3^2", "(144)**0.5 + 3^2", 21),
        ("what is the square root of 144?", "(144)**0.5", 12),
        ("What's 5 squared plus 4 cubed?", "(5)**2 + (4)**3", 89),
        ("the square root of (9 + 16) * 2", "(9 + 16)**0.5 * 2", 10),
        ("sqrt(2)^2", "((2)**0.5)^2", 2),
        ("√81 - sqrt(sqrt(16))", "(81)**0.5 - ((16)**0.5)**0.5", 7),
        ("2 to the power of 10", "2 ** 10", 1024),
    ],
)
def test_the_whole_expression_reaches_the_calculator(question: str, expression: str, value: Any) -> None:
    assert computed(question) == [(expression, value)]


@pytest.mark.parametrize(
    "question",
    ["log(100) + 2", "cube root of 27 + 1", "2(3 + 4)", "solve 2x + 3 = 7", "what's 50 - 20%", "one-on-one"],
)
def test_part_of_something_the_calculator_cannot_do_is_not_sent(question: str) -> None:
    assert not any(name == "calculator" for name, _ in asked(question))


@pytest.mark.parametrize(
    ("question", "expression", "value"),
    [
        ("twelve times four", "12 * 4", 48),
        ("what is seven plus three", "7 + 3", 10),
        ("a hundred divided by eight", "100 / 8", 12.5),
        ("What is twenty-one multiplied by two?", "21 * 2", 42),
        ("two hundred and fifty minus ninety", "250 - 90", 160),
        ("one thousand over four", "1000 / 4", 250),
        ("three to the power of four", "3 ** 4", 81),
        ("minus five plus three", "-5 + 3", -2),
    ],
)
def test_numbers_and_operators_in_words(question: str, expression: str, value: Any) -> None:
    assert computed(question) == [(expression, value)]


@pytest.mark.parametrize(
    ("question", "expression", "value"),
    [
        ("15% of 240", "240 * 15 / 100", 36),
        ("what is 20 percent of 80", "80 * 20 / 100", 16),
        ("What's 7.5% of $1,200?", "1,200 * 7.5 / 100", 90),
        ("ten percent of fifty plus 5", "(50 * 10 / 100) + 5", 10),
    ],
)
def test_percentages_of_a_number(question: str, expression: str, value: Any) -> None:
    assert computed(question) == [(expression, value)]


@pytest.mark.parametrize(
    ("question", "principal", "rate", "years"),
    [
        ("ROI on 5000 at 7% for 3 years", 5000.0, 7.0, 3.0),
        ("put $1,000 in at 5% for 10 years", 1000.0, 5.0, 10.0),
        ("if I invest 2,500 at 4 percent for 6 years", 2500.0, 4.0, 6.0),
        ("What would 20k grow to at 3.5% over 15 years?", 20000.0, 3.5, 15.0),
        ("invest five thousand dollars at 6% for ten years", 5000.0, 6.0, 10.0),
    ],
)
def test_roi_in_other_words(question: str, principal: float, rate: float, years: float) -> None:
    assert asked(question) == [
        ("calculate_roi", {"principal": principal, "annual_rate_percent": rate, "years": years})
    ]


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
    assert plan([*weather, user("and Tokyo and Osaka tomorrow?")], ALL_TOOLS).tool_calls == [
        ("weather", {"city": "Tokyo"}),
        ("weather", {"city": "Osaka"}),
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


def conversation(*turns: tuple[str, list[tuple[str, dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Finished turns: each question, the tool calls made for it (with empty results), an answer."""
    messages: list[dict[str, Any]] = []
    for number, (question, calls) in enumerate(turns):
        ids = [f"c{number}-{i}" for i in range(len(calls))]
        requests = [
            {"id": id_, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for id_, (name, args) in zip(ids, calls, strict=True)
        ]
        results = [
            {"role": "tool", "tool_call_id": id_, "name": name, "content": "{}"}
            for id_, (name, _) in zip(ids, calls, strict=True)
        ]
        messages.append(user(question))
        if calls:
            messages.append({"role": "assistant", "content": None, "tool_calls": requests})
        messages += [*results, {"role": "assistant", "content": "..."}]
    return messages


def test_memory_questions_take_ordinals() -> None:
    history = conversation(("What is 125 * 8?", []), ("Weather in Paris?", []), ("TSLA price", []))

    def reply(question: str) -> str | None:
        return plan([*history, user(question)], ALL_TOOLS).content

    assert reply("what was my second question?") == 'Your second question was: "Weather in Paris?"'
    assert reply("What was my 3rd question?") == 'Your third question was: "TSLA price"'
    assert reply("what was my last question?") == 'Your last question was: "TSLA price"'
    assert reply("what did I ask first?") == 'Your first question was: "What is 125 * 8?"'
    assert reply("remind me of my first question") == 'Your first question was: "What is 125 * 8?"'
    assert reply("what was my fifth question?") == "You have asked only 3 questions before this one."
    assert "Weather in Paris?" in str(reply("what have I asked so far?"))


def test_memory_recalls_what_was_asked_about() -> None:
    history = conversation(
        ("What's the stock price of TSLA?", [("stock_price", {"ticker": "TSLA"})]),
        ("and for AAPL?", [("stock_price", {"ticker": "AAPL"})]),
        (
            "Weather in Tokyo and New York",
            [("weather", {"city": "Tokyo"}), ("weather", {"city": "New York"})],
        ),
        ("How is Microsoft stock doing?", [("stock_price", {"ticker": "MSFT"})]),
    )
    questions = [
        "which tickers have I asked about?",
        "What stocks did I ask about?",
        "which companies have I asked about so far?",
    ]
    for question in questions:
        assert plan([*history, user(question)], ALL_TOOLS).content == (
            "You have asked about these tickers in this conversation: TSLA, AAPL, MSFT."
        ), question
    assert plan([*history, user("which cities did I ask about?")], ALL_TOOLS).content == (
        "You have asked about these cities in this conversation: Tokyo, New York."
    )
    assert "not asked about any tickers" in str(
        plan([user("which tickers have I asked about?")], ALL_TOOLS).content
    )


@pytest.mark.parametrize(
    ("question", "calls"),
    [
        (
            "first I want the stock price of MSFT, then a question about weather",
            [("stock_price", {"ticker": "MSFT"})],
        ),
        (
            "First, what's the weather in Paris? Second question: TSLA price",
            [("stock_price", {"ticker": "TSLA"}), ("weather", {"city": "Paris"})],
        ),
        ("I have a question: what is 2 + 3 first?", [("calculator", {"expression": "2 + 3"})]),
        ("What's the weather in Paris, as I asked before?", [("weather", {"city": "Paris"})]),
    ],
)
def test_saying_first_or_question_is_not_a_memory_question(question: str, calls: list[Any]) -> None:
    history = conversation(("What is 125 * 8?", [("calculator", {"expression": "125 * 8"})]))
    result = plan([*history, user(question)], ALL_TOOLS)
    assert result.content is None
    assert result.tool_calls == calls


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


def remembered(earlier_turns: int) -> list[dict[str, Any]]:
    """The context of a conversation whose first two questions left the window."""
    memory = Memory()
    memory.add(ChatMessage(role="user", content="What is 125 * 8?"))
    memory.add(ChatMessage(role="assistant", content="1000"))
    memory.add(ChatMessage(role="user", content="What's the stock price of TSLA?"))
    for i in range(earlier_turns):
        memory.add(ChatMessage(role="assistant", content=f"answer {i}"))
        memory.add(ChatMessage(role="user", content=f"question {i}"))
    memory.add(ChatMessage(role="assistant", content="last answer"))
    memory.fold()
    return [m.to_openai() for m in memory.context()]


def test_ordinals_and_tickers_survive_the_sliding_window() -> None:
    context = remembered(25)
    assert all(m["content"] != "What's the stock price of TSLA?" for m in context if m["role"] == "user")
    assert plan([*context, user("what was my second question?")], ALL_TOOLS).content == (
        'Your second question was: "What\'s the stock price of TSLA?"'
    )
    assert "TSLA" in str(plan([*context, user("which tickers have I asked about?")], ALL_TOOLS).content)
    assert plan([*context, user("what was my last question?")], ALL_TOOLS).content == (
        'Your last question was: "question 24"'
    )
    # Once the summary has dropped the second question too, it says so instead of guessing.
    context = remembered(60)
    assert "no longer in my memory" in str(
        plan([*context, user("what was my second question?")], ALL_TOOLS).content
    )
    assert plan([*context, user("what was my first question?")], ALL_TOOLS).content == (
        'Your first question was: "What is 125 * 8?"'
    )


def test_greetings_and_thanks_get_a_friendly_reply() -> None:
    for thanks in ["thanks", "Thank you so much!", "ok, thanks a lot", "cheers"]:
        reply = plan([user(thanks)], ALL_TOOLS)
        assert reply.tool_calls == []
        assert reply.content is not None
        assert reply.content.startswith("You're welcome"), thanks
    for greeting in ["hi", "Hello there!", "hey dagent", "good morning"]:
        reply = plan([user(greeting)], ALL_TOOLS)
        assert str(reply.content).startswith("Hello!"), greeting
        assert "can only help with" in str(reply.content)
    assert plan([user("bye")], ALL_TOOLS).content == "Goodbye! Come back any time."
    # Thanks after a weather answer is not a follow-up about a city called "Thanks".
    weather = conversation_after("weather in Paris", "weather", {"city": "Paris"}, {})
    assert (
        plan([*weather, {"role": "assistant", "content": "..."}, user("thanks!")], ALL_TOOLS).tool_calls == []
    )
    # A greeting with a question in it is a question.
    assert asked("hi, what's the stock price of TSLA?") == [("stock_price", {"ticker": "TSLA"})]


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


def in_activity(call: Any, *args: Any) -> Any:
    """`call(*args)` as the worker runs it: in an activity context, just scheduled."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, scheduled_time=datetime.now(UTC))
    return asyncio.run(environment.run(call, *args))


def test_runs_through_the_real_litellm_code_path() -> None:
    response = in_activity(
        LlmActivities("offline").call_llm,
        LlmRequest(messages=[ChatMessage(role="user", content="TSLA price and my IP")], tools=ALL_TOOLS),
    )
    assert sorted(call.name for call in response.tool_calls) == ["get_ip", "stock_price"]
    assert all(call.id.startswith("call_") for call in response.tool_calls)
    assert json.loads(next(c for c in response.tool_calls if c.name == "stock_price").arguments) == {
        "ticker": "TSLA"
    }


def test_a_model_that_cannot_work_fails_without_retries() -> None:
    from temporalio.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        in_activity(
            LlmActivities("no-such-provider-model").call_llm,
            LlmRequest(messages=[ChatMessage(role="user", content="hi")]),
        )
    assert caught.value.non_retryable
    assert "no-such-provider-model" in caught.value.message


FINANCE_DOWN = {
    "finance": "The finance service is unavailable (no finance worker picked the call up in time)."
}
WITHOUT_FINANCE = [
    spec for spec in ALL_TOOLS if spec["function"]["name"] not in ("stock_price", "calculate_roi")
]


def test_the_part_an_unavailable_service_would_answer_is_named_with_why() -> None:
    note = {"role": "system", "content": unavailable_note(FINANCE_DOWN)}
    asked = plan([note, user("TSLA price and my IP")], WITHOUT_FINANCE)
    assert [name for name, _ in asked.tool_calls] == ["get_ip"]  # the rest is still answered
    ip = {"hostname": "vm", "primary_address": "192.0.2.2", "addresses": []}
    answer = plan(
        [note, *conversation_after("TSLA price and my IP", "get_ip", {}, ip)], WITHOUT_FINANCE
    ).content
    assert answer is not None
    assert "192.0.2.2" in answer
    assert "`stock_price`" in answer
    assert "no finance worker picked the call up in time" in answer


def test_a_question_only_an_unavailable_service_answers_says_why() -> None:
    note = {"role": "system", "content": unavailable_note(FINANCE_DOWN)}
    answer = plan([note, user("What's the stock price of TSLA?")], WITHOUT_FINANCE).content
    assert answer is not None
    assert "`stock_price`" in answer
    assert "not available" in answer
    assert "no finance worker picked the call up in time" in answer
