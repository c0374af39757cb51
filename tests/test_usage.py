"""Tokens and cost per turn: how usage adds up, and how a reply and a session show it."""

from __future__ import annotations

from datetime import UTC, datetime

from durable_agents_cli import render_agent
from services.conversation import Reply, TranscriptEntry, Usage
from services.llm.activity import usage_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def reply(usage: Usage | None, trace_id: str = "") -> Reply:
    return Reply(
        message_id="m", text="a", started_at=NOW, finished_at=NOW, steps=2, usage=usage, trace_id=trace_id
    )


def test_usage_adds_up_and_an_unpriced_call_makes_the_cost_unknown() -> None:
    total = Usage().plus(Usage(input_tokens=10, output_tokens=2, cost=0.001))
    total = total.plus(Usage(input_tokens=5, output_tokens=1, cost=0.002))
    assert (total.input_tokens, total.output_tokens, total.total_tokens) == (15, 3, 18)
    assert total.cost == 0.003
    assert total.plus(Usage(input_tokens=1, cost=None)).cost is None
    assert total.plus(None).cost is None


def test_the_answer_footer_and_ask_json_show_the_turns_usage() -> None:
    priced = reply(Usage(input_tokens=300, output_tokens=12, cost=0.0004))
    assert "312 tokens · $0.0004" in render_agent.plain_answer(priced, 0.094)
    assert render_agent.ask_json("s", priced, 0.094, "me")["usage"] == {
        "input_tokens": 300,
        "output_tokens": 12,
        "total_tokens": 312,
        "cost": 0.0004,
    }
    assert render_agent.ask_json("s", reply(None), 0.1, "me")["usage"] is None
    free = render_agent.plain_answer(reply(Usage(input_tokens=5, output_tokens=5, cost=0.0)), 0.1)
    assert "10 tokens" in free
    assert "$" not in free


def test_a_session_sums_its_turns_and_names_its_last_trace() -> None:
    entries = [
        TranscriptEntry(
            message_id="1",
            question="q",
            reply=reply(Usage(input_tokens=10, output_tokens=5, cost=0.01), "a" * 32),
        ),
        TranscriptEntry(
            message_id="2",
            question="q",
            reply=reply(Usage(input_tokens=20, output_tokens=5, cost=0.02), "b" * 32),
        ),
        TranscriptEntry(message_id="3", question="q"),
    ]
    rows = render_agent.session_totals(entries)
    assert rows["turns"] == "2"
    assert rows["tokens"] == "40 · cost $0.0300"
    assert rows["trace"].startswith("b" * 32)
    unknown = [
        *entries,
        TranscriptEntry(message_id="4", question="q", reply=reply(Usage(input_tokens=1, cost=None))),
    ]
    assert render_agent.session_totals(unknown)["tokens"] == "41 · cost unknown"


def test_the_built_in_model_is_free_and_an_unknown_model_has_no_price() -> None:
    class Response:
        class usage:  # the shape LiteLLM gives
            prompt_tokens = 7
            completion_tokens = 3

    assert usage_of(Response(), "offline") == Usage(input_tokens=7, output_tokens=3, cost=0.0)
    assert usage_of(Response(), "no-such-provider/no-such-model").cost is None
