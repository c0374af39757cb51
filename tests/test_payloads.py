"""Durable state survives both payload converters dagent runs under: pydantic's (nexus
pattern) and the Agents SDK plugin's, which drops fields pydantic sees as unset."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.openai_agents import OpenAIPayloadConverter

from services.conversation import ToolCatalogResult, ToolRoute
from services.llm.messages import ChatMessage
from services.orchestrator.base import CarriedState, ConversationInput
from services.orchestrator.circuits import Circuits
from services.orchestrator.memory import Memory

CONVERTERS = {
    "pydantic": pydantic_data_converter.payload_converter,
    "agents plugin": DataConverter(payload_converter_class=OpenAIPayloadConverter).payload_converter,
}


def round_trip(value: BaseModel, converter: str) -> BaseModel:
    payload = CONVERTERS[converter].to_payloads([value])
    return CONVERTERS[converter].from_payloads(payload, [type(value)])[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("converter", CONVERTERS)
def test_memory_built_turn_by_turn_round_trips(converter: str) -> None:
    memory = Memory()
    memory.add(ChatMessage(role="user", content="What is 125 * 8?"))
    memory.add(ChatMessage(role="assistant", content="1000"))
    state = ConversationInput(session="s", state=CarriedState(memory=memory, total_turns=1))
    assert round_trip(state, converter) == state


@pytest.mark.parametrize("converter", CONVERTERS)
def test_tool_catalog_with_unavailable_services_round_trips(converter: str) -> None:
    route = ToolRoute(
        name="calculator", description="d", parameters={}, service="orchestrator", transport="local"
    )
    catalog = ToolCatalogResult(tools=[route], unavailable={"it": "down"})
    assert round_trip(catalog, converter) == catalog


@pytest.mark.parametrize("converter", CONVERTERS)
def test_an_open_circuit_round_trips(converter: str) -> None:
    circuits = Circuits()
    circuits.failed("it", datetime(2026, 1, 1, tzinfo=UTC), "timed out")
    state = CarriedState(circuits=circuits)  # as the workflow carries it
    back = round_trip(ConversationInput(session="s", state=state), converter)
    assert isinstance(back, ConversationInput)
    assert back.state.circuits == state.circuits
    assert back.state.circuits.get("it", datetime(2026, 1, 1, tzinfo=UTC)).state == "open"
