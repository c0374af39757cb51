"""How long a model call may take, how it is retried, and which failures are final:
one policy for both agent loops (the hand-written one and the Agents SDK's)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from services import limits

# The activity around a model call. The worker holds each call to the user's budget
# (DAGENT_MODEL_TIMEOUT, retries and rate-limit waits included) and says so; these
# outer bounds only catch a worker that cannot, whatever budget it was given.
START_TO_CLOSE = timedelta(seconds=limits.MAX_MODEL_TIMEOUT + 10)
SCHEDULE_TO_CLOSE = START_TO_CLOSE
ATTEMPTS = 4

# The failure type the `nexus` pattern's activity raises for what no retry fixes.
LLM_CONFIG_ERROR = "LlmConfigError"
# ... and for a model that did not answer within its budget.
LLM_TIMEOUT = "LlmTimeout"
# LiteLLM's errors that no retry fixes: bad key, unknown model, rejected request
# (the Agents SDK's model activity fails with their class names as types).
FINAL_LITELLM_ERRORS = ("AuthenticationError", "NotFoundError", "BadRequestError", "PermissionDeniedError")

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=ATTEMPTS,
    non_retryable_error_types=[LLM_CONFIG_ERROR, LLM_TIMEOUT, *FINAL_LITELLM_ERRORS],
)


def retry_delay(attempt: int) -> timedelta:
    """How long Temporal waits after failed attempt `attempt` (1-based) under RETRY."""
    initial = RETRY.initial_interval.total_seconds()
    seconds = initial * RETRY.backoff_coefficient ** (attempt - 1)
    return min(timedelta(seconds=seconds), RETRY.maximum_interval or timedelta.max)
