import threading
from pathlib import Path

import pytest

from durable_agents_cli.stack.logs import end_offsets, follow, log_files
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.processes import tail
from services.errors import ConfigError


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(log, 3) == ["line 97", "line 98", "line 99"]
    assert tail(tmp_path / "missing.log", 3) == []


def test_unknown_component_lists_the_known_ones(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    with pytest.raises(ConfigError, match="Unknown component 'nope'; known components: supervisor, temporal"):
        log_files(paths, "nope")


def test_follow_emits_appended_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "it.log"
    log.write_text("old\n")
    seen: list[tuple[str, str]] = []
    done = threading.Event()
    thread = threading.Thread(
        target=follow,
        args=(
            {"it": log},
            lambda name, line: seen.append((name, line)),
            end_offsets({"it": log}),
            done.is_set,
            0.01,
        ),
    )
    thread.start()
    with log.open("a") as handle:
        handle.write("new 1\nnew ")
        handle.flush()
        handle.write("2\n")
    try:
        deadline = 200
        while len(seen) < 2 and deadline:
            done.wait(0.02)
            deadline -= 1
    finally:
        done.set()
        thread.join()
    assert seen == [("it", "new 1"), ("it", "new 2")]
