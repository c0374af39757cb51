"""The local trace store: where spans go when no OTLP collector is configured.

Each process appends the spans it ends to `logs/<component>.traces.jsonl` under
DAGENT_HOME, one JSON object per line, 0600, never through a link; a file that
grows past `MAX_BYTES` is moved aside once (to `.old.jsonl`), so the store stays
bounded. `dagent trace` reads every file back and puts the trees together.
Spans carry ids, names, times and attributes: never a message, an answer or a token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from services.settings import LOGS_DIR

SUFFIX = ".traces.jsonl"
ROTATED = ".traces.old.jsonl"
MAX_BYTES = 8 * 1024 * 1024


def store_file(home: Path, component: str) -> Path:
    return home / LOGS_DIR / f"{component}{SUFFIX}"


@dataclass(frozen=True)
class SpanRecord:
    """One ended span, as the store keeps it."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    kind: str
    start_ns: int
    end_ns: int
    status: str = "unset"
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    @classmethod
    def of(cls, span: ReadableSpan) -> SpanRecord:
        context = span.get_span_context()
        assert context is not None
        parent = span.parent
        return cls(
            trace_id=f"{context.trace_id:032x}",
            span_id=f"{context.span_id:016x}",
            parent_id=f"{parent.span_id:016x}" if parent is not None else None,
            name=span.name,
            service=str(span.resource.attributes.get("service.name", "")),
            kind=span.kind.name.lower(),
            start_ns=span.start_time or 0,
            end_ns=span.end_time or span.start_time or 0,
            status=span.status.status_code.name.lower(),
            attributes={k: _plain(v) for k, v in (span.attributes or {}).items()},
        )


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class LocalSpanExporter(SpanExporter):
    """Appends each batch of ended spans to this component's file in the store."""

    def __init__(self, home: Path, component: str) -> None:
        self.path = store_file(home, component)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(json.dumps(SpanRecord.of(span).__dict__) + "\n" for span in spans)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
                os.replace(self.path, self.path.with_name(self.path.name.replace(SUFFIX, ROTATED)))
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                # One write per batch: writers of the same component never interleave lines.
                os.write(descriptor, lines.encode())
            finally:
                os.close(descriptor)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing is held open between batches."""


def read(home: Path) -> Iterator[SpanRecord]:
    """Every span in the store; a line cut off by a crash is skipped."""
    directory = home / LOGS_DIR
    if not directory.is_dir():
        return
    for path in sorted([*directory.glob(f"*{ROTATED}"), *directory.glob(f"*{SUFFIX}")]):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            try:
                yield SpanRecord(**json.loads(line))
            except (ValueError, TypeError):
                continue


TURN_SPANS = ("dagent.turn", "dagent.send")


def turn(home: Path, session: str | None = None, message_id: str | None = None) -> list[SpanRecord]:
    """Every span of the last turn in the store (of `session`, or the one that answered
    `message_id`), oldest first; empty when the store has no such turn."""
    spans = list(read(home))
    turns = [
        span
        for span in spans
        if span.name in TURN_SPANS
        and (session is None or span.attributes.get("dagent.session") == session)
        and (message_id is None or span.attributes.get("dagent.message_id") == message_id)
    ]
    if not turns:
        return []
    chosen = max(turns, key=lambda span: span.start_ns).trace_id
    # A span a replaying worker also ended would be here twice: once is enough.
    unique = {span.span_id: span for span in spans if span.trace_id == chosen}
    return sorted(unique.values(), key=lambda span: span.start_ns)
