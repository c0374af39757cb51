"""The chat backend on a running stack: the conversation API plus the session bookkeeping."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client
from temporalio.service import RPCError

from durable_agents_cli.chat.repl import SessionInfo
from durable_agents_cli.stack import control
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.processes import address_accepts
from durable_agents_cli.stack.state import StackState
from services import conversation, topology
from services.conversation import Progress, Reply, ToolCatalogResult, TranscriptEntry
from services.errors import DagentError, StackNotRunningError

T = TypeVar("T")

PROGRESS_INTERVAL = 0.1
# Under DAGENT_HOME/chat: the session `dagent chat` resumes.
LAST_SESSION_FILE = "last_session"
# What /tools waits for the orchestrator's discovery (a silent team costs it 5 s).
TOOLS_TIMEOUT = timedelta(seconds=10)


class TemporalChatBackend:
    def __init__(
        self,
        client: Client,
        state: StackState,
        session: str,
        paths: StackPaths,
        turns_per_run: int,
        user: str,
    ) -> None:
        self.client = client
        self.user = user
        self.state = state
        self.paths = paths
        self._session = session
        self.last_session_file = paths.chat_dir / LAST_SESSION_FILE
        self.turns_per_run = turns_per_run
        self._warm = False
        self._remember()

    def model_loading(self) -> bool:
        """Whether the orchestrator now running is still loading the model library (a
        first turn after its start waits for it). Read from its marker until it is warm."""
        if self._warm:
            return False
        loading = control.model_loading(self.paths)
        self._warm = not loading
        return loading

    @property
    def session(self) -> str:
        return self._session

    async def send(self, text: str, on_progress: Callable[[Progress], None]) -> Reply:
        finished = asyncio.Event()
        watcher = asyncio.create_task(self._watch(on_progress, finished))
        try:
            return await self._reach(
                conversation.send(
                    self.client,
                    self._session,
                    text,
                    message_id=conversation.new_message_id(),
                    turns_per_run=self.turns_per_run,
                    pattern=self.state.config.pattern,
                )
            )
        finally:
            finished.set()
            watcher.cancel()

    async def _watch(self, on_progress: Callable[[Progress], None], finished: asyncio.Event) -> None:
        # Ends on `finished`, not only on cancellation: a query cancelled in flight can
        # surface as an RPCError, and progress shown after the turn ended would start
        # a spinner (and turn echo off) under the next prompt.
        while not finished.is_set():
            # Momentarily unreadable: the turn's own outcome says what went wrong.
            with contextlib.suppress(DagentError, RPCError, RuntimeError):
                progress = await conversation.progress(self.client, self._session)
                if not finished.is_set():
                    on_progress(progress)
            await asyncio.sleep(PROGRESS_INTERVAL)

    async def history(self) -> list[TranscriptEntry]:
        return await self._reach(conversation.transcript(self.client, self._session))

    async def tools(self) -> ToolCatalogResult:
        pattern = self.state.config.pattern
        return await self._reach(conversation.tool_catalog(self.client, pattern, within=TOOLS_TIMEOUT))

    def info(self) -> SessionInfo:
        config = self.state.config
        web_ui = None
        if config.ui_url:
            from services.web_access import login_link

            workflow = conversation.workflow_id(self._session)
            page = f"/namespaces/{topology.ORCHESTRATOR_NAMESPACE}/workflows/{workflow}"
            web_ui = login_link(self.paths.home, config.ui_url, page)
        return SessionInfo(
            session=self._session, pattern=config.pattern, model=config.model, web_ui=web_ui, user=self.user
        )

    async def progress(self) -> Progress:
        """The session's state: its circuit breakers (none before its first turn), its
        current run's history against the budget."""
        return await self._reach(conversation.progress(self.client, self._session))

    async def _reach(self, call: Awaitable[T]) -> T:
        """`call`'s result; with Temporal gone, at once the error that says so."""
        if not address_accepts(self.state.config.temporal_address):
            # Fail at once instead of after the client's retries (seconds).
            if asyncio.iscoroutine(call):
                call.close()
            raise self._lost(ConnectionRefusedError("nothing listens there"))
        try:
            return await call
        except (RPCError, RuntimeError) as exc:
            raise self._lost(exc) from None

    def new_session(self) -> str:
        self._session = conversation.new_session_id()
        self._remember()
        return self._session

    def _remember(self) -> None:
        with contextlib.suppress(OSError):
            self.last_session_file.parent.mkdir(parents=True, exist_ok=True)
            self.last_session_file.write_text(self._session)

    def _lost(self, exc: Exception) -> StackNotRunningError:
        return StackNotRunningError(
            f"Lost contact with Temporal at {self.state.config.temporal_address} ({exc}). "
            "Is the stack down? Check 'dagent status'; a message that reached the server "
            "is answered anyway and shows in /history."
        )


def last_session(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None
