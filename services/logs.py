"""How dagent's processes log: one line per record, on stderr, with the Temporal
context cut to the ids a reader needs (the SDK would append its whole context
dict, ~350 characters, to every activity and workflow line), and no terminal
escapes in what is written."""

from __future__ import annotations

import copy
import logging
import sys
from typing import Any

from services.safe_text import clean_text

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(temporal)s"
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


def configure(level: str) -> None:
    """Log to stderr (over stdio, stdout carries the MCP protocol), short and clean."""
    import temporalio.activity
    import temporalio.workflow

    # The context travels in the record's extra instead, where TemporalContext reads it.
    temporalio.activity.logger.activity_info_on_message = False
    temporalio.workflow.logger.workflow_info_on_message = False
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(TemporalContext())
    logging.getLogger("opentelemetry.context").addFilter(EvictedWorkflowSpan())
    handler.setFormatter(SafeFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def adopt(*names: str) -> None:
    """Route loggers that a library set up its own way (FastMCP's Rich handler writes
    several lines per record, unescaped) through dagent's handler instead."""
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
