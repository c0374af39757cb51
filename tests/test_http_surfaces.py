"""Every port a real stack listens on, found from its processes (not from a list of what
dagent means to open), attacked as a web page in the user's browser would: a
DNS-rebinding request (a foreign Host) and a cross-site simple POST (a foreign Origin,
text/plain). Each is refused, or is on a port no browser connects to."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from fastmcp import Client as McpClient
from fastmcp.client.transports import StreamableHttpTransport

from durable_agents_cli.stack.components import temporal_binary
from services.http_limits import HEADER_TIMEOUT
from services.identity.users import login_user
from services.toolservice.contract import IDEMPOTENCY_META
from tests.helpers import Stack

pytestmark = pytest.mark.stack

# The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#port-blocking): every
# browser refuses to connect to them, so a page cannot reach what listens there.
FETCH_BAD_PORTS = frozenset({
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
    103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
    512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
    995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
    6669, 6679, 6697, 10080,
})  # fmt: skip
EVIL = "evil.example"


@pytest.fixture(scope="module")
def mcp_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The pattern that opens the most: Temporal, the guarded UI, workers, MCP servers."""
    with Stack(home=tmp_path_factory.mktemp("surfaces") / "home", pattern="mcp").up() as stack:
        yield stack


def listening_ports(stack: Stack) -> dict[int, str]:
    """port -> the name of the stack's process that listens there."""
    found = {}
    for process in stack.processes():
        try:
            for connection in process.net_connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN:
                    found[connection.laddr.port] = process.name()
        except psutil.Error:
            continue
    return found


def attempt(port: int, method: str, headers: dict[str, str], content: str | None = None) -> int | None:
    """The HTTP status a browser-like request gets, or None when the port does not speak
    HTTP/1.1 (gRPC: HTTP/2 only) and nothing could be done through it."""
    try:
        response = httpx.request(
            method, f"http://127.0.0.1:{port}/api/v1/namespaces", headers=headers, content=content, timeout=5
        )
    except httpx.HTTPError:
        return None
    return response.status_code


def test_no_port_obeys_a_rebinding_page_or_a_cross_site_post(mcp_stack: Stack) -> None:
    ports = listening_ports(mcp_stack)
    assert mcp_stack.ui_port in ports
    assert {mcp_stack.it_mcp_port, mcp_stack.finance_mcp_port, mcp_stack.temporal_port} <= set(ports)
    for address in {c.laddr.ip for p in mcp_stack.processes() for c in p.net_connections("inet")}:
        assert address in ("127.0.0.1", "::1"), f"something listens on {address}"
    answered = {}
    for port, owner in ports.items():
        rebinding = attempt(port, "GET", {"Host": f"{EVIL}:{port}"})
        cross_site = attempt(
            port,
            "POST",
            {"Host": f"127.0.0.1:{port}", "Origin": f"http://{EVIL}", "Content-Type": "text/plain"},
            '{"workflowId": "planted"}',
        )
        for status in (rebinding, cross_site):
            if status is not None and status < 400:
                answered[port] = owner
    # What answers anyway is the dev server's own UI and metrics, on ports no browser opens.
    assert set(answered) <= FETCH_BAD_PORTS, {p: o for p, o in answered.items() if p not in FETCH_BAD_PORTS}


def ui_login(stack: Stack) -> str:
    """The link `dagent up` printed: the Web UI's address with its secret."""
    up = stack.run("up", "--pattern", stack.pattern, check=True).stdout
    [link] = re.findall(rf"http://127\.0\.0\.1:{stack.ui_port}/\?dagent-token=[\w-]+", up)
    return link


def test_the_ui_answers_only_the_browser_that_opened_its_link(mcp_stack: Stack) -> None:
    """Another local user reaches the port too: without the secret, nothing is served."""
    ui = f"http://127.0.0.1:{mcp_stack.ui_port}"
    assert httpx.get(ui, timeout=10).status_code == 401
    assert httpx.get(f"{ui}/?dagent-token=guess", timeout=10).status_code == 401
    assert httpx.get(f"{ui}/?dagent-token=%C3%A9t%C3%A9", timeout=10).status_code == 401
    latin = {"Cookie": "dagent-web=\u00e9t\u00e9".encode("latin-1")}
    assert httpx.get(ui, headers=latin, timeout=10).status_code == 401  # type: ignore[arg-type]
    opened = httpx.get(ui_login(mcp_stack), timeout=10)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/"  # the secret leaves the address bar
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    with httpx.Client(base_url=ui, cookies=opened.cookies, timeout=10) as browser:
        assert browser.get("/").status_code == 200
        assert browser.get("/", headers={"Host": f"{EVIL}:{mcp_stack.ui_port}"}).status_code == 421
        # One origin: localhost is sent to the loopback address (its cookie, its codec).
        moved = browser.get("/namespaces?x=%2F", headers={"Host": f"localhost:{mcp_stack.ui_port}"})
        assert moved.status_code == 307
        assert moved.headers["location"] == f"{ui}/namespaces?x=%2F"


def test_the_ui_decodes_for_its_user_only_and_never_encodes(mcp_stack: Stack) -> None:
    ui = f"http://127.0.0.1:{mcp_stack.ui_port}"
    cookies = httpx.get(ui_login(mcp_stack), timeout=10).cookies
    with httpx.Client(base_url=ui, cookies=cookies, timeout=10) as browser:
        codec = browser.get("/api/v1/settings").json()["Codec"]["Endpoint"]
        assert codec == f"{ui}/dagent-codec"

        # A payload of a real conversation, as the UI reads it from the history.
        session = json.loads(mcp_stack.run("ask", "What is 3 * 4?", "--json", check=True).stdout)["session"]
        shown = subprocess.run(
            [str(temporal_binary()), "workflow", "show", "--workflow-id", f"dagent-chat-{session}",
             "--address", f"127.0.0.1:{mcp_stack.temporal_port}", "--output", "json"],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        events = json.loads(shown.stdout)["events"]
        accepted = next(e for e in events if "workflowExecutionUpdateAcceptedEventAttributes" in e)
        payloads = accepted["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]["input"][
            "args"
        ]
        assert "What is 3 * 4?" not in json.dumps(payloads)
        body = {"payloads": payloads["payloads"]}
        decoded = browser.post(f"{codec}/decode", json=body, headers={"Origin": ui, "X-Namespace": "default"})
        assert decoded.status_code == 200
        text = base64.b64decode(decoded.json()["payloads"][0]["data"]).decode()
        assert "What is 3 * 4?" in text
        # A payload that does not open reads as why, not as a bare null.
        tampered = json.loads(json.dumps(body))
        tampered["payloads"][0]["data"] = base64.b64encode(b"\0" * 40).decode()
        shown = browser.post(f"{codec}/decode", json=tampered, headers={"Origin": ui}).json()
        assert "not decrypted" in base64.b64decode(shown["payloads"][0]["data"]).decode()
        assert (
            browser.post(f"{codec}/decode", json=body, headers={"Origin": f"http://{EVIL}"}).status_code
            == 403
        )
        assert browser.post(f"{codec}/decode", content=b"\xff\xfe").status_code == 400
        # Encoding is never offered: it would let anyone forge payloads the workers trust.
        assert browser.post(f"{codec}/encode", json=body, headers={"Origin": ui}).status_code == 404
    # Without the secret (any other local user), nothing is decoded.
    assert httpx.post(f"{codec}/decode", json=body, timeout=10).status_code == 401


def test_the_dev_servers_http_api_is_off(mcp_stack: Stack) -> None:
    """dagent speaks gRPC only; the HTTP API refuses every request, its own host's too."""
    stack_config = json.loads((mcp_stack.home / "run" / "stack.json").read_text())
    port = stack_config["internal_ports"]["http"]
    assert port in FETCH_BAD_PORTS
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # it listens (the dev server cannot be told not to) ...
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", EVIL):
        assert (
            httpx.get(f"http://127.0.0.1:{port}/api/v1/namespaces", headers={"Host": host}).status_code == 403
        )


def test_slow_header_sockets_are_closed_not_kept(mcp_stack: Stack) -> None:
    """A socket that connects and then sends its headers slowly (or never) is closed by
    the server, not kept: a few hundred would otherwise lock the user's clients out."""
    ports = [mcp_stack.ui_port, mcp_stack.it_mcp_port, mcp_stack.finance_mcp_port]
    sockets = []
    for port in ports:
        for _ in range(20):
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
            sockets.append(connection)
    try:
        for connection in sockets:
            # Closed by the server within a few of its header deadlines (a busy machine is slow).
            connection.settimeout(HEADER_TIMEOUT * 4)
            with contextlib.suppress(ConnectionResetError):
                assert connection.recv(1024) == b""
    finally:
        for connection in sockets:
            connection.close()
    # And the servers still answer their user.
    assert httpx.get(ui_login(mcp_stack), timeout=10).status_code == 303


FORGED_TIME = "1999-01-01 00:00:00,000"
FORGED = f"\n{FORGED_TIME} ERROR dagent.it: FORGED record \x1b[2J\x1b]0;pwned\x07\r\u2028"


def test_a_hostile_mcp_request_forges_no_log_line(mcp_stack: Stack) -> None:
    """An idempotency key, a `_meta` entry and an argument made of line breaks and escape
    sequences reach the logs as one escaped line each: `dagent logs` shows no record the
    request made up, and no terminal control."""
    token = mcp_stack.run("users", "token", login_user(), "--for", "it", check=True).stdout.strip()

    async def hostile() -> None:
        url = f"http://127.0.0.1:{mcp_stack.it_mcp_port}/mcp"
        transport = StreamableHttpTransport(url, headers={"Authorization": f"Bearer {token}"})
        async with McpClient(transport) as mcp:
            await mcp.call_tool("jira_metrics", {"project": "DEMO" + FORGED}, raise_on_error=False)
            meta = {IDEMPOTENCY_META: "key" + FORGED, FORGED: FORGED}
            await mcp.call_tool("jira_metrics", {"project": "DEMO-7"}, meta=meta, raise_on_error=False)

    asyncio.run(hostile())
    shown = ""
    for component in ("it", "it-mcp"):
        shown += mcp_stack.run("logs", component, "--lines", "200", check=True).stdout
    assert "FORGED record" in shown  # it was logged (the key, by the tool's activity) ...
    for line in shown.splitlines():
        assert not line.startswith(FORGED_TIME), line  # ... inside its own record only
    for control in ("\x1b", "\x07", "\r", "\u2028"):
        assert control not in shown
    for log in (mcp_stack.home / "logs").glob("*.log"):
        text = log.read_text(errors="replace")
        assert "\x1b" not in text, log.name
        assert f"\n{FORGED_TIME}" not in text, log.name


def test_a_worker_without_the_stacks_keys_says_so_in_one_line(mcp_stack: Stack, tmp_path: Path) -> None:
    """A team's worker run elsewhere, with a home of its own: it would seal what nothing
    else can open, so it stops with one line that says where the keys are."""
    elsewhere = Stack(home=tmp_path / "elsewhere", temporal_port=mcp_stack.temporal_port)
    elsewhere.extra_env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{mcp_stack.temporal_port}"
    result = elsewhere.run("worker", "it", timeout=60)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: No payload keys at ")
    assert "copy that file from the stack's DAGENT_HOME" in line
    # With the payload keys but not the identity keys: it would refuse every call.
    (elsewhere.home / "auth").mkdir(parents=True, mode=0o700)
    for name in ("payload-keys.json",):
        (elsewhere.home / "auth" / name).write_bytes((mcp_stack.home / "auth" / name).read_bytes())
        (elsewhere.home / "auth" / name).chmod(0o600)
    result = elsewhere.run("worker", "it", timeout=60)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: No identity keys at ")
