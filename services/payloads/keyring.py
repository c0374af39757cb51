"""The stack's payload keys: AES-256 keys under DAGENT_HOME/auth, each named by an id.

The newest key encrypts; every key of the ring decrypts, so `dagent keys rotate`
never makes an older conversation unreadable. The file is the user's alone (0600,
never followed through a link) and is read again only when it changes, so a rotation
reaches running workers at their next payload.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from services.auth_files import auth_dir, publish_private
from services.errors import ConfigError

KEYS_FILE = "payload-keys.json"
KEY_BYTES = 32


@dataclass(frozen=True)
class KeyRing:
    current: str
    keys: dict[str, bytes]

    def key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)


def keys_file(home: Path) -> Path:
    return auth_dir(home) / KEYS_FILE


# path -> (what lstat said of the file when it was read, its ring). Every payload a
# process encodes or decodes asks for the ring: one lstat, not an open and a read.
_cache: dict[Path, tuple[tuple[int, ...], KeyRing]] = {}


def _stamp(status: os.stat_result) -> tuple[int, ...]:
    return (status.st_ino, status.st_mtime_ns, status.st_size, status.st_mode, status.st_uid)


def load(home: Path) -> KeyRing | None:
    """The ring, or None when this home has none yet; ConfigError when the file is not
    the user's own and private, or is not a key ring."""
    path = keys_file(home)
    try:
        cached = _cache.get(path)
        if cached is not None and cached[0] == _stamp(os.lstat(path)):
            return cached[1]  # unchanged: owner, mode and content as checked then
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"The payload keys {path} cannot be read ({exc.strerror}).") from None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if status.st_uid != os.geteuid() or stat.S_IMODE(status.st_mode) & 0o077:
            raise ConfigError(
                f"The payload keys {path} must be yours and private: "
                f"chown {os.geteuid()} and chmod 600 it (others may have read them)."
            )
        ring = _parse(path, handle.read())
    _cache[path] = (_stamp(status), ring)
    return ring


def ensure(home: Path) -> KeyRing:
    """The ring, made with one new key the first time."""
    ring = load(home)
    if ring is not None:
        return ring
    auth_dir(home).mkdir(mode=0o700, parents=True, exist_ok=True)
    # A concurrent first start that got there first wins; its key is as good.
    _publish(home, _new_ring({}), replace=False)
    ring = load(home)
    assert ring is not None
    return ring


def rotate(home: Path) -> KeyRing:
    """A new current key; the older ones stay to decrypt what they encrypted."""
    ring = load(home)
    rotated = _new_ring(ring.keys if ring is not None else {})
    auth_dir(home).mkdir(mode=0o700, parents=True, exist_ok=True)
    _publish(home, rotated, replace=True)
    return rotated


def _new_ring(keys: dict[str, bytes]) -> KeyRing:
    # Time first: ids sort in the order the keys were made.
    key_id = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
    return KeyRing(current=key_id, keys={**keys, key_id: secrets.token_bytes(KEY_BYTES)})


def _publish(home: Path, ring: KeyRing, replace: bool) -> None:
    document = {
        "current": ring.current,
        "keys": {key_id: base64.b64encode(key).decode() for key_id, key in ring.keys.items()},
    }
    publish_private(keys_file(home), json.dumps(document, indent=2).encode(), replace=replace)


def _parse(path: Path, data: bytes) -> KeyRing:
    try:
        document = json.loads(data)
        keys = {str(key_id): base64.b64decode(key, validate=True) for key_id, key in document["keys"].items()}
        current = str(document["current"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"The payload keys {path} are damaged; restore them from a backup.") from None
    if current not in keys or any(len(key) != KEY_BYTES for key in keys.values()):
        raise ConfigError(f"The payload keys {path} are damaged; restore them from a backup.")
    return KeyRing(current=current, keys=keys)
