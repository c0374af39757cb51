"""Reading a team's answer inside a conversation: only if it is the team's own
(`services.toolservice.verify`). Workflow code only.

Whether to check is asked once per answer, under a patch of its own: the SDK keeps a
patch's first answer for the rest of the run, so one shared patch would leave a run
that began before verification existed unchecked for good. Replays of answers from
before it read them as they were read then; a malformed one is a failed call, never
a workflow task that fails for ever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from services.errors import UNVERIFIED_RESULT
    from services.toolservice.contract import ToolCall, ToolCatalog, ToolOutcome
    from services.toolservice.verify import authentic_catalog, authentic_outcome

# The patch (a prefix: one per answer) since which a team's answer must be verified.
VERIFIED_RESULTS = "dagent-verified-results"


def outcome(raw: RawValue, call: ToolCall, service: str) -> ToolOutcome:
    converter = workflow.payload_converter()
    # Named by message, step and call (the key less its workflow id, which a replay of a
    # recorded history need not share).
    answer = call.idempotency_key.split("/", 1)[-1]
    if workflow.patched(f"{VERIFIED_RESULTS}/{answer}"):
        return authentic_outcome(raw.payload, call, service, converter)
    return _legacy(lambda: converter.from_payload(raw.payload, ToolOutcome), service)


def catalog(raw: RawValue, team: str) -> ToolCatalog:
    converter = workflow.payload_converter()
    # A catalog answers no call: its patch is named by when it was asked.
    if workflow.patched(f"{VERIFIED_RESULTS}/catalog/{team}/{workflow.now().isoformat()}"):
        return authentic_catalog(raw.payload, team, converter)
    return _legacy(lambda: converter.from_payload(raw.payload, ToolCatalog), team)


T = TypeVar("T")


def _legacy(read: Callable[[], T], service: str) -> T:
    try:
        return read()
    except Exception:
        raise ApplicationError(
            f"The answer from the {service} service could not be read; it was discarded.",
            type=UNVERIFIED_RESULT,
            non_retryable=True,
        ) from None
