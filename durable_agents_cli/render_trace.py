"""A turn's trace as a tree (each span's service, duration and key attributes), or as JSON."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.tree import Tree

from services.safe_text import clean_text
from services.telemetry.store import SpanRecord
from services.telemetry.tracing import SERVICE_PREFIX

# The attributes worth a glance, in the order they are shown.
KEY_ATTRIBUTES = {
    "dagent.session": "session",
    "dagent.message_id": "message",
    "gen_ai.usage.input_tokens": "in",
    "gen_ai.usage.output_tokens": "out",
    "gen_ai.response.finish_reasons": "finish",
    "dagent.tool": "tool",
    "dagent.outcome": "outcome",
}


def summary(spans: list[SpanRecord]) -> dict[str, Any]:
    root = spans[0]
    turn = next((s for s in spans if s.name in ("dagent.turn", "dagent.send")), root)
    return {
        "trace_id": root.trace_id,
        "session": turn.attributes.get("dagent.session"),
        "message_id": turn.attributes.get("dagent.message_id"),
        "duration_ms": round((max(s.end_ns for s in spans) - min(s.start_ns for s in spans)) / 1e6, 1),
        "services": sorted({_service(s) for s in spans}),
        "input_tokens": sum(int(s.attributes.get("gen_ai.usage.input_tokens", 0)) for s in spans),
        "output_tokens": sum(int(s.attributes.get("gen_ai.usage.output_tokens", 0)) for s in spans),
    }


def as_json(spans: list[SpanRecord]) -> dict[str, Any]:
    return {
        **summary(spans),
        "spans": [{**span.__dict__, "duration_ms": round(span.duration_ms, 2)} for span in spans],
    }


def tree(spans: list[SpanRecord]) -> Tree:
    about = summary(spans)
    top = Tree(
        f"[bold]trace {about['trace_id']}[/] · session {escape(str(about['session']))} · "
        f"{len(spans)} spans · {about['duration_ms']:.0f} ms · {', '.join(about['services'])}"
        + (
            f" · {about['input_tokens']} in / {about['output_tokens']} out tokens"
            if about["input_tokens"]
            else ""
        )
    )
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in spans:
        children.setdefault(span.parent_id if span.parent_id in ids else None, []).append(span)

    def grow(branch: Tree, parent: str | None) -> None:
        for span in children.get(parent, []):
            grow(branch.add(_label(span)), span.span_id)

    grow(top, None)
    return top


def _service(span: SpanRecord) -> str:
    return span.service.removeprefix(SERVICE_PREFIX)


def _label(span: SpanRecord) -> str:
    style = "red" if span.status == "error" else "cyan"
    shown = [
        f"{label}={_value(span.attributes[key])}"
        for key, label in KEY_ATTRIBUTES.items()
        if key in span.attributes
    ]
    extra = f" [dim]{escape(' '.join(shown))}[/]" if shown else ""
    return (
        f"[{style}]{escape(clean_text(span.name))}[/] [dim]{escape(_service(span))}[/] "
        f"{span.duration_ms:.1f} ms{extra}"
    )


def _value(value: Any) -> str:
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return clean_text(text)[:40]
