"""A turn's span inside the conversation workflow, under the span of the `send` update
that brought its message: the model calls, tool calls and Nexus operations the turn
makes are its children. Workflow code: the update's trace context comes from its
headers (recorded in history), span ids from the workflow's seeded random, and the
tracer provider is Temporal's replay-safe one, so a replay ends no span twice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import baggage, context, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from services.conversation.contract import UserMessage
    from services.logs import MESSAGE_BAGGAGE, SESSION_BAGGAGE
    from services.telemetry.tracing import TRACER, trace_id

_PROPAGATOR = TraceContextTextMapPropagator()


def current_traceparent() -> str:
    """The W3C `traceparent` of the span running now ('' when tracing is off)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", "")


@contextmanager
def turn_span(message: UserMessage, session: str) -> Iterator[str]:
    """The span of answering `message`, current while the block runs; yields its trace id."""
    parent = _PROPAGATOR.extract({"traceparent": message.traceparent}) if message.traceparent else None
    # Baggage travels with the trace into every call of the turn: a log line anywhere
    # says which session and message it is about.
    # (Attached, not passed as the span's parent: a span started "as current" keeps
    # the baggage of the context current then, not of its parent's.)
    parent = baggage.set_baggage(MESSAGE_BAGGAGE, message.id, context=parent)
    parent = baggage.set_baggage(SESSION_BAGGAGE, session, context=parent)
    token = context.attach(parent)
    try:
        with trace.get_tracer(TRACER).start_as_current_span(
            "dagent.turn",
            attributes={
                "dagent.session": session,
                "dagent.message_id": message.id,
                "temporalWorkflowType": workflow.info().workflow_type,
            },
        ) as span:
            yield trace_id(span)
    finally:
        context.detach(token)
