"""DAGENT_HOME as private as ~/.ssh: the user's own, 0700, its files 0600, no link
followed, and a record of what dagent made there, so `down --purge` removes that
and nothing else.

Like ssh and gpg, dagent refuses a home that another user owns, or that group or
others can write: whoever can write there could plant a link, a key or a log that
dagent would then trust.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

from services.errors import ConfigError

# Every file and directory a process of the stack creates: the owner's alone.
PRIVATE_UMASK = 0o077
# At the top of DAGENT_HOME: the entries dagent created there, one per line.
MANIFEST = ".dagent-created"
# What dagent keeps directly under the home (directories).
ENTRIES = ("run", "logs", "data", "chat", "auth")
# What `down --purge` deletes: the state. The keys and the users file are settings.
PURGED = ("run", "logs", "data", "chat")


def private_umask() -> None:
    """From now on this process and every child it starts create private files."""
    os.umask(PRIVATE_UMASK)


def prepare(home: Path) -> None:
    """Make `home` and dagent's directories in it, or refuse the home in one line.

    An existing home must be the user's own and not writable by group or others;
    anything under it that is a symbolic link is refused; what is readable by others
    (a home from an earlier dagent) is made private."""
    made_home = not home.exists()
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_owner(home)
        os.chmod(home, 0o700)
        created = [entry for entry in ENTRIES if not (home / entry).exists()]
        for entry in ENTRIES:
            (home / entry).mkdir(mode=0o700, exist_ok=True)
        _record(home, created + (["."] if made_home else []), new_home=made_home)
        for path in _walk(home):
            if path.is_symlink():
                raise ConfigError(
                    f"'{path}' is a symbolic link; dagent follows no link in DAGENT_HOME: remove it."
                )
            mode = path.lstat().st_mode
            private = 0o700 if stat.S_ISDIR(mode) else 0o600
            if stat.S_IMODE(mode) & 0o077:
                os.chmod(path, stat.S_IMODE(mode) & private)
    except OSError as exc:
        raise ConfigError(
            f"DAGENT_HOME '{home}' is not usable ({exc.strerror}); "
            "set DAGENT_HOME to a writable directory of your own."
        ) from None


def open_log(path: Path) -> BinaryIO:
    """A log to append to, 0600, never through a link."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    return os.fdopen(descriptor, "ab")


def purge(home: Path) -> list[Path]:
    """Delete the state dagent created in `home` (and `home` itself if dagent made it and
    nothing else is left); return what was kept because dagent did not make it."""
    # A home from before the manifest: dagent's are the directories that hold only its files.
    created = _created(home) if (home / MANIFEST).exists() else _legacy(home)
    kept = []
    for entry in PURGED:
        path = home / entry
        if not path.exists():
            continue
        if entry in created:
            shutil.rmtree(path, ignore_errors=True)
        else:
            kept.append(path)
    if "." in created and home.exists() and {p.name for p in home.iterdir()} <= {MANIFEST}:
        (home / MANIFEST).unlink()
        home.rmdir()
    return kept


def _check_owner(home: Path) -> None:
    info = home.stat()
    if info.st_uid != os.getuid():
        raise ConfigError(
            f"DAGENT_HOME '{home}' belongs to another user (uid {info.st_uid}); "
            "use a directory of your own (set DAGENT_HOME)."
        )
    if stat.S_IMODE(info.st_mode) & 0o022:
        raise ConfigError(
            f"DAGENT_HOME '{home}' can be written by other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run 'chmod 700 {home}' or use another directory."
        )


def _record(home: Path, created: list[str], new_home: bool) -> None:
    """Add `created` to the manifest. A home from before the manifest had its
    directories made by dagent when they hold nothing but dagent's own files."""
    manifest = home / MANIFEST
    known = _created(home)
    if not manifest.exists() and not new_home:
        known |= _legacy(home) - set(created)
    known |= set(created)
    descriptor = os.open(manifest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(f"{entry}\n" for entry in sorted(known)))


def _created(home: Path) -> set[str]:
    try:
        lines = (home / MANIFEST).read_text().splitlines()
    except OSError:
        return set()
    return {line for line in lines if line in (*ENTRIES, ".")}


# What dagent itself writes in each of its directories (by name pattern).
DAGENT_FILES = {
    "run": ("*.json", "*.lock", "*.warm", ".*.tmp"),  # up.lock, supervisor.lock
    "logs": ("*.log", "*.log.1", "*.jsonl"),
    "data": ("temporal.db", "temporal.db-*"),
    "chat": ("last_session", "input_history"),
    "auth": ("signing-key.pem", "jwks.json", "users.json", ".*.tmp"),
}


def _legacy(home: Path) -> set[str]:
    return {entry for entry in ENTRIES if _only_dagents(home / entry)}


def _only_dagents(directory: Path) -> bool:
    try:
        children = list(directory.iterdir())
    except OSError:
        return False
    patterns = DAGENT_FILES[directory.name]
    return all(child.is_file() and any(child.match(p) for p in patterns) for child in children)


def _walk(home: Path) -> list[Path]:
    """Everything under dagent's directories (never beyond a link), and the manifest."""
    found = [home / MANIFEST]
    for entry in ENTRIES:
        found.append(home / entry)
        for root, directories, files in os.walk(home / entry, followlinks=False):
            found += [Path(root) / name for name in (*directories, *files)]
    return found
