"""The one tree of errors a dagent user can cause or meet.

Each message says what went wrong and how to fix it, with names quoted; the CLI
catches `DagentError` once and prints it as a single line.
"""

from __future__ import annotations


class DagentError(Exception):
    """Root of every error dagent reports to a user."""

    # What the command exits with after printing the message.
    exit_code = 1


class ConfigError(DagentError):
    """A setting, flag or environment variable has an unusable value."""


class StackNotRunningError(DagentError):
    """The command needs the stack, and it is not up."""


class TemporalUnreachableError(StackNotRunningError):
    """No Temporal server answers where dagent was told to look."""


class StartupError(DagentError):
    """A component of the stack did not become ready."""


class StoppedWaitingError(DagentError):
    """The user interrupted a wait (Ctrl-C); the work goes on without them."""

    exit_code = 130


class TemporalSetupError(DagentError):
    """Temporal is unreachable or refused to create a namespace or endpoint."""


class IdentityError(DagentError):
    """A token is missing, forged, expired, meant for someone else, or lacks a scope;
    or the users file or key set cannot be read."""


class AccessDeniedError(IdentityError):
    """A tool service refused a call: who asked may not run that tool."""

    def __init__(self, message: str, user: str = "") -> None:
        super().__init__(message)
        # Who asked, when their token was genuine (a refused forgery names nobody).
        self.user = user


# The type of the (non-retryable) failure a refused tool call ends in.
ACCESS_DENIED = "AccessDenied"
# A tool result the caller could not authenticate: not sealed with the stack's key (a
# worker that lacks it answered), or sealed for another call.
UNVERIFIED_RESULT = "UnverifiedResult"
