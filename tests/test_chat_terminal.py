"""`dagent chat` in a real pseudo-terminal, on a real stack, as a user would drive it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pexpect
import pytest

from tests.helpers import Stack, dagent_argv

pytestmark = pytest.mark.stack

PROMPT = "you ›"
# Jira metrics take this long on the chat's stack: long enough to interrupt a turn.
SLOW_SECONDS = 6
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


SPAWNED: list[pexpect.spawn] = []


@pytest.fixture(scope="module")
def chat_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    slow = {"DAGENT_TEST_SLOW_TOOL": f"jira_metrics:{SLOW_SECONDS}"}
    with Stack(home=tmp_path_factory.mktemp("chat") / "home", extra_env=slow).up() as stack:
        try:
            yield stack
        finally:
            for child in SPAWNED:
                child.close(force=True)  # a failed test may leave its chat open


def open_chat(stack: Stack, *args: str) -> pexpect.spawn:
    # prompt_toolkit asks the terminal where the cursor is; pexpect does not answer.
    env = dict(stack.env, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "durable_agents_cli", "chat", *args],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 160),
    )
    SPAWNED.append(child)
    return child


def screen(child: pexpect.spawn) -> str:
    return ANSI.sub("", str(child.before))


def test_chat_answers_keeps_history_and_resumes(chat_stack: Stack) -> None:
    chat = open_chat(chat_stack, "--new")
    chat.expect(r"session ([0-9a-f]{12})")
    session = chat.match.group(1)
    chat.expect(PROMPT)
    chat.sendline("What is 125 * 8?")
    chat.expect(r"1000")
    chat.expect("via local")
    chat.expect(PROMPT)
    chat.sendline("What's the stock price of TSLA?")
    chat.expect("sample data")
    chat.expect("via nexus")
    chat.expect(PROMPT)
    chat.sendline("/history")
    chat.expect("What is 125 \\* 8\\?")  # the transcript, read back from the workflow
    chat.expect("What's the stock price of TSLA\\?")
    chat.expect(PROMPT)
    chat.sendline("/exit")
    chat.expect(f"To continue this conversation: (uv run )?dagent chat --session {session}")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0

    resumed = open_chat(chat_stack, "--session", session)
    resumed.expect(f"session {session}")
    resumed.expect(PROMPT)
    shown = screen(resumed)
    assert "What is 125 * 8?" in shown
    assert "1000" in shown
    assert "What's the stock price of TSLA?" in shown
    resumed.sendline("what was my first question?")
    resumed.expect("Your first question was")
    resumed.expect(PROMPT)
    resumed.sendline("/session")
    resumed.expect(f"workflows/dagent-chat-{session}")
    resumed.expect(PROMPT)
    shown = ANSI.sub("", resumed.before)
    assert re.search(r"it +circuit closed", shown), shown
    assert re.search(r"finance +circuit closed", shown), shown
    resumed.sendeof()
    resumed.expect(pexpect.EOF)
    resumed.close()
    assert resumed.exitstatus == 0


def test_without_session_the_last_one_is_resumed(chat_stack: Stack) -> None:
    first = open_chat(chat_stack, "--new")
    first.expect(r"session ([0-9a-f]{12})")
    session = first.match.group(1)
    first.expect(PROMPT)
    first.sendline("What is 6 * 7?")
    first.expect("42")
    first.expect(PROMPT)
    first.sendline("/exit")
    first.expect(pexpect.EOF)

    again = open_chat(chat_stack)
    again.expect(f"session {session}")
    again.expect("42")
    again.expect(PROMPT)
    again.sendline("/exit")
    again.expect(pexpect.EOF)


def new_chat_after_a_turn(stack: Stack, question: str) -> pexpect.spawn:
    """A chat on a new session that has answered `question` (a local tool) and shows its prompt."""
    chat = open_chat(stack, "--new")
    chat.expect(PROMPT)
    chat.sendline(question)
    chat.expect("via local")
    chat.expect(PROMPT)
    return chat


def leave(chat: pexpect.spawn) -> None:
    chat.sendline("/exit")
    chat.expect(pexpect.EOF)


def test_ctrl_c_stops_waiting_and_the_reply_shows_later_in_history(chat_stack: Stack) -> None:
    # After a first turn: prompt_toolkit's prompt used to take dagent's Ctrl-C handler away.
    chat = new_chat_after_a_turn(chat_stack, "What is 2 + 3?")
    chat.sendline("Get JIRA metrics for project DEMO-456")
    chat.expect("calling it.jira_metrics")
    chat.sendintr()
    assert chat.expect(["Stopped waiting", "Jira project DEMO-456"]) == 0
    chat.expect(PROMPT)
    deadline = time.monotonic() + 60 + SLOW_SECONDS
    while True:  # the agent finishes the turn anyway; its reply joins the transcript
        chat.sendline("/history")
        if chat.expect(["Jira project DEMO-456", PROMPT]) == 0:
            chat.expect(PROMPT)
            break
        assert time.monotonic() < deadline, f"the interrupted turn never showed in /history: {screen(chat)}"
        time.sleep(0.5)
    leave(chat)


def test_history_and_session_say_when_the_orchestrator_cannot_answer(chat_stack: Stack) -> None:
    chat = new_chat_after_a_turn(chat_stack, "What is 4 * 4?")
    orchestrator = chat_stack.component("orchestrator")["pid"]
    os.kill(orchestrator, signal.SIGSTOP)  # alive but silent
    try:
        chat.sendline("/history")
        assert chat.expect(["Cannot read the transcript", "no messages yet"]) == 0
        chat.expect("did not answer within")
        chat.expect(PROMPT)
        chat.sendline("/session")
        chat.expect("Cannot read the progress")
        chat.expect(PROMPT)
    finally:
        os.kill(orchestrator, signal.SIGCONT)
    chat.sendline("/history")
    chat.expect("What is 4 \\* 4\\?")
    chat.expect(PROMPT)
    leave(chat)


def test_ask_in_a_terminal_shows_a_spinner_then_the_answer(chat_stack: Stack) -> None:
    """While `ask` waits, a terminal shows that it does (the slow tool gives it time)."""
    env = dict(chat_stack.env, TERM="xterm")
    ask = pexpect.spawn(
        sys.executable,
        ["-m", "durable_agents_cli", "ask", "Get JIRA metrics for project DEMO"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 160),
    )
    SPAWNED.append(ask)
    ask.expect("Waiting for the agent")
    ask.expect("DEMO")
    ask.expect(pexpect.EOF)
    ask.close()
    assert ask.exitstatus == 0


def test_chat_from_a_pipe_answers_in_plain_lines(chat_stack: Stack) -> None:
    """Scripted through a pipe: each answer as written, not padded to a width."""
    result = subprocess.run(
        dagent_argv("chat", "--new"),
        input="What is 125 * 8?\n/exit\n",
        env=chat_stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "= **1000**" in result.stdout or "1000" in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines()), result.stdout
    assert "\x1b" not in result.stdout


def test_chat_without_a_stack_says_how_to_start_it(stack: Stack) -> None:
    result = stack.run("chat")
    assert result.returncode == 1
    assert "dagent up" in result.stderr
    assert "Traceback" not in result.stderr
