"""A model call as a span, in OpenTelemetry's GenAI semantic conventions: which model,
how many tokens went in and came out, and why the model stopped; and in the worker's
metrics (calls, time, tokens). No prompt and no answer is recorded: they are the user's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace

from services.conversation.contract import Usage
from services.telemetry import metrics
from services.telemetry.tracing import TRACER


@contextmanager
def model_span(model: str) -> Iterator[trace.Span]:
    """The span of one call to `model` (a LiteLLM model string)."""
    provider, _, _ = model.rpartition("/")
    with (
        trace.get_tracer(TRACER).start_as_current_span(
            f"chat {model}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider or "dagent",
                "gen_ai.request.model": model,
            },
        ) as span,
        metrics.timed(metrics.MODEL_CALLS, metrics.MODEL_SECONDS, model),
    ):
        yield span


def record_response(span: trace.Span, response: Any, model: str, usage: Usage) -> None:
    """What a LiteLLM (OpenAI-shaped) response says of itself (model, tokens, finish) on
    `span`, and its `usage` in the metrics of `model` (a LiteLLM model string)."""
    attributes: dict[str, Any] = {
        "gen_ai.response.model": str(getattr(response, "model", "") or ""),
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
    }
    reasons = [str(c.finish_reason) for c in getattr(response, "choices", None) or [] if c.finish_reason]
    if reasons:
        attributes["gen_ai.response.finish_reasons"] = reasons
    span.set_attributes(attributes)
    metrics.record_usage(model, usage.input_tokens, usage.output_tokens, usage.cost)
