"""Turning Temporal's nested failures into the one sentence a user needs, and telling a
service in trouble from a call that was wrong."""

from __future__ import annotations

from collections.abc import Iterator

import nexusrpc
from temporalio.exceptions import ApplicationError, TimeoutType
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

from services.errors import ACCESS_DENIED, UNVERIFIED_RESULT
from services.limits import one_line
from services.tools import TOOL_INPUT_ERROR

# Failures that say the call was wrong, not that the service is in trouble.
# An unverifiable result is not an outage either: the service (or an impostor) answered.
CALLER_ERROR_TYPES = {TOOL_INPUT_ERROR, ACCESS_DENIED, UNVERIFIED_RESULT}
CALLER_HANDLER_ERRORS = {
    nexusrpc.HandlerErrorType.BAD_REQUEST,
    nexusrpc.HandlerErrorType.NOT_FOUND,
    nexusrpc.HandlerErrorType.UNAUTHENTICATED,
    nexusrpc.HandlerErrorType.UNAUTHORIZED,
}


def root_message(error: BaseException) -> str:
    """The innermost meaningful message of a failure chain (activity, Nexus, handler),
    as one line a user can read (tracebacks and long dumps cut)."""
    return one_line(_innermost(error))


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and each cause under it (Temporal failures keep theirs in `.cause`)."""
    current: BaseException | None = error
    while current is not None:
        yield current
        current = current.__cause__ or getattr(current, "cause", None)


def _innermost(error: BaseException) -> str:
    best = str(error) or type(error).__name__
    for current in causes(error):
        if isinstance(current, ApplicationError) and str(current):
            best = current.message
        elif str(current):
            best = str(current)
    return best


def is_outage(error: BaseException) -> bool:
    """Whether a failed call says the service could not serve (down, silent, broken),
    as opposed to a call that was wrong (bad arguments, unknown tool)."""
    return not any(
        (isinstance(cause, ApplicationError) and cause.type in CALLER_ERROR_TYPES)
        or (isinstance(cause, nexusrpc.HandlerError) and cause.type in CALLER_HANDLER_ERRORS)
        for cause in causes(error)
    )


def not_started(error: BaseException) -> bool:
    """A call no worker started in time (nothing of it ran)."""
    return any(
        isinstance(cause, TemporalTimeoutError) and cause.type == TimeoutType.SCHEDULE_TO_START
        for cause in causes(error)
    )


def unavailable(service: str, reason: str) -> str:
    """What a caller reads when a service could not serve its call."""
    return f"The {service} service is unavailable: {reason}"


def outage_message(error: BaseException, service: str) -> str:
    """Why a service could not serve a call, in a user's words."""
    if not_started(error):
        return f"no {service} worker picked the call up in time"
    return root_message(error)
