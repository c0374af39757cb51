"""The stack's users and the scopes each holds, for the local issuer.

A small JSON file under DAGENT_HOME/auth (mode 0600): `{"users": {"alice":
{"scopes": ["it:read"]}}}`. With no file, the machine's login user holds every
scope, so a single-user stack needs no set-up.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from services.auth_files import auth_dir, publish_private
from services.errors import IdentityError

USERS_FILE = "users.json"
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class UserEntry(BaseModel):
    scopes: list[str] = Field(default_factory=list)


class UsersFile(BaseModel):
    users: dict[str, UserEntry] = Field(default_factory=dict)


def login_user() -> str:
    """The OS login of whoever runs this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def users_path(home: Path) -> Path:
    return auth_dir(home) / USERS_FILE


def load(home: Path, every_scope: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each user and their scopes; the login user with `every_scope` when there is no file."""
    path = users_path(home)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {login_user(): frozenset(every_scope)}
    except OSError as exc:
        raise IdentityError(f"The users file {path} cannot be read ({exc.strerror}).") from None
    try:
        parsed = UsersFile.model_validate_json(text)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the file"
        raise IdentityError(
            f"The users file {path} is not valid ({where}: {problem['msg']}); fix it or remove it "
            "(then the login user holds every scope)."
        ) from None
    known = frozenset(every_scope)
    for name, entry in parsed.users.items():
        unknown = [scope for scope in entry.scopes if scope not in known]
        if unknown:
            # A scope no tool needs is a typo, and it would grant nothing: say so.
            raise IdentityError(
                f"The users file {path} gives {name[:80]!r} the unknown scope {unknown[0][:80]!r}; "
                f"known scopes: {', '.join(sorted(known))}."
            )
    return {name: frozenset(entry.scopes) for name, entry in parsed.users.items()}


def scopes_of(home: Path, user: str, every_scope: Iterable[str]) -> frozenset[str]:
    """The scopes `user` holds, or IdentityError naming the known users."""
    users = load(home, every_scope)
    if user not in users:
        known = ", ".join(sorted(users)) or "(none)"
        raise IdentityError(f"Unknown user '{user}'; known users: {known}. Add one with 'dagent users add'.")
    return users[user]


def add(home: Path, user: str, scopes: Iterable[str], every_scope: Iterable[str]) -> None:
    """Add `user` (or replace their scopes); a name or scope dagent does not know is refused."""
    known = frozenset(every_scope)
    if not USER_NAME.match(user):
        raise IdentityError(
            f"Invalid user name {user[:80]!r}: use 1-64 letters, digits, '.', '_', '@' or '-'."
        )
    wanted = list(dict.fromkeys(scopes))
    unknown = [scope for scope in wanted if scope not in known]
    if unknown:
        raise IdentityError(f"Unknown scope '{unknown[0]}'; known scopes: {', '.join(sorted(known))}.")
    users = load(home, known)
    users[user] = frozenset(wanted)
    _save(home, users)


def remove(home: Path, user: str, every_scope: Iterable[str]) -> None:
    users = load(home, every_scope)
    if user not in users:
        raise IdentityError(f"Unknown user '{user}'; known users: {', '.join(sorted(users))}.")
    del users[user]
    _save(home, users)


def _save(home: Path, users: dict[str, frozenset[str]]) -> None:
    content = UsersFile(users={name: UserEntry(scopes=sorted(s)) for name, s in sorted(users.items())})
    try:
        auth_dir(home).mkdir(mode=0o700, parents=True, exist_ok=True)
        publish_private(users_path(home), content.model_dump_json(indent=2).encode(), replace=True)
    except OSError as exc:
        raise IdentityError(
            f"The users file {users_path(home)} cannot be written ({exc.strerror})."
        ) from None
