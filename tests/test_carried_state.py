"""What a conversation hands to its next run stays within Temporal's 2 MB payload
limit, however long its answers: a model that writes the longest answers a turn
may keep (64,000 characters) for a whole run, and the conversation rolls over,
keeps its newest turns and goes on."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services import conversation, limits
from tests import scripted_model
from tests.conftest import Agent

pytestmark = pytest.mark.server

WORKER_MODEL = scripted_model.MODEL
# Turns of a run: enough longest answers to pass 2 MB in the transcript alone.
TURNS = 36


@pytest.fixture(scope="module", autouse=True)
def scripted() -> None:
    scripted_model.register()


async def test_a_run_of_the_longest_answers_rolls_over_and_goes_on(agent_workers: Agent) -> None:
    session = f"carried-{uuid.uuid4().hex[:8]}"
    for _ in range(TURNS):
        reply = await asyncio.wait_for(
            agent_workers.send(session, "script:huge-answer", turns_per_run=TURNS), 60
        )
        assert "[cut: the model wrote 3000000 characters]" in reply.text
    # The run is over: the next message goes to the run that carries on.
    after = await asyncio.wait_for(agent_workers.send(session, "and now?", turns_per_run=TURNS), 60)
    assert after.text
    progress = await conversation.progress(agent_workers.client, session)
    assert progress.total_turns == TURNS + 1
    assert progress.run_turns <= TURNS  # rolled over (Temporal may suggest it sooner)
    kept = await conversation.transcript(agent_workers.client, session)
    assert kept[-1].message_id == after.message_id
    assert len(kept) > 1  # the newest turns came along, as many as fit


async def test_a_run_of_500kb_answers_continues_as_new_on_its_history_size(agent_workers: Agent) -> None:
    """Turn counts alone would let it grow to Temporal's limits: the history budget rolls
    it over first, between turns, below the server's own suggestion (4 MB), and the
    conversation goes on with its turns."""
    session = f"budget-{uuid.uuid4().hex[:8]}"
    sizes: list[int] = []
    for turn in range(1, 60):
        reply = await asyncio.wait_for(
            agent_workers.send(session, "script:500kb-answer", turns_per_run=1_000), 60
        )
        progress = await conversation.progress(agent_workers.client, session)
        if progress.run_turns < turn:
            break  # this turn went to the run that carried on
        assert "[cut: the model wrote 500000 characters]" in reply.text
        sizes.append(progress.history_bytes)
    else:
        pytest.fail(f"59 turns of 500 KB answers never rolled over; history sizes {sizes}")
    # It rolled over on size, after the turn that passed the budget: below the server's
    # suggestion (4 MB) and far below Temporal's warning; the progress query showed the
    # run's history as it grew.
    assert sizes == sorted(sizes)
    growth = sizes[-1] - sizes[-2]
    assert sizes[-1] < limits.HISTORY_BUDGET_BYTES <= sizes[-1] + growth + growth // 2
    assert sizes[-1] + 2 * growth < 4 * 1024 * 1024
    assert progress.total_turns == turn
    assert 0 < progress.history_bytes < sizes[-1]
    assert progress.history_events > 0
    kept = await conversation.transcript(agent_workers.client, session)
    assert kept[-1].message_id == reply.message_id
    assert len(kept) > 1  # the newest turns came along


def test_session_shows_the_runs_history_against_the_budget_and_temporals_warning() -> None:
    from durable_agents_cli import render_agent
    from services.conversation import Progress

    shown = render_agent.history_budget(Progress(history_events=1234, history_bytes=3 * 1024 * 1024))
    assert shown.startswith("1,234 events · 3.00 MB in this run")
    assert "3,000 events or 2 MB" in shown
    assert "10,240 or 10 MB" in shown
