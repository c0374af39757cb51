"""An OpenAI-compatible chat completions server for tests: it answers like a real
provider (tool calls in the OpenAI format), and misbehaves on request the way real
providers do. The fault is named by the conversation's last user message,
"fault:<name> [anything]", so one server serves every test of a module (a test
makes its message unique, and counts the requests sent for it):

- `hang`: never answers (until the client gives up or the server stops);
- `rate-limit`: 429 with `Retry-After: 2` on the message's first request, then answers;
- `rate-limit-long`: always 429 with `Retry-After: 3600`;
- `server-error`: 500 on the message's first request, then answers;
- `unauthorized`: 401 whose message echoes the caller's key, as some providers do;
- `malformed`: a 200 whose body is cut off in the middle of the JSON;
- `no-choices`: a 200 with an empty `choices` list;
- anything else: one `calculator` tool call for "6 * 7", then a plain answer.

Every request is kept (time, message, body) so a test can see what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers import free_port

# What the server calls itself: the model string is `openai/<MODEL_NAME>`.
MODEL_NAME = "compatible-model"
RETRY_AFTER = 2


@dataclass
class Request:
    at: float
    message: str
    body: dict[str, Any]


@dataclass
class OpenAICompatibleServer:
    port: int = field(default_factory=free_port)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAICompatibleServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def sent(self, message: str) -> list[Request]:
        """The requests whose last user message was `message`."""
        with self._lock:
            return [r for r in self.requests if r.message == message]

    def _record(self, message: str, body: dict[str, Any]) -> int:
        with self._lock:
            self.requests.append(Request(time.monotonic(), message, body))
            return sum(1 for r in self.requests if r.message == message)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                messages = body.get("messages") or []
                last = _last_question(messages)
                fault = last.removeprefix("fault:").split()[0] if last.startswith("fault:") else ""
                count = server._record(last, body)
                if fault == "hang":
                    server._stopping.wait(120)
                    return
                if (fault == "rate-limit" and count == 1) or fault == "rate-limit-long":
                    wait = RETRY_AFTER if fault == "rate-limit" else 3600
                    self._send(429, _error("Rate limit reached, slow down"), {"Retry-After": str(wait)})
                elif fault == "server-error" and count == 1:
                    self._send(500, _error("The server had an error processing your request"))
                elif fault == "unauthorized":
                    key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    self._send(401, _error(f"Incorrect API key provided: {key}"))
                elif fault == "malformed":
                    self._send_raw(200, b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{')
                elif fault == "no-choices":
                    self._send(200, _completion([]))
                else:
                    self._send(200, _completion([_choice(messages)]))

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                self._send_raw(status, json.dumps(payload).encode(), headers)

            def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _last_question(messages: list[dict[str, Any]]) -> str:
    questions = [str(m.get("content")) for m in messages if m.get("role") == "user"]
    return questions[-1] if questions else ""


def _choice(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A tool call for the calculator, or, once the tool answered, the answer."""
    results = [str(m.get("content")) for m in messages if m.get("role") == "tool"]
    if results:
        message: dict[str, Any] = {"role": "assistant", "content": f"The calculator says {results[-1]}"}
        return {"index": 0, "message": message, "finish_reason": "stop"}
    call = {
        "id": f"call_{time.monotonic_ns()}",
        "type": "function",
        "function": {"name": "calculator", "arguments": json.dumps({"expression": "6 * 7"})},
    }
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"index": 0, "message": message, "finish_reason": "tool_calls"}


def _completion(choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_NAME,
        "choices": choices,
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": None}}
