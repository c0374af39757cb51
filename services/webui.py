"""The Temporal Web UI as dagent serves it: behind a guard, with a decode-only codec.

The dev server's own UI answers any `Host` and sets a CSRF cookie a page can read, so
a DNS-rebinding page could drive it. dagent runs that UI on a port browsers refuse
(`topology.BROWSER_REFUSED_PORTS`) and serves it to the user through this proxy, which
answers only to its own loopback names: a foreign `Host` gets 421, a foreign `Origin`
(or a cross-site fetch) 403, before anything reaches the UI.

At `topology.CODEC_PATH` it also serves the UI's remote codec, decode only: the user's
browser reads their payloads in clear, and nobody can have the stack *encode* (that
would let them forge a payload the workers trust).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from services import topology
from services.http_limits import uvicorn_limits
from services.payloads import PayloadCipher, marks

logger = logging.getLogger("dagent.web")

# What one decode request may carry: the UI sends a page of payloads at a time.
MAX_CODEC_BODY = 8 * 1024 * 1024
# Headers that belong to one hop, never forwarded (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade"}
)  # fmt: skip


def own_hosts(port: int) -> frozenset[str]:
    """The names this server answers to: the loopback address and `localhost`."""
    return frozenset({f"{topology.LOOPBACK}:{port}", f"localhost:{port}", f"[::1]:{port}"})


class Guard:
    """Refuses a request whose `Host` or `Origin` is not this server's own: no
    DNS-rebinding page and no cross-site form or fetch gets through."""

    def __init__(self, app: ASGIApp, port: int) -> None:
        self.app = app
        self.hosts = own_hosts(port)
        self.origins = frozenset(f"http://{host}" for host in self.hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            refusal = self.refusal(headers)
            if refusal is not None:
                status, reason = refusal
                logger.warning("refused %s %s: %s", scope["method"], scope["path"], reason)
                await PlainTextResponse(reason, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, headers: Headers) -> tuple[int, str] | None:
        if headers.get("host", "") not in self.hosts:
            return 421, "Misdirected request: this server answers to its loopback address only."
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return 403, "Forbidden: requests from other sites are refused."
        if headers.get("sec-fetch-site") == "cross-site":
            return 403, "Forbidden: requests from other sites are refused."
        return None


def build_app(port: int, upstream_port: int, home: Path, encrypt: bool) -> ASGIApp:
    cipher = PayloadCipher(home, encrypt)
    upstream = httpx.AsyncClient(
        base_url=f"http://{topology.LOOPBACK}:{upstream_port}", timeout=30.0, trust_env=False
    )

    async def decode(request: Request) -> Response:
        if request.method == "OPTIONS":  # the UI at localhost asking for 127.0.0.1's codec
            return _with_cors(Response(status_code=204), request)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_CODEC_BODY:
                return PlainTextResponse("Too many payloads at once.", status_code=413)
        try:
            payloads = json_format.Parse(body or b"{}", Payloads())
        except json_format.ParseError:
            return PlainTextResponse('Expected {"payloads": [...]} as protobuf JSON.', status_code=400)
        opened = await cipher.decode(list(payloads.payloads))
        for payload in opened:  # the codec's marks are for dagent's own code
            for mark in (marks.VERIFIED, marks.UNVERIFIED):
                if mark in payload.metadata:
                    del payload.metadata[mark]
        answer = json_format.MessageToJson(Payloads(payloads=opened))
        return _with_cors(Response(answer, media_type="application/json"), request)

    async def proxy(request: Request) -> Response:
        # The browser's own Host (already checked) goes on: the UI builds its links from it.
        headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP]
        outgoing = upstream.build_request(
            request.method,
            httpx.URL(path=request.url.path, query=request.url.query.encode()),
            headers=headers,
            content=request.stream(),
        )
        try:
            answer = await upstream.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            logger.warning("the Temporal Web UI did not answer: %s", exc)
            return PlainTextResponse("The Temporal Web UI is not answering; try again.", status_code=502)
        kept = {k: v for k, v in answer.headers.multi_items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=kept,
            background=BackgroundTask(answer.aclose),
        )

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    app = Starlette(
        routes=[
            # Decode only: there is no route that encodes.
            Route(f"{topology.CODEC_PATH}/decode", decode, methods=["POST", "OPTIONS"]),
            Route(f"{topology.CODEC_PATH}/{{rest:path}}", _no_such_codec_route, methods=methods),
            Route("/{path:path}", proxy, methods=methods),
        ],
        lifespan=lambda _: _closing(upstream),
    )
    return Guard(app, port)


async def _no_such_codec_route(request: Request) -> Response:
    return PlainTextResponse("Decode only: POST .../decode.", status_code=404)


@contextlib.asynccontextmanager
async def _closing(client: httpx.AsyncClient) -> AsyncIterator[None]:
    async with client:
        yield


def _with_cors(response: Response, request: Request) -> Response:
    # Only an origin the Guard let through gets here.
    origin = request.headers.get("origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "content-type, x-namespace"
        response.headers["Vary"] = "Origin"
    return response


async def serve(port: int, upstream_port: int, home: Path, encrypt: bool) -> None:
    """Serve the guarded Web UI on loopback `port` until cancelled."""
    config = uvicorn.Config(
        build_app(port, upstream_port, home, encrypt),
        host=topology.LOOPBACK,
        port=port,
        log_level="warning",
        **uvicorn_limits(),
    )
    server: Any = uvicorn.Server(config)
    logger.info("Web UI on http://%s:%d (the dev server's at %d)", topology.LOOPBACK, port, upstream_port)
    await server.serve()
