"""Identity on a real stack through the CLI, in the mcp pattern (the nexus patterns are
covered in test_identity_flow): users and scopes, refusals decided and recorded by
the tool service, owned sessions, the user's bad inputs, and logs free of tokens."""

from __future__ import annotations

import json
import stat

import pytest

from services.identity.users import login_user
from tests.helpers import Stack

pytestmark = pytest.mark.server

EVERY_SCOPE = ("-s", "it:read", "-s", "finance:read", "-s", "orchestrator:read")


def ask(stack: Stack, *args: str) -> dict[str, object]:
    result = stack.run("ask", *args, "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_scopes_are_decided_by_the_mcp_servers_services(stack: Stack) -> None:
    stack.pattern = "mcp"
    me = login_user()
    with stack.up():
        stack.run("users", "add", me, *EVERY_SCOPE, check=True)
        stack.run("users", "add", "bob", "-s", "it:read", "-s", "orchestrator:read", check=True)

        mine = ask(stack, "What's the stock price of TSLA?")
        assert mine["user"] == me
        assert [(c["tool"], c["ok"]) for c in mine["tool_calls"]] == [("stock_price", True)]  # type: ignore[attr-defined,index]

        bobs = ask(stack, "What's the stock price of TSLA and what is my IP?", "--user", "bob")
        calls = {c["tool"]: c for c in bobs["tool_calls"]}  # type: ignore[attr-defined]
        assert calls["get_ip"]["ok"] is True
        assert calls["stock_price"]["ok"] is False
        refusal = "bob may not use stock_price: it needs the scope finance:read."
        assert refusal in json.dumps(calls["stock_price"]["result"])

        # Finance decided, and its own trail says so.
        trail = stack.run("audit", "--team", "finance", "--user", "bob", "--json", check=True).stdout
        decisions = [json.loads(line) for line in trail.splitlines()]
        assert any(not d["allowed"] and d["tool"] == "stock_price" for d in decisions), trail
        assert stat.S_IMODE((stack.home / "logs" / "audit-finance.jsonl").stat().st_mode) == 0o600

        # Bob cannot write to, or read, another user's session.
        theirs = stack.run("ask", "What did they ask?", "--session", str(mine["session"]), "--user", "bob")
        assert theirs.returncode == 1
        assert f"belongs to {me}; bob cannot write to it" in theirs.stderr
        assert "Traceback" not in theirs.stderr

        # The tool list says what the user holds.
        listed = json.loads(stack.run("tools", "list", "--json", "--user", "bob", check=True).stdout)
        held = {t["tool"]: t["held"] for t in listed["tools"]}
        assert held["get_ip"] is True
        assert held["stock_price"] is False

        # No token, user or per-call, in any log line of any process.
        header = stack.run("users", "token", "bob", "--for", "it", check=True).stdout.split(".", 1)[0]
        for log in (stack.home / "logs").glob("*"):
            assert header not in log.read_text(errors="replace"), f"a token is in {log.name}"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--user", "carol"), {}, "Unknown user 'carol'"),
        ((), {"DAGENT_TOKEN": "not-a-jwt"}, "is not a JWT"),
        ((), {"DAGENT_AUTH_ISSUER": "https://idp.example"}, "pass one minted there with --token"),
    ],
)
def test_a_bad_identity_is_one_line_and_a_non_zero_exit(
    stack: Stack, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    stack.run("users", "add", "alice", "-s", "it:read", check=True)
    stack.extra_env.update(env)
    result = stack.run("ask", "What is 1 + 1?", *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DAGENT_AUTH_ISSUER": "https://idp.example", "DAGENT_AUTH_JWKS": "/nonexistent/jwks.json"},
            "No key set",
        ),
        ({"DAGENT_AUTH_ISSUER": "https://idp.example", "DAGENT_AUTH_JWKS": "{jwks}"}, "cannot be read"),
        ({"DAGENT_AUTH_ISSUER": "https://idp.example"}, "go together"),
        (
            {"DAGENT_AUTH_ISSUER": "x", "DAGENT_AUTH_JWKS": "http://idp.example/jwks"},
            "must be served over https",
        ),
    ],
)
def test_an_unusable_identity_provider_stops_up_before_anything_starts(
    stack: Stack, env: dict[str, str], message: str
) -> None:
    broken = stack.home.parent / "broken-jwks.json"
    broken.write_text('{"keys": "not a list"}')
    stack.extra_env.update({name: value.format(jwks=broken) for name, value in env.items()})
    result = stack.run("up")
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert stack.kill_leftovers() == []
