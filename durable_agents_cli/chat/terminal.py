"""The chat's terminal: line editing and history of inputs, live status, Markdown answers."""

from __future__ import annotations

import asyncio
import signal
import sys
import termios
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.status import Status
from rich.text import Text

from durable_agents_cli import render_agent
from durable_agents_cli.chat.repl import SessionInfo
from services.conversation import Progress, Reply, ToolCatalogResult, TranscriptEntry

PROMPT = "you › "
PROMPT_STYLE = "bold ansicyan"
CONTINUATION = "  … "


# What a first turn after `dagent up` is waiting for, instead of a long "thinking".
LOADING = "loading the model library (the first turn after a start waits for it)"


def describe(progress: Progress, model_loading: bool = False) -> str:
    if progress.state == "calling_tool":
        return f"calling {progress.service}.{progress.tool} via {progress.transport}"
    if progress.state == "thinking":
        if progress.step <= 1 and model_loading:
            return LOADING
        return "thinking" + (f" (step {progress.step})" if progress.step > 1 else "")
    return "waiting for the agent" + (f" ({progress.queued} queued)" if progress.queued else "")


class TerminalView:
    def __init__(
        self,
        console: Console,
        history_file: Path,
        interactive: bool,
        model_loading: Callable[[], bool] = lambda: False,
    ) -> None:
        self.console = console
        self.interactive = interactive
        self.model_loading = model_loading
        self.status: Status | None = None
        self._prompt = self._make_prompt(history_file) if interactive else None
        self._interrupt: Callable[[], object] | None = None

    def on_interrupt(self, handler: Callable[[], object]) -> None:
        """Ctrl-C (SIGINT) while no prompt is shown calls `handler`.

        prompt_toolkit installs its own SIGINT handler for each prompt and removes
        the event loop's when the prompt returns, so ours is installed again after
        every prompt.
        """
        self._interrupt = handler
        self._listen()

    def _listen(self) -> None:
        if self._interrupt is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._interrupt)

    @staticmethod
    def _make_prompt(history_file: Path) -> object:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        history_file.parent.mkdir(parents=True, exist_ok=True)
        return PromptSession(history=FileHistory(str(history_file)))

    async def read(self) -> str | None:
        lines: list[str] = []
        while True:
            line = await self._read_line(CONTINUATION if lines else PROMPT)
            if line is None:
                return "\n".join(lines) if lines else None
            # A trailing backslash continues the message on the next line.
            if line.endswith("\\"):
                lines.append(line[:-1])
                continue
            lines.append(line)
            return "\n".join(lines)

    async def _read_line(self, prompt: str) -> str | None:
        if self._prompt is None:
            line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            return line.rstrip("\n") if line else None
        while True:
            try:
                styled = [(PROMPT_STYLE, prompt)]
                return str(await self._prompt.prompt_async(styled))  # type: ignore[attr-defined]
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                return None
            finally:
                self._listen()

    def welcome(self, info: SessionInfo) -> None:
        self.console.print(
            Text.assemble(
                ("dagent chat", "bold"),
                f" · session {info.session} of {info.user or '?'}",
                f" · pattern {info.pattern} · model {info.model}",
            )
        )
        self.console.print(Text("/help for commands · Ctrl-D or /exit to leave", style="dim"))

    def history(self, entries: list[TranscriptEntry]) -> None:
        self.console.print(render_agent.transcript(entries))

    def progress(self, progress: Progress) -> None:
        if not self.interactive:
            return
        text = describe(progress, progress.state == "thinking" and self.model_loading())
        if self.status is None:
            self._echo(False)  # keys typed while the agent works would garble the spinner
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def turn_done(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
            self._echo(True)

    def reply(self, reply: Reply, seconds: float) -> None:
        if self.console.is_terminal:
            self.console.print(render_agent.answer(reply, seconds))
        else:  # a pipe or a file: the text as written, not padded to the width
            self.console.file.write(render_agent.plain_answer(reply, seconds))
        self.console.print()  # a blank line between turns

    @staticmethod
    def _echo(on: bool) -> None:
        """Terminal echo of typed keys on or off (a no-op when stdin is no terminal)."""
        try:
            attributes = termios.tcgetattr(sys.stdin)
            attributes[3] = attributes[3] | termios.ECHO if on else attributes[3] & ~termios.ECHO
            termios.tcsetattr(sys.stdin, termios.TCSANOW, attributes)
        except (termios.error, ValueError, OSError):
            pass

    def tools(self, catalog: ToolCatalogResult) -> None:
        self.console.print(render_agent.catalog_table(catalog))
        for service, reason in catalog.unavailable.items():
            self.console.print(Text(f"{service}: {reason}", style="yellow"))

    def session(self, info: SessionInfo, progress: Progress, transcript: list[TranscriptEntry]) -> None:
        rows = {
            "session": info.session,
            "user": info.user or "?",
            "pattern": info.pattern,
            "model": info.model,
            "Web UI": info.web_ui or "(not embedded: open your Temporal UI)",
            **render_agent.session_totals(transcript),
            "history": render_agent.history_budget(progress),
        }
        for name, value in rows.items():
            # Printed whole (no wrapping) so the link stays clickable.
            self.console.print(Text.assemble((f"{name:<8}", "bold"), value), no_wrap=True, crop=False)
        for circuit in progress.circuits:
            self.console.print(render_agent.circuit_line(circuit))

    def help(self, lines: list[tuple[str, str]], unknown: str | None = None) -> None:
        if unknown:
            self.console.print(Text(f"Unknown command '{unknown}'. Commands:", style="yellow"))
        for command, text in lines:
            self.console.print(Text.assemble((f"{command:<10}", "bold"), text))
        self.console.print(Text("End a line with \\ to continue the message on the next line.", style="dim"))

    def interrupted(self, session: str) -> None:
        self.console.print(
            Text(
                "Stopped waiting. The agent finishes this turn anyway: its reply shows in /history "
                f"or when you reopen the session (dagent chat --session {session}).",
                style="yellow",
            )
        )

    def problem(self, message: str) -> None:
        self.console.print(Text.assemble(("Error: ", "bold red"), message))
