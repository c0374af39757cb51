"""Whether an answer from a tool service is the service's own: sealed with the stack's
key (the payload codec marks what it authenticated) and, for a tool's result, made
for this very call. What the orchestrator and the MCP servers check before anything
of a team's answer reaches a model or a user."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError

from services.errors import UNVERIFIED_RESULT
from services.payloads import marks
from services.toolservice.contract import ToolCall, ToolCatalog, ToolOutcome


def authentic_outcome(
    payload: Payload, call: ToolCall, service: str, converter: PayloadConverter
) -> ToolOutcome:
    """The outcome in `payload` if the stack's own service made it for `call`; else a
    non-retryable ApplicationError that says why the result was discarded."""
    if not marks.verified(payload):
        raise _unverified(service, marks.why_unverified(payload))
    try:
        outcome = converter.from_payload(payload, ToolOutcome)
    except Exception:  # another payload of the stack's (its input echoed, say): not a result
        raise _unverified(service, "it is not a tool result") from None
    if not call.idempotency_key or outcome.call != call.idempotency_key or outcome.tool != call.tool:
        raise _unverified(service, "it answers another call")
    return outcome


def authentic_catalog(payload: Payload, team: str, converter: PayloadConverter) -> ToolCatalog:
    """The catalog in `payload` if the stack's own `team` service made it (a worker
    without the key must not plant tools, or descriptions, in the model's context)."""
    if not marks.verified(payload):
        raise _unverified(team, marks.why_unverified(payload))
    try:
        catalog = converter.from_payload(payload, ToolCatalog)
    except Exception:
        raise _unverified(team, "it is not a tool catalog") from None
    if catalog.team != team:
        raise _unverified(team, f"it lists the tools of {catalog.team!r}")
    return catalog


def _unverified(service: str, reason: str) -> ApplicationError:
    return ApplicationError(
        f"The result from the {service} service could not be verified ({reason}); it was discarded.",
        type=UNVERIFIED_RESULT,
        non_retryable=True,
    )
