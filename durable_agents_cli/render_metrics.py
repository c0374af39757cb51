"""How `dagent metrics` shows the headline figures."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from durable_agents_cli.stack.metrics import Headline
from services.auth_files import AUTH_DIR, METRICS_TOKEN_FILE


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def table(figures: Headline) -> RenderableType:
    rows = [
        ("turns", f"{figures.turns:,}", f"{figures.errors:,} failed · {figures.partial:,} partial"),
        ("turn time", f"p50 {_ms(figures.p50_seconds)}", f"p95 {_ms(figures.p95_seconds)}"),
        ("tool calls", f"{figures.tool_calls:,}", f"{figures.failed_tool_calls:,} failed"),
        ("model calls", f"{figures.model_calls:,}", f"{figures.failed_model_calls:,} failed"),
        (
            "tokens",
            f"{figures.input_tokens + figures.output_tokens:,}",
            f"{figures.input_tokens:,} in · {figures.output_tokens:,} out",
        ),
        ("cost", f"${figures.cost:.4f}", "as far as LiteLLM's price map knows the model"),
        ("retries", f"{figures.retries:,}", "activity attempts after the first"),
    ]
    shown = Table(title="dagent metrics (since the workers started)")
    for column in ("", "figure", "detail"):
        shown.add_column(column)
    for row in rows:
        shown.add_row(*row)
    sources = Text("Prometheus: " + " · ".join(f"{name} {url}" for name, url in figures.sources.items()))
    note = Text(f"(bearer token: DAGENT_HOME/{AUTH_DIR}/{METRICS_TOKEN_FILE})", style="dim")
    return Group(shown, sources, note)
