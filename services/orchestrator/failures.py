"""Turning Temporal's nested failures into the one sentence a user needs."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError, TemporalError


def root_message(error: BaseException) -> str:
    """The innermost meaningful message of a failure chain (activity, Nexus, handler)."""
    best = str(error) or type(error).__name__
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ApplicationError | TemporalError) and str(current):
            best = current.message if isinstance(current, ApplicationError) else str(current)
        elif str(current):
            best = str(current)
        current = current.__cause__ or getattr(current, "cause", None)
    return best
