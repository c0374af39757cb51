"""One model call, held to the user's budget, with each way it can fail told in one
line: the same for both agent loops (the `nexus` activity, the Agents SDK's model).

The budget (DAGENT_MODEL_TIMEOUT) covers the call's every attempt: Temporal retries
a failed attempt, waiting what a rate-limited provider asks (`Retry-After`) when
that fits in what is left. What no retry fixes (no key, a rejected key, a model
silent for the whole budget) fails at once. Error texts are scrubbed of
credentials before they leave the worker: they are stored in history and shown.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from services import limits
from services.failures import causes
from services.llm import policy
from services.redact import scrub

T = TypeVar("T")
logger = logging.getLogger("dagent.llm")

LLM_RATE_LIMITED = "LlmRateLimited"
LLM_MALFORMED = "LlmMalformedOutput"
LLM_EMPTY = "LlmEmptyAnswer"
# What an attempt needs at least, of the budget, to be worth making.
MIN_ATTEMPT_SECONDS = 2.0
MIN_ATTEMPT_SHARE = 0.1


async def bounded(model: str, budget: float, call: Callable[[float], Awaitable[T]]) -> T:
    """`call(seconds_left)` within what is left of this model call's budget; any failure
    becomes an ApplicationError that says what went wrong, and whether to retry."""
    from services.llm.keys import call_problem

    problem = call_problem(model)
    if problem:  # LiteLLM would call a missing key a server error, and retry it
        raise told(ApplicationError(problem, type=policy.LLM_CONFIG_ERROR, non_retryable=True), budget)
    left = seconds_left(budget)
    if left <= 0:
        raise told(silent(model, budget), budget)
    try:
        return await asyncio.wait_for(call(left), left)
    except ApplicationError as exc:
        raise told(exc, budget) from None
    except Exception as exc:
        raise told(failure(exc, model, budget, seconds_left(budget)), budget) from None


def told(error: ApplicationError, budget: float) -> ApplicationError:
    """`error`, final when no further attempt fits in the budget (the user then reads this
    cause, not a timeout), logged as one line instead of a traceback per attempt."""
    attempt = activity.info().attempt
    wait = error.next_retry_delay or policy.retry_delay(attempt)
    # Another attempt only if, after the wait, it still has time to answer.
    needed = wait.total_seconds() + max(MIN_ATTEMPT_SECONDS, budget * MIN_ATTEMPT_SHARE)
    final = error.non_retryable or attempt >= policy.ATTEMPTS or needed > seconds_left(budget)
    logger.warning(
        "Model call failed (attempt %d%s): %s", attempt, "" if final else ", retried", error.message
    )
    return ApplicationError(
        error.message,
        type=error.type,
        non_retryable=final,
        next_retry_delay=error.next_retry_delay,
        # Told to the user; the log has the line above instead of a traceback.
        category=ApplicationErrorCategory.BENIGN,
    )


def seconds_left(budget: float) -> float:
    """What is left of the budget: earlier attempts, and the waits between them, count;
    a wait for the model library to load (the first turn after a start) does not."""
    started = activity.info().scheduled_time
    if library_loaded_at is not None:
        started = max(started, library_loaded_at)
    return budget - (datetime.now(UTC) - started).total_seconds()


# When this process finished loading LiteLLM.
library_loaded_at: datetime | None = None


def library_loaded() -> None:
    """Mark LiteLLM loaded: calls scheduled while it loaded start their budget now."""
    global library_loaded_at  # noqa: PLW0603
    library_loaded_at = datetime.now(UTC)


def silent(model: str, budget: float) -> ApplicationError:
    return ApplicationError(
        f"the model ({model}) did not answer within {budget:g} s; for a slower model, raise "
        "DAGENT_MODEL_TIMEOUT (or 'dagent up --model-timeout')",
        type=policy.LLM_TIMEOUT,
        non_retryable=True,
    )


def empty(model: str) -> ApplicationError:
    """A response with no choices at all: retried, as a provider hiccup."""
    return ApplicationError(f"the model ({model}) returned no answer (no choices)", type=LLM_EMPTY)


def failure(exc: Exception, model: str, budget: float, left: float) -> ApplicationError:
    """What a failed call reads as, and whether it is worth another attempt."""
    import litellm

    # Scrubbed whole, before it is cut: a cut key would no longer match its variable.
    reason = limits.one_line(scrub(str(exc) or type(exc).__name__))
    final = tuple(getattr(litellm, name) for name in policy.FINAL_LITELLM_ERRORS)
    if isinstance(exc, TimeoutError | litellm.Timeout):
        return silent(model, budget)
    if isinstance(exc, litellm.RateLimitError):
        wait = retry_after(exc)
        if wait is not None and wait >= left:
            return ApplicationError(
                f"the model ({model}) is rate-limited and asks to wait {wait:g} s, longer than "
                f"the {max(left, 0):.0f} s left of its budget",
                type=LLM_RATE_LIMITED,
                non_retryable=True,
            )
        return ApplicationError(
            f"the model ({model}) is rate-limited: {reason}",
            type=LLM_RATE_LIMITED,
            next_retry_delay=timedelta(seconds=wait) if wait is not None else None,
        )
    if isinstance(exc, final):
        return ApplicationError(
            f"the model ({model}) refused the request: {reason}",
            type=policy.LLM_CONFIG_ERROR,
            non_retryable=True,
        )
    if isinstance(exc, litellm.APIConnectionError) and (
        "LLM Provider NOT provided" in reason or "not supported" in reason
    ):
        return ApplicationError(
            f"'{model}' is not a model LiteLLM knows: {reason}",
            type=policy.LLM_CONFIG_ERROR,
            non_retryable=True,
        )
    if any(isinstance(cause, json.JSONDecodeError) for cause in causes(exc)) or "Expecting" in reason:
        # Checked last: a refusal whose text says "Expecting ..." is still a refusal.
        return ApplicationError(f"the model ({model}) returned malformed output", type=LLM_MALFORMED)
    return ApplicationError(f"the model ({model}) failed: {reason}", type=type(exc).__name__)


def retry_after(exc: Exception) -> float | None:
    """The seconds a rate-limited provider asks to wait (`Retry-After`, seconds form)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "retry-after"):
        value = str(headers.get(name))
        try:
            seconds = float(value) / (1000 if name.endswith("-ms") else 1)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return None
