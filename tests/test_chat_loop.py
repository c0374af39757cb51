"""The chat loop without a server: a fake backend and a scripted view."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from durable_agents_cli.chat import slash
from durable_agents_cli.chat.repl import ChatLoop, SessionInfo
from services.conversation import (
    CircuitStatus,
    Progress,
    Reply,
    ToolCallRecord,
    ToolCatalogResult,
    TranscriptEntry,
)
from services.errors import StackNotRunningError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def reply_to(text: str) -> Reply:
    call = ToolCallRecord(service="orchestrator", tool="calculator", transport="local", arguments={"x": text})
    return Reply(message_id="m", text=f"answer to {text}", tool_calls=[call], started_at=NOW, finished_at=NOW)


class FakeBackend:
    def __init__(self) -> None:
        self._session = "s1"
        self.sent: list[str] = []
        self.block: asyncio.Event | None = None
        self.fail_with: Exception | None = None
        self.sessions = 1
        self.sending = asyncio.Event()

    @property
    def session(self) -> str:
        return self._session

    async def send(self, text: str, on_progress: Callable[[Progress], None]) -> Reply:
        self.sent.append(text)
        self.sending.set()
        on_progress(Progress(state="calling_tool", tool="stock_price", service="finance", transport="nexus"))
        if self.fail_with:
            raise self.fail_with
        if self.block:
            await self.block.wait()
        return reply_to(text)

    async def history(self) -> list[TranscriptEntry]:
        return [TranscriptEntry(message_id="m", question=q, reply=reply_to(q)) for q in self.sent]

    async def tools(self) -> ToolCatalogResult:
        return ToolCatalogResult(unavailable={"it": "down"})

    def info(self) -> SessionInfo:
        return SessionInfo(session=self._session, pattern="nexus", model="offline", web_ui="http://ui/x")

    async def progress(self) -> Progress:
        return Progress(circuits=[CircuitStatus(service="it", state="open", reason="timed out")])

    def new_session(self) -> str:
        self.sessions += 1
        self._session = f"s{self.sessions}"
        return self._session


class ScriptedView:
    """Feeds lines, records what would be shown."""

    def __init__(self, lines: list[str | None]) -> None:
        self.lines = list(lines)
        self.shown: list[tuple[str, Any]] = []

    async def read(self) -> str | None:
        await asyncio.sleep(0)
        return self.lines.pop(0) if self.lines else None

    def help(self, lines: list[tuple[str, str]], unknown: str | None = None) -> None:
        self.shown.append(("help", unknown))

    def __getattr__(self, name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            self.shown.append((name, args[0] if args else kwargs))

        return record

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.shown]


def run(
    lines: list[str | None], backend: FakeBackend | None = None, history: bool = False
) -> tuple[FakeBackend, ScriptedView]:
    backend = backend or FakeBackend()
    view = ScriptedView(lines)
    asyncio.run(ChatLoop(backend, view, lambda: 0.0).run(show_history=history))  # type: ignore[arg-type]
    return backend, view


def test_messages_go_to_the_backend_and_replies_come_back() -> None:
    backend, view = run(["What is 125 * 8?", "", "second", None])
    assert backend.sent == ["What is 125 * 8?", "second"]
    replies = [payload for kind, payload in view.shown if kind == "reply"]
    assert [r.text for r in replies] == ["answer to What is 125 * 8?", "answer to second"]
    progress = [payload for kind, payload in view.shown if kind == "progress"]
    assert progress[0].tool == "stock_price"
    assert view.kinds().count("turn_done") == 2


def test_slash_commands() -> None:
    backend, view = run(
        ["hello", "/history", "/tools", "/session", "/new", "/help", "/nope", "/exit", "never sent"]
    )
    assert backend.sent == ["hello"]
    kinds = view.kinds()
    assert "history" in kinds
    assert "tools" in kinds
    assert "session" in kinds
    session = [payload for kind, payload in view.shown if kind == "session"]
    assert session[0].session == "s1"
    assert backend.session == "s2"
    assert kinds.count("welcome") == 2
    helps = [payload for kind, payload in view.shown if kind == "help"]
    assert helps == [None, "/nope"]


def test_unknown_command_is_named() -> None:
    _, view = run(["/frobnicate now", None])
    assert ("help", "/frobnicate") in view.shown


def test_end_of_input_and_exit_leave() -> None:
    _, view = run([None])
    assert view.kinds() == ["welcome"]
    backend, _ = run(["/quit", "not sent"])
    assert backend.sent == []


def test_resuming_shows_the_history_first() -> None:
    backend = FakeBackend()
    backend.sent = ["earlier question"]
    _, view = run([None], backend, history=True)
    assert view.kinds() == ["welcome", "history"]
    assert view.shown[1][1][0].question == "earlier question"


def test_a_lost_stack_is_reported_and_the_loop_goes_on() -> None:
    backend = FakeBackend()
    backend.fail_with = StackNotRunningError("Lost contact with Temporal")
    _, view = run(["first", "second", None], backend)
    problems = [payload for kind, payload in view.shown if kind == "problem"]
    assert problems == ["Lost contact with Temporal"] * 2


def test_interrupt_stops_waiting_not_the_session() -> None:
    backend = FakeBackend()
    backend.block = asyncio.Event()

    async def scenario() -> ScriptedView:
        view = ScriptedView(["slow question", None])
        loop = ChatLoop(backend, view, lambda: 0.0)  # type: ignore[arg-type]
        running = asyncio.create_task(loop.run(show_history=False))
        await backend.sending.wait()
        assert loop.interrupt()
        await running
        assert not loop.interrupt()  # nothing left to interrupt
        return view

    view = asyncio.run(scenario())
    assert ("interrupted", "s1") in view.shown
    assert "reply" not in view.kinds()


@pytest.mark.parametrize(
    ("line", "action"),
    [("/help", "help"), ("/HISTORY", "history"), (" /tools ", "tools"), ("/q", "exit"), ("/what", "unknown")],
)
def test_parse(line: str, action: str) -> None:
    parsed = slash.parse(line)
    assert parsed is not None
    assert parsed.action == action


@pytest.mark.parametrize("line", ["hello", "what is 1/2", "//not a command", ""])
def test_plain_messages_are_not_commands(line: str) -> None:
    assert slash.parse(line) is None


def test_a_first_turn_says_it_waits_for_the_model_library() -> None:
    from durable_agents_cli.chat.terminal import LOADING, describe

    thinking = Progress(state="thinking", step=1)
    assert describe(thinking, model_loading=True) == LOADING
    assert describe(thinking, model_loading=False) == "thinking"
    assert describe(Progress(state="thinking", step=2), model_loading=True) == "thinking (step 2)"


def test_the_model_is_loading_until_the_orchestrator_marks_its_warm_up(tmp_path: Path) -> None:
    from durable_agents_cli.stack import control
    from durable_agents_cli.stack.paths import StackPaths
    from durable_agents_cli.stack.state import ComponentStatus, StackConfig, StackState, write_state

    paths = StackPaths(tmp_path)
    paths.ensure()
    assert not control.model_loading(paths)  # nothing runs: nothing loads
    config = StackConfig(
        pattern="nexus", model="offline", log_level="INFO", temporal_port=1, ui_port=2, mcp_ports={}
    )
    orchestrator = ComponentStatus(name="orchestrator", state="running", pid=4321)
    write_state(
        paths,
        StackState(supervisor_pid=1, generation=1, phase="ready", config=config, components=[orchestrator]),
    )
    assert control.model_loading(paths)
    (paths.run_dir / "orchestrator.warm").write_text("999")  # a previous process's marker
    assert control.model_loading(paths)
    (paths.run_dir / "orchestrator.warm").write_text("4321")
    assert not control.model_loading(paths)


async def test_no_progress_is_shown_after_the_turn_even_if_a_query_swallows_its_cancel(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A progress query cancelled in flight can come back as an error instead of a
    cancellation; the watcher must still stop, or a spinner (echo off) would start
    under the next prompt."""
    from durable_agents_cli.chat import backend as chat_backend

    async def progress(client: Any, session: str) -> Progress:
        try:
            await asyncio.sleep(0.3)  # in flight when the turn ends
        except asyncio.CancelledError:
            raise RuntimeError("the call was cancelled") from None  # as a gRPC call may
        return Progress(state="thinking", message_id="m")

    async def send(client: Any, session: str, text: str, **options: Any) -> Reply:
        await asyncio.sleep(0.1)
        now = datetime.now(UTC)
        return Reply(message_id="m", text="done", started_at=now, finished_at=now)

    monkeypatch.setattr(chat_backend.conversation, "progress", progress)
    monkeypatch.setattr(chat_backend.conversation, "send", send)
    monkeypatch.setattr(chat_backend, "address_accepts", lambda address: True)
    backend = object.__new__(chat_backend.TemporalChatBackend)
    backend.client, backend._session, backend.turns_per_run = None, "s", 1  # type: ignore[assignment]
    backend.state = type(
        "S", (), {"config": type("C", (), {"pattern": "nexus", "temporal_address": "x"})()}
    )()  # type: ignore[assignment]
    shown: list[float] = []
    ended = 0.0

    def on_progress(update: Progress) -> None:
        shown.append(asyncio.get_running_loop().time())

    await backend.send("hi", on_progress)
    ended = asyncio.get_running_loop().time()
    await asyncio.sleep(1.0)  # long enough for polls to come back, had the watcher lived on
    assert all(when <= ended for when in shown)
