"""Turning Temporal's nested failures into the one sentence a user needs."""

from __future__ import annotations

import nexusrpc
from temporalio.exceptions import ApplicationError, TemporalError, TimeoutType
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

MAX_MESSAGE = 300
# Failures that say the call was wrong, not that the service is in trouble.
CALLER_ERROR_TYPES = {"ToolInputError"}
CALLER_HANDLER_ERRORS = {nexusrpc.HandlerErrorType.BAD_REQUEST, nexusrpc.HandlerErrorType.NOT_FOUND}


def root_message(error: BaseException) -> str:
    """The innermost meaningful message of a failure chain (activity, Nexus, handler),
    as one line a user can read (tracebacks and long dumps cut)."""
    return _one_line(_innermost(error))


def _one_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    cut = line.find(" Traceback (most recent call last)")
    if cut > 0:
        line = line[:cut]
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


def _innermost(error: BaseException) -> str:
    best = str(error) or type(error).__name__
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ApplicationError | TemporalError) and str(current):
            best = current.message if isinstance(current, ApplicationError) else str(current)
        elif str(current):
            best = str(current)
        current = current.__cause__ or getattr(current, "cause", None)
    return best


def is_outage(error: BaseException) -> bool:
    """Whether a failed call says the service could not serve (down, silent, broken),
    as opposed to a call that was wrong (bad arguments, unknown tool)."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ApplicationError) and current.type in CALLER_ERROR_TYPES:
            return False
        if isinstance(current, nexusrpc.HandlerError) and current.type in CALLER_HANDLER_ERRORS:
            return False
        current = current.__cause__ or getattr(current, "cause", None)
    return True


def outage_message(error: BaseException, service: str) -> str:
    """Why a service could not serve a call, in a user's words."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, TemporalTimeoutError) and current.type == TimeoutType.SCHEDULE_TO_START:
            return f"no {service} worker picked the call up in time"
        current = current.__cause__ or getattr(current, "cause", None)
    return root_message(error)
