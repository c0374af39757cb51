"""Failures sealed like payloads, and a worker's failure read only if sealed.

A failure's message and stack trace travel as its "encoded attributes", through the
payload codec. A failure that a worker made (an application error, a Nexus handler
error) whose reason is not sealed with the stack's key came from a worker that lacks
the key: its reason is withheld, so an impostor's error text never becomes what the
model or the user reads. Failures the server makes (timeouts, cancellations) are
plain by nature and read as they are.
"""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, PayloadConverter

from services.payloads import marks

WORKER_MADE = ("application_failure_info", "nexus_handler_failure_info")
WITHHELD = "its reason is withheld: it was not sealed with the stack's key"


class SealedFailures(DefaultFailureConverter):
    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)

    def from_failure(self, failure: Failure, payload_converter: PayloadConverter) -> BaseException:
        if failure.WhichOneof("failure_info") in WORKER_MADE and not sealed(failure):
            failure = withheld(failure)
        return super().from_failure(failure, payload_converter)


def sealed(failure: Failure) -> bool:
    return failure.HasField("encoded_attributes") and marks.verified(failure.encoded_attributes)


def withheld(failure: Failure) -> Failure:
    """`failure` without anything its maker wrote: message, stack trace, details."""
    copy = Failure()
    copy.CopyFrom(failure)
    copy.message = WITHHELD
    copy.stack_trace = ""
    copy.ClearField("encoded_attributes")
    if copy.HasField("application_failure_info"):
        copy.application_failure_info.ClearField("details")
    return copy
