import threading
from pathlib import Path

import pytest

from durable_agents_cli.stack.logs import end_offsets, follow, log_files
from durable_agents_cli.stack.paths import StackPaths
from durable_agents_cli.stack.processes import tail
from services.errors import ConfigError
from tests.helpers import Stack


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


def test_a_tool_line_carries_short_ids_and_no_escapes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK would append its whole context dict to every activity line; dagent's
    processes log the workflow id and activity type, and never a terminal escape."""
    import logging

    import temporalio.activity
    import temporalio.workflow

    from services import logs

    # What configure() changes process-wide, put back after the test.
    monkeypatch.setattr(temporalio.activity.logger, "activity_info_on_message", True)
    monkeypatch.setattr(temporalio.workflow.logger, "workflow_info_on_message", True)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    logs.configure("INFO")
    context = {
        "activity_id": "1",
        "activity_type": "dagent.run_tool",
        "attempt": 2,
        "namespace": "finance-namespace",
        "task_queue": "finance-task-queue",
        "workflow_id": "finance-tool-374ce684",
        "workflow_run_id": "01a21e89-6bd3-787e-8479-21dc9b91c2bf",
        "workflow_type": "dagent.ToolWorkflow",
    }
    temporalio.activity.logger.base_logger.info(
        "running \x1b[31mstock_price\x1b[0m", extra={"temporal_activity": context}
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.endswith("running stock_price [finance-tool-374ce684 dagent.run_tool #2]")
    assert "\x1b" not in line
    assert "workflow_run_id" not in line


def test_logs_show_escapes_as_nothing(stack: Stack) -> None:
    (stack.home / "logs").mkdir(parents=True)
    (stack.home / "logs" / "orchestrator.log").write_text(
        "\x1b[2m2026\x1b[0m \x1b[33mWARN\x1b[0m core said so\n"
    )
    shown = stack.run("logs", "orchestrator", check=True).stdout
    assert "2026 WARN core said so" in shown
    assert "\x1b" not in shown


FAKE_RECORD = "2026-01-01 00:00:00,000 INFO dagent.access: allowed get_ip for admin"
FORGED = "\n" + FAKE_RECORD + "\r" + FAKE_RECORD + "\u2028" + FAKE_RECORD


def test_a_value_with_line_breaks_cannot_forge_a_record() -> None:
    """An idempotency key or a user name from a request, logged, stays on its record's
    line; a traceback's lines are indented under their record."""
    import logging

    from services.logs import FORMAT, SafeFormatter

    formatter = SafeFormatter(FORMAT)
    record = logging.LogRecord(
        "dagent.test", logging.INFO, __file__, 1, "running %s (key %s)", ("get_ip", FORGED), None
    )
    record.temporal = ""
    assert len(formatter.format(record).splitlines()) == 1  # splitlines breaks on \r and U+2028 too
    try:
        raise ValueError(f"bad key{FORGED}")
    except ValueError:
        import sys

        record = logging.LogRecord("dagent.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    record.temporal = ""
    first, *rest = formatter.format(record).splitlines()
    assert first.endswith("failed")
    assert rest
    assert all(line.startswith("  ") for line in rest)
    assert not any(line.startswith(FAKE_RECORD[:10]) for line in rest)


def test_a_json_line_is_one_object_with_its_context_and_no_raw_control_or_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DAGENT_LOG_FORMAT=json: one object per line; what a record is about comes from
    Temporal's context and the turn's trace (its baggage and current span)."""
    import json
    import logging
    import sys

    from opentelemetry import baggage, context, trace
    from opentelemetry.sdk.trace import TracerProvider

    from services.logs import MESSAGE_BAGGAGE, SESSION_BAGGAGE, JsonFormatter

    secret = "sk-test-" + "x" * 40
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    formatter = JsonFormatter("finance")
    record = logging.LogRecord(
        "dagent.test", logging.INFO, __file__, 1, "running %s (key %s) %s", ("get_ip", FORGED, secret), None
    )
    record.temporal_activity = {"workflow_id": "finance-tool-1", "workflow_run_id": "r1"}
    token = context.attach(
        baggage.set_baggage(MESSAGE_BAGGAGE, "m1", baggage.set_baggage(SESSION_BAGGAGE, "s1"))
    )
    try:
        with TracerProvider().get_tracer("t").start_as_current_span("tool") as span:
            span.set_attribute("dagent.tool", "get_ip")
            line = formatter.format(record)
            expected_trace = f"{span.get_span_context().trace_id:032x}"
    finally:
        context.detach(token)
    assert len(line.splitlines()) == 1
    assert all(ch.isprintable() and ord(ch) < 128 for ch in line)
    fields = json.loads(line)
    assert fields["component"] == "finance"
    assert fields["team"] == "finance"
    assert fields["tool"] == "get_ip"
    assert (fields["session"], fields["message_id"]) == ("s1", "m1")
    assert (fields["workflow_id"], fields["run_id"]) == ("finance-tool-1", "r1")
    assert fields["trace_id"] == expected_trace
    assert len(fields["span_id"]) == 16
    assert secret not in line
    assert fields["level"] == "INFO"
    assert fields["message"].startswith("running get_ip")
    # A conversation's own lines say their session from the workflow id; a traceback
    # is a field of the same one line.
    try:
        raise ValueError(f"bad{FORGED}")
    except ValueError:
        failed = logging.LogRecord("dagent.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    failed.temporal_workflow = {"workflow_id": "dagent-chat-abc", "run_id": "r2"}
    line = formatter.format(failed)
    assert len(line.splitlines()) == 1
    fields = json.loads(line)
    assert fields["session"] == "abc"
    assert "ValueError" in fields["exception"]
    assert "trace_id" not in fields  # no span running: the field is left out
    assert trace.get_current_span().get_span_context().is_valid is False
