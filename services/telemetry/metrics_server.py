"""A worker's `/metrics`: dagent's own metrics and the Temporal SDK's, in one scrape.

The SDK's runtime exports its metrics through its Prometheus config, on a loopback
port of its own among those browsers refuse (that exporter answers anyone); this
server relays them beside dagent's (prometheus-client), so a Prometheus scrapes one
guarded address per worker.

It listens on loopback, answers to its own `Host` only (DNS rebinding), refuses any
request a browser sends with an `Origin`, and serves only a bearer of the stack's
metrics secret (DAGENT_HOME/auth/metrics-token, which Prometheus reads with
`authorization.credentials_file`): what a user's agent does is theirs.
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from services import topology
from services.auth_files import METRICS_TOKEN_FILE, ensure_secret
from services.errors import ConfigError
from services.web_access import own_hosts

logger = logging.getLogger("dagent.metrics")

# A scrape waits this long for the SDK's exporter before it leaves its metrics out.
RELAY_TIMEOUT = 2.0
# Loopback without the user's HTTP proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def free_refused_port() -> int:
    """The first free loopback port among those browsers refuse (for the SDK's exporter,
    which answers any web page that reaches it)."""
    for port in topology.BROWSER_REFUSED_PORTS:
        with socket.socket() as probe:
            try:
                probe.bind((topology.LOOPBACK, port))
            except OSError:
                continue
            return port
    raise ConfigError(
        "The Temporal SDK's metrics need a free port among those browsers refuse "
        f"({', '.join(map(str, topology.BROWSER_REFUSED_PORTS))}); free one, or set DAGENT_SDK_METRICS_PORT."
    )


def sdk_runtime(port: int) -> Runtime:
    """A Temporal runtime that exports the SDK's metrics on loopback `port`, in
    Prometheus' conventions (seconds, `_total` counters)."""
    prometheus = PrometheusConfig(
        bind_address=f"{topology.LOOPBACK}:{port}",
        counters_total_suffix=True,
        unit_suffix=True,
        durations_as_seconds=True,
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


class SdkRelay(Collector):
    """The SDK exporter's metrics, read at each scrape."""

    def __init__(self, port: int) -> None:
        self.url = topology.metrics_url(port)

    def describe(self) -> list[Metric]:
        return []  # unknown until read: registering must not wait on a scrape

    def collect(self) -> Iterator[Metric]:
        try:
            with _DIRECT.open(self.url, timeout=RELAY_TIMEOUT) as answer:
                text = answer.read().decode()
        except OSError as exc:
            logger.warning("the Temporal SDK's metrics are left out of this scrape: %s", exc)
            return
        yield from text_string_to_metric_families(text)


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
    def log_message(self, format: str, *args: Any) -> None:
        """A scrape every few seconds is not worth a log line."""


def serve(port: int, home: Path, sdk_port: int | None, registry: CollectorRegistry = REGISTRY) -> WSGIServer:
    """Serve `registry` (plus the SDK's metrics from `sdk_port`) on loopback `port`, in
    a daemon thread; `shutdown()` the server returned to stop."""
    if sdk_port is not None:
        registry.register(SdkRelay(sdk_port))
    app = guarded(make_wsgi_app(registry), port, ensure_secret(home, METRICS_TOKEN_FILE))
    try:
        server = make_server(topology.LOOPBACK, port, app, ThreadingWSGIServer, handler_class=_Quiet)
    except OSError as exc:
        raise ConfigError(
            f"Cannot serve metrics on {topology.LOOPBACK}:{port} ({exc.strerror}); "
            "choose another port with --metrics-port / DAGENT_METRICS_PORT."
        ) from None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
