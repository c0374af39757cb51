"""`dagent users` through the real CLI: the file it keeps, and its bad inputs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from services.identity import users
from tests.helpers import Stack


def test_users_are_added_listed_and_removed(tmp_path: Path) -> None:
    stack = Stack(home=tmp_path / "home")
    login = users.login_user()
    listed = json.loads(stack.run("users", "list", "--json", check=True).stdout)
    assert listed == {"users": {login: ["finance:read", "it:read", "orchestrator:read"]}}
    added = stack.run("users", "add", "bob", "--scope", "it:read", check=True)
    assert "User 'bob' holds it:read." in added.stdout
    listed = json.loads(stack.run("users", "list", "--json", check=True).stdout)
    assert listed["users"]["bob"] == ["it:read"]
    assert login in listed["users"]  # adding a user does not lock the owner out
    path = tmp_path / "home" / "auth" / "users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stack.run("users", "remove", "bob", check=True)
    assert "bob" not in json.loads(stack.run("users", "list", "--json", check=True).stdout)["users"]


def test_bad_users_input_is_one_line(tmp_path: Path) -> None:
    stack = Stack(home=tmp_path / "home")
    for argv, said in [
        (["users", "add", "eve", "--scope", "root:all"], "Unknown scope 'root:all'; known scopes:"),
        (["users", "add", "../etc", "--scope", "it:read"], "Invalid user name '../etc'"),
        (["users", "remove", "nobody"], "Unknown user 'nobody'"),
    ]:
        result = stack.run(*argv)
        assert result.returncode == 1
        assert said in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    (tmp_path / "home" / "auth").mkdir(parents=True, exist_ok=True)
    (tmp_path / "home" / "auth" / "users.json").write_text("{not json")
    broken = stack.run("users", "list")
    assert broken.returncode == 1
    assert "is not valid" in broken.stderr
    assert "Traceback" not in broken.stderr
