"""Every mistake a user can make gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from durable_agents_cli.stack.paths import StackPaths
from services import __version__
from tests.helpers import Stack

pytestmark = pytest.mark.stack


def assert_clean_error(result: object, *needles: str) -> None:

    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_unknown_pattern(stack: Stack) -> None:
    result = stack.run("up", "--pattern", "grpc")
    assert_clean_error(result, "grpc", "nexus")
    assert result.returncode == 2


@pytest.mark.parametrize("value", ["0", "70000", "http"])
def test_invalid_port_flag(stack: Stack, value: str) -> None:
    assert_clean_error(stack.run("up", "--temporal-port", value), "temporal-port")


def test_invalid_port_environment(stack: Stack) -> None:
    env_stack = Stack(home=stack.home)
    env_stack.ui_port = 99999
    assert_clean_error(env_stack.run("up"), "DAGENT_UI_PORT")


def test_unwritable_home_directory(stack: Stack, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        home = Path("/proc/dagent-home")  # not even root can create it
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        home = locked / "home"
    assert_clean_error(Stack(home=home).run("up"), "DAGENT_HOME", str(home), "writable")


def test_home_that_is_a_file(stack: Stack, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for command in ("up", "status", "down"):
        result = Stack(home=blocker).run(command)
        assert_clean_error(result, "DAGENT_HOME", str(blocker), "writable")
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one line, not wrapped


def test_logs_of_unknown_component(stack: Stack) -> None:
    assert_clean_error(stack.run("logs", "databse"), "Unknown component 'databse'", "orchestrator")


def test_unknown_worker(stack: Stack) -> None:
    assert_clean_error(stack.run("worker", "hr"), "hr")


def test_status_and_down_when_nothing_runs(stack: Stack) -> None:
    status = stack.run("status")
    assert status.returncode == 3
    assert "not running" in status.stdout
    assert stack.status()["components"] == []
    down = stack.run("down")
    assert down.returncode == 0
    assert "not running" in down.stdout


@pytest.mark.parametrize("command", [["worker", "it"], ["mcp", "serve", "finance", "--transport", "http"]])
def test_a_component_without_temporal_says_so_in_one_line(stack: Stack, command: list[str]) -> None:
    assert_clean_error(
        stack.run(*command), f"Cannot reach Temporal at 127.0.0.1:{stack.temporal_port}", "dagent up"
    )


@pytest.mark.parametrize("argv", [["--version"], ["version"]])
def test_version(stack: Stack, argv: list[str]) -> None:
    result = stack.run(*argv)
    assert result.returncode == 0
    assert result.stdout.strip() == f"dagent {__version__}"


def test_ask_json_without_a_stack_is_still_json(stack: Stack) -> None:
    result = stack.run("ask", "What is 1 + 1?", "--json", "--session", "s1", "--message-id", "m1")
    assert_clean_error(result, "dagent up")
    problem = json.loads(result.stdout)
    assert problem["error"] is True
    assert (problem["session"], problem["message_id"], problem["answer"]) == ("s1", "m1", None)
    assert "dagent up" in problem["problem"]


def test_down_purge_forgets_the_chat_too(stack: Stack) -> None:
    paths = StackPaths(stack.home)
    paths.ensure()  # as `up` does: dagent makes (and records) the chat's folder
    chat = paths.chat_dir
    (chat / "last_session").write_text("abc123")
    assert stack.run("down", "--purge").returncode == 0
    assert not chat.exists()


def test_ctrl_c_ends_logs_follow_with_130(stack: Stack) -> None:
    paths = StackPaths(stack.home)
    paths.ensure()
    paths.log_file("orchestrator").write_text("worker orchestrator polling\n")
    follow = stack.start("logs", "orchestrator", "--follow")
    try:
        assert follow.stdout is not None
        assert "worker orchestrator polling" in follow.stdout.readline()  # following now
        follow.send_signal(signal.SIGINT)
        _, stderr = follow.communicate(timeout=30)
    finally:
        if follow.poll() is None:
            follow.kill()
    assert follow.returncode == 130
    assert "Traceback" not in stderr


def test_status_json_names_the_version(stack: Stack) -> None:
    assert stack.status()["version"] == __version__


@pytest.mark.parametrize(("through_uv", "hint"), [(True, "'uv run dagent up'"), (False, "'dagent up'")])
def test_hints_name_the_command_as_the_user_runs_it(tmp_path: Path, through_uv: bool, hint: str) -> None:
    """Started by `uv run`, a hint says `uv run dagent ...`: the user's shell may have no `dagent`."""
    stack = Stack(home=tmp_path / "home", extra_env={"UV_RUN_RECURSION_DEPTH": "1" if through_uv else None})
    result = stack.run("ask", "hi")
    assert result.returncode == 1
    assert f"start it with {hint}" in result.stderr


def test_hints_know_every_command() -> None:
    """The commands `uv run` is put before are exactly the app's own."""
    import typer

    from durable_agents_cli import console
    from durable_agents_cli.app import app

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    assert set(console.COMMANDS) == set(group.commands)


@pytest.mark.parametrize(
    ("args", "problem", "help_of"),
    [
        (("ask",), "Missing argument 'QUESTION'.", "dagent ask"),
        (("up", "--bogus"), "No such option: --bogus.", "dagent up"),
        (("nosuch",), "No such command 'nosuch'.", "dagent"),
        (("up", "--pattern", "grpc"), "is not one of 'nexus', 'agents-nexus', 'mcp'.", "dagent up"),
    ],
)
def test_a_usage_error_is_one_line(stack: Stack, args: tuple[str, ...], problem: str, help_of: str) -> None:
    result = stack.run(*args)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert problem in line
    # Where help is (as `uv run dagent ...` where dagent is not on PATH).
    assert line.endswith(f"{help_of} -h'.")


def test_lost_payload_keys_are_named_never_replaced(stack: Stack) -> None:
    """Sessions sealed with the stack's keys would be unreadable for good under new ones:
    `status` says the keys are gone, `up` refuses to make others, nothing crashes."""
    stack.run("up", check=True)
    keys = stack.home / "auth" / "payload-keys.json"
    saved = keys.read_bytes()
    keys.unlink()
    status = stack.run("status")
    assert status.returncode == 3
    assert "payload keys" in status.stderr
    assert "are gone" in status.stderr
    for args in (("up",), ("ask", "What is 1 + 1?")):
        result = stack.run(*args)
        assert result.returncode == 1
        [line] = result.stderr.splitlines()
        assert "payload keys" in line
    assert not keys.exists()  # nothing made new ones
    keys.write_bytes(saved)
    keys.chmod(0o600)
    assert json.loads(stack.run("ask", "What is 1 + 1?", "--json", check=True).stdout)["answer"]
