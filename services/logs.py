"""How dagent's processes log: one line per record, on stderr, with the Temporal
context cut to the ids a reader needs (the SDK would append its whole context
dict, ~350 characters, to every activity and workflow line), and no terminal
escapes in what is written."""

from __future__ import annotations

import copy
import json
import logging
import sys
from typing import Any

from services import topology
from services.safe_text import clean_text

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(temporal)s"
# The baggage a turn's trace carries to every process it crosses (set in the
# conversation workflow's turn span): what a JSON log line says it is about.
SESSION_BAGGAGE = "dagent.session"
MESSAGE_BAGGAGE = "dagent.message_id"
# Line breaks other than "\n" (str.splitlines breaks on each): escaped in a record.
LINE_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


class TemporalContext(logging.Filter):
    """Adds `temporal`: ' [workflow-id type #attempt]' for Temporal's activity and
    workflow loggers, empty otherwise."""

    def filter(self, record: logging.LogRecord) -> bool:
        activity: dict[str, Any] | None = getattr(record, "temporal_activity", None)
        workflow: dict[str, Any] | None = getattr(record, "temporal_workflow", None)
        if activity:
            attempt = activity.get("attempt")
            record.temporal = (
                f" [{activity.get('workflow_id') or activity.get('activity_id')} "
                f"{activity.get('activity_type')}{f' #{attempt}' if attempt and attempt > 1 else ''}]"
            )
        elif workflow:
            record.temporal = f" [{workflow.get('workflow_id')} {workflow.get('workflow_type')}]"
        else:
            record.temporal = ""
        return True


class EvictedWorkflowSpan(logging.Filter):
    """Drops OpenTelemetry's "Failed to detach context" (an ERROR with a traceback) that
    every workflow evicted from a worker's cache causes: the SDK closes the workflow's
    coroutine from another context, inside the span of its run. Nothing is lost: the
    run's span is ended by whichever worker finishes the run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Failed to detach context"


class SafeFormatter(logging.Formatter):
    """One record, one line: a message's own line breaks are escaped (a key or name from
    a request could otherwise forge whole records), and a traceback's lines are
    indented, so no line of it can pass for a record of its own."""

    def format(self, record: logging.LogRecord) -> str:
        record = copy.copy(record)
        record.msg = record.getMessage().replace("\n", "\\n")
        record.args = None
        text = clean_text(super().format(record))
        for separator in LINE_BREAKS:  # what a reader splitting lines would break on
            text = text.replace(separator, separator.encode("unicode_escape").decode())
        first, *rest = text.split("\n")
        return "\n".join([first, *(f"  {line}" for line in rest)])


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for machines: time, level, component, logger, message,
    and what the record is about (session, message id, workflow and run ids, team,
    tool, trace and span ids) where it is known. Non-ASCII is escaped, so no raw
    control character reaches the line; credentials are redacted from the text."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        from services.redact import scrub

        fields: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "message": scrub(clean_text(record.getMessage())),
        }
        fields.update(_about(record, self.component))
        if record.exc_info:
            fields["exception"] = scrub(clean_text(self.formatException(record.exc_info)))
        return json.dumps({k: v for k, v in fields.items() if v not in (None, "")})


def _about(record: logging.LogRecord, component: str) -> dict[str, Any]:
    """The ids a record is about: from Temporal's context of the workflow or activity
    that logged it, the turn's baggage (session and message id travel with the trace),
    and the span running now."""
    from opentelemetry import baggage, trace

    from services.conversation.contract import CHAT_WORKFLOW_PREFIX
    from services.telemetry.tracing import trace_id

    workflow: dict[str, Any] = getattr(record, "temporal_workflow", None) or {}
    activity: dict[str, Any] = getattr(record, "temporal_activity", None) or {}
    workflow_id = workflow.get("workflow_id") or activity.get("workflow_id")
    span = trace.get_current_span()
    context = span.get_span_context()
    attributes = getattr(span, "attributes", None) or {}
    session = baggage.get_baggage(SESSION_BAGGAGE)
    if session is None and isinstance(workflow_id, str) and workflow_id.startswith(CHAT_WORKFLOW_PREFIX):
        session = workflow_id.removeprefix(CHAT_WORKFLOW_PREFIX)
    return {
        "session": session,
        "message_id": baggage.get_baggage(MESSAGE_BAGGAGE),
        "workflow_id": workflow_id,
        "run_id": workflow.get("run_id") or activity.get("workflow_run_id"),
        "team": component if component in topology.TEAMS else attributes.get("dagent.service"),
        "tool": attributes.get("dagent.tool"),
        "trace_id": trace_id(span) if context.is_valid else None,
        "span_id": f"{context.span_id:016x}" if context.is_valid else None,
    }


def configure(level: str, log_format: str = "text", component: str = "dagent") -> None:
    """Log to stderr (over stdio, stdout carries the MCP protocol), short and clean."""
    import temporalio.activity
    import temporalio.workflow

    # The context travels in the record's extra instead, where TemporalContext reads it.
    temporalio.activity.logger.activity_info_on_message = False
    temporalio.workflow.logger.workflow_info_on_message = False
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(TemporalContext())
    formatter = JsonFormatter(component) if log_format == "json" else SafeFormatter(FORMAT)
    logging.getLogger("opentelemetry.context").addFilter(EvictedWorkflowSpan())
    handler.setFormatter(formatter)
    logging.basicConfig(level=level, handlers=[handler], force=True)


def adopt(*names: str) -> None:
    """Route loggers that a library set up its own way (FastMCP's Rich handler writes
    several lines per record, unescaped) through dagent's handler instead."""
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
