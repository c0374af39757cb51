"""The chat loop. It reads lines, runs slash commands and sends messages through a
backend it is given, and hands everything it shows to a view: no Temporal, no terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from durable_agents_cli.chat import slash
from services.conversation import Progress, Reply, ToolCatalogResult, TranscriptEntry
from services.errors import DagentError


@dataclass(frozen=True)
class SessionInfo:
    session: str
    pattern: str
    model: str
    web_ui: str | None
    # Who the chat acts as (the session's owner once it has a message).
    user: str = ""


class ChatBackend(Protocol):
    @property
    def session(self) -> str: ...

    async def send(self, text: str, on_progress: Callable[[Progress], None]) -> Reply: ...

    async def history(self) -> list[TranscriptEntry]: ...

    async def tools(self) -> ToolCatalogResult: ...

    def info(self) -> SessionInfo: ...

    async def progress(self) -> Progress: ...

    def new_session(self) -> str: ...


class ChatView(Protocol):
    async def read(self) -> str | None:
        """The next message (several lines allowed); None at end of input."""
        ...

    def welcome(self, info: SessionInfo) -> None: ...

    def history(self, entries: list[TranscriptEntry]) -> None: ...

    def reply(self, reply: Reply, seconds: float) -> None: ...

    def progress(self, progress: Progress) -> None: ...

    def turn_done(self) -> None: ...

    def tools(self, catalog: ToolCatalogResult) -> None: ...

    def session(self, info: SessionInfo, progress: Progress, transcript: list[TranscriptEntry]) -> None: ...

    def help(self, lines: list[tuple[str, str]], unknown: str | None = None) -> None: ...

    def interrupted(self, session: str) -> None: ...

    def problem(self, message: str) -> None: ...


class ChatLoop:
    def __init__(self, backend: ChatBackend, view: ChatView, clock: Callable[[], float]) -> None:
        self.backend = backend
        self.view = view
        self.clock = clock
        self.current: asyncio.Task[Reply] | None = None

    async def run(self, show_history: bool) -> None:
        self.view.welcome(self.backend.info())
        if show_history:
            await self._show_history()
        while True:
            line = await self.view.read()
            if line is None:
                return
            if not line.strip():
                continue
            command = slash.parse(line)
            if command is None:
                await self.ask(line)
            elif not await self.command(command):
                return

    async def command(self, command: slash.SlashCommand) -> bool:
        """Run one slash command; False means leave."""
        try:
            if command.action == "exit":
                return False
            if command.action == "help":
                self.view.help(slash.help_lines())
            elif command.action == "unknown":
                self.view.help(slash.help_lines(), unknown=command.text.split()[0])
            elif command.action == "history":
                await self._show_history()
            elif command.action == "tools":
                self.view.tools(await self.backend.tools())
            elif command.action == "session":
                info = self.backend.info()
                self.view.session(info, await self.backend.progress(), await self.backend.history())
            elif command.action == "new":
                self.backend.new_session()
                self.view.welcome(self.backend.info())
        except DagentError as exc:
            self.view.problem(str(exc))
        return True

    async def ask(self, text: str) -> Reply | None:
        started = self.clock()
        self.current = asyncio.ensure_future(self.backend.send(text, self.view.progress))
        try:
            reply = await self.current
        except asyncio.CancelledError:
            self.view.turn_done()
            self.view.interrupted(self.backend.session)
            return None
        except DagentError as exc:
            self.view.turn_done()
            self.view.problem(str(exc))
            return None
        finally:
            self.current = None
            self.view.turn_done()  # whatever ended the turn: spinner gone, echo back
        self.view.reply(reply, self.clock() - started)
        return reply

    def interrupt(self) -> bool:
        """Stop waiting for the current turn (the agent finishes it anyway)."""
        if self.current is None or self.current.done():
            return False
        self.current.cancel()
        return True

    async def _show_history(self) -> None:
        try:
            self.view.history(await self.backend.history())
        except DagentError as exc:
            self.view.problem(str(exc))
