"""A worker's `/metrics`: dagent's own metrics and the Temporal SDK's, in one scrape.

The SDK's runtime records its metrics into a buffer (`MetricBuffer`, in seconds) that
Temporal's own OpenTelemetry bridge (`temporalio.contrib.opentelemetry.MetricsExporter`)
drains into a meter provider whose reader is OpenTelemetry's Prometheus exporter: they
land in the same prometheus-client registry as dagent's, and no listener is opened
for them. (The SDK's own Prometheus exporter would be a second port that answers any
web page and any local user.)

The server listens on loopback, answers to its own `Host` only (DNS rebinding),
refuses any request a browser sends with an `Origin`, and serves only a bearer of
the stack's metrics secret (DAGENT_HOME/auth/metrics-token, which Prometheus reads
with `authorization.credentials_file`): what a user's agent does is theirs.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from temporalio.runtime import MetricBuffer, MetricBufferDurationFormat, Runtime, TelemetryConfig

from services import topology
from services.auth_files import METRICS_TOKEN_FILE, ensure_secret
from services.errors import ConfigError
from services.http_limits import HEADER_TIMEOUT, MAX_CONNECTIONS
from services.web_access import own_hosts

if TYPE_CHECKING:
    from temporalio.contrib.opentelemetry import MetricsExporter

# Updates the SDK may record between two drains (a drain each second; a busy worker
# records a few thousand a second); beyond it the SDK drops them and logs an error.
SDK_BUFFER = 100_000
SDK_DRAIN = timedelta(seconds=1)
# The SDK's durations, in seconds: a task takes milliseconds, a poll up to a minute.
SDK_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def sdk_metrics(
    registry: CollectorRegistry = REGISTRY,
) -> tuple[Runtime, MetricsExporter, Callable[[], None]]:
    """A Temporal runtime whose metrics reach `registry`, the exporter that carries them
    there (run it with `async with` for as long as the runtime is in use), and what
    takes them off `registry` again.

    OpenTelemetry's meter provider honours OTEL_SDK_DISABLED: with it set, the SDK's
    metrics are left out (dagent's own stay)."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import Histogram, MeterProvider
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
    from temporalio.contrib.opentelemetry import MetricsExporter

    buffer = MetricBuffer(SDK_BUFFER, duration_format=MetricBufferDurationFormat.SECONDS)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    reader = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
    seconds = View(
        instrument_type=Histogram, aggregation=ExplicitBucketHistogramAggregation(SDK_LATENCY_BUCKETS)
    )
    provider = MeterProvider(metric_readers=[reader], views=[seconds])
    return runtime, MetricsExporter(buffer, provider, poll_interval=SDK_DRAIN), provider.shutdown


def guarded(app: WsgiApp, port: int, token: str) -> WsgiApp:
    """`app` for its own Host and a bearer of `token` only, never for a browser."""
    hosts = own_hosts(port)
    expected = f"Bearer {token}".encode()

    def guard(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        refusal: tuple[str, str] | None = None
        if environ.get("HTTP_HOST", "") not in hosts:
            refusal = ("421 Misdirected Request", "this server answers to its loopback address only")
        elif "HTTP_ORIGIN" in environ or environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
            refusal = ("403 Forbidden", "requests from web pages are refused")
        elif not hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", "").encode(), expected):
            refusal = ("401 Unauthorized", f"send DAGENT_HOME/auth/{METRICS_TOKEN_FILE} as a bearer token")
        elif environ.get("PATH_INFO") != "/metrics":
            refusal = ("404 Not Found", "metrics are at /metrics")
        if refusal is None:
            return app(environ, start_response)
        status, reason = refusal
        headers = [("Content-Type", "text/plain; charset=utf-8")]
        if status.startswith("401"):
            headers.append(("WWW-Authenticate", "Bearer"))
        start_response(status, headers)
        return [f"{reason}\n".encode()]

    return guard


class _Quiet(WSGIRequestHandler):
    # A socket that sends nothing for this long is closed (as the stack's other servers do).
    timeout = HEADER_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        """A scrape every few seconds is not worth a log line."""


class _Bounded(ThreadingWSGIServer):
    """At most MAX_CONNECTIONS at once (a thread each); more are closed at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def serve(port: int, home: Path, registry: CollectorRegistry = REGISTRY) -> WSGIServer:
    """Serve `registry` on loopback `port` in a daemon thread; `shutdown()` and
    `server_close()` the server returned to stop."""
    app = guarded(make_wsgi_app(registry), port, ensure_secret(home, METRICS_TOKEN_FILE))
    try:
        server = make_server(topology.LOOPBACK, port, app, _Bounded, handler_class=_Quiet)
    except OSError as exc:
        raise ConfigError(
            f"Cannot serve metrics on {topology.LOOPBACK}:{port} ({exc.strerror}); "
            "choose another port with --metrics-port / DAGENT_METRICS_PORT."
        ) from None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
