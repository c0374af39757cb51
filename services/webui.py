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
import hmac
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from services import topology
from services.errors import DagentError
from services.http_limits import uvicorn_limits
from services.payloads import marks
from services.payloads.codec import PayloadCipher, unmarked
from services.web_access import COOKIE, QUERY, ensure_token, own_hosts

logger = logging.getLogger("dagent.web")

# What one decode request may carry: the UI sends a page of payloads at a time.
MAX_CODEC_BODY = 8 * 1024 * 1024
# Headers that belong to one hop, never forwarded (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
     b"transfer-encoding", b"upgrade"}
)  # fmt: skip


class Guard:
    """Answers its own user's browser only: a foreign `Host` (DNS rebinding) gets 421, a
    foreign `Origin` or cross-site fetch 403, anyone without the stack's Web UI secret
    401; `localhost` is sent to the loopback address, so the UI has one origin."""

    def __init__(self, app: ASGIApp, port: int, token: str) -> None:
        self.app = app
        self.hosts = own_hosts(port)
        self.origins = frozenset(f"http://{host}" for host in self.hosts)
        self.canonical = f"{topology.LOOPBACK}:{port}"
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the UI opens none
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] == "http":
            answer = self.screen(Request(scope))
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def screen(self, request: Request) -> Response | None:
        """None to let the request through, else the answer that refuses or redirects it."""
        headers = request.headers
        host, origin = headers.get("host", ""), headers.get("origin")
        if host not in self.hosts:
            return _refused(
                request, 421, "Misdirected request: this server answers to its loopback address only."
            )
        if (origin is not None and origin not in self.origins) or (
            origin is None and headers.get("sec-fetch-site") == "cross-site"
        ):
            return _refused(request, 403, "Forbidden: requests from other sites are refused.")
        if host != self.canonical:
            return RedirectResponse(f"http://{self.canonical}{_target(request)}", status_code=307)
        shown = request.query_params.get(QUERY)
        if shown is not None and self._holds(shown):
            # Once: from now on the cookie carries it, and the address bar no longer does.
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != QUERY]
            answer = RedirectResponse(request.url.path + (f"?{urlencode(kept)}" if kept else ""), 303)
            answer.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return answer
        if not self._holds(request.cookies.get(COOKIE, "")):
            return _refused(
                request, 401, "Open the Web UI from the link 'dagent up' or 'dagent status' prints."
            )
        return None

    def _holds(self, given: str) -> bool:
        # In constant time, and as bytes: a str that is not ASCII would make it raise.
        return hmac.compare_digest(given.encode(), self.token.encode())


def _refused(request: Request, status: int, reason: str) -> Response:
    logger.warning("refused %s %s: %s", request.method, request.url.path, reason)
    return PlainTextResponse(reason, status_code=status)


def _target(request: Request) -> str:
    """The request's path and query exactly as sent (`%2F` stays `%2F`)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


def build_app(port: int, upstream_port: int, home: Path, encrypt: bool, token: str) -> ASGIApp:
    cipher = PayloadCipher(home, encrypt)
    upstream = httpx.AsyncClient(
        base_url=f"http://{topology.LOOPBACK}:{upstream_port}", timeout=30.0, trust_env=False
    )

    async def decode(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_CODEC_BODY:
                return PlainTextResponse("Too many payloads at once.", status_code=413)
        try:
            payloads = json_format.Parse(body or b"{}", Payloads())
        except (json_format.ParseError, ValueError):  # not JSON, not UTF-8, not payloads
            return PlainTextResponse('Expected {"payloads": [...]} as protobuf JSON.', status_code=400)
        try:
            opened = await cipher.decode(list(payloads.payloads))
        except DagentError as exc:  # the key file became unreadable
            return PlainTextResponse(str(exc), status_code=500)
        answer = json_format.MessageToJson(Payloads(payloads=[_for_the_ui(p) for p in opened]))
        return Response(answer, media_type="application/json")

    async def proxy(request: Request) -> Response:
        # The browser's own Host (already checked) goes on: the UI builds its links from it.
        # The secret does not: it is this guard's, not the UI's.
        headers = [(k, v) for k, v in request.headers.raw if k.lower() not in HOP_BY_HOP and k != b"cookie"]
        if b"accept-encoding" not in {k.lower() for k, _ in headers}:
            # What the client takes, not what this proxy's own HTTP client would ask for.
            headers.append((b"accept-encoding", b"identity"))
        cookies = [
            c for c in request.headers.get("cookie", "").split("; ") if c and not c.startswith(f"{COOKIE}=")
        ]
        if cookies:
            headers.append((b"cookie", "; ".join(cookies).encode("latin-1")))
        outgoing = upstream.build_request(
            request.method,
            httpx.URL(raw_path=_target(request).encode("latin-1")),
            headers=headers,
            content=request.stream(),
        )
        try:
            answer = await upstream.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            logger.warning("the Temporal Web UI did not answer: %s", exc)
            return PlainTextResponse("The Temporal Web UI is not answering; try again.", status_code=502)
        response = StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
        )
        # Every header as sent, each Set-Cookie of its own.
        response.raw_headers = [(k, v) for k, v in answer.headers.raw if k.lower() not in HOP_BY_HOP]
        return response

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
    return Guard(app, port, token)


def _for_the_ui(payload: Payload) -> Payload:
    """A decoded payload without the codec's marks (they are for dagent's own code); one
    that could not be opened reads as why, not as a bare `null`."""
    if marks.UNVERIFIED in payload.metadata:
        reason = f"(not decrypted: {marks.why_unverified(payload)})"
        return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(reason).encode())
    return unmarked(payload)


async def _no_such_codec_route(request: Request) -> Response:
    return PlainTextResponse("Decode only: POST .../decode.", status_code=404)


@contextlib.asynccontextmanager
async def _closing(client: httpx.AsyncClient) -> AsyncIterator[None]:
    async with client:
        yield


async def serve(port: int, upstream_port: int, home: Path, encrypt: bool) -> None:
    """Serve the guarded Web UI on loopback `port` until cancelled."""
    config = uvicorn.Config(
        build_app(port, upstream_port, home, encrypt, ensure_token(home)),
        host=topology.LOOPBACK,
        port=port,
        log_level="warning",
        **uvicorn_limits(),
    )
    server: Any = uvicorn.Server(config)
    logger.info("Web UI on http://%s:%d (the dev server's at %d)", topology.LOOPBACK, port, upstream_port)
    await server.serve()
