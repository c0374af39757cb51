"""DAGENT_HOME as private as ~/.ssh: the user's own, 0700, dagent's files 0600, no link
followed, and a record of what dagent made there, so `down --purge` removes that
and nothing else.

Like ssh and gpg, dagent refuses a home that another user owns, or that others can
write: whoever can write there could plant a link, a key or a log that dagent would
then trust. A home of the user's own that is group-writable (a umask of 002, common
where each user has a group of their own) is made private instead.
"""

from __future__ import annotations

import contextlib
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
# What dagent itself writes in each of its directories (by name pattern).
DAGENT_FILES = {
    "run": ("*.json", "*.lock", "*.warm", ".*.tmp"),
    "logs": ("*.log", "*.log.1", "*.jsonl"),
    "data": ("temporal.db", "temporal.db-*"),
    "chat": ("last_session", "input_history"),
    "auth": ("signing-key.pem", "jwks.json", "users.json", "payload-keys.json", "web-token", ".*.tmp"),
}


def private_umask() -> None:
    """From now on this process and every child it starts create private files."""
    os.umask(PRIVATE_UMASK)


def prepare(home: Path) -> None:
    """Make `home` and dagent's directories in it, private, or refuse the home in one line.

    A directory dagent created is made private whole; in one it did not (a `data/`
    of the user's own), only dagent's own files are touched. A link where dagent keeps
    a file is refused."""
    try:
        _check_link(home)
        new_home = not home.exists()
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_owner(home)
        os.chmod(home, 0o700)
        created = [entry for entry in ENTRIES if not (home / entry).exists()]
        for entry in ENTRIES:
            (home / entry).mkdir(mode=0o700, exist_ok=True)
        ours = _record(home, created, new_home)
        for path in _dagents(home, ours):
            if path.is_symlink():
                raise ConfigError(
                    f"'{path}' is a symbolic link; dagent follows no link in DAGENT_HOME: remove it."
                )
            # Another dagent at work in the same home (a second `up`) renames and removes
            # its temporary files while this one looks: one that is gone needs nothing.
            with contextlib.suppress(FileNotFoundError):
                mode = stat.S_IMODE(path.lstat().st_mode)
                if mode & 0o077:
                    os.chmod(path, mode & (0o700 if path.is_dir() else 0o600))
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
    """Delete the state dagent created in `home`; return what was kept because dagent did
    not make it. The manifest forgets what is gone, so a folder of the same name made
    later is not dagent's."""
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
    if home.exists():
        _write_manifest(home, created - set(PURGED))
    return kept


def _check_link(home: Path) -> None:
    """A home that is a link (a ~/.dagent kept elsewhere, /tmp on macOS) must be a link
    the user or the system made: another user's link could be pointed elsewhere later."""
    if home.is_symlink() and home.lstat().st_uid not in (os.getuid(), 0):
        raise ConfigError(f"DAGENT_HOME '{home}' is a link another user made; use a directory of your own.")


def _check_owner(home: Path) -> None:
    info = home.stat()
    if info.st_uid != os.getuid():
        raise ConfigError(
            f"DAGENT_HOME '{home}' belongs to another user (uid {info.st_uid}); "
            "use a directory of your own (set DAGENT_HOME)."
        )
    if stat.S_IMODE(info.st_mode) & 0o002:
        raise ConfigError(
            f"DAGENT_HOME '{home}' can be written by other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run 'chmod 700 {home}' or use another directory."
        )


def _record(home: Path, created: list[str], new_home: bool) -> set[str]:
    """Add `created` to the manifest and return what it lists. A home an earlier dagent
    used (before the manifest) has its directories counted as dagent's when they hold
    nothing but dagent's own files."""
    known = _created(home)
    if not (home / MANIFEST).exists() and not new_home:
        known |= _legacy(home)
    known |= set(created)
    _write_manifest(home, known)
    return known


def _write_manifest(home: Path, entries: set[str]) -> None:
    """Whole or not at all (two `up`s at once each write it)."""
    temporary = home / f".{MANIFEST}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(f"{entry}\n" for entry in sorted(entries)))
    os.replace(temporary, home / MANIFEST)


def _created(home: Path) -> set[str]:
    try:
        lines = (home / MANIFEST).read_text().splitlines()
    except OSError:
        return set()
    return {line for line in lines if line in ENTRIES}


def _legacy(home: Path) -> set[str]:
    """In a home an earlier dagent used (its database or its stack file is there), the
    directories that hold nothing but dagent's own files."""
    if not ((home / "data" / "temporal.db").is_file() or (home / "run" / "stack.json").is_file()):
        return set()
    return {entry for entry in ENTRIES if _only_dagents(home / entry)}


def _only_dagents(directory: Path) -> bool:
    try:
        children = list(directory.iterdir())
    except OSError:
        return False
    return all(child.is_file() and _is_dagents(child, directory.name) for child in children)


def _is_dagents(path: Path, entry: str) -> bool:
    return any(path.match(pattern) for pattern in DAGENT_FILES[entry])


def _dagents(home: Path, ours: set[str]) -> list[Path]:
    """What dagent keeps in the home: the manifest, its directories, everything in the
    ones it created (never beyond a link), and its own files in the others."""
    found = [home / MANIFEST]
    for entry in ENTRIES:
        directory = home / entry
        if entry in ours:
            found.append(directory)
            for root, directories, files in os.walk(directory, followlinks=False):
                found += [Path(root) / name for name in (*directories, *files)]
        else:
            found += [child for child in directory.iterdir() if _is_dagents(child, entry)]
    return found
