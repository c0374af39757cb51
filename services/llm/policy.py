"""How long a model call may take, how it is retried, and which failures are final:
one policy for both agent loops (the hand-written one and the Agents SDK's)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# What LiteLLM waits for one response.
REQUEST_TIMEOUT = timedelta(seconds=60)
# The activity around it: the request plus a margin, and four attempts in all.
START_TO_CLOSE = REQUEST_TIMEOUT + timedelta(seconds=5)
ATTEMPTS = 4
SCHEDULE_TO_CLOSE = ATTEMPTS * START_TO_CLOSE

# The failure type the `nexus` pattern's activity raises for what no retry fixes.
LLM_CONFIG_ERROR = "LlmConfigError"
# LiteLLM's errors that no retry fixes: bad key, unknown model, rejected request
# (the Agents SDK's model activity fails with their class names as types).
FINAL_LITELLM_ERRORS = ("AuthenticationError", "NotFoundError", "BadRequestError", "PermissionDeniedError")

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=ATTEMPTS,
    non_retryable_error_types=[LLM_CONFIG_ERROR, *FINAL_LITELLM_ERRORS],
)
